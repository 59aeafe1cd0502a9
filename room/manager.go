package room

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	mrand "math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/player"
)

// Config configures a Manager. Zero fields take the documented defaults.
type Config struct {
	// Types are the room types players can join. At least one.
	Types []*Type
	// Directory places rooms and counts their seats; nil: an in-memory
	// directory for this process alone (NewMemoryDirectory). A server
	// passes cluster's, embedded or on Redis.
	Directory Directory
	// DirectoryTimeout bounds each directory call made for a join, resume
	// or reservation; default 1s.
	DirectoryTimeout time.Duration
	// Clock drives every room's tick schedule and idle timers; nil means
	// the real clock. Tests pass a clockwork.FakeClock to step rooms.
	Clock clockwork.Clock
	// Logger; nil discards.
	Logger *slog.Logger
	// Seed seeds each room's random source (Ctx.Rand); 0 picks one at random.
	Seed uint64
	// OnTick, if set, is called on the room goroutine at the start of every
	// tick with how late it started and how many slots were skipped. It
	// must be cheap (metrics).
	OnTick func(late time.Duration, skipped int64)
	// OnLeave, if set, is called on the room goroutine after a seat is given up.
	OnLeave func(s *Seat, reason LeaveReason)
	// OnOverrun, if set, is called on the room goroutine for each tick that
	// started so late that it skipped slots, with how many (for a metric
	// by room type). It must be cheap.
	OnOverrun func(roomID, roomType string, skipped int64)
	// OnClosedByFault, if set, is called on the room goroutine when a room
	// is closed because its game code failed (reason LeaveCrashed: a panic,
	// an invalid state) or it was overloaded (LeaveOverloaded), once per
	// room, before its players are told. Manager.Faults counts the same.
	OnClosedByFault func(roomID, roomType string, reason LeaveReason)
	// ReservationTTL is how long a reserved seat waits to be taken by a
	// join with its seat token before it is freed; default 15s.
	ReservationTTL time.Duration
}

// Manager runs the rooms this process owns: it starts them when their
// first seat is taken, routes joins and resumes to them, and disposes of
// rooms that stay empty. Where rooms are and how many seats they have is
// the Directory's. Safe for concurrent use.
type Manager struct {
	cfg   Config
	dir   Directory
	types map[string]*Type

	// ctx is the parent of every room goroutine's context; stored because
	// rooms are started by Join calls long after NewManager returns.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // room goroutines

	mu     sync.Mutex // guards the fields below and every roomSlot
	rooms  map[string]*roomSlot
	tokens map[tokenKey]*Seat     // current resume tokens
	tombs  map[tokenKey]time.Time // resume tokens of seats that expired, and when
	nrooms uint64                 // rooms ever started (seeds their rand)
	closed bool

	panics, overloaded atomic.Uint64 // rooms closed by LeaveCrashed, LeaveOverloaded
}

// Faults counts the rooms a Manager closed because of a fault.
type Faults struct {
	Crashed    uint64 // game code panicked or wrote an invalid state (LeaveCrashed)
	Overloaded uint64 // ticks overran beyond TypeConfig.Overload (LeaveOverloaded)
}

// Faults returns the counts of rooms closed by a fault since NewManager.
// Safe for concurrent use.
func (m *Manager) Faults() Faults {
	return Faults{Crashed: m.panics.Load(), Overloaded: m.overloaded.Load()}
}

// roomSlot is the Manager's bookkeeping for one running room, guarded by
// Manager.mu.
type roomSlot struct {
	r       *Room
	seats   int  // seats taken plus joins on their way (for OwnedRoom)
	locked  bool // game code locked the room
	private bool
	code    string
	meta    map[string]string
}

