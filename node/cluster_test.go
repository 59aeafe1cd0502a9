package node_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tickroom/tickroom/cluster/clustertest"
	"github.com/tickroom/tickroom/netcode/client"
	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/server/servertest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// cluster is K test servers on one Redis, sharing a token secret.
type testCluster struct {
	redis  clustertest.Backend
	secret []byte
	prefix string
	nodes  []*servertest.Server
}

func newCluster(t *testing.T, b clustertest.Backend, k int, lease time.Duration, opts ...func(*servertest.Options)) *testCluster {
	t.Helper()
	c := &testCluster{redis: b, secret: player.RandomSecret(), prefix: clustertest.Prefix(t)}
	for i := range k {
		c.nodes = append(c.nodes, c.start(t, fmt.Sprintf("node%c", 'A'+i), lease, opts...))
	}
	return c
}

func (c *testCluster) start(t *testing.T, id string, lease time.Duration, opts ...func(*servertest.Options)) *servertest.Server {
	t.Helper()
	o := servertest.Options{Redis: c.redis.URL, RedisPrefix: c.prefix, Secret: c.secret, NodeID: id, LeaseTTL: lease, Logger: testLogger(t)}
	for _, f := range opts {
		f(&o)
	}
	return servertest.New(t, o)
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// token mints a player token valid on every node of the cluster.
func (c *testCluster) token(t *testing.T, id string) string {
	t.Helper()
	return c.nodes[0].Token(t, id)
}

func dial(t *testing.T, wsURL, token string, cfg client.Config) *client.Client {
	t.Helper()
	cfg.Logger = testLogger(t)
	return dialLog(t, wsURL, token, cfg)
}

func forBoth(t *testing.T, f func(t *testing.T, b clustertest.Backend)) {
	t.Run("miniredis", func(t *testing.T) { f(t, clustertest.Mini(t)) })
	t.Run("redis-server", func(t *testing.T) { f(t, clustertest.Real(t)) })
}

// Join-or-create through A fills rooms on any node before it creates one,
// and a new room goes to the least-loaded node: B, while A holds players.
func TestClusterPlacesNewRoomsOnTheLeastLoadedNode(t *testing.T) {
	forBoth(t, func(t *testing.T, b clustertest.Backend) {
		c := newCluster(t, b, 2, 2*time.Second)
		a, bn := c.nodes[0], c.nodes[1]
		// Three players seated on A (a direct join by type stays on A).
		for i := range 3 {
			p := dial(t, a.WS, c.token(t, fmt.Sprint("seated", i)), client.Config{})
			if _, err := p.Join(t.Context(), "arena", ""); err != nil {
				t.Fatal(err)
			}
		}
		// A room with a filter nobody has: created, on B.
		res, err := client.JoinOrCreate(t.Context(), a.URL, c.token(t, "x"), "arena", map[string]string{"map": "nuke"})
		if err != nil {
			t.Fatal(err)
		}
		if res.WSURL != bn.WS {
			t.Fatalf("new room's ws_url %s, want node B's %s (A holds 3 players, B none)", res.WSURL, bn.WS)
		}
		// The next join-or-create with that filter, through B, fills it.
		res2, err := client.JoinOrCreate(t.Context(), bn.URL, c.token(t, "y"), "arena", map[string]string{"map": "nuke"})
		if err != nil {
			t.Fatal(err)
		}
		if res2.RoomID != res.RoomID {
			t.Fatalf("second join-or-create got room %s, want the open room %s", res2.RoomID, res.RoomID)
		}
		// The player joins on B with the seat token, and A lists the room with B as owner.
		x := dial(t, res.WSURL, c.token(t, "x"), client.Config{})
		if _, err := x.JoinSeat(t.Context(), res.SeatToken); err != nil {
			t.Fatal(err)
		}
		rooms, err := client.ListRooms(t.Context(), a.URL, c.token(t, "z"), "arena")
		if err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, r := range rooms {
			if r.RoomID == res.RoomID {
				found = true
				if r.Node != "nodeB" || r.WSURL != bn.WS || r.Players != 2 {
					t.Fatalf("A lists %+v, want node nodeB, ws_url %s, 2 players", r, bn.WS)
				}
			}
		}
		if !found {
			t.Fatalf("A's listing %+v lacks B's room %s", rooms, res.RoomID)
		}
	})
}

// 200 concurrent join-or-create requests over both nodes fill exactly 20
// rooms of 10: no duplicate room while one has a free seat, none overfull.
func TestClusterConcurrentJoinOrCreateFillsRoomsExactly(t *testing.T) {
	forBoth(t, func(t *testing.T, b clustertest.Backend) {
		c := newCluster(t, b, 2, 2*time.Second)
		const n = 200
		var wg sync.WaitGroup
		var mu sync.Mutex
		perRoom := map[string]int{}
		var errs []error
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		defer hc.CloseIdleConnections()
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				node := c.nodes[i%2]
				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
				defer cancel()
				res, err := client.JoinOrCreate(ctx, node.URL, c.token(t, fmt.Sprint("p", i)), "arena", nil, client.WithHTTPClient(hc))
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				perRoom[res.RoomID]++
			}()
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("%d of %d requests failed; first: %v", len(errs), n, errs[0])
		}
		if len(perRoom) != n/10 {
			t.Fatalf("%d rooms, want %d: %v", len(perRoom), n/10, perRoom)
		}
		for id, k := range perRoom {
			if k != 10 {
				t.Fatalf("room %s holds %d reservations, want 10 (all: %v)", id, k, perRoom)
			}
		}
	})
}

