package room

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/player"
)

// Conn is a seated player's connection as the room sees it. The server's
// connection type implements it.
type Conn interface {
	// SendFrame queues a state frame without blocking. It copies *f (the
	// caller reuses the struct); when it returns false the frame was
	// refused (outbox full) and the caller keeps ownership of f's references.
	SendFrame(f *netcode.Frame) bool
	// Deliver queues a complete control message without blocking. When it
	// returns false the connection is too slow; its owner closes it.
	Deliver(msg []byte) bool
	// Unseat tells the connection that seat s was given up (any reason).
	// Called on the room goroutine; must not block.
	Unseat(s *Seat)
	// Replaced tells the connection that another connection took seat s
	// over: it should forget the seat and close (PROTOCOL: 4509). Called on
	// the room goroutine; must not block.
	Replaced(s *Seat)
}

// Room is one running room: a goroutine that owns a Game, ticks it on a
// fixed grid and sends each seated client one frame per tick.
//
// Everything game-related happens on the room goroutine. Other goroutines
// talk to it through the methods below, which enqueue requests and never
// wait for a tick.
type Room struct {
	id       string
	typ      *Type
	m        *Manager
	clock    clockwork.Clock
	log      *slog.Logger
	interval time.Duration

	mu     sync.Mutex // guards ctrl and exited
	ctrl   []func()   // requests run on the room goroutine, in order
	exited bool       // no more requests will run
	notify chan struct{}
	done   chan struct{} // closed when the room goroutine has exited

	// Owned by the room goroutine.
	game     engine
	ctx      Ctx
	rng      *rand.Rand
	seats    []*Seat
	byPlayer map[player.ID]*Seat
	tick     uint64 // last completed tick
	inTick   bool
	history  []*netcode.Snapshot // ring indexed by tick % len
	writer   netcode.StateWriter
	evSeq    uint64   // last event seq emitted
	fresh    []*event // events emitted since the last fan-out
	kicks    []*Seat
	idleFrom time.Time // when the room became empty (zero: not empty)
	closing  bool
	// closeReason is what the players are told when the room closes
	// (LeaveClosed when empty); set once, by the first fault.
	closeReason LeaveReason
	// The current overload window (TypeConfig.Overload): slots passed
	// (run or skipped), skipped, and ticks that skipped in it, and its
	// length in slots.
	winSlots, winSkipped, winLate, winLen int64
	// disposing: the directory has been asked to remove this idle room
	// and has not answered yet.
	disposing bool
	// closingSoon: the directory removed the room; it takes no more joins.
	closingSoon atomic.Bool
	fan         fanout

	stats roomStats
}

// roomStats are counters read from any goroutine.
type roomStats struct {
	ticks, overruns           atomic.Uint64
	framesSent, framesDropped atomic.Uint64
	resumes                   atomic.Uint64
	lateMaxMicros             atomic.Int64
}

// Stats is a snapshot of a room's counters.
type Stats struct {
	Ticks         uint64 // ticks run
	Overruns      uint64 // grid slots skipped because a tick started too late
	FramesSent    uint64
	FramesDropped uint64 // frames refused by full outboxes
	Resumes       uint64 // seats taken back by a resume
	LateMax       time.Duration
}

// ID returns the room's ID.
func (r *Room) ID() string { return r.id }

// Type returns the room's type.
func (r *Room) Type() *Type { return r.typ }

// Done is closed when the room goroutine has exited.
func (r *Room) Done() <-chan struct{} { return r.done }

// Stats returns the room's counters.
func (r *Room) Stats() Stats {
	return Stats{
		Ticks:         r.stats.ticks.Load(),
		Overruns:      r.stats.overruns.Load(),
		FramesSent:    r.stats.framesSent.Load(),
		FramesDropped: r.stats.framesDropped.Load(),
		Resumes:       r.stats.resumes.Load(),
		LateMax:       time.Duration(r.stats.lateMaxMicros.Load()) * time.Microsecond,
	}
}

