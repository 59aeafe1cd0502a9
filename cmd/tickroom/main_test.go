package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFlagsComeFromEnvAndTheCommandLineWins(t *testing.T) {
	env := map[string]string{"TICKROOM_ADDR": "0.0.0.0:9", "TICKROOM_GUEST_AUTH": "false", "TICKROOM_TICK_RATE": "30"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	var s Serve
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	s.Flags(fs)
	if err := parseFlags(fs, []string{"--tick-rate", "60"}, lookup); err != nil {
		t.Fatal(err)
	}
	if s.Addr != "0.0.0.0:9" || s.GuestAuth || s.TickRate != 60 {
		t.Fatalf("got addr %q guest %v tick %d; want the env's addr and guest, the flag's tick rate", s.Addr, s.GuestAuth, s.TickRate)
	}
	env["TICKROOM_TICK_RATE"] = "fast"
	fs = flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(&bytes.Buffer{})
	s.Flags(fs)
	if err := parseFlags(fs, nil, lookup); err == nil || !strings.Contains(err.Error(), "TICKROOM_TICK_RATE") {
		t.Fatalf("bad env value: %v, want an error naming the variable", err)
	}
}

func TestUnknownCommandAndUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"fly"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown command") {
		t.Fatalf("code %d, stderr %q", code, errb.String())
	}
	if code := run(context.Background(), nil, &out, &errb); code != 2 {
		t.Fatalf("no command: code %d, want 2", code)
	}
}

func TestTokenCommand(t *testing.T) {
	var out, errb bytes.Buffer
	secret := strings.Repeat("s", 32)
	if code := run(context.Background(), []string{"token", "--player", "ada", "--name", "Ada", "--token-secret", secret}, &out, &errb); code != 0 {
		t.Fatalf("code %d: %s", code, errb.String())
	}
	if tok := strings.TrimSpace(out.String()); strings.Count(tok, ".") != 2 {
		t.Fatalf("not a JWT: %q", tok)
	}
	if code := run(context.Background(), []string{"token", "--player", "ada"}, &out, &errb); code != 1 {
		t.Fatalf("without a secret: code %d, want 1", code)
	}
}

// The binary's own wiring end to end: `serve` on a free port, then `bot`
// through the matchmaking API against it, both in process.
func TestServeAndBotEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	serveCtx, stopServe := context.WithCancel(ctx)
	ready := make(chan net.Addr, 1)
	served := make(chan error, 1)
	var serveErr bytes.Buffer
	go func() {
		s := &Serve{Ready: func(a net.Addr) { ready <- a }}
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		s.Flags(fs)
		if err := fs.Parse([]string{"--addr", "127.0.0.1:0", "--log-level", "warn"}); err != nil {
			served <- err
			return
		}
		served <- s.Run(serveCtx, &bytes.Buffer{}, &serveErr)
	}()
	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-served:
		t.Fatalf("serve ended early: %v %s", err, serveErr.String())
	case <-ctx.Done():
		t.Fatal("serve never became ready")
	}

	var out, errb bytes.Buffer
	code := run(ctx, []string{"bot", "--url", "http://" + addr.String(), "--bots", "6", "--room", "arena", "--duration", "1s", "--json"}, &out, &errb)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var sum struct {
		Connected, Rooms, Deltas, Desyncs, Errors int
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatalf("last stdout line is not the JSON summary: %v\n%s\n%s", err, out.String(), errb.String())
	}
	if code != 0 || sum.Connected != 6 || sum.Rooms != 1 || sum.Deltas == 0 || sum.Desyncs != 0 || sum.Errors != 0 {
		t.Fatalf("bot exit %d, summary %+v\n%s", code, sum, errb.String())
	}

	stopServe()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("serve did not shut down")
	}
}
