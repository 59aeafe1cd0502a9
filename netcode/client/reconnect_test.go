package client_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/tickroom/tickroom/games/arena"
	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/netcode/client"
	"github.com/tickroom/tickroom/room"
	"github.com/tickroom/tickroom/server"
	"github.com/tickroom/tickroom/server/servertest"
)

// events records a client's connection callbacks for a test to await.
type events struct {
	mu           sync.Mutex
	disconnected []error
	attempts     []int
	attemptAt    []time.Time
	resumed      []client.ResumeInfo
	lost         []error
	roomEvents   []uint64
	changed      chan struct{} // signalled after every callback
}

func newEvents() *events { return &events{changed: make(chan struct{}, 1)} }

func (e *events) signal() {
	select {
	case e.changed <- struct{}{}:
	default:
	}
}

// hook installs the callbacks into cfg.
func (e *events) hook(cfg *client.Config) {
	cfg.OnDisconnected = func(err error) {
		e.mu.Lock()
		e.disconnected = append(e.disconnected, err)
		e.mu.Unlock()
		e.signal()
	}
	cfg.OnReconnecting = func(n int) {
		e.mu.Lock()
		e.attempts = append(e.attempts, n)
		e.attemptAt = append(e.attemptAt, time.Now())
		e.mu.Unlock()
		e.signal()
	}
	cfg.OnResumed = func(info client.ResumeInfo) {
		e.mu.Lock()
		e.resumed = append(e.resumed, info)
		e.mu.Unlock()
		e.signal()
	}
	cfg.OnLost = func(err error) {
		e.mu.Lock()
		e.lost = append(e.lost, err)
		e.mu.Unlock()
		e.signal()
	}
	cfg.OnEvent = func(ev client.Event) {
		e.mu.Lock()
		e.roomEvents = append(e.roomEvents, ev.Seq)
		e.mu.Unlock()
	}
}

// await waits until cond (called with e.mu held) holds.
func (e *events) await(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for {
		e.mu.Lock()
		ok := cond()
		e.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-e.changed:
		case <-ctx.Done():
			e.mu.Lock()
			defer e.mu.Unlock()
			t.Fatalf("waiting for %s: %v (disconnected %v, attempts %v, resumed %+v, lost %v)",
				what, ctx.Err(), e.disconnected, e.attempts, e.resumed, e.lost)
		}
	}
}

// seats returns, for room id, how many seats it has and how many are
// connected.
func seats(ctx context.Context, t *testing.T, rooms *room.Manager, id string) (n, connected int) {
	t.Helper()
	r, ok := rooms.Room(id)
	if !ok {
		return 0, 0
	}
	err := r.Do(ctx, func(rc *room.Ctx) {
		for _, s := range rc.Seats() {
			n++
			if s.Connected() {
				connected++
			}
		}
	})
	if err != nil {
		t.Fatalf("room.Do: %v", err)
	}
	return n, connected
}

// sendAndSettle sends n inputs and waits until the server applied them.
func sendAndSettle(t *testing.T, ctx context.Context, c *client.Client, n int) uint64 {
	t.Helper()
	var last uint64
	for range n {
		seq, err := c.SendInput([]float64{0.3, 0.4})
		if err != nil {
			t.Fatalf("SendInput: %v", err)
		}
		last = seq
	}
	if err := c.Wait(ctx, func(s client.State) bool { return s.InputSeq >= last }); err != nil {
		t.Fatalf("waiting for input_seq %d: %v", last, err)
	}
	return last
}

