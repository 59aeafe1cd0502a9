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
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/player"
)

// Config configures a Manager. Zero fields take the documented defaults.
type Config struct {
	// Types are the room types players can join. At least one.
	Types []*Type
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
	// ReservationTTL is how long a reserved seat waits to be taken by a
	// join with its seat token before it is freed; default 15s.
	ReservationTTL time.Duration
}

// Manager runs the rooms of one process: it creates them on demand, routes
// joins, and disposes of rooms that stay empty. Safe for concurrent use.
type Manager struct {
	cfg   Config
	types map[string]*Type

	// ctx is the parent of every room goroutine's context; stored because
	// rooms are started by Join calls long after NewManager returns.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // room goroutines

	mu     sync.Mutex // guards the fields below and every roomSlot
	rooms  map[string]*roomSlot
	open   map[string][]*roomSlot    // by type, in creation order
	tokens map[tokenKey]*Seat        // current resume tokens
	seats  map[tokenKey]*reservation // live seat reservations
	tombs  map[tokenKey]time.Time    // resume and seat tokens that expired, and when
	codes  map[string]*roomSlot      // join codes of private rooms
	nrooms uint64                    // rooms ever created (seeds their rand)
	closed bool
}

// roomSlot is the Manager's bookkeeping for one room, guarded by Manager.mu.
type roomSlot struct {
	r         *Room
	occupancy int  // seats taken, plus joins on their way, plus live reservations
	locked    bool // game code locked the room
	gone      bool // disposed: takes no joins
	private   bool // not listed, not matched; joined by ID or code
	code      string
	meta      map[string]string // matched by Selector.Filters; set at creation or by game code
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
	m := &Manager{cfg: cfg, types: map[string]*Type{}, rooms: map[string]*roomSlot{}, open: map[string][]*roomSlot{},
		tokens: map[tokenKey]*Seat{}, tombs: map[tokenKey]time.Time{}, seats: map[tokenKey]*reservation{}, codes: map[string]*roomSlot{}}
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
	// RoomType selects an open public room of that type, or a new one,
	// when RoomID is empty. With RoomID set, exactly that room is joined.
	RoomType string
	RoomID   string
	// SeatToken, if set, consumes a reservation (Reserve): the seat was
	// counted when it was reserved; RoomType and RoomID are ignored.
	SeatToken string
	// Done receives the outcome exactly once: the seat, or an error
	// (ErrUnknownType, ErrRoomNotFound, ErrRoomFull, ErrAlreadyInRoom,
	// ErrJoinRejected, ErrClosed, ErrSeatInvalid, ErrSeatExpired). It is
	// called on the room goroutine (or on the caller's, for errors found
	// before reaching a room) before the client is sent `joined`; it must
	// not block.
	Done func(s *Seat, err error)
}

