package player

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// testConn is a Conn that records what it was given. With full set, it
// refuses every message, like a connection whose outbox is full.
type testConn struct {
	name string
	full atomic.Bool

	mu   sync.Mutex // guards msgs
	msgs []string
}

func newTestConn(name string) *testConn { return &testConn{name: name} }

func (c *testConn) Deliver(msg []byte) bool {
	if c.full.Load() {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, string(msg))
	return true
}

func (c *testConn) got() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.msgs)
}

func checkStats(t *testing.T, r *Registry, wantPlayers, wantConns int) {
	t.Helper()
	if players, conns := r.Stats(); players != wantPlayers || conns != wantConns {
		t.Errorf("Stats() = (%d, %d), want (%d, %d)", players, conns, wantPlayers, wantConns)
	}
}

func TestRegistryZeroValue(t *testing.T) {
	var r Registry
	if _, ok := r.Lookup("p1"); ok {
		t.Errorf("Lookup on zero Registry found a player")
	}
	if got := r.Send("p1", []byte("x")); got != 0 {
		t.Errorf("Send on zero Registry = %d, want 0", got)
	}
	r.Detach("p1", newTestConn("a"))
	r.Unpin("p1")
	r.Attach("p1", "Ada", newTestConn("a"))
	checkStats(t, &r, 1, 1)
}

func TestRegistrySeveralConns(t *testing.T) {
	r := NewRegistry()
	a, b, c := newTestConn("a"), newTestConn("b"), newTestConn("c")
	other := newTestConn("other")

	p := r.Attach("p1", "Ada", a)
	if got := r.Attach("p1", "Ada2", b); got != p {
		t.Fatalf("second Attach returned another Player")
	}
	r.Attach("p1", "", c) // empty name keeps the old one
	r.Attach("p2", "Bob", other)
	checkStats(t, r, 2, 4)

	if got, want := p.Name(), "Ada2"; got != want {
		t.Errorf("Name() = %q, want %q", got, want)
	}
	if got, want := p.Conns(nil), []Conn{a, b, c}; !slices.Equal(got, want) {
		t.Errorf("Conns() = %v, want %v", got, want)
	}
	if !p.Online() {
		t.Errorf("Online() = false, want true")
	}

	if got, want := r.Send("p1", []byte("hello")), 3; got != want {
		t.Errorf("Send = %d, want %d", got, want)
	}
	for _, conn := range []*testConn{a, b, c} {
		if got, want := conn.got(), []string{"hello"}; !slices.Equal(got, want) {
			t.Errorf("conn %s got %q, want %q", conn.name, got, want)
		}
	}
	if got := other.got(); len(got) != 0 {
		t.Errorf("other player's conn got %q, want nothing", got)
	}

	// Detach removes only that pair.
	r.Detach("p1", b)
	checkStats(t, r, 2, 3)
	if got, want := p.Conns(nil), []Conn{a, c}; !slices.Equal(got, want) {
		t.Errorf("after Detach(b): Conns() = %v, want %v", got, want)
	}
	if got, want := r.Send("p1", []byte("again")), 2; got != want {
		t.Errorf("Send after Detach(b) = %d, want %d", got, want)
	}
	if got, want := b.got(), []string{"hello"}; !slices.Equal(got, want) {
		t.Errorf("detached conn got %q, want %q", got, want)
	}

	// Detaching a pair that does not exist changes nothing.
	r.Detach("p1", other)
	r.Detach("p2", a)
	r.Detach("nobody", a)
	r.Detach("p1", b)
	checkStats(t, r, 2, 3)
}

func TestRegistryAttachTwice(t *testing.T) {
	r := NewRegistry()
	a := newTestConn("a")
	r.Attach("p1", "Ada", a)
	r.Attach("p1", "Ada", a)
	checkStats(t, r, 1, 1)
	if got, want := r.Send("p1", []byte("m")), 1; got != want {
		t.Errorf("Send = %d, want %d (conn attached twice must receive once)", got, want)
	}
	r.Detach("p1", a)
	checkStats(t, r, 0, 0)
}

func TestRegistrySameConnTwoPlayers(t *testing.T) {
	r := NewRegistry()
	a := newTestConn("a")
	r.Attach("p1", "", a)
	r.Attach("p2", "", a)
	r.Detach("p1", a)
	checkStats(t, r, 1, 1)
	if got, want := r.Send("p2", []byte("m")), 1; got != want {
		t.Errorf("Send(p2) = %d, want %d", got, want)
	}
}