// NewManager validates cfg and returns a Manager with no rooms.
func NewManager(cfg Config) (*Manager, error) {
	if len(cfg.Types) == 0 {
		return nil, errors.New("room: Config.Types is empty")
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Seed == 0 {
		cfg.Seed = mrand.Uint64()
	}
	if cfg.ReservationTTL == 0 {
		cfg.ReservationTTL = 15 * time.Second
	}
	if cfg.DirectoryTimeout == 0 {
		cfg.DirectoryTimeout = time.Second
	}
	if cfg.Directory == nil {
		cfg.Directory = NewMemoryDirectory(cfg.Clock)
	}
	m := &Manager{cfg: cfg, dir: cfg.Directory, types: map[string]*Type{}, rooms: map[string]*roomSlot{},
		tokens: map[tokenKey]*Seat{}, tombs: map[tokenKey]time.Time{}}
	for _, t := range cfg.Types {
		if t == nil {
			return nil, errors.New("room: nil Type in Config.Types")
		}
		if _, dup := m.types[t.cfg.Name]; dup {
			return nil, fmt.Errorf("room: type %q registered twice", t.cfg.Name)
		}
		m.types[t.cfg.Name] = t
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m, nil
}

// JoinRequest asks for a seat.
type JoinRequest struct {
	Player player.ID
	Name   string
	Conn   Conn
	// RoomType selects an open public room of that type on this node, or
	// a new one, when RoomID is empty. With RoomID set, exactly that room
	// is joined.
	RoomType string
	RoomID   string
	// SeatToken, if set, consumes a reservation (Reserve): the seat was
	// counted when it was reserved; RoomType and RoomID are ignored.
	SeatToken string
	// Done receives the outcome exactly once: the seat, or an error
	// (ErrUnknownType, ErrRoomNotFound, ErrRoomFull, ErrAlreadyInRoom,
	// ErrJoinRejected, ErrClosed, ErrSeatInvalid, ErrSeatExpired,
	// ErrUnavailable, or a *RedirectError when another node runs the
	// room). It is called on the room goroutine (or on the caller's, for
	// errors found before reaching a room) before the client is sent
	// `joined`; it must not block.
	Done func(s *Seat, err error)
}

// Join routes req to a room. It waits for the directory (at most
// Config.DirectoryTimeout), never for the room; call it from the
// connection's goroutine, never from a room's.
func (m *Manager) Join(req JoinRequest) {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.DirectoryTimeout)
	defer cancel()
	var pl Placement
	var err error
	switch {
	case req.SeatToken != "":
		pl, err = m.dir.Consume(ctx, req.SeatToken, req.Player)
	case req.RoomID != "":
		pl, err = m.dir.Take(ctx, Selector{Type: req.RoomType, RoomID: req.RoomID}, 0)
	default:
		t, ok := m.types[req.RoomType]
		if !ok {
			err = ErrUnknownType
			break
		}
		pl, err = m.dir.Take(ctx, Selector{Type: req.RoomType}, t.cfg.Capacity)
	}
	if err == nil && !pl.Local {
		err = &RedirectError{WSURL: pl.WSURL}
	}
	if err != nil {
		req.Done(nil, err)
		return
	}
	r, err := m.run(pl, 1)
	if err != nil {
		m.dir.Release(pl.RoomID)
		req.Done(nil, err)
		return
	}
	if !r.post(func() { r.join(req) }) {
		m.release(r)
		req.Done(nil, ErrClosed)
	}
}

// run returns the running room of a placement this node owns, starting it
// if it is not running yet, and counts seats joins on their way in.
func (m *Manager) run(pl Placement, seats int) (*Room, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	if slot, ok := m.rooms[pl.RoomID]; ok {
		if slot.r.closingSoon.Load() {
			return nil, ErrRoomNotFound
		}
		slot.seats += seats
		return slot.r, nil
	}
	t, ok := m.types[pl.Type]
	if !ok {
		return nil, ErrUnknownType
	}
	slot := &roomSlot{r: m.startLocked(t, pl.RoomID), seats: seats, private: pl.Private, code: pl.Code, meta: maps.Clone(pl.Metadata)}
	m.rooms[pl.RoomID] = slot
	return slot.r, nil
}

// Selector says which room seats are wanted in.
type Selector struct {
	Type    string            // the room type (matchmaking calls it the mode)
	RoomID  string            // exactly this room
	Code    string            // exactly the room with this join code
	Filters map[string]string // join-or-create among public rooms whose metadata has all of these
	Create  bool              // always a new room
	Private bool              // with Create: not listed, not matched; joined by ID or code
	// Metadata of a room created for this request; default Filters.
	Metadata map[string]string
}

func hasAll(meta, filters map[string]string) bool {
	for k, v := range filters {
		if got, ok := meta[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// startLocked creates a room of type t and starts its goroutine.
func (m *Manager) startLocked(t *Type, id string) *Room {
	m.nrooms++
	r := &Room{
		id:       id,
		typ:      t,
		m:        m,
		clock:    m.cfg.Clock,
		interval: time.Second / time.Duration(t.cfg.TickRate),
		notify:   make(chan struct{}, 1),
		done:     make(chan struct{}),
		rng:      mrand.New(mrand.NewPCG(m.cfg.Seed, m.nrooms)),
		byPlayer: map[player.ID]*Seat{},
		history:  make([]*netcode.Snapshot, t.cfg.History),
	}
	r.log = m.cfg.Logger.With("room", r.id, "type", t.cfg.Name)
	r.ctx = Ctx{r: r}
	for i := range r.history {
		r.history[i] = netcode.NewSnapshot(t.cfg.Schema)
	}
	r.fan.init()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		// A panicking constructor fails the room like any game panic:
		// run then closes it at once, answering the joins on their way.
		r.guard("new", func() { r.game = t.newGame(&r.ctx) })
		r.run(m.ctx)
	}()
	return r
}

func newRoomID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "r" + base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])[:15]
}

