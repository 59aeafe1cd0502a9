package room

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/player"
)

// control returns the decoded control messages c received of type t.
func (c *testConn) controls(t *testing.T, typ netcode.MsgType) []netcode.ServerMessage {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []netcode.ServerMessage
	for _, b := range c.control {
		var m netcode.ServerMessage
		if err := netcode.DecodeServer(b, &m); err != nil {
			t.Fatalf("undecodable control message: %v", err)
		}
		if m.Type == typ {
			out = append(out, m)
		}
	}
	return out
}

// token returns the newest resume token c was given.
func (c *testConn) token(t *testing.T) string {
	t.Helper()
	var tok string
	for _, m := range c.controls(t, netcode.MsgJoined) {
		tok = m.ResumeToken
	}
	for _, m := range c.controls(t, netcode.MsgResumed) {
		tok = m.ResumeToken
	}
	if tok == "" {
		t.Fatal("no resume token received")
	}
	return tok
}

func (h *harness) resume(id, token string, c *testConn, lastTick, lastEvent uint64) (*Seat, error) {
	h.t.Helper()
	type result struct {
		s   *Seat
		err error
	}
	done := make(chan result, 1)
	h.m.Resume(ResumeRequest{Player: player.ID(id), Token: token, LastTick: lastTick, LastEventSeq: lastEvent, Conn: c,
		Done: func(s *Seat, err error) { done <- result{s, err} }})
	select {
	case r := <-done:
		if r.s != nil {
			settle(h.t, r.s.Room()) // the resync is sent right after Done
		}
		return r.s, r.err
	case <-time.After(10 * time.Second):
		h.t.Fatal("resume: no answer")
		return nil, nil
	}
}

// reconnectGame records Disconnected/Reconnected calls.
type reconnectGame struct {
	*counterGame
	disc, reco int
}

func (g *reconnectGame) Disconnected(r *Ctx, s *Seat) { g.disc++ }
func (g *reconnectGame) Reconnected(r *Ctx, s *Seat)  { g.reco++ }

func newResumeHarness(t *testing.T, grace time.Duration, everyTick bool) (*harness, chan *reconnectGame) {
	games := make(chan *reconnectGame, 4)
	typ, err := Define(TypeConfig{Name: "counter", Schema: counterSchema, Grace: grace}, func(r *Ctx) Game[counterInput] {
		g := &reconnectGame{counterGame: newCounter()}
		if everyTick {
			g.onTick = func(r *Ctx) { _ = r.Broadcast("tick", r.Tick()) }
		}
		games <- g
		return g
	})
	if err != nil {
		t.Fatal(err)
	}
	return newHarnessFor(t, typ), games
}

func TestResumeWithinGraceKeepsTheSeatAndReplaysEvents(t *testing.T) {
	h, games := newResumeHarness(t, time.Second, true)
	c1 := &testConn{}
	s, err := h.join("a", c1, "")
	if err != nil {
		t.Fatal(err)
	}
	g := <-games
	h.step(3)
	last := c1.lastFrame()
	lastEvent := last.Events[len(last.Events)-1].Seq
	tok := c1.token(t)

	s.Room().Disconnect(s, c1)
	h.step(5) // five ticks of events while away
	settle(t, s.Room())
	if g.disc != 1 || len(g.leaves) != 0 {
		t.Fatalf("game saw %d disconnects, leaves %v; want 1 and none", g.disc, g.leaves)
	}

	c2 := &testConn{}
	s2, err := h.resume("a", tok, c2, last.Tick, lastEvent)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if s2 != s {
		t.Fatal("resume gave a different seat")
	}
	r := c2.controls(t, netcode.MsgResumed)
	if len(r) != 1 || !r[0].Recovered || r[0].ResumeToken == "" || r[0].ResumeToken == tok {
		t.Fatalf("resumed = %+v; want one, recovered, with a new token", r)
	}
	// The resync frame came at once (no tick ran): a delta from the
	// client's tick, carrying exactly the missed events in order.
	f := c2.lastFrame()
	if f.Tick != 8 || f.Age != 5 {
		t.Fatalf("resync frame tick %d age %d, want tick 8 age 5", f.Tick, f.Age)
	}
	var seqs []uint64
	for _, e := range f.Events {
		seqs = append(seqs, e.Seq)
	}
	for i, seq := range seqs {
		if seq != lastEvent+1+uint64(i) {
			t.Fatalf("replayed events %v, want %d.. consecutive", seqs, lastEvent+1)
		}
	}
	if len(seqs) != 5 {
		t.Fatalf("replayed %d events, want 5", len(seqs))
	}
	settle(t, s.Room())
	if g.reco != 1 {
		t.Fatalf("game saw %d reconnects, want 1", g.reco)
	}
	// The next live frame has no duplicate event.
	h.step(1)
	if f := c2.lastFrame(); len(f.Events) != 1 || f.Events[0].Seq != seqs[len(seqs)-1]+1 {
		t.Fatalf("next frame events %+v, want exactly the next seq", f.Events)
	}
	// The old token is spent.
	if _, err := h.resume("a", tok, &testConn{}, 0, 0); !errors.Is(err, ErrResumeRejected) {
		t.Fatalf("reusing a token: %v, want ErrResumeRejected", err)
	}
}