// post runs f on the room goroutine, after requests posted before it. It
// reports false if the room has exited (f will never run).
func (r *Room) post(f func()) bool {
	r.mu.Lock()
	if r.exited {
		r.mu.Unlock()
		return false
	}
	r.ctrl = append(r.ctrl, f)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
	return true
}

// Do runs f on the room goroutine between ticks and waits for it, or for
// ctx. It is meant for tests and administration, not for the hot path.
func (r *Room) Do(ctx context.Context, f func(c *Ctx)) error {
	ran := make(chan struct{})
	if !r.post(func() { f(&r.ctx); close(ran) }) {
		return ErrClosed
	}
	select {
	case <-ran:
		return nil
	case <-r.done:
		select {
		case <-ran:
			return nil
		default:
			return ErrClosed
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Leave gives up seat s (the client asked). Safe from any goroutine.
func (r *Room) Leave(s *Seat) { r.post(func() { r.removeSeat(s, LeaveConsented) }) }

// Disconnect tells the room that connection c of seat s ended without a
// consented leave: the seat enters its grace window. It is ignored if the
// seat has moved to another connection since. Safe from any goroutine.
func (r *Room) Disconnect(s *Seat, c Conn) { r.post(func() { r.disconnect(s, c) }) }

// PushInput queues one input of seat s for the next tick. It is called by
// the seat's connection reader. An undecodable payload returns an error and
// is not queued.
func (s *Seat) PushInput(seq uint64, payload []byte) error {
	return s.inputs.push(seq, payload)
}

// Ack records that the seat's client applied the frame of tick (0 asks for
// a full snapshot). Called by the seat's connection reader.
func (s *Seat) Ack(tick uint64) { s.ack.store(tick) }

// InputsDropped returns how many of the seat's inputs were dropped because
// its queue was full.
func (s *Seat) InputsDropped() uint64 { return s.inputs.dropped() }

// run is the room goroutine.
func (r *Room) run(ctx context.Context) {
	defer close(r.done)
	if r.closing { // the game's constructor panicked
		r.shutdown()
		return
	}
	start := r.clock.Now()
	sched := newSchedule(start, r.interval)
	timer := r.clock.NewTimer(r.interval)
	defer timer.Stop()
	r.idleFrom = start
	r.winLen = max(1, int64(r.typ.cfg.Overload.Window/r.interval))
	r.capture() // tick 0: the state before any tick, for the first joiners

	for {
		select {
		case <-ctx.Done():
			r.shutdown()
			return
		case <-r.notify:
			r.runControl()
		case <-timer.Chan():
			now := r.clock.Now()
			if run, late, skipped := sched.fire(now); run {
				r.noteLateness(late, skipped)
				if r.closing { // overloaded
					r.shutdown()
					return
				}
				r.expireGrace(now)
				r.step()
				r.runKicks()
				if r.closing || r.idleExpired(now) {
					r.shutdown()
					return
				}
			}
			timer.Reset(max(0, sched.deadline().Sub(r.clock.Now())))
		}
		if r.closing {
			r.shutdown()
			return
		}
	}
}

func (r *Room) noteLateness(late time.Duration, skipped int64) {
	r.stats.overruns.Add(uint64(skipped))
	us := late.Microseconds()
	for {
		old := r.stats.lateMaxMicros.Load()
		if us <= old || r.stats.lateMaxMicros.CompareAndSwap(old, us) {
			break
		}
	}
	if r.m.cfg.OnTick != nil {
		r.m.cfg.OnTick(late, skipped)
	}
	if skipped > 0 && r.m.cfg.OnOverrun != nil {
		r.m.cfg.OnOverrun(r.id, r.typ.cfg.Name, skipped)
	}
	r.checkOverload(skipped)
}

// checkOverload counts a tick that skipped slots into the overload window
// and, at the window's end, applies TypeConfig.Overload: one warning for a
// window that skipped slots, and closing the room for one that skipped
// more than the policy allows.
func (r *Room) checkOverload(skipped int64) {
	r.winSlots += 1 + skipped
	r.winSkipped += skipped
	if skipped > 0 {
		r.winLate++
	}
	if r.winSlots < r.winLen {
		return
	}
	slots, skippedN, late := r.winSlots, r.winSkipped, r.winLate
	r.winSlots, r.winSkipped, r.winLate = 0, 0, 0
	if skippedN == 0 {
		return
	}
	p := r.typ.cfg.Overload
	if p.MaxSkipped >= 0 && float64(skippedN) > p.MaxSkipped*float64(slots) && late >= int64(p.MinOverruns) {
		r.log.Error("room: ticks overran for a whole window; closing the room as overloaded",
			"skipped", skippedN, "slots", slots, "late_ticks", late, "window", p.Window, "max_skipped", p.MaxSkipped)
		r.fail(LeaveOverloaded)
		return
	}
	r.log.Warn("room: ticks overran", "skipped", skippedN, "slots", slots, "late_ticks", late, "window", p.Window)
}

// fail closes the room because of a fault (LeaveCrashed, LeaveOverloaded):
// the first fault names the reason the players are told, counts it and
// calls Config.OnClosedByFault.
func (r *Room) fail(reason LeaveReason) {
	r.closing = true
	if r.closeReason != "" {
		return
	}
	r.closeReason = reason
	switch reason {
	case LeaveCrashed:
		r.m.panics.Add(1)
	case LeaveOverloaded:
		r.m.overloaded.Add(1)
	}
	if r.m.cfg.OnClosedByFault != nil {
		r.m.cfg.OnClosedByFault(r.id, r.typ.cfg.Name, reason)
	}
}

// runControl runs the queued requests.
func (r *Room) runControl() {
	r.mu.Lock()
	reqs := r.ctrl
	r.ctrl = nil
	r.mu.Unlock()
	for i, f := range reqs {
		r.guard("request", f)
		reqs[i] = nil
	}
	r.runKicks()
}

// guard runs f, turning a panic (a game bug) into closing the room.
func (r *Room) guard(what string, f func()) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("room: game panicked; closing the room", "during", what, "panic", p, "stack", string(debug.Stack()))
			r.fail(LeaveCrashed)
		}
	}()
	f()
}

