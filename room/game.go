package room

import (
	"errors"
	"fmt"
	"time"

	"github.com/tickroom/tickroom/netcode"
)

// Game is what a game developer writes: the authoritative simulation of one
// room. In is the game's input type; each client input payload is decoded
// into it with msgpack (array-encoded structs work well: `msgpack:",as_array"`).
//
// Threading contract: every method is called from the room's own goroutine,
// one at a time, so game code needs no locks. Methods must not block; they
// should return within a small fraction of a tick. A panic in any method
// (or a Sync that writes an invalid state) closes the room: its players get
// `left` with reason `crashed`; the server and the other rooms go on. A room
// whose ticks keep overrunning is closed too (TypeConfig.Overload).
//
// Order within one tick: Input for each queued input (per seat in seq
// order), then Tick, then Sync to capture the state that is sent.
// Join and Leave are called between ticks, as soon as the request arrives.
type Game[In any] interface {
	// Join is called when a player takes a seat. Returning an error refuses
	// the seat (the client gets `join_rejected` with the error's text).
	Join(r *Ctx, s *Seat) error
	// Leave is called once when a seat is given up, with the reason.
	Leave(r *Ctx, s *Seat, reason LeaveReason)
	// Input applies one input of seat s.
	Input(r *Ctx, s *Seat, in In)
	// Tick advances the simulation by one fixed step, r.DT().
	Tick(r *Ctx)
	// Sync writes the whole visible state, every tick. tickroom diffs it
	// against what each client has, so write everything, every time.
	Sync(w *netcode.StateWriter)
}

// LeaveReason says why a seat was given up.
type LeaveReason string

// Leave reasons, as sent in `left` messages.
const (
	LeaveConsented    LeaveReason = "leave"        // the client asked
	LeaveKicked       LeaveReason = "kicked"       // game code called Ctx.Kick
	LeaveClosed       LeaveReason = "closed"       // the room shut down
	LeaveDisconnected LeaveReason = "disconnected" // the connection ended and the type has no grace window
	LeaveTimeout      LeaveReason = "timeout"      // the grace window ended without a resume
	LeaveCrashed      LeaveReason = "crashed"      // game code panicked (or wrote an invalid state): the room closed
	LeaveOverloaded   LeaveReason = "overloaded"   // the room's ticks overran for too long (TypeConfig.Overload): the room closed
)

// Reconnector is implemented by games that want to know when a seated
// player's connection drops and when it comes back within the grace window
// (e.g. to freeze the avatar). Both are called on the room goroutine. A
// game that does not implement it only sees Join and, when the grace window
// ends, Leave with LeaveTimeout.
type Reconnector interface {
	Disconnected(r *Ctx, s *Seat)
	Reconnected(r *Ctx, s *Seat)
}

// TypeConfig describes a room type. Zero fields take the defaults.
type TypeConfig struct {
	Name        string          // required, unique per Manager
	Schema      *netcode.Schema // required: the state model clients get in `joined`
	Capacity    int             // seats per room; default 10
	TickRate    int             // ticks per second; default 20
	IdleTimeout time.Duration   // an empty room is disposed after this; default 10s
	InputQueue  int             // queued inputs per seat, oldest dropped beyond; default 16
	History     int             // snapshots kept for delta baselines; default 64
	// Grace is how long a seat is held after its connection ended without
	// a consented leave, waiting for a resume; default 20s. Negative: no
	// grace window, the seat is freed at once.
	Grace time.Duration
	// Overload says when a room whose ticks keep overrunning their slots
	// is closed; zero fields take OverloadPolicy's defaults.
	Overload OverloadPolicy
}

// OverloadPolicy is the rule that closes an overloaded room. The room's
// tick slots are counted in consecutive windows of Window; a slot is
// skipped when a tick started so late that the next slot had already
// passed (Stats.Overruns). At the end of each window that skipped slots,
// the room logs one warning with its id, type and counts (so at most one
// line per window, however many ticks overran). If more than MaxSkipped
// of the window's slots were skipped, by at least MinOverruns ticks that
// each started late, the room is closed: its players get `left` with
// reason `overloaded` (LeaveOverloaded). One long stall (a paused process,
// a clock jump) is a single overrunning tick: it is reported, never closes
// a room.
//
// With the defaults (5s, 0.5, 3) a 20 Hz room is closed after a 5 s window
// in which fewer than half of its 100 slots ran, e.g. ticks that each take
// about 3 intervals, tick after tick, for 5 s.
type OverloadPolicy struct {
	// Window is the length of a counting window; default 5s. It is
	// rounded down to whole tick intervals (at least one).
	Window time.Duration
	// MaxSkipped is the fraction of a window's slots that may be skipped
	// before the room is closed, in [0, 1); default 0.5. Negative: never
	// close for overload (overruns are still counted, logged and reported).
	MaxSkipped float64
	// MinOverruns is how many ticks of the window must have started late
	// (each skipping slots) for it to count as overloaded; default 3.
	MinOverruns int
}

// Defaults of OverloadPolicy.
const (
	DefaultOverloadWindow      = 5 * time.Second
	DefaultOverloadMaxSkipped  = 0.5
	DefaultOverloadMinOverruns = 3
)

// Type is a registered kind of room: its configuration and how to make its
// game. Create one with Define.
type Type struct {
	cfg     TypeConfig
	schema  []byte // encoded once for every `joined`
	newGame func(*Ctx) engine
}

// Name returns the type's name.
func (t *Type) Name() string { return t.cfg.Name }

// Config returns the type's configuration with defaults applied.
func (t *Type) Config() TypeConfig { return t.cfg }

