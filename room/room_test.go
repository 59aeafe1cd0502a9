package room

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/player"
	"github.com/vmihailenco/msgpack/v5"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// ---- a tiny game for tests: one counter entity per seat ----

var counterSchema = func() *netcode.Schema {
	s, err := netcode.NewSchema(netcode.Kind{Name: "p", Fields: []netcode.Field{{Name: "v", Type: netcode.FieldInt}}})
	if err != nil {
		panic(err)
	}
	return s
}()

type counterInput struct {
	_ struct{} `msgpack:",as_array"`
	N int64
}

type counterGame struct {
	ids     map[*Seat]uint32
	vals    map[*Seat]int64
	next    uint32
	ticks   int
	inputs  []string // "player:seq-less value" log, in apply order
	onTick  func(r *Ctx)
	onJoin  func(r *Ctx, s *Seat) error
	leaves  []LeaveReason
	mu      sync.Mutex // guards leaves for reads from the test goroutine
	snapped bool
}

func newCounter() *counterGame {
	return &counterGame{ids: map[*Seat]uint32{}, vals: map[*Seat]int64{}, next: 1}
}

func (g *counterGame) Join(r *Ctx, s *Seat) error {
	if g.onJoin != nil {
		if err := g.onJoin(r, s); err != nil {
			return err
		}
	}
	g.ids[s] = g.next
	g.next++
	return nil
}

func (g *counterGame) Leave(r *Ctx, s *Seat, reason LeaveReason) {
	delete(g.ids, s)
	delete(g.vals, s)
	g.mu.Lock()
	g.leaves = append(g.leaves, reason)
	g.mu.Unlock()
}

func (g *counterGame) Input(r *Ctx, s *Seat, in counterInput) {
	g.vals[s] += in.N
	g.inputs = append(g.inputs, fmt.Sprintf("%s:%d", s.Player, in.N))
}

func (g *counterGame) Tick(r *Ctx) {
	g.ticks++
	if g.onTick != nil {
		g.onTick(r)
	}
}

func (g *counterGame) Sync(w *netcode.StateWriter) {
	for s, id := range g.ids {
		w.Entity(id, 0).Int(g.vals[s])
	}
}

// ---- a recording connection ----

type testConn struct {
	mu       sync.Mutex
	frames   []netcode.ServerMessage // decoded frames (raw fields copied)
	deltas   []*netcode.Shared       // the shared delta of each accepted frame, for identity checks
	control  [][]byte
	refuse   bool
	replaced bool
	seat     *Seat
}

func (c *testConn) SendFrame(f *netcode.Frame) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refuse {
		return false
	}
	b := f.AppendTo(nil)
	var m netcode.ServerMessage
	if err := netcode.DecodeServer(b, &m); err != nil {
		panic(fmt.Sprintf("room sent an undecodable frame: %v", err))
	}
	m.Events = append([]netcode.Event(nil), m.Events...)
	c.frames = append(c.frames, m)
	c.deltas = append(c.deltas, f.Delta)
	f.Release()
	return true
}

func (c *testConn) Deliver(msg []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.control = append(c.control, append([]byte(nil), msg...))
	return true
}

func (c *testConn) Unseat(s *Seat) {}

func (c *testConn) Replaced(s *Seat) {
	c.mu.Lock()
	c.replaced = true
	c.mu.Unlock()
}

func (c *testConn) lastFrame() netcode.ServerMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frames[len(c.frames)-1]
}

func (c *testConn) nframes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.frames)
}

// ---- harness ----

type harness struct {
	t     *testing.T
	clk   *clockwork.FakeClock
	m     *Manager
	games chan *counterGame
}

func newHarness(t *testing.T, cfg TypeConfig, setup func(*counterGame)) *harness {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "counter"
	}
	cfg.Schema = counterSchema
	games := make(chan *counterGame, 16)
	typ, err := Define(cfg, func(r *Ctx) Game[counterInput] {
		g := newCounter()
		if setup != nil {
			setup(g)
		}
		select {
		case games <- g: // tests that look at games read them in creation order
		default:
		}
		return g
	})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarnessFor(t, typ)
	h.games = games
	return h
}