// step runs one tick: inputs, simulation, capture, fan-out.
func (r *Room) step() {
	r.guard("tick", func() {
		r.inTick = true
		for _, s := range r.seats {
			s.lastSeq = r.game.applyInputs(&r.ctx, s)
		}
		r.game.tick(&r.ctx)
		r.inTick = false
	})
	r.inTick = false
	if r.closing {
		return
	}
	r.tick++
	r.stats.ticks.Add(1)
	if !r.capture() {
		return
	}
	r.fan.send(r)
}

// capture records the game's state for r.tick into the history.
func (r *Room) capture() bool {
	snap := r.history[r.tick%uint64(len(r.history))]
	var err error
	r.guard("sync", func() {
		r.writer.Begin(snap, r.tick)
		r.game.sync(&r.writer)
		err = r.writer.End()
	})
	if err != nil {
		r.log.Error("room: game wrote an invalid state; closing the room", "err", err)
		r.fail(LeaveCrashed)
	}
	return !r.closing
}

// snapshot returns the history entry of tick, or nil.
func (r *Room) snapshot(tick uint64) *netcode.Snapshot {
	if tick > r.tick || r.tick-tick >= uint64(len(r.history)) {
		return nil
	}
	s := r.history[tick%uint64(len(r.history))]
	if s.Tick() != tick {
		return nil
	}
	return s
}

// idleExpired asks the directory to dispose of the room once it has been
// empty for its idle timeout; the room closes when the directory agrees.
func (r *Room) idleExpired(now time.Time) bool {
	if r.disposing || len(r.seats) > 0 || r.idleFrom.IsZero() || now.Sub(r.idleFrom) < r.typ.cfg.IdleTimeout {
		return false
	}
	r.m.dispose(r)
	return false
}

