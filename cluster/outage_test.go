package cluster

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tickroom/tickroom/cluster/clustertest"
	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
)

// With redis-server stopped, request paths answer ErrUnavailable promptly
// and owner writes never block; when it comes back empty, the node
// registers again and re-asserts its rooms, tokens and presence.
func TestRedisOutageAndRecovery(t *testing.T) {
	b := clustertest.Real(t)
	var mu sync.Mutex
	var owned []room.OwnedRoom
	n, err := Open(ctx(t), Config{URL: b.URL, Prefix: clustertest.Prefix(t), NodeID: "a", WSURL: "ws://a.test/ws",
		LeaseTTL: time.Second,
		Owned: func() []room.OwnedRoom {
			mu.Lock()
			defer mu.Unlock()
			return append([]room.OwnedRoom(nil), owned...)
		},
		Online: func() []player.ID { return []player.ID{"p"} },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	d := n.Directory()
	pl, err := d.Take(ctx(t), room.Selector{Type: "g"}, 4)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	owned = append(owned, room.OwnedRoom{ID: pl.RoomID, Type: "g", Capacity: 4, Seats: 1, Metadata: map[string]string{"m": "1"}, Tokens: []string{"k1"}})
	mu.Unlock()
	d.PutToken("k1", pl.RoomID)
	n.Online("p")
	flush(t, n)

	b.Real.Stop()
	const bound = 5 * time.Second // generous: the target is ~1 s
	calls := map[string]func(context.Context) error{
		"Reserve": func(c context.Context) error {
			_, _, err := d.Reserve(c, room.Selector{Type: "g"}, 4, []player.ID{"q"}, []string{newToken()}, time.Minute)
			return err
		},
		"Take":      func(c context.Context) error { _, err := d.Take(c, room.Selector{Type: "g"}, 4); return err },
		"Consume":   func(c context.Context) error { _, err := d.Consume(c, "tok", "q"); return err },
		"List":      func(c context.Context) error { _, err := d.List(c, ""); return err },
		"FindToken": func(c context.Context) error { _, _, err := d.FindToken(c, "k1"); return err },
		"Nodes":     func(c context.Context) error { _, err := n.Nodes(c); return err },
		"Send":      func(c context.Context) error { _, err := n.Send(c, "p", []byte("x")); return err },
	}
	for name, call := range calls {
		start := time.Now()
		err := call(ctx(t))
		el := time.Since(start)
		if el > bound {
			t.Errorf("%s took %v with Redis down", name, el)
		}
		t.Logf("%s with Redis down: %v after %v", name, err, el)
		if !errors.Is(err, room.ErrUnavailable) {
			t.Errorf("%s with Redis down: err = %v, want ErrUnavailable", name, err)
		}
	}
	start := time.Now()
	for range 100 {
		d.SetLocked(pl.RoomID, false)
		d.Release("r-none")
		n.Online("p")
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("300 non-blocking calls took %v with Redis down", el)
	}
	waitFor(t, "a failed renewal", func() bool { return !n.Healthy() && n.Stats().RenewalsFailed > 0 })

	b.Real.Start() // empty: nothing persisted
	deadline := time.Now().Add(20 * time.Second)
	for {
		rs, err := d.List(ctx(t), "")
		if r, ok := findRoom(rs, pl.RoomID); err == nil && ok && r.Players == 1 && r.Metadata["m"] == "1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("room not re-asserted after Redis came back: %+v, %v", rs, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitFor(t, "healthy again", n.Healthy)
	waitFor(t, "a complete re-assertion", func() bool { return n.Stats().Reassertions > 0 })
	if ws, found, err := d.FindToken(ctx(t), "k1"); err != nil || !found || ws != "ws://a.test/ws" {
		t.Fatalf("FindToken after recovery = %q %v %v", ws, found, err)
	}
	if got, err := n.Client().HGet(ctx(t), n.Prefix()+"pres:p", "a").Result(); err != nil || got != n.epoch {
		t.Fatalf("presence after recovery = %q, %v", got, err)
	}
	st := n.Stats()
	if st.Reassertions == 0 || st.RedisErrors == 0 || st.RenewalsFailed == 0 {
		t.Fatalf("stats = %+v: want re-assertions, errors and failed renewals counted", st)
	}
	// the room works again
	if _, err := d.Take(ctx(t), room.Selector{RoomID: pl.RoomID}, 4); err != nil {
		t.Fatalf("Take after recovery: %v", err)
	}
}

// A Redis that hangs (no reply, no reset) costs a request at most about
// OpTimeout, never a hang; owner writes stay non-blocking; when it answers
// again, everything works.
func TestRedisStall(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		target := fx.b.URL[len("redis://") : len(fx.b.URL)-len("/0")]
		px := newStallProxy(t, target)
		n := fx.open("a", func(c *Config) { c.URL = "redis://" + px.addr() + "/0"; c.OpTimeout = 500 * time.Millisecond })
		d := n.Directory()
		pl, err := d.Take(ctx(t), room.Selector{Type: "g"}, 4)
		if err != nil {
			t.Fatal(err)
		}
		px.stall()
		start := time.Now()
		_, err = d.List(ctx(t), "")
		el := time.Since(start)
		t.Logf("List with Redis stalled: %v after %v", err, el)
		if !errors.Is(err, room.ErrUnavailable) || el > 5*time.Second {
			t.Fatalf("List with Redis stalled: %v after %v, want ErrUnavailable within ~1 s", err, el)
		}
		start = time.Now()
		for range 50 {
			d.SetLocked(pl.RoomID, true)
		}
		if el := time.Since(start); el > time.Second {
			t.Fatalf("owner writes blocked %v", el)
		}
		px.resume()
		waitFor(t, "the queued writes", func() bool {
			rs, err := d.List(ctx(t), "")
			r, _ := findRoom(rs, pl.RoomID)
			return err == nil && r.Locked
		})
	})
}

// After the pub/sub connection is killed, go-redis resubscribes; the node
// re-asserts its state and receives messages again.
func TestResubscribeReasserts(t *testing.T) {
	fx := newFixture(t, clustertest.Real(t))
	got := make(chan string, 4)
	a := fx.open("a", nil)
	b := fx.open("b", func(c *Config) {
		c.Deliver = func(id player.ID, msg []byte) int {
			select {
			case got <- string(msg):
			default:
			}
			return 1
		}
	})
	b.Online("p")
	flush(t, b)
	before := b.Stats().Reassertions
	if err := a.Client().Do(ctx(t), "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a re-assertion after the resubscription", func() bool { return b.Stats().Reassertions > before })
	waitFor(t, "b subscribed", b.Healthy)
	sendAndReceive(t, a, got, "again")
}

// A full owner-write queue drops (counted) instead of blocking, and a
// dropped Dispose answers done(false).
func TestQueueOverflowDrops(t *testing.T) {
	fx := newFixture(t, clustertest.Mini(t))
	target := fx.b.URL[len("redis://") : len(fx.b.URL)-len("/0")]
	px := newStallProxy(t, target)
	n := fx.open("a", func(c *Config) {
		c.URL = "redis://" + px.addr() + "/0"
		c.QueueSize = 4
		c.OpTimeout = 300 * time.Millisecond
	})
	px.stall()
	start := time.Now()
	for range 50 {
		n.Directory().Release("r1")
	}
	answered := make(chan bool, 1)
	n.Directory().Dispose("r1", func(ok bool) { answered <- ok })
	if el := time.Since(start); el > time.Second {
		t.Fatalf("enqueueing blocked for %v", el)
	}
	select {
	case ok := <-answered:
		if ok {
			t.Fatal("a dropped Dispose answered true")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a dropped Dispose never answered")
	}
	if st := n.Stats(); st.OpsDropped < 40 {
		t.Fatalf("stats = %+v, want the overflow counted", st)
	}
	px.resume()
}

// The probe notices a node channel that lost its subscription while its
// connection stayed up, resubscribes and re-asserts.
func TestProbeResubscribes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		got := make(chan string, 4)
		a := fx.open("a", nil)
		b := fx.open("b", func(c *Config) {
			c.probeEvery = 50 * time.Millisecond
			c.Deliver = func(id player.ID, msg []byte) int {
				select {
				case got <- string(msg):
				default:
				}
				return 1
			}
		})
		b.Online("p")
		flush(t, b)
		before := b.Stats().Reassertions
		// drop the subscription but keep the connection (go-redis forgets
		// the channel, so only the probe can bring it back)
		if err := b.ps.Unsubscribe(ctx(t), b.channel("b")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the re-assertion after the probe", func() bool { return b.Stats().Reassertions > before })
		waitFor(t, "b subscribed", b.Healthy)
		sendAndReceive(t, a, got, "back")
	})
}

// sendAndReceive sends msg from a to player "p" (on one other node) and
// waits for it to arrive on got.
func sendAndReceive(t *testing.T, a *Node, got <-chan string, msg string) {
	t.Helper()
	if k, err := a.Send(ctx(t), "p", []byte(msg)); err != nil || k != 1 {
		t.Fatalf("Send = %d, %v", k, err)
	}
	select {
	case m := <-got:
		if m != msg {
			t.Fatalf("got %q, want %q", m, msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%q not delivered", msg)
	}
}
