package matchmaking

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
)

// fakeRooms seats nobody: it hands out reservations and records each group.
type fakeRooms struct {
	clock clockwork.Clock

	mu     sync.Mutex
	groups [][]player.ID
}

func (f *fakeRooms) Reserve(ctx context.Context, p player.ID, sel room.Selector) (room.Reservation, error) {
	res, err := f.ReserveGroup(ctx, []player.ID{p}, sel)
	if err != nil {
		return room.Reservation{}, err
	}
	return res[0], nil
}

func (f *fakeRooms) ReserveGroup(_ context.Context, players []player.ID, sel room.Selector) ([]room.Reservation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groups = append(f.groups, slices.Clone(players))
	id := fmt.Sprint("m", len(f.groups))
	out := make([]room.Reservation, len(players))
	for i, p := range players {
		out[i] = room.Reservation{Player: p, RoomID: id, RoomType: sel.Type, SeatToken: fmt.Sprint(id, "/", p),
			ExpiresAt: f.clock.Now().Add(15 * time.Second)}
	}
	return out, nil
}

func (f *fakeRooms) List(context.Context, string) ([]room.RoomInfo, error) { return nil, nil }
func (f *fakeRooms) HasType(string) bool                                   { return true }

type noTokens struct{}

func (noTokens) Verify(string) (player.Claims, error) { return player.Claims{}, fmt.Errorf("no") }

