package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tickroom/tickroom/bot"
	"github.com/tickroom/tickroom/games/arena"
	"github.com/tickroom/tickroom/matchmaking"
	"github.com/tickroom/tickroom/netcode/client"
	"github.com/tickroom/tickroom/room"
	"github.com/tickroom/tickroom/server/servertest"
	"golang.org/x/time/rate"
)

// seating records, once every bot has played, where the bots sit: each
// bot's AfterPlay waits until all n arrived (so all are seated at once),
// the last one lists the server's rooms.
type seating struct {
	n     int
	rooms *room.Manager

	mu      sync.Mutex
	arrived int
	perRoom map[string]int // room → bots whose replica is of it
	server  []room.RoomInfo
	all     chan struct{}
}

func newSeating(n int, rooms *room.Manager) *seating {
	return &seating{n: n, rooms: rooms, perRoom: map[string]int{}, all: make(chan struct{})}
}

func (s *seating) afterPlay(ctx context.Context, _ int, c *client.Client) error {
	st, ok := c.State(nil)
	if !ok {
		return fmt.Errorf("no replica")
	}
	s.mu.Lock()
	s.perRoom[st.Room]++
	s.arrived++
	if s.arrived == s.n {
		s.server = s.rooms.Rooms()
		close(s.all)
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	select {
	case <-s.all:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("not every bot got to play: %w", ctx.Err())
	}
}

// check verifies that the bots sat in exactly want rooms of typ, each
// with size seats.
func (s *seating) check(t *testing.T, typ string, want, size int) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.perRoom) != want {
		t.Errorf("bots sat in %d rooms (%v), want %d", len(s.perRoom), s.perRoom, want)
	}
	for id, n := range s.perRoom {
		if n != size {
			t.Errorf("room %s: %d bots, want %d", id, n, size)
		}
	}
	var got int
	for _, r := range s.server {
		if r.Type != typ {
			continue
		}
		got++
		if r.Players != size || s.perRoom[r.ID] != size {
			t.Errorf("server room %s: %d seats, %d bots; want %d", r.ID, r.Players, s.perRoom[r.ID], size)
		}
	}
	if got != want {
		t.Errorf("the server ran %d %s rooms while the bots played (%+v), want %d: duplicates", got, typ, s.server, want)
	}
}

func logSummary(t *testing.T, sum bot.Summary) {
	t.Helper()
	js, _ := json.Marshal(sum)
	t.Logf("summary: %s", js)
}

// TestQuickFillsRoomsWithoutDuplicates: 40 bots asking join-or-create all
// at once fill exactly 4 rooms of 10.
func TestQuickFillsRoomsWithoutDuplicates(t *testing.T) {
	s := startServer(t, mustType(t, arena.Options{})) // arena-players, capacity 10
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	seats := newSeating(40, s.Rooms)
	sum, err := bot.Run(ctx, bot.Config{URL: s.HTTP, Bots: 40, Dials: 40, Room: "arena-players", Duration: 2 * time.Second,
		Seed: 5, Logger: testLogger(t), AfterPlay: seats.afterPlay})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	logSummary(t, sum)
	if !sum.OK() || sum.Connected != 40 || sum.Rooms != 4 || sum.Errors != 0 || sum.Desyncs != 0 {
		t.Errorf("got %d/40 bots in %d rooms, %d errors (first: %s), %d desyncs; want 40 in 4, no error, no desync",
			sum.Connected, sum.Rooms, sum.Errors, sum.FirstError, sum.Desyncs)
	}
	seats.check(t, "arena-players", 4, 10)
	if sum.Matchmaking != bot.MatchQuick || !(sum.MatchmakingP50 > 0 && sum.MatchmakingP50 <= sum.MatchmakingP99) ||
		sum.TicketsMatched != 0 || sum.MatchRatingSpreadAvg != 0 {
		t.Errorf("matchmaking %q p50 %v p99 %v, tickets %d, spread %v: want quick latencies and no ticket figures",
			sum.Matchmaking, sum.MatchmakingP50, sum.MatchmakingP99, sum.TicketsMatched, sum.MatchRatingSpreadAvg)
	}
}

