package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lxzan/gws"
	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/room"
	"github.com/tickroom/tickroom/server"
	"github.com/tickroom/tickroom/server/servertest"
)

// beacon is a test game: one entity per seat and one room event per tick,
// so every drop misses some events.
type beacon struct {
	ids  map[*room.Seat]uint32
	next uint32
}

type beaconInput struct {
	_ struct{} `msgpack:",as_array"`
	N int64
}

var beaconSchema, _ = netcode.NewSchema(netcode.Kind{Name: "b", Fields: []netcode.Field{{Name: "id", Type: netcode.FieldString}}})

func (g *beacon) Join(r *room.Ctx, s *room.Seat) error                { g.next++; g.ids[s] = g.next; return nil }
func (g *beacon) Leave(r *room.Ctx, s *room.Seat, _ room.LeaveReason) { delete(g.ids, s) }
func (g *beacon) Input(r *room.Ctx, s *room.Seat, in beaconInput)     {}
func (g *beacon) Tick(r *room.Ctx)                                    { _ = r.Broadcast("beat", r.Tick()) }
func (g *beacon) Sync(w *netcode.StateWriter) {
	for s, id := range g.ids {
		w.Entity(id, 0).String(string(s.Player))
	}
}

func beaconServer(t *testing.T, grace time.Duration, o servertest.Options) *env {
	t.Helper()
	typ, err := room.Define(room.TypeConfig{Name: "beacon", Schema: beaconSchema, Grace: grace},
		func(*room.Ctx) room.Game[beaconInput] { return &beacon{ids: map[*room.Seat]uint32{}} })
	if err != nil {
		t.Fatal(err)
	}
	o.Types = []*room.Type{typ}
	s := servertest.New(t, o)
	return &env{Server: s, t: t, secret: s.Secret, tokens: s.Tokens, srv: s.Server}
}

// kill ends the connection abruptly: no close frame, as when a phone drops.
func (c *rawClient) kill() {
	_ = c.ws.NetConn().Close()
	select {
	case err := <-c.closed:
		c.closed <- err
	case <-time.After(5 * time.Second):
		c.t.Fatal("killed connection did not end")
	}
}

func (c *rawClient) resume(token string, lastTick, lastEvent uint64) netcode.ServerMessage {
	c.t.Helper()
	b := netcode.NewBuffer(64)
	netcode.AppendResume(b, token, lastTick, lastEvent)
	c.send(b.B)
	return c.next(func(m *netcode.ServerMessage) bool { return m.Type == netcode.MsgResumed || m.Type == netcode.MsgError })
}

// joinBeacon joins and returns the joined message and the first frames up
// to a tick with an event.
func (c *rawClient) joinBeacon() (joined netcode.ServerMessage, tick, event uint64) {
	c.t.Helper()
	joined = c.join("beacon")
	for {
		f := c.frameAfter(tick)
		tick = f.Tick
		if len(f.Events) > 0 {
			return joined, tick, f.Events[len(f.Events)-1].Seq
		}
	}
}

// players returns the seats taken in the server's rooms.
func (e *env) players() int {
	n := 0
	for _, r := range e.Rooms.Rooms() {
		n += r.Players
	}
	return n
}