// Join routes req to a room. It never waits for the room.
func (m *Manager) Join(req JoinRequest) {
	var slot *roomSlot
	var err error
	if req.SeatToken != "" {
		slot, err = m.consumeSeat(req.SeatToken, req.Player)
	} else {
		m.mu.Lock()
		slot, err = m.pickLocked(Selector{Type: req.RoomType, RoomID: req.RoomID}, 1)
		m.mu.Unlock()
	}
	if err != nil {
		req.Done(nil, err)
		return
	}
	if !slot.r.post(func() { slot.r.join(req) }) {
		m.release(slot.r)
		req.Done(nil, ErrClosed)
	}
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

// pickLocked chooses (or creates) a room with n free seats for sel and
// counts them as taken. m.mu must be held.
func (m *Manager) pickLocked(sel Selector, n int) (*roomSlot, error) {
	if m.closed {
		return nil, ErrClosed
	}
	if sel.RoomID != "" || sel.Code != "" {
		slot, ok := m.rooms[sel.RoomID]
		if sel.Code != "" {
			slot, ok = m.codes[sel.Code]
		}
		switch {
		case !ok || slot.gone:
			return nil, ErrRoomNotFound
		case sel.Type != "" && slot.r.typ.cfg.Name != sel.Type:
			return nil, ErrRoomNotFound
		case slot.locked:
			return nil, ErrRoomLocked
		case slot.occupancy+n > slot.r.typ.cfg.Capacity:
			return nil, ErrRoomFull
		}
		slot.occupancy += n
		return slot, nil
	}
	t, ok := m.types[sel.Type]
	if !ok {
		return nil, ErrUnknownType
	}
	if n > t.cfg.Capacity {
		return nil, ErrRoomFull
	}
	if !sel.Create {
		for _, slot := range m.open[sel.Type] {
			if !slot.private && !slot.locked && slot.occupancy+n <= t.cfg.Capacity && hasAll(slot.meta, sel.Filters) {
				slot.occupancy += n
				return slot, nil
			}
		}
	}
	meta := sel.Metadata
	if meta == nil {
		meta = sel.Filters
	}
	slot := &roomSlot{r: m.startLocked(t), occupancy: n, private: sel.Create && sel.Private, meta: maps.Clone(meta)}
	if slot.private {
		slot.code = m.newCodeLocked()
		m.codes[slot.code] = slot
	}
	m.rooms[slot.r.id] = slot
	m.open[sel.Type] = append(m.open[sel.Type], slot)
	return slot, nil
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
func (m *Manager) startLocked(t *Type) *Room {
	m.nrooms++
	r := &Room{
		id:       newRoomID(),
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
		r.game = t.newGame(&r.ctx)
		r.run(m.ctx)
	}()
	return r
}

func newRoomID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "r" + base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])[:15]
}

// release gives back one unit of a room's occupancy (a seat left or a
// join failed).
func (m *Manager) release(r *Room) {
	m.mu.Lock()
	if slot, ok := m.rooms[r.id]; ok && slot.occupancy > 0 {
		slot.occupancy--
	}
	m.mu.Unlock()
}

// tryDispose removes r from the directory if nothing occupies it, so no
// join can reach it any more. It reports whether it did.
func (m *Manager) tryDispose(r *Room) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	slot, ok := m.rooms[r.id]
	if !ok {
		return true
	}
	if slot.occupancy > 0 {
		return false
	}
	m.forgetLocked(slot)
	return true
}

// forget removes r from the directory unconditionally (the room is closing).
func (m *Manager) forget(r *Room) {
	m.mu.Lock()
	if slot, ok := m.rooms[r.id]; ok {
		m.forgetLocked(slot)
	}
	m.mu.Unlock()
}

func (m *Manager) forgetLocked(slot *roomSlot) {
	slot.gone = true
	delete(m.rooms, slot.r.id)
	if slot.code != "" {
		delete(m.codes, slot.code)
	}
	name := slot.r.typ.cfg.Name
	list := m.open[name]
	for i, s := range list {
		if s == slot {
			m.open[name] = append(list[:i:i], list[i+1:]...)
			break
		}
	}
}

func (m *Manager) setLocked(r *Room, locked bool) {
	m.mu.Lock()
	if slot, ok := m.rooms[r.id]; ok {
		slot.locked = locked
	}
	m.mu.Unlock()
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

// RoomInfo describes a running room.
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
}

// Rooms lists the running rooms, sorted by ID.
func (m *Manager) Rooms() []RoomInfo {
	m.mu.Lock()
	out := make([]RoomInfo, 0, len(m.rooms))
	for _, s := range m.rooms {
		out = append(out, RoomInfo{ID: s.r.id, Type: s.r.typ.cfg.Name, Players: s.occupancy, Capacity: s.r.typ.cfg.Capacity,
			Locked: s.locked, Private: s.private, Metadata: maps.Clone(s.meta)})
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
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
	return nil // filled in when the Manager runs on a Directory
}
