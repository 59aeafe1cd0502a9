package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"
	"github.com/tickroom/tickroom/cluster"
	"github.com/tickroom/tickroom/cluster/clustertest"
	"github.com/tickroom/tickroom/matchmaking"
	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
)

// ticketRooms is a node's rooms as matchmaking sees them: it seats every
// group in a new room of this node and records the group. hook, if set,
// runs after the seats are reserved (on the matcher's goroutine).
type ticketRooms struct {
	node  string
	clock clockwork.Clock

	mu     sync.Mutex
	groups [][]player.ID
	hook   func()
}

func (f *ticketRooms) Reserve(ctx context.Context, p player.ID, sel room.Selector) (room.Reservation, error) {
	res, err := f.ReserveGroup(ctx, []player.ID{p}, sel)
	if err != nil {
		return room.Reservation{}, err
	}
	return res[0], nil
}

func (f *ticketRooms) ReserveGroup(_ context.Context, players []player.ID, sel room.Selector) ([]room.Reservation, error) {
	f.mu.Lock()
	f.groups = append(f.groups, players)
	id := fmt.Sprintf("%s-r%d", f.node, len(f.groups))
	hook := f.hook
	f.mu.Unlock()
	out := make([]room.Reservation, len(players))
	for i, p := range players {
		out[i] = room.Reservation{Player: p, RoomID: id, RoomType: sel.Type, SeatToken: id + "/" + string(p),
			ExpiresAt: f.clock.Now().Add(15 * time.Second), Node: f.node}
	}
	if hook != nil {
		hook()
	}
	return out, nil
}

func (f *ticketRooms) List(context.Context, string) ([]room.RoomInfo, error) { return nil, nil }
func (f *ticketRooms) HasType(typ string) bool                               { return typ == "duel" }

func (f *ticketRooms) seated() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.groups)
}

// ticketTokens takes a player's ID as its token.
type ticketTokens struct{}

func (ticketTokens) Verify(tok string) (player.Claims, error) {
	return player.Claims{Player: player.ID(tok)}, nil
}

// ticketPushes counts the `matched` pushes per player, over every node.
type ticketPushes struct {
	mu sync.Mutex
	n  map[player.ID]int
}

func (p *ticketPushes) notify(id player.ID, _ []byte) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n[id]++
	return 1
}

func (p *ticketPushes) count(id player.ID) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n[id]
}

// ticketNode is one node's matchmaking Service on the shared Redis, with
// its HTTP API. Its matcher never fires by itself (a day's interval): the
// test runs passes with RunPass.
type ticketNode struct {
	t     *testing.T
	name  string
	svc   *matchmaking.Service
	rooms *ticketRooms
	url   string
}

const ticketLease = 3 * time.Second