func TestResumeFromNothingGetsASnapshot(t *testing.T) {
	h, _ := newResumeHarness(t, time.Second, true)
	c1 := &testConn{}
	s, _ := h.join("a", c1, "")
	h.step(2)
	s.Room().Disconnect(s, c1)
	h.step(2)
	c2 := &testConn{}
	if _, err := h.resume("a", c1.token(t), c2, 0, 0); err != nil {
		t.Fatal(err)
	}
	f := c2.lastFrame()
	if f.Age != 0 || len(f.Events) != 4 || f.Events[0].Seq != 1 {
		t.Fatalf("resync from nothing: age %d, %d events (first %+v); want a snapshot and all 4 events", f.Age, len(f.Events), f.Events)
	}
}

func TestGraceExpiryFreesTheSeatOnce(t *testing.T) {
	h, games := newResumeHarness(t, time.Second, false)
	c1 := &testConn{}
	s, _ := h.join("a", c1, "")
	g := <-games
	h.step(1)
	tok := c1.token(t)
	s.Room().Disconnect(s, c1)
	settle(t, s.Room())
	h.step(19) // 950 ms
	settle(t, s.Room())
	if len(g.leaves) != 0 {
		t.Fatalf("seat freed before the grace window ended: %v", g.leaves)
	}
	h.step(2)
	settle(t, s.Room())
	if len(g.leaves) != 1 || g.leaves[0] != LeaveTimeout {
		t.Fatalf("leaves %v, want exactly [timeout]", g.leaves)
	}
	if _, err := h.resume("a", tok, &testConn{}, 0, 0); !errors.Is(err, ErrResumeExpired) {
		t.Fatalf("resume after the window: %v, want ErrResumeExpired", err)
	}
	h.step(2)
	settle(t, s.Room())
	if len(g.leaves) != 1 {
		t.Fatalf("game told %d times, want once", len(g.leaves))
	}
	// A consented leave frees at once: no grace, no timeout later.
	c3 := &testConn{}
	s3, _ := h.join("b", c3, "")
	s3.Room().Leave(s3)
	settle(t, s3.Room())
	if got := g.leaves[len(g.leaves)-1]; got != LeaveConsented {
		t.Fatalf("leave reason %q, want leave", got)
	}
}

func TestBadResumeTokensLeaveTheSeatAlone(t *testing.T) {
	h, _ := newResumeHarness(t, time.Second, false)
	ca := &testConn{}
	a, _ := h.join("a", ca, "")
	h.step(1)
	tok := ca.token(t)
	tests := []struct {
		name, player, token string
		want                error
	}{
		{"forged", "a", "AAAAAAAAAAAAAAAAAAAAAA", ErrResumeRejected},
		{"another player's", "b", tok, ErrResumeRejected},
		{"empty", "a", "", ErrResumeRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := h.resume(tt.player, tt.token, &testConn{}, 0, 0); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			settle(t, a.Room())
			ca.mu.Lock()
			replaced := ca.replaced
			ca.mu.Unlock()
			if replaced || a.conn != ca {
				t.Fatal("the live seat was disturbed")
			}
		})
	}
	// The rightful owner can still use the token.
	if _, err := h.resume("a", tok, &testConn{}, 0, 0); err != nil {
		t.Fatalf("owner's resume after rejected attempts: %v", err)
	}
}

