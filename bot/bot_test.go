package bot_test

import (
	"context"
	"encoding/json"
	"flag"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tickroom/tickroom/bot"
	"github.com/tickroom/tickroom/games/arena"
	"github.com/tickroom/tickroom/room"
)

func TestFlags(t *testing.T) {
	tests := []struct {
		args []string
		want bot.Config
	}{
		{nil, bot.Config{URL: bot.DefaultURL, Bots: bot.DefaultBots, Room: bot.DefaultRoom,
			Duration: bot.DefaultDuration, Rate: bot.DefaultRate, Seed: bot.DefaultSeed, Dials: bot.DefaultDials,
			ReconnectWindow: bot.DefaultReconnectWindow, Matchmaking: bot.MatchQuick, MatchTimeout: bot.DefaultMatchTimeout,
			RatingMean: bot.DefaultRatingMean, RatingStdDev: bot.DefaultRatingStdDev,
			ChaosDMBurst: bot.DefaultChaosDMBurst, ChaosDMSize: bot.DefaultChaosDMSize}},
		{[]string{"--url", "http://h:1", "--bots", "100", "--room", "arena-players", "--duration", "2m",
			"--rate", "30", "--seed", "7", "--dials", "5", "--chaos-kill-rate", "0.05", "--chaos-silent-rate", "0.01",
			"--chaos-silence", "20s", "--no-reconnect", "--reconnect-window", "5s",
			"--matchmaking", "ticket", "--match-timeout", "1m", "--rating-mean", "1200", "--rating-stddev", "50",
			"--chaos-dm-flood-rate", "0.1", "--chaos-dm-burst", "30", "--chaos-dm-size", "64"},
			bot.Config{URL: "http://h:1", Bots: 100, Room: "arena-players", Duration: 2 * time.Minute, Rate: 30, Seed: 7, Dials: 5,
				ChaosKillRate: 0.05, ChaosSilentRate: 0.01, ChaosSilence: 20 * time.Second, NoReconnect: true, ReconnectWindow: 5 * time.Second,
				Matchmaking: bot.MatchTicket, MatchTimeout: time.Minute, RatingMean: 1200, RatingStdDev: 50,
				ChaosDMFloodRate: 0.1, ChaosDMBurst: 30, ChaosDMSize: 64}},
		{[]string{"--matchmaking", "direct"},
			bot.Config{URL: bot.DefaultURL, Bots: bot.DefaultBots, Room: bot.DefaultRoom,
				Duration: bot.DefaultDuration, Rate: bot.DefaultRate, Seed: bot.DefaultSeed, Dials: bot.DefaultDials,
				ReconnectWindow: bot.DefaultReconnectWindow, Matchmaking: bot.MatchDirect, MatchTimeout: bot.DefaultMatchTimeout,
				RatingMean: bot.DefaultRatingMean, RatingStdDev: bot.DefaultRatingStdDev,
				ChaosDMBurst: bot.DefaultChaosDMBurst, ChaosDMSize: bot.DefaultChaosDMSize}},
	}
	for _, tc := range tests {
		var got bot.Config
		fs := flag.NewFlagSet("bot", flag.ContinueOnError)
		got.Flags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatalf("Parse(%q): %v", tc.args, err)
		}
		if got.URL != tc.want.URL || got.Bots != tc.want.Bots || got.Room != tc.want.Room || got.Duration != tc.want.Duration ||
			got.Rate != tc.want.Rate || got.Seed != tc.want.Seed || got.Dials != tc.want.Dials ||
			got.ChaosKillRate != tc.want.ChaosKillRate || got.ChaosSilentRate != tc.want.ChaosSilentRate ||
			got.ChaosSilence != tc.want.ChaosSilence || got.NoReconnect != tc.want.NoReconnect || got.ReconnectWindow != tc.want.ReconnectWindow ||
			got.Matchmaking != tc.want.Matchmaking || got.MatchTimeout != tc.want.MatchTimeout ||
			got.RatingMean != tc.want.RatingMean || got.RatingStdDev != tc.want.RatingStdDev ||
			got.ChaosDMFloodRate != tc.want.ChaosDMFloodRate || got.ChaosDMBurst != tc.want.ChaosDMBurst || got.ChaosDMSize != tc.want.ChaosDMSize {
			t.Errorf("Flags %q: got %+v, want %+v", tc.args, got, tc.want)
		}
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	for _, cfg := range []bot.Config{
		{Bots: -1},
		{Rate: -5},
		{Duration: -time.Second},
		{Dials: -1},
		{URL: "ftp://x"},
		{ChaosKillRate: 1.5},
		{ChaosSilentRate: -0.1},
		{ChaosSilence: -time.Second},
		{ChaosDMFloodRate: 2},
		{ChaosDMBurst: -1},
		{ChaosDMSize: 5000},
		{ReconnectWindow: -time.Second},
		{Matchmaking: "lobby"},
		{MatchTimeout: -time.Second},
		{RatingMean: math.NaN()},
		{RatingStdDev: 2e6},
	} {
		if _, err := bot.Run(t.Context(), cfg); err == nil {
			t.Errorf("Run(%+v): got no error", cfg)
		}
	}
}

