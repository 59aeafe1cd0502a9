package faultproxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echo runs a TCP echo server until the test ends.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(c, c); _ = c.Close() })
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func start(t *testing.T) (*Proxy, net.Conn) {
	t.Helper()
	p, err := New(Config{Upstream: echo(t), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return p, c
}

// roundTrip writes msg and reads it back within d.
func roundTrip(c net.Conn, msg []byte, d time.Duration) ([]byte, error) {
	_ = c.SetDeadline(time.Now().Add(d))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write(msg); err != nil {
		return nil, err
	}
	got := make([]byte, len(msg))
	_, err := io.ReadFull(c, got)
	return got, err
}

func TestLatencyKeepsOrder(t *testing.T) {
	p, c := start(t)
	p.SetLatency(20*time.Millisecond, 30*time.Millisecond)
	// Many small writes with jitter larger than their spacing: the echo
	// must come back byte for byte in order.
	var want bytes.Buffer
	for i := range 200 {
		b := []byte{byte(i), byte(i >> 8)}
		want.Write(b)
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, want.Len())
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("echo through a jittery link came back out of order")
	}
	start := time.Now()
	if _, err := roundTrip(c, []byte("ping"), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// A lower bound only: a slow machine makes it longer, never shorter.
	if rtt := time.Since(start); rtt < 40*time.Millisecond {
		t.Errorf("RTT %v with 20 ms latency each way, want ≥ 40 ms", rtt)
	} else {
		t.Logf("RTT %v", rtt)
	}
}

func TestResetSendsRST(t *testing.T) {
	p, c := start(t)
	if _, err := roundTrip(c, []byte("hi"), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	p.Reset()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := c.Read(make([]byte, 1))
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read after Reset: %v, want a connection error", err)
	}
	t.Logf("read after Reset: %v", err)
	if st := p.Stats(); st.Resets != 1 {
		t.Errorf("stats %+v, want 1 reset", st)
	}
	// New links work.
	c2, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := roundTrip(c2, []byte("again"), 10*time.Second); err != nil {
		t.Fatalf("new link after Reset: %v", err)
	}
}

func TestBlackholeHoldsThenDelivers(t *testing.T) {
	p, c := start(t)
	p.Blackhole(true)
	if _, err := roundTrip(c, []byte("lost?"), 200*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("round trip in a blackhole: %v, want a timeout", err)
	}
	// Scheduled lift: what waited is delivered.
	p.At(50*time.Millisecond, func() { p.Blackhole(false) })
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, 5)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "lost?" {
		t.Fatalf("after the blackhole: %q, %v; want the held bytes", got, err)
	}
}

func TestCloseWithScheduledFaultsAndBlackhole(t *testing.T) {
	p, c := start(t)
	p.Blackhole(true)
	_, _ = c.Write([]byte("held"))
	p.At(time.Hour, p.Reset)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	// goleak (TestMain) checks that nothing of the proxy is left.
}