func ticketStartNode(t *testing.T, name string, rdb redis.UniversalClient, prefix string, clock clockwork.Clock, pushes *ticketPushes) *ticketNode {
	t.Helper()
	rooms := &ticketRooms{node: name, clock: clock}
	svc, err := matchmaking.New(matchmaking.Config{Rooms: rooms, Tokens: ticketTokens{}, Notify: pushes.notify, Clock: clock,
		Modes: []matchmaking.Mode{{Name: "duel", MaxPlayers: 2}}, Interval: 24 * time.Hour, LeaseTTL: ticketLease,
		PublicURL: "http://" + name + ".example", Tickets: cluster.NewTicketStore(rdb, prefix, ticketTestConfig)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(func() {
		srv.Close()
		svc.Close()
	})
	return &ticketNode{t: t, name: name, svc: svc, rooms: rooms, url: srv.URL}
}

type ticketAnswer struct {
	status int
	header http.Header
	Code   string `json:"code"`
	ID     string `json:"ticket_id"`
	Status string `json:"status"`
	Res    *struct {
		RoomID    string `json:"room_id"`
		WSURL     string `json:"ws_url"`
		SeatToken string `json:"seat_token"`
	} `json:"reservation"`
}

// call makes one API call as player as; the answer must come within 10 s.
func (n *ticketNode) call(method, path, as, body string) ticketAnswer {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, n.url+path, strings.NewReader(body))
	if err != nil {
		n.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+as)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatalf("%s %s on %s: %v", method, path, n.name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := ticketAnswer{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(b, &a); err != nil {
		n.t.Fatalf("%s %s on %s: %d %s: %v", method, path, n.name, resp.StatusCode, b, err)
	}
	return a
}

func (n *ticketNode) queue(as string) ticketAnswer {
	n.t.Helper()
	a := n.call("POST", "/v1/matchmaking/tickets", as, `{"mode": "duel"}`)
	if a.status != http.StatusCreated {
		n.t.Fatalf("%s queues on %s: %d %s", as, n.name, a.status, a.Code)
	}
	return a
}

func (n *ticketNode) get(id, as string) ticketAnswer {
	n.t.Helper()
	a := n.call("GET", "/v1/matchmaking/tickets/"+id, as, "")
	if a.status != http.StatusOK {
		n.t.Fatalf("%s reads ticket %s on %s: %d %s", as, id, n.name, a.status, a.Code)
	}
	return a
}

func ticketSetup(t *testing.T, b clustertest.Backend) (rdb redis.UniversalClient, prefix string, clock *clockwork.FakeClock, pushes *ticketPushes) {
	return ticketClient(t, b), clustertest.Prefix(t), clockwork.NewFakeClockAt(time.Now().Truncate(time.Millisecond)),
		&ticketPushes{n: map[player.ID]int{}}
}

// A ticket created on node A is matched with one created on node B; the
// tickets are read and cancelled through either node; one matcher leads.
func TestTicketsMatchedAcrossNodes(t *testing.T) {
	ticketLeakCheck(t)
	for _, b := range clustertest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			rdb, prefix, clock, pushes := ticketSetup(t, b)
			A := ticketStartNode(t, "a", rdb, prefix, clock, pushes)
			B := ticketStartNode(t, "b", rdb, prefix, clock, pushes)
			ta, tb := A.queue("pa"), B.queue("pb")
			if got := B.get(ta.ID, "pa"); got.Status != "queued" {
				t.Fatalf("A's ticket read on B: %+v", got)
			}
			if a := B.call("POST", "/v1/matchmaking/tickets", "pa", `{"mode": "duel"}`); a.status != http.StatusConflict || a.Code != "ticket_exists" {
				t.Fatalf("pa queues again, on B: %d %s, want 409 ticket_exists", a.status, a.Code)
			}
			clock.Advance(time.Second)
			if n := A.svc.RunPass(); n != 1 {
				t.Fatalf("A's pass made %d matches, want 1", n)
			}
			if n := B.svc.RunPass(); n != 0 {
				t.Fatalf("B's pass made %d matches while A leads", n)
			}
			ga, gb := B.get(ta.ID, "pa"), A.get(tb.ID, "pb")
			if ga.Status != "matched" || gb.Status != "matched" || ga.Res == nil || gb.Res == nil || ga.Res.RoomID != gb.Res.RoomID {
				t.Fatalf("after A's pass: %+v and %+v, want both matched in one room", ga, gb)
			}
			if ga.Res.WSURL != "ws://a.example/ws" || gb.Res.WSURL != "ws://a.example/ws" {
				t.Fatalf("ws_url %q and %q, want node a's (it runs the room), on either node", ga.Res.WSURL, gb.Res.WSURL)
			}
			if pushes.count("pa") != 1 || pushes.count("pb") != 1 {
				t.Fatalf("pushes: pa %d, pb %d; want 1 each", pushes.count("pa"), pushes.count("pb"))
			}
			if a := B.call("DELETE", "/v1/matchmaking/tickets/"+ta.ID, "pa", ""); a.status != http.StatusConflict || a.Code != "ticket_matched" {
				t.Fatalf("cancel of a matched ticket on B: %d %s", a.status, a.Code)
			}
			tc := A.queue("pc")
			if a := B.call("DELETE", "/v1/matchmaking/tickets/"+tc.ID, "pc", ""); a.status != http.StatusOK || a.Status != "cancelled" {
				t.Fatalf("cancel on B of a ticket made on A: %d %+v", a.status, a)
			}
			A.queue("pc") // cancelled: pc may queue again
			if a := A.call("GET", "/v1/matchmaking/tickets/"+tc.ID, "stranger", ""); a.status != http.StatusNotFound || a.Code != "ticket_not_found" {
				t.Fatalf("a stranger reads a ticket: %d %s", a.status, a.Code)
			}
		})
	}
}

