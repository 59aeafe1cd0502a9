// Package clustertest starts the Redis backends tests run against: an
// in-process miniredis, and a real redis-server on a free loopback port.
//
// A test that needs redis-server and cannot find it skips outside CI and
// fails in CI (CI=true), so CI never passes by skipping.
package clustertest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// Backend is a Redis a test can use.
type Backend struct {
	Name string               // "miniredis" or "redis-server"
	URL  string               // redis://127.0.0.1:port/0
	Mini *miniredis.Miniredis // set for miniredis
	Real *RedisServer         // set for redis-server
}

// Backends returns both backends, each started for t and stopped at its end.
func Backends(t testing.TB) []Backend {
	t.Helper()
	return []Backend{Mini(t), Real(t)}
}

// Mini starts an in-process miniredis.
func Mini(t testing.TB) Backend {
	t.Helper()
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return Backend{Name: "miniredis", URL: "redis://" + m.Addr() + "/0", Mini: m}
}

// Real starts a redis-server on a free loopback port (never 6379), or
// skips t when redis-server is not installed (fails in CI).
func Real(t testing.TB) Backend {
	t.Helper()
	s := StartRedis(t)
	return Backend{Name: "redis-server", URL: s.URL(), Real: s}
}

// RedisServer is a redis-server process a test started.
type RedisServer struct {
	t    testing.TB
	bin  string
	dir  string
	Port int
	cmd  *exec.Cmd
	exit chan struct{}
}

// RequireRedisServer returns the path of redis-server, skipping t when it
// is missing outside CI and failing t in CI.
func RequireRedisServer(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server not found; CI must install the redis-server package (.ci/run)")
		}
		t.Skip("redis-server not found: install the redis-server package to run this test (CI fails without it)")
	}
	return bin
}

// StartRedis starts redis-server for t; it is killed when t ends.
func StartRedis(t testing.TB) *RedisServer {
	t.Helper()
	s := &RedisServer{t: t, bin: RequireRedisServer(t), dir: t.TempDir()}
	s.Start()
	t.Cleanup(s.Kill)
	return s
}

// URL is the server's redis:// URL (database 0).
func (s *RedisServer) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.Port) }

// Addr is host:port.
func (s *RedisServer) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// Start (re)starts the process, on the same port if it ran before.
func (s *RedisServer) Start() {
	s.t.Helper()
	if s.Port == 0 {
		s.Port = freePort(s.t)
	}
	s.cmd = exec.Command(s.bin, "--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", s.dir, "--protected-mode", "no", "--loglevel", "warning")
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	s.cmd.Stderr = s.cmd.Stdout
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.exit = make(chan struct{})
	go func(exit chan struct{}) {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			_ = sc.Text() // drain; redis logs only warnings
		}
		_ = s.cmd.Wait()
		close(exit)
	}(s.exit)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ping(s.Addr()) == nil {
			return
		}
		select {
		case <-s.exit:
			s.t.Fatalf("redis-server exited at start (port %d)", s.Port)
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server did not answer PING within 10s on port %d", s.Port)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Kill stops the process (SIGKILL) and waits for it.
func (s *RedisServer) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exit
	s.cmd = nil
}

// Stop stops the process and frees nothing else: Start brings it back on
// the same port (empty: nothing is persisted).
func (s *RedisServer) Stop() { s.Kill() }

// ping sends PING over a raw connection and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("clustertest: PING answered %q", line)
	}
	return nil
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Prefix returns a key prefix unique to t, so tests sharing a Redis never
// see each other's keys.
func Prefix(t testing.TB) string {
	name := strings.NewReplacer("/", ".", " ", "_").Replace(t.Name())
	return fmt.Sprintf("t:%s:%d:", filepath.Base(name), time.Now().UnixNano())
}

// Ctx returns a context that ends with t.
func Ctx(t testing.TB) context.Context { return t.Context() }