// newHarnessFor runs a Manager with one room type on a fake clock.
func newHarnessFor(t *testing.T, typ *Type) *harness {
	t.Helper()
	h := &harness{t: t, clk: clockwork.NewFakeClock()}
	var err error
	h.m, err = NewManager(Config{Types: []*Type{typ}, Clock: h.clk, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.m.Close)
	return h
}

// join seats a player and waits for the outcome.
func (h *harness) join(id string, c *testConn, roomID string) (*Seat, error) {
	h.t.Helper()
	type result struct {
		s   *Seat
		err error
	}
	done := make(chan result, 1)
	h.m.Join(JoinRequest{Player: player.ID(id), Name: id, Conn: c, RoomType: "counter", RoomID: roomID,
		Done: func(s *Seat, err error) { done <- result{s, err} }})
	select {
	case r := <-done:
		if r.s != nil {
			c.seat = r.s
		}
		return r.s, r.err
	case <-time.After(10 * time.Second):
		h.t.Fatal("join: no answer")
		return nil, nil
	}
}

// step advances the fake clock by one tick interval of a 20 Hz room and
// waits until the room has run the tick and is waiting again.
func (h *harness) step(n int) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range n {
		if err := h.clk.BlockUntilContext(ctx, 1); err != nil {
			h.t.Fatal("room never waited for its next tick")
		}
		h.clk.Advance(50 * time.Millisecond)
	}
	if err := h.clk.BlockUntilContext(ctx, 1); err != nil {
		h.t.Fatal("room never waited for its next tick")
	}
}

// settle waits until every request posted to r so far has run.
func settle(t *testing.T, r *Room) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Do(ctx, func(*Ctx) {}); err != nil {
		t.Fatal(err)
	}
}

func TestTickScheduleExactOverSimulatedMinute(t *testing.T) {
	h := newHarness(t, TypeConfig{}, nil)
	c := &testConn{}
	s, err := h.join("a", c, "")
	if err != nil {
		t.Fatal(err)
	}
	g := <-h.games
	start := h.clk.Now()
	h.step(1200)
	if got := h.clk.Since(start); got != time.Minute {
		t.Fatalf("simulated %v, want 1m", got)
	}
	st := s.Room().Stats()
	if st.Ticks != 1200 || st.Overruns != 0 || st.LateMax != 0 {
		t.Fatalf("stats = %+v, want 1200 ticks, 0 overruns, 0 lateness", st)
	}
	settle(t, s.Room())
	if g.ticks != 1200 {
		t.Fatalf("game ticked %d times, want 1200", g.ticks)
	}
	// One frame per client per tick, plus the full frame sent on join.
	if got := c.nframes(); got != 1201 {
		t.Fatalf("client got %d frames, want 1201", got)
	}
	if f := c.lastFrame(); f.Tick != 1200 {
		t.Fatalf("last frame tick %d, want 1200", f.Tick)
	}
}

func TestTickOverrunIsCountedAndSkipped(t *testing.T) {
	var h *harness
	h = newHarness(t, TypeConfig{}, func(g *counterGame) {
		g.onTick = func(r *Ctx) {
			if r.Tick() == 100 {
				h.clk.Advance(150 * time.Millisecond) // this tick takes 3 intervals
			}
		}
	})
	s, err := h.join("a", &testConn{}, "")
	if err != nil {
		t.Fatal(err)
	}
	g := <-h.games
	start := h.clk.Now()
	for h.clk.Since(start) < time.Minute {
		h.step(1)
	}
	st := s.Room().Stats()
	// Slots 101 and 102 passed during the slow tick: skipped, not queued.
	if st.Overruns != 2 || st.Ticks != 1198 {
		t.Fatalf("stats = %+v, want 2 overruns and 1198 ticks", st)
	}
	settle(t, s.Room())
	if g.ticks != 1198 {
		t.Fatalf("game ticked %d times, want 1198 (no catch-up burst)", g.ticks)
	}
}

