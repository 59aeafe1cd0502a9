package player

import "sync"

// numShards is the number of independently locked parts of a Registry. A
// power of two, so the shard index is a mask of the hash.
const numShards = 32

// Registry maps player IDs to their Player entities and live connections.
//
// All methods are safe for concurrent use from any goroutine. None blocks on
// I/O: a shard mutex is held only for map and slice bookkeeping, never while
// calling Conn.Deliver. The zero value is an empty registry ready to use.
type Registry struct {
	shards [numShards]shard
	// presence, if set, is told when a player gets its first live
	// connection and loses its last; set by OnPresence before use.
	presence func(id ID, online bool)
}

// OnPresence sets f to be called, with the player's shard lock held, when
// a player gets its first live connection (online) and when it loses its
// last (offline): calls for one player arrive in order. f must not block
// nor call the Registry. Call OnPresence before the first Attach.
func (r *Registry) OnPresence(f func(id ID, online bool)) { r.presence = f }

// Online returns the players that have at least one live connection.
func (r *Registry) Online() []ID {
	var out []ID
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.RLock()
		for id, p := range s.players {
			if len(p.conns) > 0 {
				out = append(out, id)
			}
		}
		s.mu.RUnlock()
	}
	return out
}

// shard is one lock domain of a Registry.
type shard struct {
	// mu guards players, conns, and the name, conns and pins fields of
	// every Player in players (a Player's fields are guarded by the mutex of
	// the shard its ID hashes to).
	mu      sync.RWMutex
	players map[ID]*Player
	conns   int // total connections of the players in this shard

	_ [64]byte // keep neighbouring shards' mutexes off one cache line
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	return &Registry{}
}

// shardOf returns the shard of id (FNV-1a, no allocation).
func (r *Registry) shardOf(id ID) *shard {
	const (
		offset32 = 2166136261
		prime32  = 16777619
	)
	h := uint32(offset32)
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= prime32
	}
	return &r.shards[h&(numShards-1)]
}

// getOrCreate returns the Player of id, creating it if missing. Caller holds
// s.mu for writing.
func (s *shard) getOrCreate(id ID) *Player {
	if p, ok := s.players[id]; ok {
		return p
	}
	if s.players == nil {
		s.players = make(map[ID]*Player)
	}
	p := &Player{ID: id, shard: s}
	s.players[id] = p
	return p
}

// forgetIfIdle removes p from the shard if it has no connection and no pin.
// Caller holds s.mu for writing.
func (s *shard) forgetIfIdle(p *Player) {
	if p.live() {
		return
	}
	delete(s.players, p.ID)
}

// Attach records c as a live connection of player id, creating the Player
// on first use, and returns the Player. A non-empty name replaces the
// player's display name; an empty one leaves it unchanged. Attaching a c that
// is already recorded for id does not record it twice. c must not be nil.
//
// The same c may be attached to several IDs; each pair is independent.
func (r *Registry) Attach(id ID, name string, c Conn) *Player {
	if c == nil {
		panic("player: Attach with nil Conn")
	}
	s := r.shardOf(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.getOrCreate(id)
	if name != "" {
		p.name = name
	}
	for _, have := range p.conns {
		if have == c {
			return p
		}
	}
	conns := make([]Conn, len(p.conns), len(p.conns)+1)
	copy(conns, p.conns)
	p.conns = append(conns, c)
	s.conns++
	if len(p.conns) == 1 && r.presence != nil {
		r.presence(id, true)
	}
	return p
}

// Detach removes exactly the pair (id, c); other connections of id are
// unaffected. A Player left with no connection is forgotten unless it is
// pinned; the next Attach or Pin recreates it. Detaching a pair that is not
// recorded is a no-op.
//
// A Send that started before Detach returned may still call c.Deliver once.
func (r *Registry) Detach(id ID, c Conn) {
	s := r.shardOf(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.players[id]
	if !ok {
		return
	}
	i := -1
	for j, have := range p.conns {
		if have == c {
			i = j
			break
		}
	}
	if i < 0 {
		return
	}
	if len(p.conns) == 1 {
		p.conns = nil
		if r.presence != nil {
			r.presence(id, false)
		}
	} else {
		conns := make([]Conn, 0, len(p.conns)-1)
		conns = append(conns, p.conns[:i]...)
		p.conns = append(conns, p.conns[i+1:]...)
	}
	s.conns--
	s.forgetIfIdle(p)
}

// Lookup returns the Player of id if it is online or pinned.
func (r *Registry) Lookup(id ID) (*Player, bool) {
	s := r.shardOf(id)
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.players[id]
	return p, ok
}

// Send calls Deliver(msg) on every live connection of id and returns how
// many queued it: 0 means the player is offline or every connection refused
// (full or closing). It does not block and does not allocate; msg is shared
// by all connections and must not be modified afterwards.
func (r *Registry) Send(id ID, msg []byte) int {
	s := r.shardOf(id)
	s.mu.RLock()
	var conns []Conn
	if p, ok := s.players[id]; ok {
		conns = p.conns // immutable snapshot (copy-on-write), safe to use unlocked
	}
	s.mu.RUnlock()
	n := 0
	for _, c := range conns {
		if c.Deliver(msg) {
			n++
		}
	}
	return n
}

// Pin keeps the Player of id alive while something else (a room seat) refers
// to it, even when it has no connection, creating it if needed. Pins are
// counted: each Pin must be matched by one Unpin.
func (r *Registry) Pin(id ID) *Player {
	s := r.shardOf(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.getOrCreate(id)
	p.pins++
	return p
}

// Unpin releases one Pin of id. When the last pin goes and the player has no
// connection, it is forgotten. Unpinning an ID that holds no pin is a no-op.
func (r *Registry) Unpin(id ID) {
	s := r.shardOf(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.players[id]
	if !ok || p.pins == 0 {
		return
	}
	p.pins--
	s.forgetIfIdle(p)
}

// Stats returns the number of Player entities held (online or pinned) and of
// live connections. Shards are read one after another, so under concurrent
// change the totals are approximate.
func (r *Registry) Stats() (players, conns int) {
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.RLock()
		players += len(s.players)
		conns += s.conns
		s.mu.RUnlock()
	}
	return players, conns
}