// join seats a player; it runs on the room goroutine.
func (r *Room) join(req JoinRequest) {
	fail := func(err error) {
		r.m.release(r)
		req.Done(nil, err)
	}
	if r.closing {
		fail(ErrClosed)
		return
	}
	if _, ok := r.byPlayer[req.Player]; ok {
		fail(ErrAlreadyInRoom)
		return
	}
	s := &Seat{Player: req.Player, Name: req.Name, room: r, inputs: r.game.newQueue(), evSeq: r.evSeq}
	var err error
	r.guard("join", func() { err = r.game.join(&r.ctx, s) })
	if r.closing {
		fail(ErrClosed)
		return
	}
	if err != nil {
		fail(fmt.Errorf("%w: %v", ErrJoinRejected, err))
		return
	}
	r.seats = append(r.seats, s)
	r.byPlayer[s.Player] = s
	r.idleFrom = time.Time{}
	s.conn = req.Conn
	req.Done(s, nil) // before `joined` leaves: the client may answer at once

	b := netcode.NewBuffer(96 + len(r.typ.schema))
	netcode.AppendJoined(b, r.seatInfo(r.m.rotateToken(s)))
	s.conn.Deliver(b.B)
	r.fan.sendFull(r, s)
}

// removeSeat gives up s; it runs on the room goroutine.
func (r *Room) removeSeat(s *Seat, reason LeaveReason) {
	if s.gone {
		return
	}
	s.gone = true
	if i := slices.Index(r.seats, s); i >= 0 {
		r.seats = slices.Delete(r.seats, i, i+1)
	}
	delete(r.byPlayer, s.Player)
	r.m.retireToken(s)
	if len(r.seats) == 0 {
		r.idleFrom = r.clock.Now()
	}
	r.guard("leave", func() { r.game.leave(&r.ctx, s, reason) })
	if s.conn != nil && reason != LeaveDisconnected {
		b := netcode.NewBuffer(32)
		netcode.AppendLeft(b, r.id, string(reason))
		s.conn.Deliver(b.B)
	}
	if s.conn != nil {
		s.conn.Unseat(s)
		s.conn = nil
	}
	if r.m.cfg.OnLeave != nil {
		r.m.cfg.OnLeave(s, reason)
	}
	r.m.release(r)
}

func (r *Room) runKicks() {
	for len(r.kicks) > 0 {
		s := r.kicks[0]
		r.kicks = r.kicks[1:]
		r.removeSeat(s, LeaveKicked)
	}
	r.kicks = r.kicks[:0]
}

// shutdown removes every seat (reason closeReason, default LeaveClosed)
// and stops taking requests.
func (r *Room) shutdown() {
	r.closing = true
	r.m.forget(r)
	reason := r.closeReason
	if reason == "" {
		reason = LeaveClosed
	}
	for len(r.seats) > 0 {
		s := r.seats[len(r.seats)-1]
		s.expired = true // a resume now gets resume_expired: join again
		r.removeSeat(s, reason)
	}
	// Run what was queued behind the shutdown (joins see r.closing and
	// fail), until nothing more can arrive.
	for {
		r.mu.Lock()
		reqs := r.ctrl
		r.ctrl = nil
		if len(reqs) == 0 {
			r.exited = true
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		for _, f := range reqs {
			r.guard("request", f)
		}
	}
}

// Errors returned to joiners.
var (
	ErrUnknownType   = errors.New("room: unknown room type")
	ErrRoomNotFound  = errors.New("room: room not found")
	ErrRoomFull      = errors.New("room: room is full")
	ErrRoomLocked    = errors.New("room: room is locked by the game")
	ErrAlreadyInRoom = errors.New("room: player already in this room")
	ErrJoinRejected  = errors.New("room: join rejected by the game")
	ErrClosed        = errors.New("room: closed")
)