// TestTicketMatchesAndSeats: 20 ticket bots in a 10-player mode are
// matched into 2 rooms, seated and playing; the spread is reported.
func TestTicketMatchesAndSeats(t *testing.T) {
	typ := mustType(t, arena.Options{})
	ss := servertest.New(t, servertest.Options{Types: []*room.Type{typ}, Logger: testLogger(t),
		Modes: []matchmaking.Mode{{Name: "arena-players", MaxPlayers: 10, MinPlayers: 2, AllowPartial: true, MaxWait: 5 * time.Second,
			Window: matchmaking.Window{Start: 200, GrowthPerSecond: 2000, Max: 5000}}}})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	seats := newSeating(20, ss.Rooms)
	sum, err := bot.Run(ctx, bot.Config{URL: ss.URL, Bots: 20, Room: "arena-players", Matchmaking: bot.MatchTicket,
		Duration: 2 * time.Second, Seed: 9, Logger: testLogger(t), AfterPlay: seats.afterPlay})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	logSummary(t, sum)
	if !sum.OK() || sum.Connected != 20 || sum.TicketsMatched != 20 || sum.TicketsExpired != 0 || sum.Desyncs != 0 {
		t.Errorf("got %d/20 connected, %d matched, %d expired, %d errors (first: %s), %d desyncs; want all matched and playing",
			sum.Connected, sum.TicketsMatched, sum.TicketsExpired, sum.Errors, sum.FirstError, sum.Desyncs)
	}
	seats.check(t, "arena-players", 2, 10)
	if sum.InputsSent < uint64(sum.Connected) { // a count, not a rate: see TestEndToEnd
		t.Errorf("%d inputs sent by %d bots, want the bots playing (≥ 1 each)", sum.InputsSent, sum.Connected)
	}
	// Ratings 1500±300: ten of them span hundreds of points, never more
	// than the window's maximum.
	if !(sum.MatchRatingSpreadAvg > 0 && sum.MatchRatingSpreadAvg <= 5000) {
		t.Errorf("match_rating_spread_avg %v, want in (0, 5000]", sum.MatchRatingSpreadAvg)
	}
	// Whether a bot learns of its match by the push or by its next poll
	// is a race the scheduler decides: both count, the split is logged.
	t.Logf("%d of %d matches pushed", sum.TicketsPushed, sum.TicketsMatched)
	if !(sum.MatchmakingP50 > 0 && sum.MatchmakingP50 <= sum.MatchmakingP99) {
		t.Errorf("p50 %v p99 %v: want queue latencies", sum.MatchmakingP50, sum.MatchmakingP99)
	}
}

// TestTicketExpiredIsNotAnError: a lonely bot in a 2-player mode without
// partial matches cannot be matched; its ticket expires, which the
// summary reports without counting an error.
func TestTicketExpiredIsNotAnError(t *testing.T) {
	ss := servertest.New(t, servertest.Options{Types: []*room.Type{mustType(t, arena.Options{})}, Logger: testLogger(t),
		Modes: []matchmaking.Mode{{Name: "arena-players", MaxPlayers: 2, TicketTTL: 300 * time.Millisecond}}})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	sum, err := bot.Run(ctx, bot.Config{URL: ss.URL, Bots: 1, Room: "arena-players", Matchmaking: bot.MatchTicket,
		Duration: time.Second, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	logSummary(t, sum)
	if !sum.OK() || sum.TicketsExpired != 1 || sum.TicketsMatched != 0 || sum.Connected != 0 || sum.Errors != 0 {
		t.Errorf("got %+v, want 1 ticket expired, no error, OK", sum)
	}
}

// TestRateLimitedRequestsAreRetried: the API answers each player's first
// POST with 429 and Retry-After: 1; the bots wait and retry.
func TestRateLimitedRequestsAreRetried(t *testing.T) {
	ss := servertest.New(t, servertest.Options{Types: []*room.Type{mustType(t, arena.Options{})}, Logger: testLogger(t),
		API: func(s *servertest.Server) (http.Handler, func()) {
			mm, err := matchmaking.New(matchmaking.Config{Rooms: s.Rooms, Tokens: s.Tokens, Notify: s.Players.Send,
				PublicURL: s.URL, RateLimit: rate.Inf, Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			return limitFirst(mm.Handler()), mm.Close
		}})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	sum, err := bot.Run(ctx, bot.Config{URL: ss.URL, Bots: 3, Room: "arena-players", Duration: 500 * time.Millisecond, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	logSummary(t, sum)
	if !sum.OK() || sum.Connected != 3 || sum.APIRetries != 3 {
		t.Errorf("got %d/3 connected, %d retries, %d errors (first: %s); want every bot seated after one retry",
			sum.Connected, sum.APIRetries, sum.Errors, sum.FirstError)
	}
	if sum.MatchmakingP50 < 1000 {
		t.Errorf("matchmaking p50 %v ms, want ≥ 1000: the bots waited for Retry-After", sum.MatchmakingP50)
	}
}

// limitFirst answers the first POST of each bearer token with 429.
func limitFirst(h http.Handler) http.Handler {
	var mu sync.Mutex
	seen := map[string]bool{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			auth := r.Header.Get("Authorization")
			mu.Lock()
			first := !seen[auth]
			seen[auth] = true
			mu.Unlock()
			if first {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				_, _ = w.Write([]byte(`{"code":"rate_limited","message":"too many requests; retry later"}` + "\n"))
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}