func TestSchedule(t *testing.T) {
	t0 := time.Unix(1000, 0)
	iv := 50 * time.Millisecond
	tests := []struct {
		name        string
		at          time.Duration // fire time after start
		wantRun     bool
		wantLate    time.Duration
		wantSkipped int64
		wantNext    time.Duration // next deadline after start
	}{
		{"early wake-up sleeps again", 49 * time.Millisecond, false, 0, 0, 50 * time.Millisecond},
		{"on time", 50 * time.Millisecond, true, 0, 0, 100 * time.Millisecond},
		{"a little late", 53 * time.Millisecond, true, 3 * time.Millisecond, 0, 100 * time.Millisecond},
		{"two slots missed", 165 * time.Millisecond, true, 15 * time.Millisecond, 2, 200 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSchedule(t0, iv)
			run, late, skipped := s.fire(t0.Add(tt.at))
			if run != tt.wantRun || late != tt.wantLate || skipped != tt.wantSkipped {
				t.Fatalf("fire = (%v, %v, %d), want (%v, %v, %d)", run, late, skipped, tt.wantRun, tt.wantLate, tt.wantSkipped)
			}
			if got := s.deadline().Sub(t0); got != tt.wantNext {
				t.Fatalf("next deadline %v, want %v", got, tt.wantNext)
			}
		})
	}
}

func mustPush(t *testing.T, s *Seat, seq uint64, n int64) {
	t.Helper()
	// msgpack [n] as a fixarray of one int.
	b := netcode.NewBuffer(16)
	_ = b.Enc().EncodeArrayLen(1)
	_ = b.Enc().EncodeInt(n)
	if err := s.PushInput(seq, b.B); err != nil {
		t.Fatal(err)
	}
}

func TestInputsAppliedAtTheNextTickInOrder(t *testing.T) {
	h := newHarness(t, TypeConfig{InputQueue: 4}, nil)
	ca, cb := &testConn{}, &testConn{}
	a, _ := h.join("a", ca, "")
	b, _ := h.join("b", cb, "")
	g := <-h.games
	h.step(1)

	mustPush(t, a, 1, 1)
	mustPush(t, a, 2, 10)
	mustPush(t, b, 1, 100)
	mustPush(t, a, 2, 1000) // replay of seq 2: dropped
	settle(t, a.Room())
	if len(g.inputs) != 0 {
		t.Fatalf("inputs applied before the tick: %v", g.inputs)
	}
	h.step(1)
	settle(t, a.Room())
	if got, want := fmt.Sprint(g.inputs), "[a:1 a:10 b:100]"; got != want {
		t.Fatalf("applied %s, want %s", got, want)
	}
	if f := ca.lastFrame(); f.InputSeq != 2 {
		t.Fatalf("a's frame input_seq = %d, want 2", f.InputSeq)
	}
	if f := cb.lastFrame(); f.InputSeq != 1 {
		t.Fatalf("b's frame input_seq = %d, want 1", f.InputSeq)
	}

	// Overflow: a queue of 4 keeps the newest 4.
	for seq := uint64(3); seq <= 8; seq++ {
		mustPush(t, a, seq, int64(seq))
	}
	h.step(1)
	settle(t, a.Room())
	if got, want := fmt.Sprint(g.inputs[3:]), "[a:5 a:6 a:7 a:8]"; got != want {
		t.Fatalf("after overflow applied %s, want %s", got, want)
	}
	if a.InputsDropped() != 2 {
		t.Fatalf("dropped %d, want 2", a.InputsDropped())
	}
	// A payload that does not decode into the input type is refused.
	if err := a.PushInput(9, []byte{0xa1, 'x'}); err == nil {
		t.Fatal("string payload accepted for an int input")
	}
}