// Two matchers run passes at the same time, and the lease changes hands
// in the middle of passes (each seating moves the clock past the lease):
// still every ticket is matched once, and every player pushed once.
func TestTicketMatchersConcurrentNeverMatchTwice(t *testing.T) {
	ticketLeakCheck(t)
	for _, b := range clustertest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			rdb, prefix, clock, pushes := ticketSetup(t, b)
			A := ticketStartNode(t, "a", rdb, prefix, clock, pushes)
			B := ticketStartNode(t, "b", rdb, prefix, clock, pushes)
			var seatings atomic.Int64
			flip := func() { // every third seating outlasts the lease
				if seatings.Add(1)%3 == 0 {
					clock.Advance(ticketLease + time.Millisecond)
				}
			}
			A.rooms.hook, B.rooms.hook = flip, flip
			const players = 40
			ids := map[string]string{}
			for i := range players {
				n := A
				if i%2 == 1 {
					n = B
				}
				p := fmt.Sprint("p", i)
				ids[p] = n.queue(p).ID
			}
			for round := 0; round < 100; round++ {
				var wg sync.WaitGroup
				wg.Go(func() { A.svc.RunPass() })
				wg.Go(func() { B.svc.RunPass() })
				wg.Wait()
				matched := 0
				for p, id := range ids {
					if A.get(id, p).Status == "matched" {
						matched++
					}
				}
				if matched == players {
					break
				}
			}
			rooms := map[string][]string{}
			for p, id := range ids {
				got := B.get(id, p)
				if got.Status != "matched" {
					t.Fatalf("ticket of %s is %s after the rounds, want matched", p, got.Status)
				}
				if n := pushes.count(player.ID(p)); n != 1 {
					t.Fatalf("%s was pushed `matched` %d times, want once", p, n)
				}
				rooms[got.Res.RoomID] = append(rooms[got.Res.RoomID], p)
			}
			for id, ps := range rooms {
				if len(ps) != 2 {
					t.Fatalf("room %s holds %v, want a duel", id, ps)
				}
			}
			t.Logf("%d players matched in %d rooms; %d seatings made (the extra ones were not committed and expire)",
				players, len(rooms), A.rooms.seated()+B.rooms.seated())
		})
	}
}

