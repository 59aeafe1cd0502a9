package room

import (
	"context"
	"crypto/rand"
	"maps"
	"sort"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/tickroom/tickroom/player"
)

// memoryDirectory is the Directory of a single process: seat counts,
// reservations and join codes in maps. It is the Manager's default when
// Config.Directory is nil (this package's tests); a server runs on
// cluster.Directory, embedded or on Redis.
type memoryDirectory struct {
	clock clockwork.Clock

	mu    sync.Mutex // guards the fields below and every *memRoom
	rooms map[string]*memRoom
	open  map[string][]*memRoom // by type, in creation order
	codes map[string]*memRoom
	seats map[tokenKey]*memSeat // live reservations
	tombs map[tokenKey]time.Time
}

type memRoom struct {
	id, typ   string
	capacity  int
	occupancy int  // seats taken, joins on their way, live reservations
	started   bool // a seat was taken (Take or Consume): the owner runs it
	locked    bool
	private   bool
	code      string
	meta      map[string]string
}

type memSeat struct {
	room   *memRoom
	player player.ID
	timer  clockwork.Timer
}

// NewMemoryDirectory returns the Directory of a single process, with
// reservation expiry on clock (nil: the real clock).
func NewMemoryDirectory(clock clockwork.Clock) Directory {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	return &memoryDirectory{clock: clock, rooms: map[string]*memRoom{}, open: map[string][]*memRoom{},
		codes: map[string]*memRoom{}, seats: map[tokenKey]*memSeat{}, tombs: map[tokenKey]time.Time{}}
}

func (d *memoryDirectory) place(r *memRoom) Placement {
	return Placement{RoomID: r.id, Type: r.typ, Private: r.private, Code: r.code, Metadata: maps.Clone(r.meta), Local: true}
}

// pickLocked chooses (or creates) a room with n free seats for sel and
// counts them. d.mu must be held.
func (d *memoryDirectory) pickLocked(sel Selector, capacity, n int) (*memRoom, error) {
	if sel.RoomID != "" || sel.Code != "" {
		r, ok := d.rooms[sel.RoomID]
		if sel.Code != "" {
			r, ok = d.codes[sel.Code]
		}
		switch {
		case !ok:
			return nil, ErrRoomNotFound
		case sel.Type != "" && r.typ != sel.Type:
			return nil, ErrRoomNotFound
		case r.locked:
			return nil, ErrRoomLocked
		case r.occupancy+n > r.capacity:
			return nil, ErrRoomFull
		}
		r.occupancy += n
		return r, nil
	}
	if n > capacity {
		return nil, ErrRoomFull
	}
	if !sel.Create {
		for _, r := range d.open[sel.Type] {
			if !r.private && !r.locked && r.occupancy+n <= r.capacity && hasAll(r.meta, sel.Filters) {
				r.occupancy += n
				return r, nil
			}
		}
	}
	meta := sel.Metadata
	if meta == nil {
		meta = sel.Filters
	}
	r := &memRoom{id: newRoomID(), typ: sel.Type, capacity: capacity, occupancy: n, private: sel.Create && sel.Private, meta: maps.Clone(meta)}
	if r.private {
		r.code = d.newCodeLocked()
		d.codes[r.code] = r
	}
	d.rooms[r.id] = r
	d.open[r.typ] = append(d.open[r.typ], r)
	return r, nil
}

func (d *memoryDirectory) Reserve(_ context.Context, sel Selector, capacity int, players []player.ID, tokens []string, ttl time.Duration) (Placement, time.Time, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, err := d.pickLocked(sel, capacity, len(players))
	if err != nil {
		return Placement{}, time.Time{}, err
	}
	r.started = true // every room is this node's: the Manager starts it now
	for i, p := range players {
		key := keyOf(tokens[i])
		d.seats[key] = &memSeat{room: r, player: p, timer: d.clock.AfterFunc(ttl, func() { d.expireSeat(key) })}
	}
	return d.place(r), d.clock.Now().Add(ttl), nil
}

func (d *memoryDirectory) Take(_ context.Context, sel Selector, capacity int) (Placement, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	sel.Filters, sel.Create, sel.Private = nil, false, false
	r, err := d.pickLocked(sel, capacity, 1)
	if err != nil {
		return Placement{}, err
	}
	r.started = true
	return d.place(r), nil
}