func TestDeltaEncodedOncePerBaseline(t *testing.T) {
	h := newHarness(t, TypeConfig{}, nil)
	conns := []*testConn{{}, {}, {}}
	seats := make([]*Seat, len(conns))
	for i, c := range conns {
		seats[i], _ = h.join(fmt.Sprint("p", i), c, "")
	}
	h.step(3)
	// p0 and p1 acknowledge tick 3, p2 acknowledges tick 2.
	seats[0].Ack(3)
	seats[1].Ack(3)
	seats[2].Ack(2)
	mustPush(t, seats[0], 1, 5)
	h.step(1)
	f0, f1, f2 := conns[0].lastFrame(), conns[1].lastFrame(), conns[2].lastFrame()
	if f0.Tick != 4 || f0.Age != 1 || f1.Age != 1 || f2.Age != 2 {
		t.Fatalf("ticks/ages = %d/%d, %d, %d; want 4/1, 1, 2", f0.Tick, f0.Age, f1.Age, f2.Age)
	}
	d0, d1, d2 := conns[0].deltas[len(conns[0].deltas)-1], conns[1].deltas[len(conns[1].deltas)-1], conns[2].deltas[len(conns[2].deltas)-1]
	if d0 != d1 {
		t.Fatal("clients with the same baseline got separately encoded deltas")
	}
	if d0 == d2 {
		t.Fatal("clients with different baselines shared one delta")
	}
	if f0.Checksum != f2.Checksum {
		t.Fatal("checksums of the same tick differ")
	}
	// Without an ack a client gets full snapshots; ack 0 asks for one again.
	seats[0].Ack(0)
	h.step(1)
	if f := conns[0].lastFrame(); f.Age != 0 {
		t.Fatalf("after ack 0: age %d, want 0 (full snapshot)", f.Age)
	}
}

func TestSlowClientIsSkippedThenCatchesUp(t *testing.T) {
	h := newHarness(t, TypeConfig{}, nil)
	c := &testConn{}
	s, _ := h.join("a", c, "")
	h.step(2)
	s.Ack(2)
	c.mu.Lock()
	c.refuse = true
	before := len(c.frames)
	c.mu.Unlock()
	h.step(5)
	if got := c.nframes(); got != before {
		t.Fatalf("refusing client received %d frames", got-before)
	}
	if st := s.Room().Stats(); st.FramesDropped != 5 {
		t.Fatalf("dropped %d frames, want 5", st.FramesDropped)
	}
	c.mu.Lock()
	c.refuse = false
	c.mu.Unlock()
	h.step(1)
	// It resumes with a delta from the tick it acknowledged, not a snapshot.
	if f := c.lastFrame(); f.Tick != 8 || f.Age != 6 {
		t.Fatalf("catch-up frame tick %d age %d, want tick 8 age 6", f.Tick, f.Age)
	}
}

func TestJoinOrCreateFillsRoomsToCapacity(t *testing.T) {
	h := newHarness(t, TypeConfig{Capacity: 4}, nil)
	rooms := map[*Room]int{}
	for i := range 10 {
		s, err := h.join(fmt.Sprint("p", i), &testConn{}, "")
		if err != nil {
			t.Fatal(err)
		}
		rooms[s.Room()]++
	}
	if len(rooms) != 3 {
		t.Fatalf("%d rooms, want 3", len(rooms))
	}
	var sizes []int
	for _, info := range h.m.Rooms() {
		sizes = append(sizes, info.Players)
	}
	total := 0
	for _, n := range sizes {
		if n > 4 {
			t.Fatalf("room over capacity: %v", sizes)
		}
		total += n
	}
	if total != 10 {
		t.Fatalf("seats %v, want 10 in all", sizes)
	}
	// Joining a full room by ID fails; a second seat for the same player too.
	var full *Room
	for r, n := range rooms {
		if n == 4 {
			full = r
		}
	}
	if _, err := h.join("x", &testConn{}, full.ID()); !errors.Is(err, ErrRoomFull) {
		t.Fatalf("join full room: %v, want ErrRoomFull", err)
	}
	if _, err := h.join("x", &testConn{}, "nope"); !errors.Is(err, ErrRoomNotFound) {
		t.Fatalf("join missing room: %v, want ErrRoomNotFound", err)
	}
	var open *Room
	for r, n := range rooms {
		if n == 2 {
			open = r
		}
	}
	if _, err := h.join("p8", &testConn{}, open.ID()); !errors.Is(err, ErrAlreadyInRoom) {
		t.Fatalf("second seat for one player: %v, want ErrAlreadyInRoom", err)
	}
	h.m.Join(JoinRequest{Player: "y", RoomType: "nope", Done: func(s *Seat, err error) {
		if !errors.Is(err, ErrUnknownType) {
			t.Errorf("unknown type: %v", err)
		}
	}})
}