// release gives back one seat of a room (a seat left or a join failed).
func (m *Manager) release(r *Room) {
	m.mu.Lock()
	if slot, ok := m.rooms[r.id]; ok && slot.r == r && slot.seats > 0 {
		slot.seats--
	}
	m.mu.Unlock()
	m.dir.Release(r.id)
}

// dispose asks the directory to remove r, which is empty and idle; if it
// does (no seat or reservation arrived meanwhile), r shuts down. Called on
// the room goroutine; the answer comes back through r's request queue.
func (m *Manager) dispose(r *Room) {
	r.disposing = true
	m.dir.Dispose(r.id, func(ok bool) {
		if ok {
			r.closingSoon.Store(true)
		}
		r.post(func() {
			r.disposing = false
			if ok {
				r.closing = true
			} else if len(r.seats) == 0 {
				r.idleFrom = r.clock.Now() // something arrived: wait another idle timeout
			}
		})
	})
}

// forget removes r from the running rooms and the directory (r is closing).
func (m *Manager) forget(r *Room) {
	m.mu.Lock()
	if slot, ok := m.rooms[r.id]; ok && slot.r == r {
		delete(m.rooms, r.id)
	}
	m.mu.Unlock()
	m.dir.Remove(r.id)
}

func (m *Manager) setLocked(r *Room, locked bool) {
	m.mu.Lock()
	if slot, ok := m.rooms[r.id]; ok {
		slot.locked = locked
	}
	m.mu.Unlock()
	m.dir.SetLocked(r.id, locked)
}

// Room returns the running room with that ID.
func (m *Manager) Room(id string) (*Room, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	slot, ok := m.rooms[id]
	if !ok {
		return nil, false
	}
	return slot.r, true
}

// RoomInfo describes a room of the directory.
type RoomInfo struct {
	ID       string
	Type     string
	Players  int // seats taken, joining or reserved
	Capacity int
	Locked   bool // by game code (a full room takes no one either)
	Private  bool
	Metadata map[string]string
	Code     string // join code of a private room
	Node     string // the owning node ("" in a single-process directory)
	WSURL    string // the owning node's WebSocket URL ("" if unknown or this node's)
	Draining bool   // the owning node is draining: join-or-create skips the room
}

// Rooms lists the rooms of the directory, sorted by ID (nil if it cannot
// be reached).
func (m *Manager) Rooms() []RoomInfo {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.DirectoryTimeout)
	defer cancel()
	out, _ := m.dir.List(ctx, "")
	return out
}

// Types returns the registered room types.
func (m *Manager) Types() []*Type {
	out := make([]*Type, 0, len(m.types))
	for _, t := range m.types {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].cfg.Name < out[j].cfg.Name })
	return out
}

// Close stops every room (seated players get `left` with reason `closed`)
// and waits for their goroutines. Joins after Close fail with ErrClosed.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
}

// Owned returns the rooms this Manager runs, for a directory to re-assert
// them. Safe for concurrent use.
func (m *Manager) Owned() []OwnedRoom {
	m.mu.Lock()
	defer m.mu.Unlock()
	byRoom := map[string]*OwnedRoom{}
	out := make([]OwnedRoom, 0, len(m.rooms))
	for id, slot := range m.rooms {
		out = append(out, OwnedRoom{ID: id, Type: slot.r.typ.cfg.Name, Capacity: slot.r.typ.cfg.Capacity, Seats: slot.seats,
			Locked: slot.locked, Private: slot.private, Code: slot.code, Metadata: maps.Clone(slot.meta)})
	}
	for i := range out {
		byRoom[out[i].ID] = &out[i]
	}
	for key, s := range m.tokens {
		if o := byRoom[s.room.id]; o != nil {
			o.Tokens = append(o.Tokens, key.String())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Directory returns the directory the Manager places rooms with.
func (m *Manager) Directory() Directory { return m.dir }