// A client whose reconnection reaches node A while its seat is on node B
// is redirected and resumes there, with its replica in sync.
func TestClusterResumeThroughAnotherNodeIsRedirected(t *testing.T) {
	forBoth(t, func(t *testing.T, b clustertest.Backend) {
		c := newCluster(t, b, 2, 2*time.Second)
		a, bn := c.nodes[0], c.nodes[1]
		var resumed = make(chan client.ResumeInfo, 4)
		p := dial(t, bn.WS, c.token(t, "p"), client.Config{
			Reconnect: &client.ReconnectPolicy{Window: 10 * time.Second},
			OnResumed: func(i client.ResumeInfo) { resumed <- i },
		})
		info, err := p.Join(t.Context(), "arena", "")
		if err != nil {
			t.Fatal(err)
		}
		// The seat's resume token reaches the directory asynchronously.
		waitFor(t, "the resume token in the directory", func() bool {
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			url, found, err := a.Rooms.Directory().FindToken(ctx, tokenKey(p.ResumeToken()))
			return err == nil && found && url == bn.WS
		})
		p.SetURL(a.WS) // a load balancer now sends this client to A
		if !p.KillConnection() {
			t.Fatal("no connection to kill")
		}
		select {
		case ri := <-resumed:
			if ri.Room != info.RoomID {
				t.Fatalf("resumed into %s, want %s", ri.Room, info.RoomID)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("no resume; client err %v, stats %+v", p.Err(), p.Stats())
		}
		if st := p.Stats(); st.Redirects != 1 {
			t.Fatalf("redirects %d, want 1", st.Redirects)
		}
		if err := p.Wait(t.Context(), func(s client.State) bool { return s.Tick > 0 }); err != nil {
			t.Fatal(err)
		}
		if err := servertest.CheckReplica(t.Context(), bn.Rooms, p); err != nil {
			t.Fatal(err)
		}
	})
}

// A direct message crosses nodes and reaches both connections of a
// player connected to A and to B; a player on no node is offline.
func TestClusterDirectMessageReachesEveryNode(t *testing.T) {
	forBoth(t, func(t *testing.T, b clustertest.Backend) {
		c := newCluster(t, b, 2, 2*time.Second)
		a, bn := c.nodes[0], c.nodes[1]
		got := make(chan string, 4)
		onMsg := func(where string) func(string, []byte) {
			return func(from string, _ []byte) { got <- where + " from " + from }
		}
		dial(t, a.WS, c.token(t, "q"), client.Config{OnMessage: onMsg("A")})
		dial(t, bn.WS, c.token(t, "q"), client.Config{OnMessage: onMsg("B")})
		sender := dial(t, a.WS, c.token(t, "s"), client.Config{})
		// q's presence on B reaches the directory asynchronously: send
		// until B's connection has the message.
		seen := map[string]bool{}
		deadline := time.Now().Add(10 * time.Second)
		for !seen["B from s"] {
			if time.Now().After(deadline) {
				t.Fatalf("deliveries %v, want both A and B", seen)
			}
			if err := sender.SendMsg("q", "hi"); err != nil {
				t.Fatal(err)
			}
			select {
			case m := <-got:
				seen[m] = true
			case <-time.After(200 * time.Millisecond):
			}
		}
		if !seen["A from s"] {
			// A's local delivery is synchronous: it came with the first message.
			t.Fatalf("deliveries %v, want A's connection too", seen)
		}
	})
}

// A node that dies without leaving loses its rooms from the other nodes'
// listings once its lease runs out.
func TestClusterDeadNodeRoomsLeaveListings(t *testing.T) {
	forBoth(t, func(t *testing.T, b clustertest.Backend) {
		const lease = time.Second
		c := newCluster(t, b, 2, lease)
		a, bn := c.nodes[0], c.nodes[1]
		lost := make(chan error, 1)
		p := dial(t, bn.WS, c.token(t, "p"), client.Config{
			Reconnect: &client.ReconnectPolicy{Window: 20 * time.Second},
			OnLost:    func(err error) { lost <- err },
		})
		info, err := p.Join(t.Context(), "arena", "")
		if err != nil {
			t.Fatal(err)
		}
		p.SetURL(a.WS) // its reconnections go to A
		listed := func() bool {
			rooms, err := a.Rooms.List(t.Context(), "arena")
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rooms {
				if r.ID == info.RoomID {
					return true
				}
			}
			return false
		}
		waitFor(t, "B's room in A's listing", listed)
		killed := time.Now()
		if err := bn.Node.Crash(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "B's room to leave A's listing", func() bool { return !listed() })
		t.Logf("B's room left A's listing %v after the crash (lease %v)", time.Since(killed).Round(time.Millisecond), lease)
		// The player's resume through A learns the room is gone (not a
		// rejected token): it must go back to matchmaking.
		select {
		case err := <-lost:
			var se *client.ServerError
			if !errors.As(err, &se) || se.Code != "room_gone" {
				t.Fatalf("client lost with %v, want the server error room_gone", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("client not lost 20 s after its node died; stats %+v", p.Stats())
		}
	})
}

// Redis stops for a while mid-game: the room keeps ticking and its
// player keeps receiving frames, the API answers 503 promptly, and after
// Redis returns (empty) the listing is right again.
func TestClusterRedisOutage(t *testing.T) {
	b := clustertest.Real(t)
	// The production store timeout: requests must answer promptly.
	c := newCluster(t, b, 1, 2*time.Second, func(o *servertest.Options) { o.StoreTimeout = 500 * time.Millisecond })
	a := c.nodes[0]
	p := dial(t, a.WS, c.token(t, "p"), client.Config{})
	info, err := p.Join(t.Context(), "arena", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(t.Context(), func(s client.State) bool { return s.Tick > 0 }); err != nil {
		t.Fatal(err)
	}
	b.Real.Stop()
	before := p.Stats().Frames
	start := time.Now()
	_, err = client.JoinOrCreate(t.Context(), a.URL, c.token(t, "q"), "arena", nil)
	took := time.Since(start)
	var he *client.HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusServiceUnavailable || he.Code != "unavailable" {
		t.Fatalf("join-or-create with Redis down: %v, want 503 unavailable", err)
	}
	if took > 5*time.Second {
		t.Fatalf("join-or-create with Redis down took %v; it must answer promptly", took)
	}
	t.Logf("503 after %v with Redis down", took.Round(time.Millisecond))
	// Frames keep coming through a 5 s outage (100 frames at 20 Hz).
	if err := p.Wait(t.Context(), func(client.State) bool { return p.Stats().Frames >= before+100 }); err != nil {
		t.Fatal(err)
	}
	b.Real.Start()
	waitFor(t, "the room listed again after Redis returned", func() bool {
		rooms, err := a.Rooms.List(t.Context(), "arena")
		if err != nil {
			return false
		}
		for _, r := range rooms {
			if r.ID == info.RoomID && r.Players == 1 {
				return true
			}
		}
		return false
	})
	// And matchmaking works again, placing next to the player.
	res, err := client.JoinOrCreate(t.Context(), a.URL, c.token(t, "q"), "arena", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.RoomID != info.RoomID {
		t.Fatalf("join-or-create after the outage got room %s, want the open room %s", res.RoomID, info.RoomID)
	}
}

// waitFor polls cond (no event exists to wait on: these states change in
// another process's store) until it holds, or fails after 15 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tokenKey is how directories index a resume token (room/resume.go).
func tokenKey(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}
