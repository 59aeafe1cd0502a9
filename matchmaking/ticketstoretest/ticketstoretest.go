// Package ticketstoretest is the conformance suite of
// matchmaking.TicketStore: every implementation (the memory store, the
// Redis store on miniredis and on a real redis-server) runs the same
// tests, so the matcher may rely on the same rules everywhere.
package ticketstoretest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/tickroom/tickroom/matchmaking"
	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
)

// Run runs the suite; newStore returns an empty store for each subtest.
func Run(t *testing.T, newStore func(t *testing.T) matchmaking.TicketStore) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, f *fixture)
	}{
		{"OneLiveTicketPerPlayerAndMode", testOneLive},
		{"QueuedInArrivalOrder", testQueued},
		{"CancelOnlyWhileQueued", testCancel},
		{"CommitAllOrNothing", testCommit},
		{"ConcurrentCommitsMatchEachTicketOnce", testConcurrentCommits},
		{"Expire", testExpire},
		{"Retention", testRetention},
		{"LeaseExclusiveAndTakenOverAfterExpiry", testLease},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Stores keep times to the millisecond: the clock starts on one.
			clock := clockwork.NewFakeClockAt(time.Now().Truncate(time.Millisecond))
			tc.fn(t, &fixture{t: t, s: newStore(t), clock: clock})
		})
	}
}

type fixture struct {
	t     *testing.T
	s     matchmaking.TicketStore
	clock *clockwork.FakeClock
	n     int
}

func (f *fixture) ctx() context.Context { return f.t.Context() }

// create queues a ticket for players in mode and fails the test on error.
func (f *fixture) create(mode string, players ...player.ID) matchmaking.Ticket {
	f.t.Helper()
	t, err := f.try(mode, players...)
	if err != nil {
		f.t.Fatalf("create %v in %s: %v", players, mode, err)
	}
	return t
}

func (f *fixture) try(mode string, players ...player.ID) (matchmaking.Ticket, error) {
	f.n++
	return f.s.Create(f.ctx(), matchmaking.Ticket{ID: fmt.Sprintf("t%d-%d", f.n, time.Now().UnixNano()), Mode: mode,
		Players: players, Rating: 1500 + float64(f.n), Region: "eu", Created: f.clock.Now()})
}

func (f *fixture) get(id string) matchmaking.Ticket {
	f.t.Helper()
	t, err := f.s.Get(f.ctx(), id)
	if err != nil {
		f.t.Fatalf("get %s: %v", id, err)
	}
	return t
}

func (f *fixture) cancel(id string) {
	f.t.Helper()
	if _, _, err := f.s.Cancel(f.ctx(), id, f.clock.Now()); err != nil {
		f.t.Fatalf("cancel %s: %v", id, err)
	}
}

func (f *fixture) lead(holder string) bool {
	f.t.Helper()
	ok, err := f.s.Lead(f.ctx(), holder, f.clock.Now(), 3*time.Second)
	if err != nil {
		f.t.Fatalf("lead %s: %v", holder, err)
	}
	return ok
}

// match is a TicketMatch of the tickets, each on team i%2, one seat per player.
func (f *fixture) match(mode string, ts ...matchmaking.Ticket) matchmaking.TicketMatch {
	m := matchmaking.TicketMatch{Mode: mode}
	exp := f.clock.Now().Add(15 * time.Second)
	for i, t := range ts {
		r := matchmaking.TicketResult{ID: t.ID, Team: i % 2, Window: 150.5}
		for _, p := range t.Players {
			r.Reservations = append(r.Reservations, room.Reservation{Player: p, RoomID: "r1", RoomType: mode, Code: "ABCDEF",
				SeatToken: "s-" + string(p), ExpiresAt: exp, Node: "n2", WSURL: "ws://n2.example/ws"})
		}
		m.Tickets = append(m.Tickets, r)
	}
	return m
}

func (f *fixture) commit(holder string, m matchmaking.TicketMatch) ([]string, error) {
	return f.s.Commit(f.ctx(), holder, m, f.clock.Now())
}

func wantExists(t *testing.T, err error, p player.ID) {
	t.Helper()
	var ex *matchmaking.TicketExistsError
	if !errors.As(err, &ex) || ex.Player != p {
		t.Fatalf("got %v, want a TicketExistsError for %s", err, p)
	}
}

