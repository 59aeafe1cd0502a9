package server_test

import (
	"bytes"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxzan/gws"
	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/server"
)

// recorder is a seated client that timestamps every frame as it arrives
// (on its read loop) and acknowledges it, as a real client does.
type recorder struct {
	t  *testing.T
	ws *gws.Conn

	mu     sync.Mutex
	ticks  []uint64
	at     []time.Time
	direct int
	codes  []string
	joined chan netcode.ServerMessage
	closed chan error
}

type recorderHandler struct {
	gws.BuiltinEventHandler
	r *recorder
}

func (h recorderHandler) OnMessage(ws *gws.Conn, m *gws.Message) {
	defer m.Close()
	now := time.Now()
	var sm netcode.ServerMessage
	if err := netcode.DecodeServer(m.Bytes(), &sm); err != nil {
		h.r.t.Errorf("undecodable server message: %v", err)
		return
	}
	r := h.r
	r.mu.Lock()
	defer r.mu.Unlock()
	switch sm.Type {
	case netcode.MsgJoined:
		r.joined <- sm
	case netcode.MsgFrame:
		r.ticks = append(r.ticks, sm.Tick)
		r.at = append(r.at, now)
		b := netcode.NewBuffer(16)
		netcode.AppendAck(b, sm.Tick)
		_ = ws.WriteMessage(gws.OpcodeBinary, b.B)
	case netcode.MsgDirect:
		r.direct++
	case netcode.MsgError:
		r.codes = append(r.codes, sm.Code)
	}
}

func (h recorderHandler) OnClose(ws *gws.Conn, err error) { h.r.closed <- err }

// record dials as id and joins roomID ("" for a new arena room).
func (e *env) record(id, roomID string) (*recorder, string) {
	e.t.Helper()
	r := &recorder{t: e.t, joined: make(chan netcode.ServerMessage, 1), closed: make(chan error, 1)}
	ws, _, err := gws.NewClient(recorderHandler{r: r}, &gws.ClientOption{
		Addr:          e.WS,
		RequestHeader: http.Header{"Authorization": {"Bearer " + e.token(id)}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	r.ws = ws
	go ws.ReadLoop()
	e.t.Cleanup(func() {
		_ = ws.WriteClose(1000, nil)
		<-r.closed
	})
	b := netcode.NewBuffer(32)
	netcode.AppendJoin(b, "arena", roomID)
	_ = ws.WriteMessage(gws.OpcodeBinary, b.B)
	select {
	case j := <-r.joined:
		return r, j.RoomID
	case err := <-r.closed:
		e.t.Fatalf("%s closed before joining: %v", id, err)
	case <-time.After(10 * time.Second):
		e.t.Fatalf("%s: no joined", id)
	}
	return nil, ""
}

// frames returns the number of frames received so far.
func (r *recorder) frames() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ticks)
}

// waitFrames waits until n more frames than now have arrived.
func (r *recorder) waitFrames(n int) {
	r.t.Helper()
	want := r.frames() + n
	for deadline := time.Now().Add(30 * time.Second); r.frames() < want; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			r.t.Fatalf("only %d frames of %d arrived", r.frames(), want)
		}
		select {
		case err := <-r.closed:
			r.closed <- err
			r.t.Fatalf("connection closed: %v", err)
		default:
		}
	}
}