// A matcher dies after reserving seats and before committing: the tickets
// stay queued, and once its lease expires the next leader matches them,
// once.
func TestTicketMatcherDiesBeforeCommit(t *testing.T) {
	ticketLeakCheck(t)
	for _, b := range clustertest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			rdb, prefix, clock, pushes := ticketSetup(t, b)
			A := ticketStartNode(t, "a", rdb, prefix, clock, pushes)
			B := ticketStartNode(t, "b", rdb, prefix, clock, pushes)
			t1, t2 := A.queue("p1"), B.queue("p2")
			A.rooms.hook = runtime.Goexit // A's matcher goroutine ends right after seating
			done := make(chan struct{})
			go func() {
				defer close(done)
				A.svc.RunPass()
			}()
			<-done
			if A.rooms.seated() != 1 {
				t.Fatalf("A seated %d groups, want 1 before it died", A.rooms.seated())
			}
			if g1, g2 := B.get(t1.ID, "p1"), B.get(t2.ID, "p2"); g1.Status != "queued" || g2.Status != "queued" {
				t.Fatalf("after A died mid-pass: %s and %s, want both queued", g1.Status, g2.Status)
			}
			if n := B.svc.RunPass(); n != 0 {
				t.Fatalf("B matched %d while A's lease is live", n)
			}
			clock.Advance(ticketLease)
			if n := B.svc.RunPass(); n != 1 {
				t.Fatalf("B, leading once A's lease expired, made %d matches, want 1", n)
			}
			g1, g2 := A.get(t1.ID, "p1"), A.get(t2.ID, "p2")
			if g1.Status != "matched" || g1.Res.RoomID != "b-r1" || g2.Res.RoomID != "b-r1" || g1.Res.WSURL != "ws://b.example/ws" {
				t.Fatalf("after B's pass: %+v %+v, want both matched in B's room b-r1", g1, g2)
			}
			if pushes.count("p1") != 1 || pushes.count("p2") != 1 {
				t.Fatalf("pushes %d and %d, want 1 each (only B's)", pushes.count("p1"), pushes.count("p2"))
			}
			if n := B.svc.RunPass(); n != 0 || B.rooms.seated() != 1 {
				t.Fatalf("another pass made %d matches and %d seatings, want none more", n, B.rooms.seated())
			}
		})
	}
}

// Redis stops: every ticket endpoint answers 503 unavailable with
// Retry-After 1, promptly; when Redis is back, tickets work again.
func TestTicketsAnswer503WhenRedisIsGone(t *testing.T) {
	ticketLeakCheck(t)
	b := clustertest.Real(t)
	rdb, prefix, clock, pushes := ticketSetup(t, b)
	A := ticketStartNode(t, "a", rdb, prefix, clock, pushes)
	tk := A.queue("p1")
	b.Real.Stop()
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/v1/matchmaking/tickets", `{"mode": "duel"}`},
		{"GET", "/v1/matchmaking/tickets/" + tk.ID, ""},
		{"DELETE", "/v1/matchmaking/tickets/" + tk.ID, ""},
		{"GET", "/v1/matchmaking/stats", ""},
	} {
		start := time.Now()
		a := A.call(c.method, c.path, "p2", c.body)
		if a.status != http.StatusServiceUnavailable || a.Code != "unavailable" || a.header.Get("Retry-After") != "1" {
			t.Fatalf("%s %s with Redis stopped: %d %q Retry-After %q, want 503 unavailable, Retry-After 1",
				c.method, c.path, a.status, a.Code, a.header.Get("Retry-After"))
		}
		t.Logf("%s %s: 503 after %v", c.method, c.path, time.Since(start))
	}
	if n := A.svc.RunPass(); n != 0 { // returns, logs, matches nothing
		t.Fatalf("a pass without Redis made %d matches", n)
	}
	b.Real.Start() // empty: nothing was persisted
	A.queue("p1")
}

// A Redis that accepts connections and never answers (a stalled server, a
// black-holed network): ticket requests still answer 503 unavailable, by
// the store's deadlines, instead of hanging.
func TestTicketsAnswer503WhenRedisHangs(t *testing.T) {
	ticketLeakCheck(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never read nor answered
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	b := clustertest.Backend{Name: "black-hole", URL: "redis://" + l.Addr().String() + "/0"}
	rdb, prefix, clock, pushes := ticketSetup(t, b)
	A := ticketStartNode(t, "a", rdb, prefix, clock, pushes)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/v1/matchmaking/tickets", `{"mode": "duel"}`},
		{"GET", "/v1/matchmaking/tickets/t1", ""},
		{"DELETE", "/v1/matchmaking/tickets/t1", ""},
	} {
		start := time.Now()
		a := A.call(c.method, c.path, "p", c.body)
		if a.status != http.StatusServiceUnavailable || a.Code != "unavailable" {
			t.Fatalf("%s %s with Redis hanging: %d %q, want 503 unavailable", c.method, c.path, a.status, a.Code)
		}
		t.Logf("%s %s: 503 after %v", c.method, c.path, time.Since(start))
	}
}