// Define declares a room type whose rooms run games made by newGame. newGame
// runs on the new room's goroutine; it may use r (e.g. r.Rand()) to set up.
func Define[In any](cfg TypeConfig, newGame func(r *Ctx) Game[In]) (*Type, error) {
	if cfg.Name == "" {
		return nil, errors.New("room: type needs a Name")
	}
	if cfg.Schema == nil {
		return nil, fmt.Errorf("room: type %q needs a Schema", cfg.Name)
	}
	if newGame == nil {
		return nil, fmt.Errorf("room: type %q needs a game constructor", cfg.Name)
	}
	if cfg.Capacity == 0 {
		cfg.Capacity = 10
	}
	if cfg.TickRate == 0 {
		cfg.TickRate = 20
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 10 * time.Second
	}
	if cfg.InputQueue == 0 {
		cfg.InputQueue = 16
	}
	if cfg.History == 0 {
		cfg.History = 64
	}
	if cfg.Grace == 0 {
		cfg.Grace = 20 * time.Second
	}
	if cfg.Overload.Window == 0 {
		cfg.Overload.Window = DefaultOverloadWindow
	}
	if cfg.Overload.MaxSkipped == 0 {
		cfg.Overload.MaxSkipped = DefaultOverloadMaxSkipped
	}
	if cfg.Overload.MinOverruns == 0 {
		cfg.Overload.MinOverruns = DefaultOverloadMinOverruns
	}
	switch {
	case cfg.Capacity < 1:
		return nil, fmt.Errorf("room: type %q: Capacity %d must be at least 1", cfg.Name, cfg.Capacity)
	case cfg.TickRate < 1 || cfg.TickRate > 1000:
		return nil, fmt.Errorf("room: type %q: TickRate %d must be within 1..1000", cfg.Name, cfg.TickRate)
	case cfg.IdleTimeout < 0:
		return nil, fmt.Errorf("room: type %q: IdleTimeout must not be negative", cfg.Name)
	case cfg.InputQueue < 1:
		return nil, fmt.Errorf("room: type %q: InputQueue %d must be at least 1", cfg.Name, cfg.InputQueue)
	case cfg.History < 2:
		return nil, fmt.Errorf("room: type %q: History %d must be at least 2", cfg.Name, cfg.History)
	case cfg.Overload.MinOverruns < 0:
		return nil, fmt.Errorf("room: type %q: Overload.MinOverruns must not be negative", cfg.Name)
	case cfg.Overload.Window < 0:
		return nil, fmt.Errorf("room: type %q: Overload.Window must not be negative", cfg.Name)
	case cfg.Overload.MaxSkipped >= 1 || cfg.Overload.MaxSkipped != cfg.Overload.MaxSkipped:
		return nil, fmt.Errorf("room: type %q: Overload.MaxSkipped %v must be below 1 (negative: never close)", cfg.Name, cfg.Overload.MaxSkipped)
	}
	b := netcode.NewBuffer(128)
	cfg.Schema.AppendMsgpack(b)
	t := &Type{cfg: cfg, schema: b.B}
	t.newGame = func(r *Ctx) engine {
		g := newGame(r)
		rc, _ := g.(Reconnector)
		return &adapter[In]{g: g, rc: rc, qcap: cfg.InputQueue}
	}
	return t, nil
}

// MustDefine is Define for package-level declarations; it panics on error.
func MustDefine[In any](cfg TypeConfig, newGame func(r *Ctx) Game[In]) *Type {
	t, err := Define(cfg, newGame)
	if err != nil {
		panic(err)
	}
	return t
}

// engine is the type-erased game the room drives.
type engine interface {
	join(r *Ctx, s *Seat) error
	leave(r *Ctx, s *Seat, reason LeaveReason)
	disconnected(r *Ctx, s *Seat)
	reconnected(r *Ctx, s *Seat)
	newQueue() inputQueue
	applyInputs(r *Ctx, s *Seat) (last uint64)
	tick(r *Ctx)
	sync(w *netcode.StateWriter)
}

// adapter binds a Game[In] to the engine interface with typed input queues,
// so inputs are never boxed.
type adapter[In any] struct {
	g    Game[In]
	rc   Reconnector // g, if it implements it
	qcap int
	buf  []queued[In] // scratch for draining a queue
}

func (a *adapter[In]) join(r *Ctx, s *Seat) error                { return a.g.Join(r, s) }
func (a *adapter[In]) leave(r *Ctx, s *Seat, reason LeaveReason) { a.g.Leave(r, s, reason) }
func (a *adapter[In]) tick(r *Ctx)                               { a.g.Tick(r) }
func (a *adapter[In]) disconnected(r *Ctx, s *Seat) {
	if a.rc != nil {
		a.rc.Disconnected(r, s)
	}
}
func (a *adapter[In]) reconnected(r *Ctx, s *Seat) {
	if a.rc != nil {
		a.rc.Reconnected(r, s)
	}
}
func (a *adapter[In]) sync(w *netcode.StateWriter) { a.g.Sync(w) }
func (a *adapter[In]) newQueue() inputQueue        { return newQueue[In](a.qcap) }

func (a *adapter[In]) applyInputs(r *Ctx, s *Seat) uint64 {
	q := s.inputs.(*queue[In])
	a.buf = q.drain(a.buf[:0])
	last := s.lastSeq
	for i := range a.buf {
		if a.buf[i].seq <= last {
			continue // replayed or reordered: already applied a later one
		}
		last = a.buf[i].seq
		a.g.Input(r, s, a.buf[i].in)
	}
	clear(a.buf)
	return last
}