// checkEveryTick asserts the frames came one per tick, without a gap, and
// that the connection is open; it returns the p99 of the intervals between
// frame arrivals after from.
func (r *recorder) checkEveryTick(name string, from time.Time) (p99 time.Duration, n int) {
	r.t.Helper()
	select {
	case err := <-r.closed:
		r.closed <- err
		r.t.Fatalf("%s: connection closed: %v", name, err)
	default:
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var iv []time.Duration
	for i := 1; i < len(r.ticks); i++ {
		if r.ticks[i] != r.ticks[i-1]+1 {
			r.t.Fatalf("%s: frame of tick %d followed by tick %d: a frame was skipped", name, r.ticks[i-1], r.ticks[i])
		}
		if r.at[i-1].After(from) {
			iv = append(iv, r.at[i].Sub(r.at[i-1]))
		}
	}
	if len(iv) == 0 {
		return 0, 0
	}
	slices.Sort(iv)
	return iv[(len(iv)*99)/100], len(iv)
}

func TestDirectMessageFloodHurtsOnlyTheSender(t *testing.T) {
	e := newCustomEnv(t, server.Config{})
	victim, roomID := e.record("victim", "")
	bystander, _ := e.record("bystander", roomID)
	victim.waitFrames(5)

	const attackers, burst = 3, 300
	payload := binPayload(1024)
	type result struct {
		answers []string
		code    uint16
	}
	results := make([]result, attackers)
	var cs []*rawClient
	for i := range attackers {
		c := e.dial(e.token("attacker" + string(rune('a'+i))))
		b := netcode.NewBuffer(32)
		netcode.AppendJoin(b, "arena", roomID)
		c.send(b.B)
		c.next(func(m *netcode.ServerMessage) bool { return m.Type == netcode.MsgJoined })
		cs = append(cs, c)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := netcode.NewBuffer(1100)
			netcode.AppendMsg(b, "victim", payload)
			for range burst {
				if c.ws.WriteMessage(gws.OpcodeBinary, b.B) != nil {
					return // closed by the server
				}
			}
		}()
	}
	wg.Wait()
	for i, c := range cs {
		results[i].answers, results[i].code = c.answersAndClose(20 * time.Second)
	}
	victim.waitFrames(40)
	p99, n := victim.checkEveryTick("victim", start)
	bystander.checkEveryTick("bystander", start)

	// A flooder that keeps writing after the close usually gets a TCP
	// reset (the server closed with its messages unread), which can
	// overtake the close frame and the last answers: the server's counts
	// are the check.
	told := 0
	for i, r := range results {
		if r.code != server.CloseRateLimited && r.code != 0 {
			t.Errorf("attacker %d closed with %d, want %d", i, r.code, server.CloseRateLimited)
		}
		if slices.Contains(r.answers, server.CodeRateLimited) || slices.Contains(r.answers, server.CodeRecipientBusy) {
			told++
		}
	}
	if told == 0 {
		t.Error("no attacker was told rate_limited or recipient_busy")
	}
	// Each attacker had 20 messages within budget, then 40 refused
	// (AbuseFactor 2) before the close: at least 41 hits each.
	if n := e.metric(`tickroom_rate_limited_total{kind="msg"}`); n < attackers*41 {
		t.Errorf("msg rate-limit hits %v, want ≥ %d", n, attackers*41)
	}
	victim.mu.Lock()
	got, codes := victim.direct, victim.codes
	victim.mu.Unlock()
	if len(codes) > 0 {
		t.Errorf("the victim got errors: %v", codes)
	}
	busy := 0
	for _, r := range results {
		busy += strings.Count(strings.Join(r.answers, " "), server.CodeRecipientBusy)
	}
	t.Logf("victim: %d frame intervals after the flood began, p99 %v (tick 50ms); %d direct messages delivered, %d refused as recipient_busy, %v pushes dropped",
		n, p99, got, busy, e.metric(`tickroom_drops_total{reason="push_dropped"}`))
	if d := e.metric(`tickroom_drops_total{reason="push_dropped"}`); int(d) < busy {
		t.Errorf("push drops counted %v, fewer than the recipient_busy answers seen (%d)", d, busy)
	}
	if n := e.metric(`tickroom_closes_total{code="4529"}`); n != attackers {
		t.Errorf("4529 closes counted %v, want %d", n, attackers)
	}
}

// A recipient that reads nothing: pushes to it stop at its push queue, the
// senders are told recipient_busy, and the recipient is not closed.
func TestPushesToABusyRecipientAreDroppedNotFatal(t *testing.T) {
	e := newCustomEnv(t, server.Config{Limits: server.Limits{Msg: server.Limit{Rate: -1}, Ping: server.Limit{Rate: -1}}})
	resp, victim := e.handshake("", "", http.Header{"Authorization": {"Bearer " + e.token("victim")}}, 0)
	if resp.StatusCode != 101 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	victim.next(func(m *netcode.ServerMessage) bool { return m.Type == netcode.MsgWelcome })

	sender := e.dial(e.token("sender"))
	payload := binPayload(4000)
	b := netcode.NewBuffer(4100)
	netcode.AppendMsg(b, "victim", payload)
	const sent = 3000 // 12 MB: more than the sockets buffer (4 MB + 128 KB on Linux by default)
	for range sent {
		sender.send(b.B)
	}
	busy := sender.countUntilPong(server.CodeRecipientBusy)
	if busy == 0 {
		t.Fatalf("no recipient_busy after %d direct messages to a recipient that reads nothing", sent)
	}
	// The recipient is still connected: it reads its backlog, then pings.
	ping := netcode.NewBuffer(8)
	netcode.AppendPing(ping, []byte{7})
	victim.send(ping.B)
	var direct int
	for {
		p, err := victim.read(10 * time.Second)
		var cf closeFrame
		if errors.As(err, &cf) || err != nil {
			t.Fatalf("recipient's connection ended after %d direct messages: %v", direct, err)
		}
		var m netcode.ServerMessage
		if err := netcode.DecodeServer(p, &m); err != nil {
			t.Fatal(err)
		}
		if m.Type == netcode.MsgDirect {
			direct++
		}
		if m.Type == netcode.MsgPong {
			break
		}
	}
	drops := e.metric(`tickroom_drops_total{reason="push_dropped"}`)
	t.Logf("recipient read %d direct messages, then its pong; %v pushes dropped; the sender saw %d recipient_busy", direct, drops, busy)
	if drops < 1 {
		t.Errorf("push drops counted %v, want ≥ 1", drops)
	}
	if n := e.metric(`tickroom_drops_total{reason="slow_close"}`); n != 0 {
		t.Errorf("slow closes %v, want 0", n)
	}
}

