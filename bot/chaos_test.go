package bot_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickroom/tickroom/bot"
	"github.com/tickroom/tickroom/games/arena"
	"github.com/tickroom/tickroom/netcode/client"
	"github.com/tickroom/tickroom/room"
	"github.com/tickroom/tickroom/server/servertest"
)

// runChaos runs cfg against s and checks what every chaos run must show:
// every bot connected and came back, no seat lost, no failed resume, no
// desync, no room event missed or duplicated, and every replica equal to
// the server's state at the end.
func runChaos(t *testing.T, rooms *room.Manager, cfg bot.Config) bot.Summary {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 40*time.Second)
	defer cancel()
	var compared atomic.Int64
	cfg.Logger = testLogger(t)
	cfg.AfterPlay = func(ctx context.Context, n int, c *client.Client) error {
		if err := servertest.CheckReplica(ctx, rooms, c); err != nil {
			t.Errorf("bot %d: %v", n, err)
			return err
		}
		compared.Add(1)
		return nil
	}
	sum, err := bot.Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	js, _ := json.Marshal(sum)
	t.Logf("summary: %s", js)
	if !sum.OK() {
		t.Errorf("summary not OK: %d/%d connected, %d lost, %d failed resumes, %d desyncs, %d events missed, %d duplicated, %d errors (first: %s)",
			sum.Connected, sum.Bots, sum.PlayersLost, sum.ResumesFailed, sum.Desyncs, sum.EventsMissed, sum.EventsDuplicated, sum.Errors, sum.FirstError)
	}
	if got := compared.Load(); got != int64(cfg.Bots) {
		t.Errorf("%d replicas matched the server after the chaos, want %d", got, cfg.Bots)
	}
	if sum.ResumesOK != sum.ResumesSnapshot+sum.ResumesDelta {
		t.Errorf("resumes_ok %d ≠ snapshot %d + delta %d", sum.ResumesOK, sum.ResumesSnapshot, sum.ResumesDelta)
	}
	if sum.ResumesOK > 0 && !(sum.ResyncP50 > 0 && sum.ResyncP50 <= sum.ResyncP99 && sum.ResyncP99 <= sum.ResyncMax) {
		t.Errorf("resync p50 %v, p99 %v, max %v ms: want 0 < p50 ≤ p99 ≤ max", sum.ResyncP50, sum.ResyncP99, sum.ResyncMax)
	}
	return sum
}

// TestChaosKill is the acceptance test of reconnection: 50 bots in arena
// rooms (with pickups, so room events flow) for 10 s while 5 % of the
// sockets are killed abruptly every second. Every kill must end in a
// resumed seat with the replica in sync and no event lost.
func TestChaosKill(t *testing.T) {
	s := startServer(t, mustType(t, arena.Options{Pickups: true}))
	sum := runChaos(t, s.Rooms, bot.Config{
		URL:           s.HTTP,
		Bots:          50,
		Room:          "arena",
		Duration:      10 * time.Second,
		Seed:          7,
		ChaosKillRate: 0.05,
	})
	if sum.ChaosKills < 10 {
		t.Errorf("%d sockets killed, want about 50×0.05×10 = 25", sum.ChaosKills)
	}
	if sum.ResumesOK == 0 || sum.ResumesOK != sum.Disconnects || sum.Disconnects != sum.ChaosKills {
		t.Errorf("%d kills, %d disconnects, %d resumes: want every kill to end in a resume", sum.ChaosKills, sum.Disconnects, sum.ResumesOK)
	}
	if sum.Events == 0 {
		t.Error("no room event at all: the events_missed check saw nothing")
	}
}

// TestChaosSilent silences bots for longer than the server's (shortened)
// heartbeat timeout: the server closes their connections (4001) and they
// resume when they wake up.
func TestChaosSilent(t *testing.T) {
	ss := servertest.New(t, servertest.Options{
		Types:        []*room.Type{mustType(t, arena.Options{Pickups: true})},
		Logger:       testLogger(t),
		PingInterval: 100 * time.Millisecond,
		PingTimeout:  400 * time.Millisecond,
	})
	sum := runChaos(t, ss.Rooms, bot.Config{
		URL:             ss.URL,
		Bots:            20,
		Room:            "arena",
		Duration:        4 * time.Second,
		Seed:            11,
		ChaosSilentRate: 0.1,
		ChaosSilence:    700 * time.Millisecond,
	})
	if sum.ChaosSilences == 0 || sum.ResumesOK != sum.ChaosSilences || sum.Disconnects != sum.ChaosSilences {
		t.Errorf("%d silences, %d disconnects, %d resumes: want every silence to outlast the heartbeat and end in a resume",
			sum.ChaosSilences, sum.Disconnects, sum.ResumesOK)
	}
}

func TestChaosWithoutReconnectLosesPlayers(t *testing.T) {
	s := startServer(t, mustType(t, arena.Options{}))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	sum, err := bot.Run(ctx, bot.Config{URL: s.HTTP, Bots: 10, Room: "arena-players", Duration: 2 * time.Second,
		Seed: 3, ChaosKillRate: 0.2, NoReconnect: true})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if sum.OK() || sum.ChaosKills == 0 || sum.PlayersLost != sum.ChaosKills || sum.ResumesOK != 0 {
		t.Errorf("got %+v, want every killed bot lost and the summary not OK", sum)
	}
}

// TestChaosDMFlood: bots flood each other with bursts of direct messages
// (Config.ChaosDMFloodRate) while they play; the floods are sent and
// reach their victims, and every chaos invariant holds (the victims keep
// playing; a victim the server disconnects resumes).
func TestChaosDMFlood(t *testing.T) {
	s := startServer(t, mustType(t, arena.Options{Pickups: true}))
	sum := runChaos(t, s.Rooms, bot.Config{
		URL: s.HTTP, Bots: 10, Room: "arena", Matchmaking: bot.MatchDirect, Duration: 3 * time.Second, Seed: 11,
		ChaosDMFloodRate: 0.3, ChaosDMBurst: 20, ChaosDMSize: 100,
	})
	if sum.ChaosDMFloods == 0 || sum.ChaosDMsSent == 0 || sum.DMsReceived == 0 {
		t.Errorf("%d floods sent %d DMs, %d received: want floods that arrive", sum.ChaosDMFloods, sum.ChaosDMsSent, sum.DMsReceived)
	}
	if sum.DMsReceived > sum.ChaosDMsSent {
		t.Errorf("%d DMs received, more than the %d sent", sum.DMsReceived, sum.ChaosDMsSent)
	}
}