// expireSeat frees an untaken reservation.
func (d *memoryDirectory) expireSeat(key tokenKey) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.seats[key]
	if !ok {
		return
	}
	delete(d.seats, key)
	d.tombs[key] = d.clock.Now()
	d.releaseLocked(s.room)
}

func (d *memoryDirectory) Consume(_ context.Context, token string, p player.ID) (Placement, error) {
	key := keyOf(token)
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.seats[key]
	switch {
	case !ok && d.tombstonedLocked(key):
		return Placement{}, ErrSeatExpired
	case !ok:
		return Placement{}, ErrSeatInvalid
	case s.player != p:
		return Placement{}, ErrSeatInvalid // someone else's token: it stays valid for its owner
	}
	delete(d.seats, key)
	s.timer.Stop()
	if _, live := d.rooms[s.room.id]; !live {
		return Placement{}, ErrRoomNotFound
	}
	s.room.started = true
	return d.place(s.room), nil
}

// tombstonedLocked reports whether key belonged to a reservation that
// expired recently. d.mu must be held.
func (d *memoryDirectory) tombstonedLocked(key tokenKey) bool {
	at, ok := d.tombs[key]
	if ok && d.clock.Since(at) > tombstoneTTL {
		delete(d.tombs, key)
		return false
	}
	if len(d.tombs) > 4096 {
		for k, at := range d.tombs {
			if d.clock.Since(at) > tombstoneTTL {
				delete(d.tombs, k)
			}
		}
	}
	return ok
}

func (d *memoryDirectory) Release(roomID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if r, ok := d.rooms[roomID]; ok {
		d.releaseLocked(r)
	}
}

// releaseLocked gives back one seat; a room nobody ever took a seat in is
// forgotten when its last reservation goes.
func (d *memoryDirectory) releaseLocked(r *memRoom) {
	if r.occupancy > 0 {
		r.occupancy--
	}
	if r.occupancy == 0 && !r.started {
		d.removeLocked(r.id)
	}
}

func (d *memoryDirectory) SetLocked(roomID string, locked bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if r, ok := d.rooms[roomID]; ok {
		r.locked = locked
	}
}

func (d *memoryDirectory) SetMetadata(roomID string, meta map[string]string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if r, ok := d.rooms[roomID]; ok {
		r.meta = maps.Clone(meta)
	}
}

func (d *memoryDirectory) Dispose(roomID string, done func(bool)) {
	d.mu.Lock()
	r, ok := d.rooms[roomID]
	ok = !ok || r.occupancy == 0
	if ok {
		d.removeLocked(roomID)
	}
	d.mu.Unlock()
	done(ok)
}

func (d *memoryDirectory) Remove(roomID string) {
	d.mu.Lock()
	d.removeLocked(roomID)
	d.mu.Unlock()
}

func (d *memoryDirectory) removeLocked(id string) {
	r, ok := d.rooms[id]
	if !ok {
		return
	}
	delete(d.rooms, id)
	if r.code != "" {
		delete(d.codes, r.code)
	}
	list := d.open[r.typ]
	for i, o := range list {
		if o == r {
			d.open[r.typ] = append(list[:i:i], list[i+1:]...)
			break
		}
	}
}

// The resume tokens of one process are the Manager's own: nothing to index.
func (d *memoryDirectory) PutToken(string, string) {}
func (d *memoryDirectory) DropToken(string)        {}
func (d *memoryDirectory) FindToken(context.Context, string) (string, bool, error) {
	return "", false, nil
}

func (d *memoryDirectory) List(_ context.Context, typ string) ([]RoomInfo, error) {
	d.mu.Lock()
	out := make([]RoomInfo, 0, len(d.rooms))
	for _, r := range d.rooms {
		if typ != "" && r.typ != typ {
			continue
		}
		out = append(out, RoomInfo{ID: r.id, Type: r.typ, Players: r.occupancy, Capacity: r.capacity, Locked: r.locked,
			Private: r.private, Code: r.code, Metadata: maps.Clone(r.meta)})
	}
	d.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// codeAlphabet avoids look-alike characters (0/O, 1/I/L).
const codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// NewJoinCode returns a random 6-character join code.
func NewJoinCode() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return string(b[:])
}

// newCodeLocked returns an unused join code. d.mu must be held.
func (d *memoryDirectory) newCodeLocked() string {
	for {
		if c := NewJoinCode(); d.codes[c] == nil {
			return c
		}
	}
}