func TestKillConnectionResumesSeatReplicaAndInputs(t *testing.T) {
	s := startServer(t)
	tok, id := s.guest(t, "phoenix")
	ev := newEvents()
	cfg := client.Config{Reconnect: &client.ReconnectPolicy{Window: 5 * time.Second}}
	ev.hook(&cfg)
	c := s.dial(t, tok, cfg)
	ctx := testCtx(t)
	info, err := c.Join(ctx, "arena", "")
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	last := sendAndSettle(t, ctx, c, 5)
	token := c.ResumeToken()
	if token == "" {
		t.Fatal("no resume token after joined")
	}

	if !c.KillConnection() {
		t.Fatal("KillConnection: no connection")
	}
	// Inputs while offline do not fail and keep their numbering.
	var offline []uint64
	for range 3 {
		seq, err := c.SendInput([]float64{-0.3, 0.4})
		if err != nil {
			t.Fatalf("SendInput while reconnecting: %v", err)
		}
		offline = append(offline, seq)
	}
	if want := []uint64{last + 1, last + 2, last + 3}; fmt.Sprint(offline) != fmt.Sprint(want) {
		t.Fatalf("offline input seqs %v, want %v", offline, want)
	}

	ev.await(t, ctx, "OnResumed", func() bool { return len(ev.resumed) == 1 })
	ev.mu.Lock()
	ri := ev.resumed[0]
	nDisc, nLost := len(ev.disconnected), len(ev.lost)
	ev.mu.Unlock()
	if nDisc != 1 || nLost != 0 {
		t.Errorf("got %d disconnects and %d losses, want 1 and 0", nDisc, nLost)
	}
	// The resync is a delta if a tick passed during the drop, a snapshot if
	// the client came back within the tick; both must leave the replica
	// equal to the server's (checked below).
	if ri.Room != info.RoomID || !ri.Recovered || ri.Attempts < 1 || ri.Duration <= 0 {
		t.Errorf("ResumeInfo %+v: want room %s, recovered, ≥1 attempt", ri, info.RoomID)
	}
	if c.PlayerID() != id || c.ResumeToken() == token || c.ResumeToken() == "" || !c.Online() {
		t.Errorf("after resume: player %s (want %s), token rotated %v, online %v", c.PlayerID(), id, c.ResumeToken() != token, c.Online())
	}

	// The inputs sent while offline were delivered after the resume, and
	// numbering continues.
	if err := c.Wait(ctx, func(s client.State) bool { return s.InputSeq >= offline[2] }); err != nil {
		t.Fatalf("offline inputs never applied: %v", err)
	}
	next := sendAndSettle(t, ctx, c, 1)
	if next != offline[2]+1 {
		t.Errorf("first input after the resume got seq %d, want %d", next, offline[2]+1)
	}
	if st, _ := c.State(nil); st.Room != info.RoomID {
		t.Errorf("room after resume %s, want %s", st.Room, info.RoomID)
	}
	if err := servertest.CheckReplica(ctx, s.Rooms, c); err != nil {
		t.Error(err)
	}
	if n, conn := seats(ctx, t, s.Rooms, info.RoomID); n != 1 || conn != 1 {
		t.Errorf("room has %d seats (%d connected), want 1 connected: the same seat", n, conn)
	}
	st := c.Stats()
	if st.Resumes != 1 || st.Disconnects != 1 || st.Desyncs != 0 || st.DuplicateEvents != 0 || st.InputsBuffered != 3 || st.InputsDropped != 0 {
		t.Errorf("stats %+v: want 1 resume, 1 disconnect, no desync, no duplicate, 3 inputs buffered, none dropped", st)
	}

	// Close leaves: the seat is freed at once, not held for a grace window.
	_ = c.Close()
	if err := c.Err(); err != nil {
		t.Errorf("Err after Close: %v", err)
	}
	if n, _ := seats(ctx, t, s.Rooms, info.RoomID); n != 0 {
		t.Errorf("room still has %d seats after Close: Close must leave", n)
	}
}