func testOneLive(t *testing.T, f *fixture) {
	a := f.create("duel", "a", "a2")
	if a.Status != "queued" || a.Seq == 0 {
		t.Fatalf("created %+v: want queued with a sequence number", a)
	}
	_, err := f.try("duel", "a2")
	wantExists(t, err, "a2")
	_, err = f.try("duel", "b", "a")
	wantExists(t, err, "a")
	if _, err := f.s.Get(f.ctx(), "nope"); !errors.Is(err, matchmaking.ErrTicketNotFound) {
		t.Fatalf("get of an unknown ticket: %v, want ErrTicketNotFound", err)
	}
	if q, _ := f.s.Queued(f.ctx(), "duel"); len(q) != 1 {
		t.Fatalf("a refused create left %d queued tickets, want 1", len(q))
	}
	f.create("other", "a") // another mode
	f.create("duel", "b")  // b was not taken by the refused create
	// Once a ticket ends (cancel, expire, match), its players may queue again.
	if _, _, err := f.s.Cancel(f.ctx(), a.ID, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	c := f.create("duel", "a2")
	if _, err := f.s.Expire(f.ctx(), []string{c.ID}, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	d := f.create("duel", "a2", "a")
	if !f.lead("m") {
		t.Fatal("no lease on an empty store")
	}
	if stale, err := f.commit("m", f.match("duel", d)); err != nil || stale != nil {
		t.Fatalf("commit: %v %v", stale, err)
	}
	f.create("duel", "a", "a2")
}

func testQueued(t *testing.T, f *fixture) {
	var ids []string
	for i := range 5 {
		ids = append(ids, f.create("duel", player.ID(fmt.Sprint("p", i))).ID)
		f.create("other", player.ID(fmt.Sprint("p", i)))
	}
	if _, _, err := f.s.Cancel(f.ctx(), ids[1], f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	q, err := f.s.Queued(f.ctx(), "duel")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, tk := range q {
		got = append(got, tk.ID)
		if i > 0 && tk.Seq <= q[i-1].Seq {
			t.Fatalf("sequence numbers not increasing: %d after %d", tk.Seq, q[i-1].Seq)
		}
		if tk.Mode != "duel" || tk.Status != "queued" || tk.Region != "eu" || len(tk.Players) != 1 || !tk.Created.Equal(f.clock.Now()) {
			t.Fatalf("queued ticket %+v", tk)
		}
	}
	if want := []string{ids[0], ids[2], ids[3], ids[4]}; !slices.Equal(got, want) {
		t.Fatalf("queued %v, want %v (arrival order, the cancelled one left out)", got, want)
	}
	if q, _ := f.s.Queued(f.ctx(), "empty"); len(q) != 0 {
		t.Fatalf("a mode without tickets has %d", len(q))
	}
}

func testCancel(t *testing.T, f *fixture) {
	a := f.create("duel", "a", "a2")
	f.clock.Advance(1500 * time.Millisecond)
	got, cancelled, err := f.s.Cancel(f.ctx(), a.ID, f.clock.Now())
	if err != nil || !cancelled || got.Status != "cancelled" || !got.Ended.Equal(f.clock.Now()) {
		t.Fatalf("cancel a queued ticket: %+v %v %v, want cancelled now", got, cancelled, err)
	}
	f.clock.Advance(time.Second)
	got, cancelled, err = f.s.Cancel(f.ctx(), a.ID, f.clock.Now())
	if err != nil || cancelled || got.Status != "cancelled" || !got.Ended.Equal(f.clock.Now().Add(-time.Second)) {
		t.Fatalf("cancel again: %+v %v %v, want it unchanged", got, cancelled, err)
	}
	if _, _, err := f.s.Cancel(f.ctx(), "nope", f.clock.Now()); !errors.Is(err, matchmaking.ErrTicketNotFound) {
		t.Fatalf("cancel of an unknown ticket: %v", err)
	}
	b := f.create("duel", "b")
	f.lead("m")
	if stale, err := f.commit("m", f.match("duel", b)); err != nil || stale != nil {
		t.Fatalf("commit: %v %v", stale, err)
	}
	got, cancelled, err = f.s.Cancel(f.ctx(), b.ID, f.clock.Now())
	if err != nil || cancelled || got.Status != "matched" || len(got.Reservations) != 1 {
		t.Fatalf("cancel a matched ticket: %+v %v %v, want it matched, unchanged", got, cancelled, err)
	}
	c := f.create("duel", "c")
	if _, err := f.s.Expire(f.ctx(), []string{c.ID}, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if got, cancelled, _ := f.s.Cancel(f.ctx(), c.ID, f.clock.Now()); cancelled || got.Status != "expired" {
		t.Fatalf("cancel an expired ticket: %+v %v", got, cancelled)
	}
}

func testCommit(t *testing.T, f *fixture) {
	a, b, c := f.create("2v2", "a", "a2"), f.create("2v2", "b"), f.create("2v2", "c")
	other := f.create("other", "o")
	if stale, err := f.commit("m", f.match("2v2", a, b)); !errors.Is(err, matchmaking.ErrTicketLeaseLost) || stale != nil {
		t.Fatalf("commit without the lease: %v %v, want ErrTicketLeaseLost", stale, err)
	}
	if !f.lead("m") {
		t.Fatal("no lease")
	}
	if _, _, err := f.s.Cancel(f.ctx(), b.ID, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	stale, err := f.commit("m", f.match("2v2", a, b))
	if err != nil || !slices.Equal(stale, []string{b.ID}) {
		t.Fatalf("commit with a cancelled ticket: stale %v, err %v; want stale [%s]", stale, err, b.ID)
	}
	if got := f.get(a.ID); got.Status != "queued" || got.Reservations != nil {
		t.Fatalf("after a refused commit the other ticket is %+v, want queued, untouched", got)
	}
	if stale, err := f.commit("m", f.match("2v2", a, other)); err != nil || !slices.Equal(stale, []string{other.ID}) {
		t.Fatalf("commit with a ticket of another mode: stale %v, err %v", stale, err)
	}
	f.clock.Advance(2 * time.Second)
	m := f.match("2v2", a, c)
	if stale, err := f.commit("m", m); err != nil || stale != nil {
		t.Fatalf("commit: stale %v, err %v", stale, err)
	}
	for i, id := range []string{a.ID, c.ID} {
		got := f.get(id)
		if got.Status != "matched" || !got.Ended.Equal(f.clock.Now()) || got.Team != i%2 || got.Window != 150.5 || len(got.Reservations) != len(got.Players) {
			t.Fatalf("matched ticket %+v", got)
		}
		for _, want := range m.Tickets[i].Reservations {
			r := got.Reservations[want.Player]
			if r.Player != want.Player || r.RoomID != want.RoomID || r.RoomType != want.RoomType || r.Code != want.Code ||
				r.SeatToken != want.SeatToken || !r.ExpiresAt.Equal(want.ExpiresAt) || r.Node != want.Node || r.WSURL != want.WSURL {
				t.Fatalf("stored reservation %+v, want %+v", r, want)
			}
		}
	}
	if q, _ := f.s.Queued(f.ctx(), "2v2"); len(q) != 0 {
		t.Fatalf("%d tickets still queued after the commit", len(q))
	}
	if stale, err := f.commit("m", m); err != nil || len(stale) != 2 {
		t.Fatalf("committing the match again: stale %v, err %v; want both stale", stale, err)
	}
}

func testConcurrentCommits(t *testing.T, f *fixture) {
	const n = 12
	var ts []matchmaking.Ticket
	for i := range n {
		ts = append(ts, f.create("duel", player.ID(fmt.Sprint("p", i))))
	}
	f.lead("m")
	// Every pair (i, i+1) and (i, i+2) competes: overlapping matches, each
	// seated in a room of its own.
	var matches []matchmaking.TicketMatch
	for i := range n {
		matches = append(matches, f.match("duel", ts[i], ts[(i+1)%n]), f.match("duel", ts[i], ts[(i+2)%n]))
	}
	room := func(k int) string { return fmt.Sprint("room", k) }
	for k, m := range matches {
		for _, r := range m.Tickets {
			for i := range r.Reservations {
				r.Reservations[i].RoomID = room(k)
			}
		}
	}
	won := make([]bool, len(matches))
	failed := make([]error, len(matches))
	var wg sync.WaitGroup
	for k := range matches {
		wg.Go(func() {
			stale, err := f.commit("m", matches[k])
			won[k], failed[k] = err == nil && stale == nil, err
		})
	}
	wg.Wait()
	// A commit that failed (a deadline under load) may or may not have
	// happened; one that won did. The store decides: every matched ticket
	// is in exactly one match, all of whose tickets are matched.
	inRoom := map[string][]string{}
	for _, tk := range ts {
		got := f.get(tk.ID)
		if got.Status != "matched" {
			continue
		}
		r := got.Reservations[tk.Players[0]].RoomID
		inRoom[r] = append(inRoom[r], tk.ID)
	}
	wins := 0
	for k, m := range matches {
		if failed[k] != nil {
			t.Logf("commit %d failed: %v", k, failed[k])
		}
		got := inRoom[room(k)]
		switch {
		case won[k] && len(got) != len(m.Tickets):
			t.Fatalf("match %d was committed, but only tickets %v are matched in its room", k, got)
		case len(got) != 0 && len(got) != len(m.Tickets):
			t.Fatalf("match %d is half committed: %v", k, got)
		case len(got) != 0:
			wins++
		}
		if won[k] && failed[k] != nil {
			t.Fatalf("commit %d both won and failed", k)
		}
	}
	if wins == 0 {
		t.Fatal("no commit won")
	}
	if total := func() (c int) {
		for _, ids := range inRoom {
			c += len(ids)
		}
		return c
	}(); total != 2*wins {
		t.Fatalf("%d tickets matched in %d matches", total, wins)
	}
}

func testExpire(t *testing.T, f *fixture) {
	a, b := f.create("duel", "a", "a2"), f.create("duel", "b")
	if _, _, err := f.s.Cancel(f.ctx(), b.ID, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	got, err := f.s.Expire(f.ctx(), []string{a.ID, b.ID, "nope"}, f.clock.Now())
	if err != nil || !slices.Equal(got, []string{a.ID}) {
		t.Fatalf("expire: %v %v, want only the queued ticket", got, err)
	}
	if tk := f.get(a.ID); tk.Status != "expired" || !tk.Ended.Equal(f.clock.Now()) {
		t.Fatalf("expired ticket %+v", tk)
	}
	if tk := f.get(b.ID); tk.Status != "cancelled" {
		t.Fatalf("expire changed a cancelled ticket: %+v", tk)
	}
	f.create("duel", "a2")
}

func testRetention(t *testing.T, f *fixture) {
	old, queued := f.create("duel", "a"), f.create("duel", "b")
	f.cancel(old.ID)
	f.clock.Advance(time.Minute)
	recent := f.create("duel", "c")
	f.cancel(recent.ID)
	f.clock.Advance(time.Minute)
	if err := f.s.Forget(f.ctx(), f.clock.Now().Add(-90*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Get(f.ctx(), old.ID); !errors.Is(err, matchmaking.ErrTicketNotFound) {
		t.Fatalf("a ticket ended 2 min ago, retention 90 s: %v, want ErrTicketNotFound", err)
	}
	f.get(recent.ID)
	f.clock.Advance(time.Hour)
	if err := f.s.Forget(f.ctx(), f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if tk := f.get(queued.ID); tk.Status != "queued" {
		t.Fatalf("Forget touched a queued ticket: %+v", tk)
	}
	if _, err := f.s.Get(f.ctx(), recent.ID); !errors.Is(err, matchmaking.ErrTicketNotFound) {
		t.Fatalf("after its retention: %v", err)
	}
}

func testLease(t *testing.T, f *fixture) {
	if !f.lead("A") {
		t.Fatal("A does not get a free lease")
	}
	if f.lead("B") {
		t.Fatal("B got the lease A holds")
	}
	f.clock.Advance(2 * time.Second)
	if !f.lead("A") {
		t.Fatal("A cannot renew its lease")
	}
	f.clock.Advance(2 * time.Second) // 4 s after A took it, 2 s after it renewed
	if f.lead("B") {
		t.Fatal("B took a renewed lease before it expired")
	}
	tk := f.create("duel", "x")
	f.clock.Advance(time.Second) // A's lease ends now
	if stale, err := f.commit("A", f.match("duel", tk)); !errors.Is(err, matchmaking.ErrTicketLeaseLost) {
		t.Fatalf("commit by A once its lease expired: %v %v, want ErrTicketLeaseLost", stale, err)
	}
	if !f.lead("B") {
		t.Fatal("B cannot take the lease after it expired")
	}
	if f.lead("A") {
		t.Fatal("A got the lease back while B holds it")
	}
	if stale, err := f.commit("A", f.match("duel", tk)); !errors.Is(err, matchmaking.ErrTicketLeaseLost) {
		t.Fatalf("commit by A while B leads: %v %v", stale, err)
	}
	if got := f.get(tk.ID); got.Status != "queued" {
		t.Fatalf("a refused commit changed the ticket: %+v", got)
	}
	if err := f.s.Resign(f.ctx(), "A"); err != nil { // not the holder: no effect
		t.Fatal(err)
	}
	if f.lead("A") {
		t.Fatal("a resign by a non-holder freed the lease")
	}
	if err := f.s.Resign(f.ctx(), "B"); err != nil {
		t.Fatal(err)
	}
	if !f.lead("A") {
		t.Fatal("A cannot take the lease B gave up")
	}
	if stale, err := f.commit("A", f.match("duel", tk)); err != nil || stale != nil {
		t.Fatalf("commit by the new holder: %v %v", stale, err)
	}
}