func TestSummaryJSON(t *testing.T) {
	b, err := json.Marshal(bot.Summary{})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"bots", "connected", "rooms", "snapshots", "deltas", "bytes_received", "frames",
		"avg_delta_bytes", "avg_snapshot_bytes", "desyncs", "errors", "inputs_sent", "duration_s",
		"resumes_ok", "resumes_failed", "resumes_snapshot", "resumes_delta", "players_lost", "resync_ms_p50", "resync_ms_p99",
		"events_missed", "chaos_kills", "chaos_silences",
		"matchmaking", "matchmaking_ms_p50", "matchmaking_ms_p99", "api_retries", "tickets_matched", "tickets_expired",
		"tickets_pushed", "match_rating_spread_avg"} {
		if _, ok := m[k]; !ok {
			t.Errorf("Summary JSON has no %q: %s", k, b)
		}
	}
}

// TestRunUnknownRoomTypeIsAnError: a mode the server cannot match anyone
// in is an error for every bot, whichever way it asks.
func TestRunUnknownRoomTypeIsAnError(t *testing.T) {
	s := startServer(t, mustType(t, arena.Options{}))
	for _, tc := range []struct{ matchmaking, code string }{
		{bot.MatchDirect, "unknown_room_type"},
		{bot.MatchQuick, "unknown_mode"},
		{bot.MatchTicket, "unknown_mode"},
	} {
		sum, err := bot.Run(t.Context(), bot.Config{URL: s.HTTP, Bots: 3, Room: "no-such-game", Duration: time.Second,
			Matchmaking: tc.matchmaking})
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if sum.OK() || sum.Connected != 0 || sum.Errors != 3 || !strings.Contains(sum.FirstError, tc.code) {
			t.Errorf("%s: got %+v, want 3 errors about %s and not OK", tc.matchmaking, sum, tc.code)
		}
	}
}

func TestRunServerDownIsAnError(t *testing.T) {
	// A port nobody listens on: connecting fails at once.
	sum, err := bot.Run(t.Context(), bot.Config{URL: "http://127.0.0.1:1", Bots: 2, Duration: time.Second})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if sum.OK() || sum.Errors != 2 || sum.FirstError == "" {
		t.Errorf("got %+v, want 2 errors and not OK", sum)
	}
}

func TestRunStopsWhenContextEnds(t *testing.T) {
	s := startServer(t, mustType(t, arena.Options{}))
	ctx, cancel := context.WithCancel(t.Context())
	var sum bot.Summary
	done := make(chan error, 1)
	go func() {
		var err error
		sum, err = bot.Run(ctx, bot.Config{URL: s.HTTP, Bots: 4, Room: "arena-players", Duration: time.Minute, Seed: 3})
		done <- err
	}()
	// Wait for every bot to sit in its seat (a listing's players count
	// reservations too: ask the rooms).
	deadline := time.After(10 * time.Second)
	for seated := 0; seated < 4; {
		seated = 0
		for _, info := range s.Rooms.Rooms() {
			if r, ok := s.Rooms.Room(info.ID); ok {
				_ = r.Do(t.Context(), func(c *room.Ctx) { seated += len(c.Seats()) })
			}
		}
		select {
		case <-deadline:
			t.Fatalf("only %d bots seated", seated)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the context ended")
	}
	// Bots still joining when ctx ended are not counted as connected;
	// nothing counts as an error.
	if sum.Connected == 0 || sum.Desyncs != 0 || sum.Errors != 0 || sum.DurationS > 30 {
		t.Errorf("got %+v, want bots stopped early without errors", sum)
	}
}
