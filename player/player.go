package player

// Conn is one live connection of a player, as the registry sees it. The
// server's connection type implements it.
//
// Implementations must be comparable (typically a pointer type): the registry
// finds a connection with ==.
type Conn interface {
	// Deliver queues msg (a complete encoded server message) for sending
	// without blocking and reports whether it was queued. It may be called
	// from any goroutine, concurrently, and — because senders work on a
	// snapshot — shortly after the connection was detached; it must then
	// simply return false. Deliver must not retain msg beyond its own
	// queueing contract (the same msg is passed to every connection of a
	// player) and must not modify it. The registry never holds a lock while
	// calling Deliver, so Deliver may call back into the Registry.
	Deliver(msg []byte) bool
}

// Player is the persistent entity of one player ID: it lives while the player
// has at least one connection or is pinned (see Registry.Pin), and is
// forgotten otherwise. Its ID never changes; its name is the latest non-empty
// display name given to Registry.Attach.
//
// A *Player is obtained only from a Registry. Its methods are safe for
// concurrent use and never block on I/O. Once forgotten, a *Player is stale:
// it reports no connections and is never revived; the next Attach or Pin of
// the same ID creates a new entity. Code that outlives a connection should
// therefore hold a pin, or address the player by ID through the Registry.
type Player struct {
	ID ID // immutable

	shard *shard // the shard whose mutex guards the fields below

	// Guarded by shard.mu.
	name  string
	conns []Conn // copy-on-write: never modified in place, replaced on change
	pins  int    // outstanding Pin calls
}

// Name returns the player's latest display name ("" if never given).
func (p *Player) Name() string {
	p.shard.mu.RLock()
	defer p.shard.mu.RUnlock()
	return p.name
}

// Conns appends the player's live connections to dst and returns the
// extended slice. The result is a snapshot: connections may be attached or
// detached right after it returns.
func (p *Player) Conns(dst []Conn) []Conn {
	p.shard.mu.RLock()
	defer p.shard.mu.RUnlock()
	return append(dst, p.conns...)
}

// Online reports whether the player has at least one live connection.
func (p *Player) Online() bool {
	p.shard.mu.RLock()
	defer p.shard.mu.RUnlock()
	return len(p.conns) > 0
}

// live reports whether p should stay in the registry. Caller holds shard.mu.
func (p *Player) live() bool {
	return len(p.conns) > 0 || p.pins > 0
}