// waitFor polls cond (bounded) — for server-side effects of a close that no
// message announces.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestResumeScenarios(t *testing.T) {
	t.Run("abrupt kill, then resume within grace replays missed events in order", func(t *testing.T) {
		e := beaconServer(t, 20*time.Second, servertest.Options{})
		tok := e.token("ada")
		c1 := e.dial(tok)
		joined, tick, event := c1.joinBeacon()
		c1.kill()
		// Events keep coming while Ada is away: wait for a few ticks.
		watcher := e.dial(e.token("watch"))
		watcher.join("beacon")
		watcher.frameAfter(watcher.frameAfter(watcher.frameAfter(0).Tick + 3).Tick)

		c2 := e.dial(tok)
		r := c2.resume(joined.ResumeToken, tick, event)
		if r.Type != netcode.MsgResumed || r.RoomID != joined.RoomID || !r.Recovered || r.ResumeToken == joined.ResumeToken {
			t.Fatalf("resume answer %+v; want resumed into %s, recovered, new token", r, joined.RoomID)
		}
		f := c2.next(func(m *netcode.ServerMessage) bool { return m.Type == netcode.MsgFrame })
		if f.Age == 0 || f.Tick-f.Age != tick {
			t.Fatalf("resync frame tick %d age %d: want a delta from tick %d", f.Tick, f.Age, tick)
		}
		next := event + 1
		check := func(evs []netcode.Event) {
			for _, ev := range evs {
				if ev.Seq != next {
					t.Fatalf("event seq %d, want %d (in order, no gap, no duplicate)", ev.Seq, next)
				}
				next++
			}
		}
		check(f.Events)
		if next < event+4 {
			t.Fatalf("only %d events replayed", next-event-1)
		}
		for i := 0; i < 5; i++ { // live frames continue the sequence
			f = c2.frameAfter(f.Tick)
			check(f.Events)
		}
		if e.players() != 2 {
			t.Fatalf("%d seats, want 2 (no duplicate seat)", e.players())
		}
	})

	t.Run("resume with nothing received gets a snapshot and every event", func(t *testing.T) {
		e := beaconServer(t, 20*time.Second, servertest.Options{})
		tok := e.token("bo")
		c1 := e.dial(tok)
		joined := c1.join("beacon") // the token arrives; no tick applied, no event seen
		c1.kill()
		watcher := e.dial(e.token("watch"))
		watcher.join("beacon")
		watcher.frameAfter(watcher.frameAfter(0).Tick + 2) // events happen while away
		c2 := e.dial(tok)
		if r := c2.resume(joined.ResumeToken, 0, 0); r.Type != netcode.MsgResumed {
			t.Fatalf("resume: %+v", r)
		}
		f := c2.next(func(m *netcode.ServerMessage) bool { return m.Type == netcode.MsgFrame })
		if f.Age != 0 || len(f.Events) < 3 {
			t.Fatalf("age %d with %d events, want a full snapshot and every event since the join", f.Age, len(f.Events))
		}
		for i, ev := range f.Events {
			if ev.Seq != f.Events[0].Seq+uint64(i) {
				t.Fatalf("events not consecutive: %+v", f.Events)
			}
		}
	})

	t.Run("resume after the grace window is resume_expired and the seat is gone", func(t *testing.T) {
		e := beaconServer(t, 200*time.Millisecond, servertest.Options{})
		tok := e.token("cy")
		c1 := e.dial(tok)
		joined := c1.join("beacon")
		c1.kill()
		waitFor(t, "the seat to expire", func() bool { return e.players() == 0 })
		c2 := e.dial(tok)
		if r := c2.resume(joined.ResumeToken, 0, 0); r.Type != netcode.MsgError || r.Code != netcode.CodeResumeExpired {
			t.Fatalf("got %+v, want error resume_expired", r)
		}
		c2.alive() // the connection stays usable: join as new
		c2.join("beacon")
	})

	t.Run("reused, foreign and forged tokens are rejected; the live seat is untouched", func(t *testing.T) {
		e := beaconServer(t, 20*time.Second, servertest.Options{})
		ownerTok := e.token("dee")
		owner := e.dial(ownerTok)
		joined, _, _ := owner.joinBeacon()
		// Spend the token with a takeover, then try it again.
		c2 := e.dial(ownerTok)
		fresh := c2.resume(joined.ResumeToken, 0, 0)
		if fresh.Type != netcode.MsgResumed {
			t.Fatalf("takeover: %+v", fresh)
		}
		tests := []struct {
			name, player, token string
		}{
			{"reused", "dee", joined.ResumeToken},
			{"another player's", "eve", fresh.ResumeToken},
			{"forged", "dee", "AAAAAAAAAAAAAAAAAAAAAA"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := e.dial(e.token(tt.player))
				if r := c.resume(tt.token, 0, 0); r.Type != netcode.MsgError || r.Code != netcode.CodeResumeRejected {
					t.Fatalf("got %+v, want error resume_rejected", r)
				}
				c.alive()
				c2.frameAfter(c2.frameAfter(0).Tick) // the live seat keeps its frames
			})
		}
		if e.players() != 1 {
			t.Fatalf("%d seats, want 1", e.players())
		}
	})

	t.Run("takeover closes the old connection with 4509", func(t *testing.T) {
		e := beaconServer(t, 20*time.Second, servertest.Options{})
		tok := e.token("fay")
		old := e.dial(tok)
		joined, _, _ := old.joinBeacon()
		c2 := e.dial(tok)
		if r := c2.resume(joined.ResumeToken, 0, 0); r.Type != netcode.MsgResumed {
			t.Fatalf("takeover: %+v", r)
		}
		if code := old.closeCode(); code != server.CloseReplaced {
			t.Fatalf("old connection closed with %d, want %d", code, server.CloseReplaced)
		}
		c2.frameAfter(c2.frameAfter(0).Tick)
		if e.players() != 1 {
			t.Fatalf("%d seats, want 1", e.players())
		}
	})

	t.Run("a half-open connection is detected and its seat can be resumed", func(t *testing.T) {
		e := beaconServer(t, 20*time.Second, servertest.Options{PingInterval: 50 * time.Millisecond, PingTimeout: 300 * time.Millisecond})
		tok := e.token("gus")
		mute := e.dialMute(tok) // answers no ping, sends nothing after joining
		joined := mute.join("beacon")
		if code := mute.closeCode(); code != server.CloseHeartbeat {
			t.Fatalf("silent connection closed with %d, want %d", code, server.CloseHeartbeat)
		}
		if e.players() != 1 {
			t.Fatalf("%d seats after the heartbeat timeout, want 1 (held for the grace window)", e.players())
		}
		c2 := e.dial(tok)
		if r := c2.resume(joined.ResumeToken, 0, 0); r.Type != netcode.MsgResumed {
			t.Fatalf("resume after a heartbeat timeout: %+v", r)
		}
	})
}

// muteHandler never answers pings.
type muteHandler struct{ rawHandler }

func (muteHandler) OnPing(*gws.Conn, []byte) {}

func (e *env) dialMute(token string) *rawClient {
	e.t.Helper()
	c := &rawClient{t: e.t, msgs: make(chan []byte, 4096), closed: make(chan error, 1)}
	ws, _, err := gws.NewClient(muteHandler{rawHandler{c: c}}, &gws.ClientOption{
		Addr:          "ws" + strings.TrimPrefix(e.URL, "http") + "/ws",
		RequestHeader: http.Header{"Authorization": {"Bearer " + token}},
	})
	if err != nil {
		e.t.Fatal(fmt.Errorf("dial: %w", err))
	}
	c.ws = ws
	go ws.ReadLoop()
	e.t.Cleanup(func() {
		_ = ws.NetConn().Close()
		<-c.closed
	})
	c.next(func(m *netcode.ServerMessage) bool { return m.Type == netcode.MsgWelcome })
	return c
}
