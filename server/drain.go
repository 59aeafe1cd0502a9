package server

import (
	"context"
	mrand "math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/tickroom/tickroom/internal/jsonapi"
)

// CloseServiceRestart closes every connection of a draining server
// (PROTOCOL §7): the client reconnects — through the load balancer, which
// no longer routes to this node — and resumes or rejoins.
const CloseServiceRestart = 1012

// Drain begins a graceful shutdown. At once, GET /readyz answers 503 and
// new WebSocket handshakes are refused with 503 shutting_down (GET
// /healthz, the liveness probe, still answers 200). Then every connection
// is closed with 1012 (CloseServiceRestart), spread over period so that
// the reconnect herd does not reach the other nodes at once: in a random
// order, connection i of n at i·period/n after the start. Each close is
// bounded by Config.WriteTimeout, even against a peer that stopped
// reading, and runs on its own goroutine, so one stuck peer delays no
// other close.
//
// Drain returns once every close has been done (about period +
// WriteTimeout at most) or ctx ends (the remaining connections are left
// for Close). Rooms are not touched: seats of closed connections enter
// their grace window. Close must still be called. Safe for concurrent use;
// a second call only waits for the connections of its own snapshot.
func (s *Server) Drain(ctx context.Context, period time.Duration) error {
	start := time.Now()
	s.StopAccepting()
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	mrand.Shuffle(len(conns), func(i, j int) { conns[i], conns[j] = conns[j], conns[i] })
	s.log.Info("server: draining", "connections", len(conns), "period", period)

	var wg sync.WaitGroup // the close goroutines, joined before returning
	defer wg.Wait()
	t := time.NewTimer(0)
	defer t.Stop()
	<-t.C
	for i, c := range conns {
		if period > 0 {
			at := start.Add(time.Duration(int64(period) * int64(i) / int64(len(conns))))
			if d := time.Until(at); d > 0 {
				t.Reset(d)
				select {
				case <-t.C:
				case <-ctx.Done():
					s.log.Warn("server: drain cut short", "closed", i, "connections", len(conns))
					return ctx.Err()
				}
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.close(CloseServiceRestart, "server restarting: reconnect")
		}()
	}
	wg.Wait()
	s.log.Info("server: drained", "connections", len(conns), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// StopAccepting is the first step of Drain, for a caller that has more to
// do before the connections are closed: /readyz answers 503 and new
// WebSocket handshakes are refused (503 shutting_down) from now on.
func (s *Server) StopAccepting() { s.drainStarted.Store(true) }

// Draining reports whether Drain (or Close) has begun.
func (s *Server) Draining() bool { return s.drainStarted.Load() || s.draining() }

// serveReady is GET /readyz, the readiness probe: 200 while the server
// takes players, 503 shutting_down from the start of a drain.
func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	if s.Draining() {
		writeError(w, http.StatusServiceUnavailable, "shutting_down", "server is draining")
		return
	}
	jsonapi.Write(w, http.StatusOK, "", []byte(`{"status":"ready"}`+"\n"))
}