func TestEmptyRoomIsDisposedAfterIdleTimeout(t *testing.T) {
	h := newHarness(t, TypeConfig{IdleTimeout: time.Second}, nil)
	c := &testConn{}
	s, _ := h.join("a", c, "")
	r := s.Room()
	h.step(2)
	r.Leave(s)
	settle(t, r)
	h.step(19) // 950 ms empty: still there
	if _, ok := h.m.Room(r.ID()); !ok {
		t.Fatal("room disposed before its idle timeout")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = h.clk.BlockUntilContext(ctx, 1)
	h.clk.Advance(50 * time.Millisecond)
	select {
	case <-r.Done():
	case <-ctx.Done():
		t.Fatal("room not disposed after its idle timeout")
	}
	if _, ok := h.m.Room(r.ID()); ok {
		t.Fatal("disposed room still listed")
	}
	// The client was told it left.
	var m netcode.ServerMessage
	if err := netcode.DecodeServer(c.control[len(c.control)-1], &m); err != nil || m.Type != netcode.MsgLeft || m.Reason != "leave" {
		t.Fatalf("last control message %+v (%v), want left/leave", m, err)
	}
}

func TestPanickingGameClosesOnlyItsRoom(t *testing.T) {
	var h *harness
	h = newHarness(t, TypeConfig{Capacity: 1}, func(g *counterGame) {
		g.onTick = func(r *Ctx) {
			if r.Tick() == 3 && r.Seats()[0].Player == "bad" {
				panic("game bug")
			}
		}
	})
	cb, cg := &testConn{}, &testConn{}
	bad, _ := h.join("bad", cb, "")
	good, _ := h.join("good", cg, "")
	gb, gg := <-h.games, <-h.games
	if bad.Room() == good.Room() {
		t.Fatal("capacity 1 put two players in one room")
	}
	// Step until the bad room dies; the good one keeps ticking.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < 3; i++ {
		_ = h.clk.BlockUntilContext(ctx, 2)
		h.clk.Advance(50 * time.Millisecond)
	}
	select {
	case <-bad.Room().Done():
	case <-ctx.Done():
		t.Fatal("room with a panicking game did not close")
	}
	h.step(2)
	if st := good.Room().Stats(); st.Ticks != 5 {
		t.Fatalf("healthy room ticked %d times, want 5", st.Ticks)
	}
	gb.mu.Lock()
	defer gb.mu.Unlock()
	if len(gb.leaves) != 1 || gb.leaves[0] != LeaveCrashed {
		t.Fatalf("bad room leaves %v, want [crashed]", gb.leaves)
	}
	if got := lastLeft(t, cb); got != string(LeaveCrashed) {
		t.Fatalf("bad room's player got left %q, want crashed", got)
	}
	if got := h.m.Faults(); got != (Faults{Crashed: 1}) {
		t.Fatalf("Faults() = %+v, want 1 crashed", got)
	}
	if got := lastLeft(t, cg); got != "" {
		t.Fatalf("healthy room's player got left %q, want none", got)
	}
	_ = gg
}

// lastLeft returns the reason of the last `left` c was delivered, or "".
func lastLeft(t *testing.T, c *testConn) string {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	reason := ""
	for _, b := range c.control {
		var m netcode.ServerMessage
		if err := netcode.DecodeServer(b, &m); err != nil {
			t.Fatalf("undecodable control message: %v", err)
		}
		if m.Type == netcode.MsgLeft {
			reason = m.Reason
		}
	}
	return reason
}