// newMatcherService returns a Service whose matcher goroutine never fires
// (its interval is a day): the test calls pass itself after moving the
// fake clock, so every decision is deterministic.
func newMatcherService(t testing.TB, m Mode) (*Service, *fakeRooms, *clockwork.FakeClock) {
	t.Helper()
	clock := clockwork.NewFakeClock()
	rooms := &fakeRooms{clock: clock}
	s, err := New(Config{Rooms: rooms, Tokens: noTokens{}, Modes: []Mode{m}, Clock: clock, Interval: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, rooms, clock
}

func rating(r float64) *float64 { return &r }

// reload reads a ticket again from the Service's store (a *ticket is a
// snapshot).
func reload(t testing.TB, s *Service, tk *ticket) *ticket {
	t.Helper()
	st, err := s.store.Get(t.Context(), tk.id)
	if err != nil {
		t.Fatalf("ticket %s: %v", tk.id, err)
	}
	return s.fromStore(st)
}

// hasTicket reports whether m holds the ticket tk.
func hasTicket(m *match, tk *ticket) bool {
	return slices.ContainsFunc(m.tickets, func(x *ticket) bool { return x.id == tk.id })
}

// qualityMode is a 3v3 mode with parties of up to 3.
var qualityMode = Mode{Name: "3v3", MaxPlayers: 6, Teams: 2, MinPlayers: 4, AllowPartial: true,
	Window: Window{Start: 50, GrowthPerSecond: 10, Max: 400}, MaxWait: 30 * time.Second, TicketTTL: 60 * time.Second}

// simulation is what one run of the 1,000-ticket queue produced.
type simulation struct {
	tickets []*ticket
	matches []*match
	rooms   *fakeRooms
}

// simulate queues 1,000 tickets at 10 per second — ratings normal
// 1500±300, 15% parties of 2 and 5% parties of 3 — running one matcher
// pass per simulated second until the queue is empty.
func simulate(t testing.TB, seed uint64) simulation {
	s, rooms, clock := newMatcherService(t, qualityMode)
	rng := rand.New(rand.NewPCG(seed, 1))
	sim := simulation{rooms: rooms}
	next := 0
	for sec := 0; ; sec++ {
		for range 10 {
			if len(sim.tickets) == 1000 {
				break
			}
			size := 1
			switch x := rng.Float64(); {
			case x < 0.05:
				size = 3
			case x < 0.20:
				size = 2
			}
			var party []player.ID
			owner := player.ID(fmt.Sprint("p", next))
			for i := 1; i < size; i++ {
				party = append(party, player.ID(fmt.Sprint("p", next+i)))
			}
			next += size
			tk, err := s.enqueue(t.Context(), owner, qualityMode.Name, rating(1500+300*rng.NormFloat64()), "", party)
			if err != nil {
				t.Fatal(err)
			}
			sim.tickets = append(sim.tickets, tk)
		}
		clock.Advance(time.Second)
		sim.matches = append(sim.matches, s.pass()...)
		if st, err := s.Stats(t.Context()); err != nil {
			t.Fatal(err)
		} else if len(sim.tickets) == 1000 && st[0].TicketsWaiting == 0 {
			for i, tk := range sim.tickets {
				sim.tickets[i] = reload(t, s, tk)
			}
			return sim
		}
		if sec > 1000 {
			t.Fatal("the queue never emptied")
		}
	}
}

// figures are the matcher-quality figures of a simulation.
type figures struct {
	matchedPct, avgSpread, avgTeamGap float64
	waitP50, waitP90, waitMax         time.Duration
	matches, partial, expired         int
}

func (sim simulation) figures() figures {
	var f figures
	var waits []time.Duration
	matched := 0
	for _, t := range sim.tickets {
		if t.status == statusMatched {
			matched++
			waits = append(waits, t.ended.Sub(t.created))
		} else {
			f.expired++
		}
	}
	slices.Sort(waits)
	f.matchedPct = 100 * float64(matched) / float64(len(sim.tickets))
	if len(waits) > 0 {
		f.waitP50, f.waitP90, f.waitMax = waits[len(waits)/2], waits[len(waits)*9/10], waits[len(waits)-1]
	}
	f.matches = len(sim.matches)
	for _, m := range sim.matches {
		f.avgSpread += m.spread
		if m.partial {
			f.partial++
		}
		sum, n := make([]float64, m.mode.Teams), make([]float64, m.mode.Teams)
		for i, t := range m.tickets {
			sum[m.teams[i]] += t.rating * float64(len(t.players))
			n[m.teams[i]] += float64(len(t.players))
		}
		f.avgTeamGap += math.Abs(sum[0]/n[0] - sum[1]/n[1])
	}
	if f.matches > 0 {
		f.avgSpread /= float64(f.matches)
		f.avgTeamGap /= float64(f.matches)
	}
	return f
}

// Matcher quality: 1,000 tickets, every one matched or expired exactly
// once, parties intact and on one team, every match within its window.
// The figures are logged (and reported by BenchmarkMatcherQuality), never
// asserted as timings.
func TestMatcherQuality1000Tickets(t *testing.T) {
	sim := simulate(t, 42)
	inMatch := map[string]*match{}
	for _, m := range sim.matches {
		players := 0
		teamPlayers := make([]int, m.mode.Teams)
		for i, tk := range m.tickets {
			if prev := inMatch[tk.id]; prev != nil {
				t.Fatalf("ticket %s matched twice", tk.id)
			}
			inMatch[tk.id] = m
			players += len(tk.players)
			teamPlayers[m.teams[i]] += len(tk.players)
			if tk.team != m.teams[i] {
				t.Fatalf("ticket %s records team %d, match put it on %d", tk.id, tk.team, m.teams[i])
			}
			for _, p := range tk.players {
				if res := tk.res[p]; res.RoomID != m.roomID || res.Player != p {
					t.Fatalf("party of ticket %s split: %s seated in %q, match room %q", tk.id, p, res.RoomID, m.roomID)
				}
			}
		}
		if m.spread > m.window+1e-9 {
			t.Fatalf("match spread %.1f exceeds its window %.1f", m.spread, m.window)
		}
		if !m.partial && (players != 6 || teamPlayers[0] != 3 || teamPlayers[1] != 3) {
			t.Fatalf("full match with teams %v, want 3 and 3", teamPlayers)
		}
		if m.partial && (players < 4 || players > 6 || teamPlayers[0] == 0 || teamPlayers[1] == 0) {
			t.Fatalf("partial match with teams %v, want 4..5 players on both teams", teamPlayers)
		}
	}
	for _, tk := range sim.tickets {
		m, ok := inMatch[tk.id]
		if ok {
			i := slices.IndexFunc(m.tickets, func(x *ticket) bool { return x.id == tk.id })
			if tk.team != m.teams[i] || tk.res[tk.players[0]].RoomID != m.roomID {
				t.Fatalf("stored ticket %s: team %d room %s, match put it on %d in %s", tk.id, tk.team, tk.res[tk.players[0]].RoomID, m.teams[i], m.roomID)
			}
		}
		switch {
		case tk.status == statusMatched && !ok, tk.status != statusMatched && ok:
			t.Fatalf("ticket %s is %s but in a match: %v", tk.id, tk.status, ok)
		case tk.status != statusMatched && tk.status != statusExpired:
			t.Fatalf("ticket %s ended %s, want matched or expired", tk.id, tk.status)
		}
	}
	seated := map[player.ID]int{}
	for _, g := range sim.rooms.groups {
		for _, p := range g {
			seated[p]++
		}
	}
	for p, n := range seated {
		if n != 1 {
			t.Fatalf("player %s got %d seats", p, n)
		}
	}
	f := sim.figures()
	t.Logf("1,000 tickets: %.1f%% matched in %d matches (%d partial), %d expired; rating spread per match %.0f (window start %.0f, max %.0f); team mean-rating gap %.1f; wait p50 %v p90 %v max %v",
		f.matchedPct, f.matches, f.partial, f.expired, f.avgSpread, qualityMode.Window.Start, qualityMode.Window.Max, f.avgTeamGap, f.waitP50, f.waitP90, f.waitMax)
}

func BenchmarkMatcherQuality(b *testing.B) {
	var f figures
	for i := 0; b.Loop(); i++ {
		f = simulate(b, uint64(i)).figures()
	}
	b.ReportMetric(f.matchedPct, "%matched")
	b.ReportMetric(f.avgSpread, "rating-spread/match")
	b.ReportMetric(f.avgTeamGap, "team-gap/match")
	b.ReportMetric(f.waitP50.Seconds(), "wait-p50-s")
	b.ReportMetric(f.waitP90.Seconds(), "wait-p90-s")
}

// A lonely high-rated ticket is matched only once its window has grown to
// reach the others: with ratings 1500 and 1520 arriving in pairs every
// second (and matched among themselves at once), a 2100 ticket needs a
// spread of 580, which a window of 50 + 20/s reaches after 26.5 s.
func TestWindowWidensForALonelyHighRatedTicket(t *testing.T) {
	mode := Mode{Name: "duel", MaxPlayers: 2, Window: Window{Start: 50, GrowthPerSecond: 20, Max: 1000}, TicketTTL: 5 * time.Minute}
	s, _, clock := newMatcherService(t, mode)
	lonely, err := s.enqueue(t.Context(), "lonely", "duel", rating(2100), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for sec := 1; sec <= 60; sec++ {
		for i := range 2 {
			if _, err := s.enqueue(t.Context(), player.ID(fmt.Sprint("p", sec, "-", i)), "duel", rating(1500+20*float64(i)), "", nil); err != nil {
				t.Fatal(err)
			}
		}
		clock.Advance(time.Second)
		for _, m := range s.pass() {
			if !hasTicket(m, lonely) {
				if m.spread > mode.Window.Start {
					t.Fatalf("at %ds the others were matched with spread %.0f, over the start window", sec, m.spread)
				}
				continue
			}
			wait := time.Duration(sec) * time.Second
			if m.spread != 580 || m.window != mode.Window.At(wait) || m.window < m.spread || mode.Window.At(wait-time.Second) >= 580 {
				t.Fatalf("matched at %v with spread %.0f and window %.0f; want spread 580 at the first pass whose window (%.0f) reaches it",
					wait, m.spread, m.window, mode.Window.At(wait))
			}
			if lonely := reload(t, s, lonely); lonely.window != m.window || lonely.status != statusMatched {
				t.Fatalf("ticket records window %.0f, status %s", lonely.window, lonely.status)
			}
			t.Logf("lonely 2100 ticket matched after %v: window %.0f (start %.0f), spread %.0f", wait, m.window, mode.Window.Start, m.spread)
			return
		}
		if st := reload(t, s, lonely).status; st != statusQueued {
			t.Fatalf("at %ds: status %s", sec, st)
		}
	}
	t.Fatal("the lonely ticket was never matched")
}

func TestPartialMatchAfterMaxWait(t *testing.T) {
	mode := Mode{Name: "4p", MaxPlayers: 4, MinPlayers: 2, AllowPartial: true, MaxWait: 10 * time.Second, TicketTTL: time.Minute}
	s, _, clock := newMatcherService(t, mode)
	for i := range 3 {
		if _, err := s.enqueue(t.Context(), player.ID(fmt.Sprint("p", i)), "4p", nil, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	for sec := 1; sec <= 10; sec++ {
		clock.Advance(time.Second)
		made := s.pass()
		switch {
		case sec < 10 && len(made) != 0:
			t.Fatalf("a match of %d before MaxWait", len(made[0].tickets))
		case sec == 10 && (len(made) != 1 || len(made[0].tickets) != 3 || !made[0].partial):
			t.Fatalf("after MaxWait: %d matches, want one partial match of 3", len(made))
		}
	}
}

func TestRegionsKeptUntilRelaxed(t *testing.T) {
	mode := Mode{Name: "duel", MaxPlayers: 2, RegionRelaxAfter: 5 * time.Second, TicketTTL: time.Minute}
	s, _, clock := newMatcherService(t, mode)
	eu, _ := s.enqueue(t.Context(), "eu", "duel", nil, "eu", nil)
	us, _ := s.enqueue(t.Context(), "us", "duel", nil, "us", nil)
	for sec := 1; sec <= 5; sec++ {
		clock.Advance(time.Second)
		made := s.pass()
		if sec < 5 && len(made) != 0 {
			t.Fatalf("at %ds: eu and us matched before relaxing", sec)
		}
		if sec == 5 && (len(made) != 1 || reload(t, s, eu).status != statusMatched || reload(t, s, us).status != statusMatched) {
			t.Fatalf("at 5s: %d matches, want eu and us together once both relaxed", len(made))
		}
	}
	// A ticket without a region goes with anyone at once.
	a, _ := s.enqueue(t.Context(), "a", "duel", nil, "eu", nil)
	b, _ := s.enqueue(t.Context(), "b", "duel", nil, "", nil)
	clock.Advance(time.Second)
	if made := s.pass(); len(made) != 1 || reload(t, s, a).status != statusMatched || reload(t, s, b).status != statusMatched {
		t.Fatalf("eu with no-region: %d matches", len(made))
	}
}

func TestAssignTeams(t *testing.T) {
	for _, tc := range []struct {
		name     string
		units    []unit
		teams    int
		cap      int
		ok       bool
		maxGap   float64 // largest allowed gap between team mean ratings
		together bool
	}{
		{name: "snake draft of singles", units: []unit{{1, 2000}, {1, 1800}, {1, 1600}, {1, 1400}}, teams: 2, cap: 2, ok: true, maxGap: 0},
		{name: "party of 3 and singles", units: []unit{{1, 1500}, {3, 1500}, {1, 1600}, {1, 1400}}, teams: 2, cap: 3, ok: true, maxGap: 0},
		{name: "two parties of 2 on 3-player teams, then singles", units: []unit{{2, 1500}, {2, 1500}, {1, 1000}, {1, 2000}}, teams: 2, cap: 3, ok: true, maxGap: 1000.0 / 3},
		{name: "greedy fails, search finds it", units: []unit{{2, 1}, {2, 2}, {2, 3}, {3, 4}, {3, 5}}, teams: 2, cap: 6, ok: true, maxGap: 1e9},
		{name: "cannot pack", units: []unit{{2, 1500}, {2, 1500}, {2, 1500}}, teams: 2, cap: 3, ok: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			team, ok := assignTeams(tc.units, tc.teams, tc.cap)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			count := make([]int, tc.teams)
			sum := make([]float64, tc.teams)
			for i, u := range tc.units {
				count[team[i]] += u.size
				sum[team[i]] += u.rating * float64(u.size)
			}
			for _, c := range count {
				if c > tc.cap {
					t.Fatalf("teams %v over cap %d", count, tc.cap)
				}
			}
			if gap := math.Abs(sum[0]/float64(count[0]) - sum[1]/float64(count[1])); gap > tc.maxGap+1e-9 {
				t.Fatalf("team means gap %.1f, want at most %.1f (teams %v)", gap, tc.maxGap, team)
			}
		})
	}
}

func TestModeValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode Mode
	}{
		{"no name", Mode{MaxPlayers: 2}},
		{"no players", Mode{Name: "x"}},
		{"uneven teams", Mode{Name: "x", MaxPlayers: 5, Teams: 2}},
		{"min over max", Mode{Name: "x", MaxPlayers: 2, MinPlayers: 3}},
		{"window max below start", Mode{Name: "x", MaxPlayers: 2, Window: Window{Start: 100, Max: 50}}},
		{"TTL not over MaxWait", Mode{Name: "x", MaxPlayers: 2, MinPlayers: 1, AllowPartial: true, MaxWait: time.Minute, TicketTTL: time.Minute}},
	} {
		if _, err := tc.mode.withDefaults(); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	m, err := Mode{Name: "x", MaxPlayers: 4}.withDefaults()
	if err != nil || m.Teams != 1 || m.MinPlayers != 4 || m.Window != (Window{100, 25, 1000}) || m.MaxWait != 30*time.Second || m.TicketTTL != 2*time.Minute {
		t.Fatalf("defaults: %+v %v", m, err)
	}
	if w := m.Window.At(10 * time.Second); w != 350 {
		t.Fatalf("window after 10s = %v, want 350", w)
	}
	if w := m.Window.At(time.Hour); w != 1000 {
		t.Fatalf("window after an hour = %v, want the max 1000", w)
	}
}
