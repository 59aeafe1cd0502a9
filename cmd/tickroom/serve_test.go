package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickroom/tickroom/netcode/client"
	"github.com/tickroom/tickroom/server"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// `serve --log-format json --drain 1s` logs JSON lines, and on the signal
// (ctx cancelled) closes its clients with 1012 and returns within drain +
// a few seconds.
func TestServeDrainsOnSignalAndLogsJSON(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	serveCtx, stopServe := context.WithCancel(ctx)
	defer stopServe()
	ready := make(chan net.Addr, 1)
	served := make(chan error, 1)
	var logs syncBuffer
	const drain = time.Second
	go func() {
		s := &Serve{Ready: func(a net.Addr) { ready <- a }}
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		s.Flags(fs)
		if err := fs.Parse([]string{"--addr", "127.0.0.1:0", "--log-format", "json", "--drain", drain.String(), "--token-secret", strings.Repeat("k", 32)}); err != nil {
			served <- err
			return
		}
		served <- s.Run(serveCtx, &bytes.Buffer{}, &logs)
	}()
	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-served:
		t.Fatalf("serve ended early: %v %s", err, logs.String())
	}
	base := "http://" + addr.String()
	var cs []*client.Client
	for i := range 3 {
		tok, _, err := client.GuestToken(ctx, base, fmt.Sprint("p", i))
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.Dial(ctx, client.Config{URL: "ws://" + addr.String() + "/ws", Token: tok})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Join(ctx, "arena", ""); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "\ntickroom_ready 1\n") {
		t.Errorf("/metrics before the drain lacks tickroom_ready 1")
	}
	start := time.Now()
	stopServe()
	if err := <-served; err != nil {
		t.Fatalf("serve: %v", err)
	}
	took := time.Since(start)
	t.Logf("serve returned %v after the signal (drain %v)", took.Round(time.Millisecond), drain)
	if took > drain+5*time.Second+10*time.Second { // generous: -race on a loaded machine
		t.Errorf("serve took %v to shut down, want about drain + a few seconds", took)
	}
	for i, c := range cs {
		<-c.Done()
		var ce *client.CloseError
		if !errors.As(c.Err(), &ce) || ce.Code != server.CloseServiceRestart {
			t.Errorf("client %d: %v, want close 1012", i, c.Err())
		}
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["msg"] == nil || m["level"] == nil {
			t.Fatalf("log line is not JSON with msg and level: %q (%v)", l, err)
		}
	}
	if !strings.Contains(logs.String(), `"node: drained"`) {
		t.Errorf("no drain log:\n%s", logs.String())
	}
}

func TestServeRejectsBadLogFormat(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"serve", "--log-format", "xml"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "--log-format") {
		t.Fatalf("code %d, stderr %q; want 1 and a message naming --log-format", code, errb.String())
	}
}