func TestServerGoingAwayReconnectsUntilWindowThenLost(t *testing.T) {
	s := startServer(t)
	tok, _ := s.guest(t, "orphan")
	ev := newEvents()
	const window = 800 * time.Millisecond
	cfg := client.Config{Reconnect: &client.ReconnectPolicy{Base: 20 * time.Millisecond, Cap: 100 * time.Millisecond, Window: window}}
	ev.hook(&cfg)
	c := s.dial(t, tok, cfg)
	ctx := testCtx(t)
	if _, err := c.Join(ctx, "arena", ""); err != nil {
		t.Fatalf("Join: %v", err)
	}
	start := time.Now()
	s.Server.Server.Close() // 1001 to everyone; new connections get 503 from now on

	ev.await(t, ctx, "OnLost", func() bool { return len(ev.lost) == 1 })
	select {
	case <-c.Done():
	case <-ctx.Done():
		t.Fatal("Done not closed after OnLost")
	}
	took := time.Since(start)
	ev.mu.Lock()
	defer ev.mu.Unlock()
	var ce *client.CloseError
	if len(ev.disconnected) != 1 || !errors.As(ev.disconnected[0], &ce) || ce.Code != server.CloseGoingAway {
		t.Errorf("OnDisconnected got %v, want one *CloseError 1001", ev.disconnected)
	}
	if len(ev.attempts) < 3 || ev.attempts[0] != 1 {
		t.Errorf("attempts %v, want several, from 1", ev.attempts)
	}
	// The first retry is immediate.
	if len(ev.attemptAt) > 0 {
		if d := ev.attemptAt[0].Sub(start); d > 200*time.Millisecond {
			t.Errorf("first attempt after %v, want at once", d)
		}
	}
	if took < window || took > window+time.Second {
		t.Errorf("lost after %v, want just after the %v window", took, window)
	}
	err := c.Err()
	var he *client.HTTPError
	if !errors.Is(err, client.ErrLost) || !errors.As(err, &he) || he.StatusCode != 503 || !errors.Is(ev.lost[0], client.ErrLost) {
		t.Errorf("Err %v: want ErrLost wrapping the server's 503", err)
	}
	if len(ev.resumed) != 0 {
		t.Errorf("resumed %v against a server that is down", ev.resumed)
	}
	if _, ok := c.State(nil); ok {
		t.Error("a lost client still reports a replica")
	}
}

func TestReplacedConnectionDoesNotReconnect(t *testing.T) {
	s := startServer(t)
	tok, _ := s.guest(t, "twin")
	evA := newEvents()
	cfgA := client.Config{Reconnect: &client.ReconnectPolicy{Window: 5 * time.Second}}
	evA.hook(&cfgA)
	a := s.dial(t, tok, cfgA)
	ctx := testCtx(t)
	info, err := a.Join(ctx, "arena", "")
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	last := sendAndSettle(t, ctx, a, 4)

	// The same player on a second device takes the seat over.
	b := s.dial(t, tok, client.Config{})
	binfo, err := b.Resume(ctx, a.ResumeToken())
	if err != nil {
		t.Fatalf("Resume on the second connection: %v", err)
	}
	if binfo.RoomID != info.RoomID {
		t.Errorf("resumed room %s, want %s", binfo.RoomID, info.RoomID)
	}
	evA.await(t, ctx, "A's OnLost", func() bool { return len(evA.lost) == 1 })
	select {
	case <-a.Done():
	case <-ctx.Done():
		t.Fatal("A still running after 4509")
	}
	var ce *client.CloseError
	if err := a.Err(); !errors.Is(err, client.ErrLost) || !errors.As(err, &ce) || ce.Code != server.CloseReplaced {
		t.Errorf("A's Err %v, want ErrLost wrapping close 4509", err)
	}
	evA.mu.Lock()
	if len(evA.attempts) != 0 || len(evA.resumed) != 0 {
		t.Errorf("A reconnected after 4509: attempts %v, resumed %v", evA.attempts, evA.resumed)
	}
	evA.mu.Unlock()

	// B continues the session: inputs after the server's input_seq, the
	// replica equal to the server's.
	next := sendAndSettle(t, ctx, b, 1)
	if next != last+1 {
		t.Errorf("B's first input got seq %d, want %d", next, last+1)
	}
	if err := servertest.CheckReplica(ctx, s.Rooms, b); err != nil {
		t.Error(err)
	}
	if n, conn := seats(ctx, t, s.Rooms, info.RoomID); n != 1 || conn != 1 {
		t.Errorf("room has %d seats (%d connected), want the one seat, connected", n, conn)
	}
}

