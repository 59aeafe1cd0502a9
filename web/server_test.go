package web_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/tickroom/tickroom/games/arena"
	"github.com/tickroom/tickroom/matchmaking"
	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
	"github.com/tickroom/tickroom/server"
	"github.com/tickroom/tickroom/web"
)

// startServer runs what `tickroom serve` runs — the arena room types, the
// matchmaking API and the demo page — on a free loopback port, plus one
// test endpoint: GET /test/replica?room=ID&tick=N answers the server's
// checksum of that room at that tick, for the JS tests to compare their
// replica with ({"found", "checksum", "server_tick"}).
func startServer(t *testing.T) string {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	tokens, err := player.NewTokens(player.TokenConfig{Secret: player.RandomSecret()})
	if err != nil {
		t.Fatal(err)
	}
	var types []*room.Type
	for _, o := range []arena.Options{{Pickups: true}, {}} {
		typ, err := arena.Type(o)
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, typ)
	}
	rooms, err := room.NewManager(room.Config{Types: types, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	players := player.NewRegistry()
	hs := httptest.NewUnstartedServer(nil)
	url := "http://" + hs.Listener.Addr().String()
	mm, err := matchmaking.New(matchmaking.Config{Rooms: rooms, Tokens: tokens, Notify: players.Send, PublicURL: url, Logger: log,
		Modes: []matchmaking.Mode{{Name: "arena", MaxPlayers: 10, MinPlayers: 2, AllowPartial: true, MaxWait: time.Second}}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Tokens: tokens, Rooms: rooms, Players: players, Logger: log, GuestAuth: true,
		API: mm.Handler(), Web: web.Handler()})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", srv.Handler())
	mux.HandleFunc("GET /test/replica", func(w http.ResponseWriter, r *http.Request) {
		tick, _ := strconv.ParseUint(r.URL.Query().Get("tick"), 10, 64)
		var out struct {
			Found      bool   `json:"found"`
			Checksum   uint32 `json:"checksum"`
			ServerTick uint64 `json:"server_tick"`
		}
		rm, ok := rooms.Room(r.URL.Query().Get("room"))
		if !ok {
			http.Error(w, "no such room", http.StatusNotFound)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := rm.Do(ctx, func(c *room.Ctx) {
			out.ServerTick = c.Tick()
			if s := c.Snapshot(tick); s != nil {
				out.Found, out.Checksum = true, s.Checksum()
			}
		}); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(out)
	})
	hs.Config.Handler = mux
	hs.Start()
	t.Cleanup(func() {
		srv.Close()
		mm.Close()
		rooms.Close()
		hs.Close()
	})
	return url
}

// runNode runs node with args in web/, TICKROOM_URL set to url, and
// fails the test with its output when it fails. The output is logged.
func runNode(t *testing.T, node, url string, timeout time.Duration, env []string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Env = append(append(os.Environ(), "TICKROOM_URL="+url), env...)
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("node %v (%v):\n%s", args, time.Since(start).Round(time.Millisecond), out)
	if err != nil {
		t.Fatalf("node %v: %v", args, err)
	}
}

// TestJSClient runs the JS client's tests with Node's test runner: the unit
// tests (interop vectors included) and the live tests against a real
// server on loopback.
func TestJSClient(t *testing.T) {
	node := needNode(t, "run the JS client tests")
	url := startServer(t)
	args := []string{"--test", "--test-concurrency=1", "--test-timeout=60000", "client/test/", "demo/test/"}
	if exec.Command(node, "-e", "process.exit(typeof WebSocket === 'function' ? 0 : 1)").Run() != nil {
		args = append([]string{"--experimental-websocket"}, args...) // Node 20; global since 22
	}
	runNode(t, node, url, 2*time.Minute, nil, args...)
}

// TestJSClientTypes type-checks the JS client with tsc (strict): its
// sources through their JSDoc types, and a TypeScript game's use of the
// shipped index.d.ts (client/types-check.ts).
func TestJSClientTypes(t *testing.T) {
	node := needNode(t, "type-check the JS client")
	tsc := "node_modules/typescript/bin/tsc"
	if _, err := os.Stat(tsc); err != nil {
		msg := "cannot type-check the JS client: no typescript in web/node_modules (npm ci in web/)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	out, err := exec.Command(node, tsc, "-p", "client/tsconfig.json").CombinedOutput()
	if err != nil {
		t.Fatalf("tsc -p client/tsconfig.json: %v\n%s", err, out)
	}
}