func TestTakeoverReplacesTheOldConnectionAndIsThrottled(t *testing.T) {
	h, games := newResumeHarness(t, time.Second, false)
	c := &testConn{}
	s, _ := h.join("a", c, "")
	g := <-games
	h.step(1)
	conns := []*testConn{c}
	for i := 0; i < takeoverLimit; i++ {
		next := &testConn{}
		if _, err := h.resume("a", conns[len(conns)-1].token(t), next, 0, 0); err != nil {
			t.Fatalf("takeover %d: %v", i+1, err)
		}
		conns = append(conns, next)
	}
	for i, old := range conns[:len(conns)-1] {
		if !old.replaced {
			t.Fatalf("connection %d not told it was replaced", i)
		}
	}
	// A fourth takeover within the second is refused; the seat stays put.
	if _, err := h.resume("a", conns[len(conns)-1].token(t), &testConn{}, 0, 0); !errors.Is(err, ErrThrottled) {
		t.Fatalf("4th takeover within 1s: %v, want ErrThrottled", err)
	}
	settle(t, s.Room())
	if s.conn != conns[len(conns)-1] || g.disc != 0 || g.reco != 0 {
		t.Fatal("throttled takeover moved the seat or told the game")
	}
	// A second later it is allowed again, with the same (unspent) token.
	h.step(20)
	if _, err := h.resume("a", conns[len(conns)-1].token(t), &testConn{}, 0, 0); err != nil {
		t.Fatalf("takeover after the window: %v", err)
	}
	if n := len(h.m.Rooms()); n != 1 || h.m.Rooms()[0].Players != 1 {
		t.Fatalf("rooms %+v, want one room with one seat", h.m.Rooms())
	}
	// A stale disconnect from a replaced connection is ignored.
	s.Room().Disconnect(s, c)
	settle(t, s.Room())
	if s.conn == nil || g.disc != 0 {
		t.Fatal("a replaced connection's disconnect took the seat offline")
	}
}

func TestSeatEventBufferOverflowReportsLoss(t *testing.T) {
	h, _ := newResumeHarness(t, time.Hour, false)
	c1 := &testConn{}
	s, _ := h.join("a", c1, "")
	h.step(1)
	r := s.Room()
	r.Disconnect(s, c1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Do(ctx, func(c *Ctx) {
		for i := 0; i < 3*maxSeatEvents; i++ {
			_ = c.Broadcast("burst", i)
		}
	}); err != nil {
		t.Fatal(err)
	}
	c2 := &testConn{}
	if _, err := h.resume("a", c1.token(t), c2, 1, 0); err != nil {
		t.Fatal(err)
	}
	m := c2.controls(t, netcode.MsgResumed)
	if len(m) != 1 || m[0].Recovered {
		t.Fatalf("resumed %+v, want recovered = false", m)
	}
	f := c2.lastFrame()
	if n := len(f.Events); n < maxSeatEvents {
		t.Fatalf("replayed %d events, want at least the newest %d", n, maxSeatEvents)
	}
	if last := f.Events[len(f.Events)-1].Seq; last != 3*maxSeatEvents {
		t.Fatalf("newest replayed seq %d, want %d", last, 3*maxSeatEvents)
	}
}

// A client that reconnects within the tick it last applied still gets its
// resync frame at once — as a real full snapshot (age 0 cannot carry a
// delta from a tick to itself).
func TestResumeWithinTheSameTickGetsAFullSnapshot(t *testing.T) {
	h, _ := newResumeHarness(t, time.Second, false)
	c1 := &testConn{}
	s, _ := h.join("a", c1, "")
	h.step(2)
	last := c1.lastFrame()
	s.Room().Disconnect(s, c1)
	c2 := &testConn{}
	if _, err := h.resume("a", c1.token(t), c2, last.Tick, 0); err != nil {
		t.Fatal(err)
	}
	f := c2.lastFrame()
	if f.Tick != last.Tick || f.Age != 0 || len(f.Created) <= 1 || f.Checksum != last.Checksum {
		t.Fatalf("resync frame tick %d age %d created %x: want a full snapshot of tick %d", f.Tick, f.Age, f.Created, last.Tick)
	}
}
