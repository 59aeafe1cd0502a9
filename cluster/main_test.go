package cluster

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/tickroom/tickroom/cluster/clustertest"
	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testLease = 10 * time.Second

// fixture is one Redis backend, one fake clock and one key prefix shared
// by the nodes of a test.
type fixture struct {
	t      *testing.T
	b      clustertest.Backend
	clk    *clockwork.FakeClock
	prefix string
	nodes  []*Node
}

func newFixture(t *testing.T, b clustertest.Backend) *fixture {
	return &fixture{t: t, b: b, clk: clockwork.NewFakeClock(), prefix: clustertest.Prefix(t)}
}

// forEachBackend runs f against miniredis and a real redis-server.
func forEachBackend(t *testing.T, f func(t *testing.T, fx *fixture)) {
	for _, b := range clustertest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { f(t, newFixture(t, b)) })
	}
}

// open starts a node named id; mod may change its Config.
func (fx *fixture) open(id string, mod func(*Config)) *Node {
	fx.t.Helper()
	cfg := Config{URL: fx.b.URL, Prefix: fx.prefix, NodeID: id, WSURL: "ws://" + id + ".test/ws", LeaseTTL: testLease,
		Clock: fx.clk, OpTimeout: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	n, err := Open(context.Background(), cfg)
	if err != nil {
		fx.t.Fatalf("Open(%s): %v", id, err)
	}
	fx.t.Cleanup(func() { _ = n.Close() })
	fx.nodes = append(fx.nodes, n)
	return n
}

// step advances the shared clock by d in steps of a fifth of the lease,
// waiting after each step for every running node to finish a renewal.
func (fx *fixture) step(d time.Duration) {
	fx.t.Helper()
	inc := testLease / 5
	for d > 0 {
		s := min(inc, d)
		d -= s
		before := map[*Node]uint64{}
		for _, n := range fx.nodes {
			if !n.isClosed() {
				st := n.Stats()
				before[n] = st.RenewalsOK + st.RenewalsFailed
			}
		}
		fx.clk.Advance(s)
		if s < inc {
			continue // a partial step fires no ticker
		}
		for n, b := range before {
			waitFor(fx.t, "a renewal", func() bool { st := n.Stats(); return st.RenewalsOK+st.RenewalsFailed > b })
		}
	}
}

func (n *Node) isClosed() bool {
	n.qmu.RLock()
	defer n.qmu.RUnlock()
	return n.closed
}

// waitFor polls cond (bounded: 10 s) where no event exists to wait on.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// flush waits until every owner write queued on n before it is applied
// (the queue is FIFO and one goroutine applies it).
func flush(t *testing.T, n *Node) {
	t.Helper()
	done := make(chan bool, 1)
	n.Directory().Dispose("r-flush-marker", func(bool) { done <- true })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("owner-write queue did not drain")
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

// newToken returns a random seat token.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("s%x", b)
}

// reserve reserves one seat for p and returns the placement and token.
func reserve(t *testing.T, d room.Directory, sel room.Selector, capacity int, p player.ID) (room.Placement, string) {
	t.Helper()
	tok := newToken()
	pl, _, err := d.Reserve(ctx(t), sel, capacity, []player.ID{p}, []string{tok}, 15*time.Second)
	if err != nil {
		t.Fatalf("Reserve(%+v) for %s: %v", sel, p, err)
	}
	return pl, tok
}

func list(t *testing.T, d room.Directory, typ string) []room.RoomInfo {
	t.Helper()
	rs, err := d.List(ctx(t), typ)
	if err != nil {
		t.Fatalf("List(%q): %v", typ, err)
	}
	return rs
}

func findRoom(rs []room.RoomInfo, id string) (room.RoomInfo, bool) {
	for _, r := range rs {
		if r.ID == id {
			return r, true
		}
	}
	return room.RoomInfo{}, false
}