// A room whose every tick takes three intervals skips two slots in three:
// more than the default 50 % over the 5 s window, so it is closed at the
// end of its first window with `overloaded`; a room that overruns less
// than the policy allows is reported (OnOverrun) and keeps running.
func TestOverloadedRoomIsClosed(t *testing.T) {
	tests := []struct {
		name      string
		slowEvery uint64 // every n-th tick takes 3 intervals
		closed    bool
	}{
		{"every tick 3 intervals", 1, true},
		{"every 4th tick 3 intervals", 4, false},
		{"one stall of 15 s", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var clk *clockwork.FakeClock
			typ, err := Define(TypeConfig{Name: "counter", Schema: counterSchema}, func(r *Ctx) Game[counterInput] {
				g := newCounter()
				g.onTick = func(r *Ctx) {
					switch {
					case tc.slowEvery == 0 && r.Tick() == 5:
						clk.Advance(15 * time.Second)
					case tc.slowEvery > 0 && r.Tick()%tc.slowEvery == 0:
						clk.Advance(150 * time.Millisecond)
					}
				}
				return g
			})
			if err != nil {
				t.Fatal(err)
			}
			h := newHarnessFor(t, typ)
			clk = h.clk
			var mu sync.Mutex
			var overruns, faults []string
			h.m.cfg.OnOverrun = func(id, typ string, skipped int64) {
				mu.Lock()
				overruns = append(overruns, fmt.Sprintf("%s:%d", typ, skipped))
				mu.Unlock()
			}
			h.m.cfg.OnClosedByFault = func(id, typ string, reason LeaveReason) {
				mu.Lock()
				faults = append(faults, fmt.Sprintf("%s:%s", typ, reason))
				mu.Unlock()
			}
			c := &testConn{}
			s, err := h.join("a", c, "")
			if err != nil {
				t.Fatal(err)
			}
			// Two windows of simulated time (10 s), bounded in steps.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			var wg sync.WaitGroup
			defer wg.Wait()
			defer cancel()
			wg.Go(func() { // stop waiting for the room's timer once it exited
				select {
				case <-s.Room().Done():
					cancel()
				case <-ctx.Done():
				}
			})
			start := h.clk.Now()
			for h.clk.Since(start) < 10*time.Second {
				if err := h.clk.BlockUntilContext(ctx, 1); err != nil {
					break // the room exited
				}
				h.clk.Advance(50 * time.Millisecond)
			}
			closed := false
			select {
			case <-s.Room().Done():
				closed = true
			case <-time.After(100 * time.Millisecond):
			}
			st := s.Room().Stats()
			t.Logf("stats %+v", st)
			if closed != tc.closed {
				t.Fatalf("room closed = %v, want %v", closed, tc.closed)
			}
			mu.Lock()
			defer mu.Unlock()
			if want := map[bool]string{true: "counter:299", false: "counter:2"}[tc.slowEvery == 0]; len(overruns) == 0 || overruns[0] != want {
				t.Fatalf("OnOverrun calls %v, want %s first", overruns, want)
			}
			if !tc.closed {
				if len(faults) != 0 || h.m.Faults() != (Faults{}) {
					t.Fatalf("faults %v %+v, want none", faults, h.m.Faults())
				}
				return
			}
			// 100 slots a window; 3 per tick: the window ends at the 34th tick.
			if st.Ticks != 33 {
				t.Errorf("ran %d ticks, want 33 (closed at the end of the first window)", st.Ticks)
			}
			if got := lastLeft(t, c); got != string(LeaveOverloaded) {
				t.Errorf("player got left %q, want overloaded", got)
			}
			if len(faults) != 1 || faults[0] != "counter:overloaded" || h.m.Faults() != (Faults{Overloaded: 1}) {
				t.Errorf("faults %v %+v, want one overloaded", faults, h.m.Faults())
			}
		})
	}
}

func TestOverloadPolicyValidation(t *testing.T) {
	for _, p := range []OverloadPolicy{{Window: -1}, {MaxSkipped: 1}, {MaxSkipped: 2}, {MinOverruns: -1}} {
		if _, err := Define(TypeConfig{Name: "x", Schema: counterSchema}, func(r *Ctx) Game[counterInput] { return newCounter() }); err != nil {
			t.Fatal(err)
		}
		_, err := Define(TypeConfig{Name: "x", Schema: counterSchema, Overload: p}, func(r *Ctx) Game[counterInput] { return newCounter() })
		if err == nil {
			t.Errorf("Define with Overload %+v: no error", p)
		}
	}
}

