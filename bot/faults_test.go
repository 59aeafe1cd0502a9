package bot_test

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickroom/tickroom/bot"
	"github.com/tickroom/tickroom/games/arena"
	"github.com/tickroom/tickroom/internal/faultproxy"
	"github.com/tickroom/tickroom/netcode/client"
	"github.com/tickroom/tickroom/room"
	"github.com/tickroom/tickroom/server/servertest"
)

// faultPlayer is an SDK client seated in an arena room through a fault
// proxy, and what its callbacks saw.
type faultPlayer struct {
	c *client.Client

	mu          sync.Mutex // guards the fields below
	frames      int
	lastTick    uint64
	outOfOrder  int // frames whose tick went back (or a delta repeating a tick)
	disconnects int
	resumes     []client.ResumeInfo
	lost        error
	changed     chan struct{} // signalled (non-blocking) on every callback
}

func (p *faultPlayer) signal() {
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// until waits, bounded by ctx, for cond (called under p.mu) to hold.
func (p *faultPlayer) until(ctx context.Context, what string, cond func() bool) error {
	for {
		p.mu.Lock()
		ok := cond()
		p.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-p.changed:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		}
	}
}

// TestReconnectAcrossNetworkFaults puts a fault proxy (internal/faultproxy)
// between an SDK client and a real server and injects a fault mid-game:
// a reset must end in one resume of the seat; a blackhole longer than the
// client's read timeout in a redial and a resume once it lifts; latency
// with jitter below the read timeout in no reconnect at all. Each time
// the frames keep coming in tick order and the replica matches the
// server's state. Assertions are on counts and order; timings are logged.
func TestReconnectAcrossNetworkFaults(t *testing.T) {
	const readTimeout = 500 * time.Millisecond
	tests := []struct {
		name string
		// readTimeout of the client; default readTimeout. The latency case
		// leaves a wide margin over its delays so that only a fault, never
		// a slow machine, can trip it.
		readTimeout time.Duration
		// fault is injected after 20 frames; it returns when the
		// fault is over (it may wait on ctx).
		fault          func(ctx context.Context, p *faultproxy.Proxy, fp *faultPlayer) error
		wantReconnects bool
	}{
		{"reset mid-game", 0, func(ctx context.Context, p *faultproxy.Proxy, fp *faultPlayer) error {
			p.Reset()
			return nil
		}, true},
		{"blackhole beyond the read timeout", 0, func(ctx context.Context, p *faultproxy.Proxy, fp *faultPlayer) error {
			p.Blackhole(true)
			// Lift it only once the client gave the connection up.
			err := fp.until(ctx, "the read timeout", func() bool { return fp.disconnects > 0 })
			p.At(2*readTimeout, func() { p.Blackhole(false) })
			return err
		}, true},
		{"latency with jitter", 2 * time.Second, func(ctx context.Context, p *faultproxy.Proxy, fp *faultPlayer) error {
			p.SetLatency(100*time.Millisecond, 50*time.Millisecond)
			// 40 frames (2 s of game) under latency.
			n := 0
			fp.mu.Lock()
			n = fp.frames
			fp.mu.Unlock()
			if rtt, err := fp.c.Ping(ctx); err == nil {
				t.Logf("ping RTT under latency: %v", rtt)
			}
			return fp.until(ctx, "40 frames under latency", func() bool { return fp.frames >= n+40 })
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			typ := mustType(t, arena.Options{Pickups: true})
			s := servertest.New(t, servertest.Options{Types: []*room.Type{typ}, Logger: testLogger(t)})
			p, err := faultproxy.New(faultproxy.Config{Upstream: hostPort(t, s.URL), Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()

			rt := cmp.Or(tc.readTimeout, readTimeout)
			fp := &faultPlayer{changed: make(chan struct{}, 1)}
			c, err := client.Dial(ctx, client.Config{
				URL:              "ws://" + p.Addr() + "/ws",
				Token:            s.Token(t, "p1"),
				Logger:           testLogger(t),
				ReadTimeout:      rt,
				HandshakeTimeout: rt,
				Reconnect:        &client.ReconnectPolicy{Base: 50 * time.Millisecond, Cap: 200 * time.Millisecond, Window: 20 * time.Second},
				OnFrame: func(f client.Frame) {
					fp.mu.Lock()
					// Ticks never go back; a tick comes twice only as
					// the full frame (age 0) that resynchronises a resume.
					if fp.frames > 0 && (f.Tick < fp.lastTick || f.Tick == fp.lastTick && f.Age != 0) {
						fp.outOfOrder++
						t.Logf("frame tick %d (age %d) after tick %d", f.Tick, f.Age, fp.lastTick)
					}
					fp.lastTick = f.Tick
					fp.frames++
					fp.mu.Unlock()
					fp.signal()
				},
				OnDisconnected: func(err error) {
					fp.mu.Lock()
					fp.disconnects++
					fp.mu.Unlock()
					fp.signal()
					t.Logf("disconnected: %v", err)
				},
				OnResumed: func(info client.ResumeInfo) {
					fp.mu.Lock()
					fp.resumes = append(fp.resumes, info)
					fp.mu.Unlock()
					fp.signal()
				},
				OnLost: func(err error) {
					fp.mu.Lock()
					fp.lost = err
					fp.mu.Unlock()
					fp.signal()
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fp.c = c
			info, err := c.Join(ctx, typ.Name(), "")
			if err != nil {
				t.Fatal(err)
			}
			if err := fp.until(ctx, "20 frames", func() bool { return fp.frames >= 20 }); err != nil {
				t.Fatal(err)
			}
			faultAt := time.Now()
			fp.mu.Lock()
			before := fp.disconnects
			fp.mu.Unlock()
			if err := tc.fault(ctx, p, fp); err != nil {
				t.Fatal(err)
			}
			if tc.wantReconnects {
				if err := fp.until(ctx, "a resume", func() bool { return len(fp.resumes) > 0 || fp.lost != nil }); err != nil {
					t.Fatal(err)
				}
			}
			fp.mu.Lock()
			n := fp.frames
			fp.mu.Unlock()
			if err := fp.until(ctx, "20 more frames", func() bool { return fp.frames >= n+20 || fp.lost != nil }); err != nil {
				t.Fatal(err)
			}
			if err := servertest.CheckReplica(ctx, s.Rooms, c); err != nil {
				t.Errorf("replica after the fault: %v", err)
			}

			fp.mu.Lock()
			defer fp.mu.Unlock()
			t.Logf("after %v: %d frames, %d disconnects, resumes %+v, proxy %+v", time.Since(faultAt), fp.frames, fp.disconnects, fp.resumes, p.Stats())
			if fp.lost != nil {
				t.Fatalf("seat lost: %v", fp.lost)
			}
			if fp.outOfOrder != 0 {
				t.Errorf("%d frames out of tick order", fp.outOfOrder)
			}
			if !tc.wantReconnects {
				if fp.disconnects != 0 || len(fp.resumes) != 0 {
					t.Errorf("%d disconnects, %d resumes under latency well below the read timeout: want none", fp.disconnects, len(fp.resumes))
				}
				return
			}
			// The fault made an outage (a read timeout on a loaded machine
			// may add one, never remove one), and every outage ended in a
			// resume of the seat.
			if fp.disconnects-before < 1 || len(fp.resumes) != fp.disconnects {
				t.Fatalf("%d disconnects (%d after the fault), %d resumes: want ≥ 1 after the fault, each resumed",
					fp.disconnects, fp.disconnects-before, len(fp.resumes))
			}
			for _, r := range fp.resumes {
				if r.Room != info.RoomID {
					t.Errorf("resumed room %q, want %q", r.Room, info.RoomID)
				}
			}
		})
	}
}

// hostPort returns the host:port of an http:// URL.
func hostPort(t *testing.T, u string) string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return pu.Host
}

// TestBotsSurviveResetOfEveryLink runs bots through the fault proxy (API
// and WebSocket alike) and resets every link once, when all of them play:
// every bot the reset disconnected resumes its seat, with its replica in
// sync and no event lost (runChaos's invariants).
func TestBotsSurviveResetOfEveryLink(t *testing.T) {
	typ := mustType(t, arena.Options{Pickups: true})
	s := startServer(t, typ)
	p, err := faultproxy.New(faultproxy.Config{Upstream: hostPort(t, s.HTTP), Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const bots = 8
	var playing atomic.Int32
	sum := runChaos(t, s.Rooms, bot.Config{
		URL: "http://" + p.Addr(), Bots: bots, Room: typ.Name(), Matchmaking: bot.MatchQuick, Duration: 4 * time.Second, Seed: 13,
		OnPlay: func(int) {
			if playing.Add(1) == bots {
				p.At(200*time.Millisecond, p.Reset)
			}
		},
	})
	st := p.Stats()
	t.Logf("proxy %+v; %d disconnects, %d resumes", st, sum.Disconnects, sum.ResumesOK)
	if st.Resets == 0 || sum.Disconnects == 0 {
		t.Fatalf("%d links reset, %d bots disconnected: want the reset to strike", st.Resets, sum.Disconnects)
	}
	if sum.ResumesOK != sum.Disconnects || sum.PlayersLost != 0 {
		t.Errorf("%d disconnects, %d resumes, %d players lost: want every disconnected bot resumed, none lost",
			sum.Disconnects, sum.ResumesOK, sum.PlayersLost)
	}
}