// A client that stops reading is closed as a slow consumer, its seat
// enters the grace window, and the other players keep every frame.
func TestNeverReadingClientIsClosed(t *testing.T) {
	e := newCustomEnv(t, server.Config{Limits: server.Limits{Msg: server.Limit{Rate: -1}}})
	o1, roomID := e.record("o1", "")
	o2, _ := e.record("o2", roomID)

	resp, slow := e.handshake("", "", http.Header{"Authorization": {"Bearer " + e.token("slow")}}, 0)
	if resp.StatusCode != 101 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	slow.next(func(m *netcode.ServerMessage) bool { return m.Type == netcode.MsgWelcome })
	b := netcode.NewBuffer(32)
	netcode.AppendJoin(b, "arena", roomID)
	slow.send(b.B)
	joined := slow.next(func(m *netcode.ServerMessage) bool { return m.Type == netcode.MsgJoined })
	stopped := time.Now() // it never reads again

	// Arena frames are small: filling the sockets' buffers (megabytes on
	// loopback) would take minutes. Direct messages to the slow client
	// fill them in a moment; only then can its outbox stall.
	feeder := e.dial(e.token("feeder"))
	dm := netcode.NewBuffer(4100)
	netcode.AppendMsg(dm, "slow", binPayload(4000))
	var full time.Time // when the first frame was skipped: the outbox stalled
	deadline := stopped.Add(60 * time.Second)
	for e.metric(`tickroom_drops_total{reason="slow_close"}`) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the never-reading client was not closed as a slow consumer within 60 s")
		}
		if full.IsZero() && e.metric(`tickroom_drops_total{reason="frame_skipped"}`) > 0 {
			full = time.Now()
		}
		for range 10 {
			feeder.send(dm.B)
		}
	drain:
		for {
			select {
			case <-feeder.msgs: // recipient_busy, mostly
			default:
				break drain
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	closedAfter := time.Since(stopped)
	if full.IsZero() {
		full = time.Now()
	}
	// The socket is closed: reading its backlog ends in EOF or a reset.
	var err error
	for err == nil {
		_, err = slow.read(10 * time.Second)
	}
	var cf closeFrame
	if errors.As(err, &cf) {
		t.Logf("the slow client found close frame %d at the end of its backlog", cf.code)
	} else if strings.Contains(err.Error(), "timeout") {
		t.Fatalf("slow client's socket still open: %v", err)
	}
	if n := e.metric(`tickroom_closes_total{code="4008"}`); n != 1 {
		t.Errorf("4008 closes %v, want 1", n)
	}
	o1.waitFrames(20)
	p99, n := o1.checkEveryTick("o1", stopped)
	o2.checkEveryTick("o2", stopped)
	t.Logf("slow consumer closed %v after it stopped reading, %v after its outbox first skipped a frame (socket buffers full; SlowTimeout 2s); other player's frame-interval p99 %v over %d intervals",
		closedAfter, closedAfter-full.Sub(stopped), p99, n)

	// Its seat is held for the grace window: a resume takes it back.
	c := e.dial(e.token("slow"))
	if m := c.resume(joined.ResumeToken, 0, 0); m.Type != netcode.MsgResumed {
		t.Fatalf("resume after the slow close: %s %s, want resumed", m.Code, m.Message)
	}
	if n := e.metric(`tickroom_resumes_total{outcome="ok"}`); n != 1 {
		t.Errorf("ok resumes %v, want 1", n)
	}
}

// binPayload is a msgpack bin of n bytes (a message payload is a msgpack
// value).
func binPayload(n int) []byte {
	return append([]byte{0xc5, byte(n >> 8), byte(n)}, bytes.Repeat([]byte{'x'}, n)...)
}

// answersAndClose is untilClosed plus the close code, 0 when the
// connection ended without a close frame.
func (c *rawClient) answersAndClose(limit time.Duration) ([]string, uint16) {
	c.t.Helper()
	got := c.untilClosed(limit)
	err := <-c.closed
	c.closed <- err
	var ce *gws.CloseError
	if errors.As(err, &ce) {
		return got, ce.Code
	}
	return got, 0
}

// countUntilPong pings until a pong arrives (the answers before it may
// have been dropped by a full outbox, the ping's too), counting the
// errors with code.
func (c *rawClient) countUntilPong(code string) int {
	c.t.Helper()
	n := 0
	for range 20 {
		ping := netcode.NewBuffer(8)
		netcode.AppendPing(ping, []byte{9})
		c.send(ping.B)
		wait := time.After(time.Second)
		for {
			select {
			case b := <-c.msgs:
				var m netcode.ServerMessage
				if err := netcode.DecodeServer(b, &m); err != nil {
					c.t.Fatal(err)
				}
				if m.Type == netcode.MsgError && m.Code == code {
					n++
				}
				if m.Type == netcode.MsgPong {
					return n
				}
				continue
			case err := <-c.closed:
				c.closed <- err
				c.t.Fatalf("connection closed: %v", err)
			case <-wait:
			}
			break
		}
	}
	c.t.Fatal("no pong")
	return n
}