func TestResumeRefused(t *testing.T) {
	typ, err := arena.Type(arena.Options{Name: "brief", Grace: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{Server: servertest.New(t, servertest.Options{Types: []*room.Type{typ}})}
	s.HTTP = s.URL
	ctx := testCtx(t)

	t.Run("rejected token", func(t *testing.T) {
		tok, _ := s.guest(t, "forger")
		c := s.dial(t, tok, client.Config{})
		_, err := c.Resume(ctx, "not-a-token")
		var se *client.ServerError
		if !errors.As(err, &se) || se.Code != netcode.CodeResumeRejected {
			t.Fatalf("Resume: got %v, want %s", err, netcode.CodeResumeRejected)
		}
		if _, err := c.Join(ctx, "brief", ""); err != nil {
			t.Fatalf("Join after a refused resume: %v", err)
		}
	})

	t.Run("expired while silent", func(t *testing.T) {
		// The heartbeat is fast here, the grace window short: a client
		// silent for longer than both comes back to an expired seat.
		s := &testServer{Server: servertest.New(t, servertest.Options{Types: []*room.Type{typ},
			PingInterval: 50 * time.Millisecond, PingTimeout: 250 * time.Millisecond})}
		s.HTTP = s.URL
		tok, _ := s.guest(t, "sleeper")
		ev := newEvents()
		cfg := client.Config{Reconnect: &client.ReconnectPolicy{Window: 5 * time.Second}}
		ev.hook(&cfg)
		c := s.dial(t, tok, cfg)
		info, err := c.Join(ctx, "brief", "")
		if err != nil {
			t.Fatalf("Join: %v", err)
		}
		if !c.GoSilent(time.Second) {
			t.Fatal("GoSilent refused")
		}
		// Wait for the server to free the seat: heartbeat timeout, then grace.
		for deadline := time.Now().Add(5 * time.Second); ; {
			if n, _ := seats(ctx, t, s.Rooms, info.RoomID); n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the seat was never freed")
			}
			time.Sleep(20 * time.Millisecond) // polling the server's state: no event to await
		}
		ev.await(t, ctx, "OnLost", func() bool { return len(ev.lost) == 1 })
		<-c.Done() // closed right after OnLost
		var se *client.ServerError
		ev.mu.Lock()
		defer ev.mu.Unlock()
		if len(ev.disconnected) != 1 {
			t.Errorf("OnDisconnected %v, want one call", ev.disconnected)
		}
		if err := c.Err(); !errors.Is(err, client.ErrLost) || !errors.As(err, &se) || se.Code != netcode.CodeResumeExpired {
			t.Errorf("Err %v, want ErrLost wrapping %s", err, netcode.CodeResumeExpired)
		}
		if len(ev.resumed) != 0 || len(ev.attempts) != 1 {
			t.Errorf("resumed %v after %v attempts, want no resume after one attempt", ev.resumed, ev.attempts)
		}
	})
}

func TestSilentClientIsResumedAfterHeartbeatTimeout(t *testing.T) {
	s := &testServer{Server: servertest.New(t, servertest.Options{PingInterval: 50 * time.Millisecond, PingTimeout: 300 * time.Millisecond})}
	s.HTTP = s.URL
	tok, _ := s.guest(t, "napper")
	ev := newEvents()
	cfg := client.Config{Reconnect: &client.ReconnectPolicy{Window: 5 * time.Second}}
	ev.hook(&cfg)
	c := s.dial(t, tok, cfg)
	ctx := testCtx(t)
	info, err := c.Join(ctx, "arena-players", "")
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	last := sendAndSettle(t, ctx, c, 3)
	const silence = 700 * time.Millisecond
	if !c.GoSilent(silence) {
		t.Fatal("GoSilent refused")
	}
	silentAt := time.Now()
	// Inputs during the silence are buffered, not written.
	for range 2 {
		if _, err := c.SendInput([]float64{1, 0}); err != nil {
			t.Fatalf("SendInput while silent: %v", err)
		}
	}
	// The server's heartbeat gives up on the silent connection: the seat
	// is disconnected (held for its grace window) before the silence ends.
	for {
		if _, conn := seats(ctx, t, s.Rooms, info.RoomID); conn == 0 {
			break
		}
		if time.Since(silentAt) > silence {
			t.Fatal("the server did not time the silent connection out")
		}
		time.Sleep(10 * time.Millisecond) // polling the server's state: no event to await
	}
	ev.await(t, ctx, "OnResumed", func() bool { return len(ev.resumed) == 1 })
	ev.mu.Lock()
	// Waking up, the client reads the frames and the 4001 close that came
	// meanwhile; an ack written before it reaches the close may fail first
	// (EPIPE), so the reason is either.
	var ce *client.CloseError
	if len(ev.disconnected) != 1 || errors.As(ev.disconnected[0], &ce) && ce.Code != server.CloseHeartbeat {
		t.Errorf("OnDisconnected %v, want one: close 4001 or a write error", ev.disconnected)
	}
	ri := ev.resumed[0]
	ev.mu.Unlock()
	if ri.Room != info.RoomID || !ri.Recovered {
		t.Errorf("ResumeInfo %+v, want room %s recovered", ri, info.RoomID)
	}
	if err := c.Wait(ctx, func(s client.State) bool { return s.InputSeq >= last+2 }); err != nil {
		t.Fatalf("inputs of the silence never applied: %v", err)
	}
	if err := servertest.CheckReplica(ctx, s.Rooms, c); err != nil {
		t.Error(err)
	}
}

func TestReadTimeoutReconnects(t *testing.T) {
	s := startServer(t) // pings every 5 s: a client without a seat hears nothing for that long
	tok, _ := s.guest(t, "deaf")
	ev := newEvents()
	cfg := client.Config{ReadTimeout: 200 * time.Millisecond, Reconnect: &client.ReconnectPolicy{Window: 5 * time.Second}}
	ev.hook(&cfg)
	c := s.dial(t, tok, cfg)
	ctx := testCtx(t)
	ev.await(t, ctx, "OnResumed", func() bool { return len(ev.resumed) >= 1 })
	ev.mu.Lock()
	ri, disc := ev.resumed[0], ev.disconnected[0]
	ev.mu.Unlock()
	if ri.Room != "" || ri.Attempts != 1 {
		t.Errorf("ResumeInfo %+v, want no room after one attempt", ri)
	}
	if !errors.Is(disc, client.ErrReadTimeout) {
		t.Errorf("OnDisconnected %v, want a read timeout", disc)
	}
	if _, err := c.Ping(ctx); err != nil {
		t.Errorf("Ping after the reconnect: %v", err)
	}
}

func TestBackoffScheduleIsFullJitter(t *testing.T) {
	p := client.ReconnectPolicy{Base: 100 * time.Millisecond, Cap: 2 * time.Second}
	wantCeil := []time.Duration{0, 0, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond,
		1600 * time.Millisecond, 2 * time.Second, 2 * time.Second}

	// An injected source at its extremes gives the bounds exactly.
	for _, tc := range []struct {
		name string
		pick func(n int64) int64
		want func(ceil time.Duration) time.Duration
	}{
		{"highest draw", func(n int64) int64 { return n - 1 }, func(c time.Duration) time.Duration { return c }},
		{"lowest draw", func(n int64) int64 { return 0 }, func(time.Duration) time.Duration { return 0 }},
	} {
		var calls int
		p.Rand = func(n int64) int64 { calls++; return tc.pick(n) }
		for n := 1; n < len(wantCeil); n++ {
			if got, want := p.Delay(n), tc.want(wantCeil[n]); got != want {
				t.Errorf("%s: Delay(%d) = %v, want %v", tc.name, n, got, want)
			}
		}
		if calls != len(wantCeil)-2 {
			t.Errorf("%s: Rand called %d times, want %d (never for the first attempt)", tc.name, calls, len(wantCeil)-2)
		}
	}
	if got := p.Delay(1000); got > p.Cap {
		t.Errorf("Delay(1000) = %v, want ≤ Cap", got)
	}

	// A seeded source: every draw within its bound, and spread over it.
	p.Rand = rand.New(rand.NewPCG(1, 2)).Int64N
	for n := 2; n < len(wantCeil); n++ {
		var lo, hi time.Duration = wantCeil[n], 0
		for range 500 {
			d := p.Delay(n)
			if d < 0 || d > wantCeil[n] {
				t.Fatalf("Delay(%d) = %v, outside [0, %v]", n, d, wantCeil[n])
			}
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo > wantCeil[n]/10 || hi < wantCeil[n]*9/10 {
			t.Errorf("Delay(%d) over 500 draws spans [%v, %v], want most of [0, %v]", n, lo, hi, wantCeil[n])
		}
	}
}

func TestTerminalCloseCodes(t *testing.T) {
	for code, want := range map[uint16]bool{
		1000: true, 1001: false, 1003: true, 1005: false, 1006: false, 1007: true, 1008: true, 1009: true,
		1011: false, 1012: false, 1013: false, 4000: false, 4001: false, 4008: false, 4499: false,
		4500: true, 4502: true, 4509: true, 4999: true,
	} {
		if got := client.TerminalCloseCode(code); got != want {
			t.Errorf("TerminalCloseCode(%d) = %v, want %v", code, got, want)
		}
	}
}

func TestShortSilenceComesBackOnline(t *testing.T) {
	s := startServer(t) // default heartbeat: a short silence goes unnoticed
	tok, _ := s.guest(t, "blinker")
	ev := newEvents()
	cfg := client.Config{Reconnect: &client.ReconnectPolicy{Window: 5 * time.Second}}
	ev.hook(&cfg)
	c := s.dial(t, tok, cfg)
	ctx := testCtx(t)
	if _, err := c.Join(ctx, "arena-players", ""); err != nil {
		t.Fatalf("Join: %v", err)
	}
	last := sendAndSettle(t, ctx, c, 2)
	if !c.GoSilent(300 * time.Millisecond) {
		t.Fatal("GoSilent refused")
	}
	if c.Online() {
		t.Error("Online while silent")
	}
	if _, err := c.Ping(ctx); !errors.Is(err, client.ErrOffline) {
		t.Errorf("Ping while silent: got %v, want ErrOffline", err)
	}
	seq, err := c.SendInput([]float64{0, 1})
	if err != nil || seq != last+1 {
		t.Fatalf("SendInput while silent: seq %d err %v, want %d", seq, err, last+1)
	}
	if err := c.WaitOnline(ctx); err != nil {
		t.Fatalf("WaitOnline: %v", err)
	}
	if err := c.Wait(ctx, func(s client.State) bool { return s.InputSeq >= seq }); err != nil {
		t.Fatalf("the input of the silence never applied: %v", err)
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if len(ev.disconnected) != 0 || len(ev.attempts) != 0 {
		t.Errorf("a short silence disconnected: %v, attempts %v", ev.disconnected, ev.attempts)
	}
	if st := c.Stats(); st.InputsResent != 1 || st.Desyncs != 0 {
		t.Errorf("stats %+v: want 1 input resent after the silence, no desync", st)
	}
}