func TestEventsRideInFrames(t *testing.T) {
	h := newHarness(t, TypeConfig{}, func(g *counterGame) {
		g.onTick = func(r *Ctx) {
			switch r.Tick() {
			case 2:
				_ = r.Broadcast("hello", "all")
			case 3:
				_ = r.Send(r.Seats()[0], "secret", 42)
			}
		}
	})
	ca, cb := &testConn{}, &testConn{}
	h.join("a", ca, "")
	h.join("b", cb, "")
	h.step(3)
	find := func(c *testConn, tick uint64) netcode.ServerMessage {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, f := range c.frames {
			if f.Tick == tick {
				return f
			}
		}
		t.Fatalf("no frame for tick %d", tick)
		return netcode.ServerMessage{}
	}
	for _, c := range []*testConn{ca, cb} {
		f := find(c, 2)
		if len(f.Events) != 1 || f.Events[0].Name != "hello" || f.Events[0].Seq != 1 {
			t.Fatalf("tick 2 events %+v, want [hello seq 1]", f.Events)
		}
	}
	if f := find(ca, 3); len(f.Events) != 1 || f.Events[0].Name != "secret" || f.Events[0].Seq != 2 {
		t.Fatalf("a's tick 3 events %+v, want [secret seq 2]", f.Events)
	}
	if f := find(cb, 3); len(f.Events) != 0 {
		t.Fatalf("b got a's private event: %+v", f.Events)
	}
}

// A game constructor that panics fails its room like any game panic: the
// joiner gets ErrClosed, the fault is counted, and the next room of the
// type works.
func TestPanickingConstructorFailsOnlyItsRoom(t *testing.T) {
	var made atomic.Int32
	typ, err := Define(TypeConfig{Name: "counter", Schema: counterSchema, Capacity: 1}, func(r *Ctx) Game[counterInput] {
		if made.Add(1) == 1 {
			panic("constructor bug")
		}
		return newCounter()
	})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarnessFor(t, typ)
	if _, err := h.join("a", &testConn{}, ""); !errors.Is(err, ErrClosed) {
		t.Fatalf("join into a room whose constructor panicked: %v, want ErrClosed", err)
	}
	if got := h.m.Faults(); got != (Faults{Crashed: 1}) {
		t.Fatalf("Faults() = %+v, want 1 crashed", got)
	}
	s, err := h.join("b", &testConn{}, "")
	if err != nil {
		t.Fatalf("join after the failed room: %v", err)
	}
	h.step(3)
	if st := s.Room().Stats(); st.Ticks != 3 {
		t.Fatalf("new room ticked %d times, want 3", st.Ticks)
	}
}

// panicDecode is an input whose decoder panics on a given byte, as a
// buggy hand-written DecodeMsgpack would.
type panicDecode struct{ v int64 }

func (p *panicDecode) DecodeMsgpack(dec *msgpack.Decoder) error {
	v, err := dec.DecodeInt64()
	if v == 13 {
		panic("decoder bug")
	}
	p.v = v
	return err
}

// A panic while decoding an input (on the connection's goroutine) refuses
// that input with ErrInputPanic; the queue stays usable.
func TestInputDecoderPanicIsRefused(t *testing.T) {
	q := newQueue[panicDecode](4)
	if err := q.push(1, []byte{0x0d}); !errors.Is(err, ErrInputPanic) {
		t.Fatalf("push of the panicking input: %v, want ErrInputPanic", err)
	}
	if err := q.push(2, []byte{0x05}); err != nil {
		t.Fatalf("push after the panic: %v", err)
	}
	got := q.drain(nil)
	if len(got) != 1 || got[0].seq != 2 || got[0].in.v != 5 {
		t.Fatalf("queued %+v, want only seq 2 = 5", got)
	}
}
