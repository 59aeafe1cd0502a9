package node

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Limits of the HTTP server (docs/API.md §Limits). WebSocket connections
// are hijacked after the handshake, so the per-request read and write
// timeouts below apply to the handshake and to every other request only;
// a WebSocket's own writes are bounded by Config.WriteTimeout and its
// silence by the heartbeat.
const (
	// ReadHeaderTimeout bounds reading a request's headers (slowloris).
	ReadHeaderTimeout = 5 * time.Second
	// RequestReadTimeout bounds reading a whole non-WebSocket request
	// (headers and body); RequestWriteTimeout bounds writing its answer.
	RequestReadTimeout  = 10 * time.Second
	RequestWriteTimeout = 15 * time.Second
	// IdleTimeout closes a keep-alive connection idle for this long.
	IdleTimeout = 60 * time.Second
	// MaxHeaderBytes caps a request's header size (431 beyond it).
	MaxHeaderBytes = 16 << 10
)

// limitHTTP sets per-request read and write deadlines on every request
// but a WebSocket upgrade (GET /ws): http.Server's ReadTimeout and
// WriteTimeout would also apply to the hijacked connection and cut long
// WebSockets off, so they are set per request through
// http.ResponseController instead, and the upgrade gets none (gws bounds
// the handshake itself).
func limitHTTP(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if r.URL.Path == "/ws" || strings.HasPrefix(r.URL.Path, "/debug/pprof/") {
			// The upgrade gets no deadlines (nor do profiles, which
			// take their time). A keep-alive connection may carry the
			// deadlines of an earlier request: clear them.
			_ = rc.SetReadDeadline(time.Time{})
			_ = rc.SetWriteDeadline(time.Time{})
		} else {
			now := time.Now()
			_ = rc.SetReadDeadline(now.Add(RequestReadTimeout))
			_ = rc.SetWriteDeadline(now.Add(RequestWriteTimeout))
		}
		h.ServeHTTP(w, r)
	})
}

// loadTLS loads the certificate and key files; both empty: nil (plain
// HTTP). Only HTTP/1.1 is offered, so WebSocket upgrades work.
func loadTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, fmt.Errorf("node: TLS needs both a certificate and a key file (got cert %q, key %q)", certFile, keyFile)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("node: TLS: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}, nil
}