func TestRegistryLastDetachForgets(t *testing.T) {
	r := NewRegistry()
	a, b := newTestConn("a"), newTestConn("b")
	p := r.Attach("p1", "Ada", a)
	r.Attach("p1", "", b)
	r.Detach("p1", a)
	if _, ok := r.Lookup("p1"); !ok {
		t.Fatalf("Lookup after first Detach: not found, want found")
	}
	r.Detach("p1", b)
	if _, ok := r.Lookup("p1"); ok {
		t.Errorf("Lookup after last Detach: found, want forgotten")
	}
	checkStats(t, r, 0, 0)
	if p.Online() || len(p.Conns(nil)) != 0 {
		t.Errorf("stale Player reports connections")
	}
	if got := r.Send("p1", []byte("m")); got != 0 {
		t.Errorf("Send to forgotten player = %d, want 0", got)
	}
	p2 := r.Attach("p1", "", a)
	if p2 == p {
		t.Errorf("Attach after forget returned the stale Player, want a new one")
	}
	if got := p2.Name(); got != "" {
		t.Errorf("recreated Player Name() = %q, want \"\"", got)
	}
}

func TestRegistryPin(t *testing.T) {
	r := NewRegistry()
	a := newTestConn("a")

	p := r.Attach("p1", "Ada", a)
	if got := r.Pin("p1"); got != p {
		t.Fatalf("Pin returned another Player")
	}
	r.Detach("p1", a)
	got, ok := r.Lookup("p1")
	if !ok || got != p {
		t.Fatalf("Lookup of pinned offline player = (%p, %v), want (%p, true)", got, ok, p)
	}
	if p.Online() {
		t.Errorf("Online() = true with no connection")
	}
	if n := r.Send("p1", []byte("m")); n != 0 {
		t.Errorf("Send to pinned offline player = %d, want 0", n)
	}
	checkStats(t, r, 1, 0)

	// Reconnecting finds the same entity, name kept.
	if got := r.Attach("p1", "", a); got != p {
		t.Errorf("Attach to pinned player returned another Player")
	}
	if got, want := p.Name(), "Ada"; got != want {
		t.Errorf("Name() = %q, want %q", got, want)
	}
	r.Detach("p1", a)

	// Pins are counted.
	r.Pin("p1")
	r.Unpin("p1")
	if _, ok := r.Lookup("p1"); !ok {
		t.Fatalf("player forgotten with one pin left")
	}
	r.Unpin("p1")
	if _, ok := r.Lookup("p1"); ok {
		t.Errorf("player kept after last Unpin with no connection")
	}
	r.Unpin("p1") // extra Unpin is a no-op
	checkStats(t, r, 0, 0)

	// Pin before any connection creates the entity; Unpin while online keeps it.
	q := r.Pin("p2")
	if got := r.Attach("p2", "Bob", a); got != q {
		t.Errorf("Attach after Pin returned another Player")
	}
	r.Unpin("p2")
	if _, ok := r.Lookup("p2"); !ok {
		t.Errorf("online player forgotten by Unpin")
	}
	r.Detach("p2", a)
	checkStats(t, r, 0, 0)
}

func TestRegistrySendFullConns(t *testing.T) {
	r := NewRegistry()
	a, b := newTestConn("a"), newTestConn("b")
	r.Attach("p1", "", a)
	r.Attach("p1", "", b)
	tests := []struct {
		name         string
		fullA, fullB bool
		want         int
	}{
		{"none full", false, false, 2},
		{"one full", true, false, 1},
		{"all full", true, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.full.Store(tt.fullA)
			b.full.Store(tt.fullB)
			if got := r.Send("p1", []byte("m")); got != tt.want {
				t.Errorf("Send = %d, want %d", got, tt.want)
			}
		})
	}
	checkStats(t, r, 1, 2) // a full connection stays attached
}

// reentrantConn detaches itself from inside Deliver: the registry must not
// hold a lock while calling Deliver.
type reentrantConn struct {
	r  *Registry
	id ID
}

func (c *reentrantConn) Deliver([]byte) bool {
	c.r.Detach(c.id, c)
	c.r.Lookup(c.id)
	return true
}

func TestRegistryDeliverMayReenter(t *testing.T) {
	r := NewRegistry()
	c := &reentrantConn{r: r, id: "p1"}
	r.Attach("p1", "", c)
	if got, want := r.Send("p1", []byte("m")), 1; got != want {
		t.Errorf("Send = %d, want %d", got, want)
	}
	checkStats(t, r, 0, 0)
}

func TestRegistryAttachNilPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("Attach(nil) did not panic")
		}
	}()
	NewRegistry().Attach("p1", "", nil)
}

// TestRegistryConcurrent hammers the registry from many goroutines; run with
// -race. Each worker owns its connections and detaches all of them, so the
// registry must end empty.
func TestRegistryConcurrent(t *testing.T) {
	const (
		workers = 32
		rounds  = 200
		ids     = 8 // few IDs, so workers share players and shards
	)
	r := NewRegistry()
	var sent, delivered atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conns := []*testConn{newTestConn(fmt.Sprint(w, "a")), newTestConn(fmt.Sprint(w, "b"))}
			conns[1].full.Store(w%4 == 0)
			for i := range rounds {
				id := ID(fmt.Sprintf("p%d", (w+i)%ids))
				pin := i%5 == 0
				if pin {
					r.Pin(id)
				}
				p := r.Attach(id, fmt.Sprint("w", w), conns[0])
				r.Attach(id, "", conns[1])
				_ = p.Name()
				_ = p.Conns(nil)
				if n := r.Send(id, []byte("m")); n < 1 {
					t.Errorf("Send to %s with our own live conn = %d, want >= 1", id, n)
				} else {
					delivered.Add(int64(n))
				}
				sent.Add(1)
				r.Send(ID(fmt.Sprintf("p%d", (w+i+1)%ids)), []byte("x"))
				r.Detach(id, conns[i%2])
				r.Stats()
				if _, ok := r.Lookup(id); !ok && pin {
					t.Errorf("pinned player %s not found", id)
				}
				r.Detach(id, conns[(i+1)%2])
				if pin {
					r.Unpin(id)
				}
			}
		}()
	}
	wg.Wait()
	checkStats(t, r, 0, 0)
	if sent.Load() == 0 || delivered.Load() < sent.Load() {
		t.Errorf("delivered %d for %d sends, want at least one each", delivered.Load(), sent.Load())
	}
}

// nopConn accepts every message and does nothing.
type nopConn struct{ n int }

func (c *nopConn) Deliver([]byte) bool { c.n++; return true }

func TestRegistrySendAllocs(t *testing.T) {
	r := NewRegistry()
	r.Attach("p1", "", &nopConn{})
	r.Attach("p1", "", &nopConn{})
	msg := []byte("hello")
	if got := testing.AllocsPerRun(100, func() { r.Send("p1", msg) }); got != 0 {
		t.Errorf("Send allocates %v times per call, want 0", got)
	}
}

func BenchmarkRegistrySend(b *testing.B) {
	r := NewRegistry()
	r.Attach("p1", "Ada", &nopConn{})
	r.Attach("p1", "Ada", &nopConn{})
	msg := []byte("hello")
	b.ReportAllocs()
	for b.Loop() {
		if r.Send("p1", msg) != 2 {
			b.Fatal("Send did not reach both connections")
		}
	}
}

func BenchmarkRegistrySendParallel(b *testing.B) {
	r := NewRegistry()
	const players = 1024
	for i := range players {
		id := ID(fmt.Sprintf("p%d", i))
		r.Attach(id, "", &atomicConn{})
		r.Attach(id, "", &atomicConn{})
	}
	msg := []byte("hello")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		ids := make([]ID, players)
		for j := range ids {
			ids[j] = ID(fmt.Sprintf("p%d", j))
		}
		for pb.Next() {
			r.Send(ids[i%players], msg)
			i++
		}
	})
}

type atomicConn struct{ n atomic.Int64 }

func (c *atomicConn) Deliver([]byte) bool { c.n.Add(1); return true }

// OnPresence reports a player's first connection and its last, once each,
// in order; Online lists who has a connection.
func TestRegistryPresence(t *testing.T) {
	r := NewRegistry()
	var got []string
	r.OnPresence(func(id ID, online bool) { got = append(got, fmt.Sprintf("%s %v", id, online)) })
	a, b := newTestConn("a"), newTestConn("b")
	r.Attach("p", "", a)
	r.Attach("p", "", b)
	if on := r.Online(); len(on) != 1 || on[0] != "p" {
		t.Fatalf("Online() = %v, want [p]", on)
	}
	r.Detach("p", a)
	r.Detach("p", b)
	r.Detach("p", b)
	if want := "[p true p false]"; fmt.Sprint(got) != want {
		t.Fatalf("presence calls %v, want %s", got, want)
	}
	if on := r.Online(); len(on) != 0 {
		t.Fatalf("Online() = %v after the last detach, want none", on)
	}
}
