// Package server is tickroom's network edge: the HTTP endpoints, the
// WebSocket handshake (authentication before the upgrade), and each
// connection's lifecycle — decoding client messages, routing them to rooms
// and players, and sending through a bounded outbox. It wires player
// (identity, registry), room (the rooms) and netcode (the wire format)
// together; none of those import it.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
	"github.com/tickroom/tickroom/internal/jsonapi"
	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
)

// Config configures a Server. Zero fields take the documented defaults.
type Config struct {
	Tokens  *player.Tokens   // required: verifies handshake tokens, mints guest tokens
	Rooms   *room.Manager    // required
	Players *player.Registry // nil: a new one
	Logger  *slog.Logger     // nil: discard
	// GuestAuth enables POST /v1/auth/guest (a development convenience).
	GuestAuth bool
	// WriteTimeout bounds each socket write, so a peer that stopped reading
	// cannot hold a writer (or a close) forever. Default 5s.
	WriteTimeout time.Duration
	// Outbox sizes each connection's send queue; see netcode.OutboxConfig.
	Outbox netcode.OutboxConfig
	// PingInterval is how often each connection is sent a WebSocket ping;
	// default 5s. PingTimeout closes (4001) a connection from which nothing
	// has arrived for that long — half-open TCP — and its seat enters the
	// grace window; default 15s. PingTimeout must exceed PingInterval.
	PingInterval, PingTimeout time.Duration
	// Metrics, if set, are served at GET /metrics (see NewMetrics).
	Metrics *Metrics
	// API, if set, serves every other path under /v1/ (the matchmaking API).
	API http.Handler
	// Web, if set, serves GET / and GET /assets/ (the browser demo page).
	Web http.Handler
	// Remote, if set, reaches the players connected to other nodes: a
	// direct message to a player goes to its connections here and on every
	// other node that has one (cluster.Node implements it).
	Remote Remote
	// RemoteTimeout bounds the wait for Remote on a connection's goroutine;
	// default 500ms.
	RemoteTimeout time.Duration

	// SlowTimeout closes (4008, slow consumer) a connection whose outbox
	// has been stalled — refusing frames because the client does not read
	// them — for that long without once emptying; default 2s. Its seat
	// enters the grace window as for any drop.
	SlowTimeout time.Duration
	// Limits are the per-connection message budgets; zero fields take
	// DefaultLimits (docs/PROTOCOL.md §8).
	Limits Limits
	// AllowedOrigins, if not empty, is the allow-list of browser origins
	// for GET /ws: exact "scheme://host[:port]" entries, or
	// "scheme://*.example.com[:port]" for any subdomain of example.com
	// (not example.com itself). A handshake with another Origin, including
	// "null", gets 403 before the upgrade; one without an Origin header
	// (not a browser) is allowed. Empty: every origin is allowed, which is
	// for development only (cross-site WebSocket hijacking).
	AllowedOrigins []string
	// MaxConns caps the open WebSocket connections (default 10000);
	// MaxConnsPerIP caps them per client address (default 500: behind a
	// proxy every client has the proxy's address, so raise it or disable
	// it there). A handshake beyond a cap gets 503 with Retry-After.
	// Negative: no cap.
	MaxConns, MaxConnsPerIP int
	// GuestPerIP limits POST /v1/auth/guest per client address (default
	// 2/s, burst 60) and GuestTotal for all addresses together (default
	// 50/s, burst 200); beyond them the answer is 429 with Retry-After. A
	// negative Rate: no limit.
	GuestPerIP, GuestTotal Limit
}

// Remote reaches players connected to other nodes.
type Remote interface {
	// Send delivers msg to every connection of id on the other nodes and
	// returns how many nodes took it. It may wait on I/O, within ctx.
	Send(ctx context.Context, id player.ID, msg []byte) (nodes int, err error)
}

// Server serves tickroom's HTTP and WebSocket endpoints. Create it with
// New; it is safe for concurrent use.
type Server struct {
	cfg      Config
	log      *slog.Logger
	players  *player.Registry
	upgrader *gws.Upgrader
	// upgraderV1 answers a handshake offering player.Subprotocol with it
	// (a browser that sent its token as a subprotocol needs the echo).
	upgraderV1 *gws.Upgrader
	mux        *http.ServeMux
	origins    *origins      // nil: every origin allowed
	counter    *connCounter  // connection caps
	guests     *keyedLimiter // POST /v1/auth/guest
	metrics    *Metrics      // nil-safe

	mu     sync.Mutex // guards conns and closed
	conns  map[*conn]struct{}
	closed bool
	wg     sync.WaitGroup // connection read loops and the heartbeat

	stop chan struct{} // closed by Close: stops the heartbeat

	drainStarted atomic.Bool // set by Drain (drain.go)
}

// New validates cfg and returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Tokens == nil {
		return nil, errors.New("server: Config.Tokens is required")
	}
	if cfg.Rooms == nil {
		return nil, errors.New("server: Config.Rooms is required")
	}
	if cfg.Players == nil {
		cfg.Players = player.NewRegistry()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = 5 * time.Second
	}
	if cfg.PingInterval == 0 {
		cfg.PingInterval = 5 * time.Second
	}
	if cfg.PingTimeout == 0 {
		cfg.PingTimeout = 15 * time.Second
	}
	if cfg.RemoteTimeout == 0 {
		cfg.RemoteTimeout = 500 * time.Millisecond
	}
	if cfg.PingInterval < 0 || cfg.PingTimeout <= cfg.PingInterval {
		return nil, errors.New("server: PingTimeout must be greater than PingInterval, both positive")
	}
	if cfg.SlowTimeout == 0 {
		cfg.SlowTimeout = 2 * time.Second
	}
	if cfg.SlowTimeout < 0 {
		return nil, errors.New("server: SlowTimeout must be positive")
	}
	cfg.Limits = cfg.Limits.withDefaults()
	if cfg.MaxConns == 0 {
		cfg.MaxConns = 10000
	}
	if cfg.MaxConnsPerIP == 0 {
		cfg.MaxConnsPerIP = 500
	}
	cfg.GuestPerIP = cfg.GuestPerIP.orDefault(Limit{Rate: 2, Burst: 60})
	cfg.GuestTotal = cfg.GuestTotal.orDefault(Limit{Rate: 50, Burst: 200})
	origins, err := parseOrigins(cfg.AllowedOrigins)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, players: cfg.Players, conns: map[*conn]struct{}{}, stop: make(chan struct{}),
		origins: origins, metrics: cfg.Metrics,
		counter: &connCounter{perIP: cfg.MaxConnsPerIP, total: cfg.MaxConns, byIP: map[string]int{}},
		guests:  newKeyedLimiter(cfg.GuestPerIP, cfg.GuestTotal)}
	opt := &gws.ServerOption{
		// permessage-deflate stays off (gws's default, stated here):
		// compression oracles (CRIME/BREACH) and inflate bombs.
		PermessageDeflate:  gws.PermessageDeflate{Enabled: false},
		ReadMaxPayloadSize: netcode.MaxClientMessage,
		ReadBufferSize:     1024,
		HandshakeTimeout:   5 * time.Second,
		NewSession:         func() gws.SessionStorage { return &session{} },
		Recovery:           gws.Recovery,
		Logger:             gwsLogger{s.log},
	}
	s.upgrader = gws.NewUpgrader(handler{s}, opt)
	v1 := *opt // the same options, answering the subprotocol
	v1.SubProtocols = []string{player.Subprotocol}
	s.upgraderV1 = gws.NewUpgrader(handler{s}, &v1)
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /ws", s.serveWS)
	s.mux.HandleFunc("GET /healthz", s.serveHealth)
	s.mux.HandleFunc("GET /readyz", s.serveReady)
	if cfg.GuestAuth {
		s.mux.HandleFunc("POST /v1/auth/guest", s.serveGuest)
	}
	if cfg.API != nil {
		s.mux.Handle("/v1/", cfg.API)
	}
	if cfg.Web != nil {
		s.mux.Handle("GET /{$}", cfg.Web)
		s.mux.Handle("GET /assets/", cfg.Web)
	}
	if cfg.Metrics != nil {
		cfg.Metrics.register(s)
		s.mux.Handle("GET /metrics", cfg.Metrics.handler())
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.heartbeat()
	}()
	return s, nil
}

// Handler returns the HTTP handler for every endpoint.
func (s *Server) Handler() http.Handler { return s.mux }

// Players returns the player registry.
func (s *Server) Players() *player.Registry { return s.players }

// draining reports whether Close has begun.
func (s *Server) draining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	if s.draining() {
		writeError(w, http.StatusServiceUnavailable, "shutting_down", "server is shutting down")
		return
	}
	jsonapi.Write(w, http.StatusOK, "", []byte(`{"status":"ok"}`+"\n"))
}

// serveWS checks the Origin, authenticates and counts the connection
// against the caps, then upgrades. A refused handshake never gets an
// upgrade.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	origin, hasOrigin := r.Header["Origin"]
	if hasOrigin && (len(origin) != 1 || !s.origins.allowed(origin[0], true)) {
		s.metrics.refuse("origin")
		writeError(w, http.StatusForbidden, "origin_not_allowed", "this Origin may not open a WebSocket here")
		return
	}
	claims, err := s.cfg.Tokens.Verify(player.TokenFromRequest(r))
	if err != nil {
		s.metrics.refuse("unauthorized")
		writeError(w, http.StatusUnauthorized, "unauthorized", authMessage(err))
		return
	}
	if s.Draining() {
		s.metrics.refuse("draining")
		writeError(w, http.StatusServiceUnavailable, "shutting_down", "server is shutting down")
		return
	}
	ip := clientIP(r)
	if ok, scope := s.counter.acquire(ip); !ok {
		s.metrics.refuse("conns_" + scope)
		w.Header().Set("Retry-After", "5")
		msg := "too many connections: retry later"
		if scope == "address" {
			msg = "too many connections from this address: retry later"
		}
		writeError(w, http.StatusServiceUnavailable, "too_many_connections", msg)
		return
	}
	up := s.upgrader
	if slices.ContainsFunc(r.Header.Values("Sec-WebSocket-Protocol"), func(h string) bool {
		return slices.Contains(strings.Split(strings.ReplaceAll(h, " ", ""), ","), player.Subprotocol)
	}) {
		up = s.upgraderV1
	}
	ws, err := up.Upgrade(w, r)
	if err != nil {
		s.counter.release(ip)
		s.log.Debug("websocket upgrade failed", "err", err, "remote", r.RemoteAddr)
		return // gws has answered 400
	}
	c := newConn(s, ws, claims)
	c.ip = ip
	if !s.track(c) {
		s.counter.release(ip)
		_ = ws.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		_ = ws.WriteClose(1001, []byte("server shutting down"))
		return
	}
	ws.Session().Store(sessionKey, c)
	go func() {
		defer s.wg.Done()
		ws.ReadLoop()
	}()
}

func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	_, ok := s.conns[c]
	delete(s.conns, c)
	s.mu.Unlock()
	if ok {
		s.counter.release(c.ip)
	}
}

// Close closes every connection with 1001 (each close bounded by the write
// timeout) and waits for their read loops to end. The rooms are not
// stopped: that is the room.Manager's Close.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.closed {
		close(s.stop)
	}
	s.closed = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.shut(CloseGoingAway, "server shutting down")
	}
	s.wg.Wait()
}

func authMessage(err error) string {
	switch {
	case errors.Is(err, player.ErrNoToken):
		return "no token: send Authorization: Bearer <token> or ?access_token="
	case errors.Is(err, player.ErrExpiredToken):
		return "token expired"
	default:
		return "invalid token"
	}
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	jsonapi.WriteError(w, jsonapi.NewError(status, code, msg))
}

// gwsLogger routes gws's internal logs (e.g. recovered panics) to slog.
type gwsLogger struct{ l *slog.Logger }

func (g gwsLogger) Error(v ...any) { g.l.Error("gws", "detail", v) }

// heartbeat pings every connection each PingInterval, closes those that
// have been silent for PingTimeout, so half-open TCP is detected, and
// those whose outbox has been stalled for SlowTimeout (slow consumers).
// One goroutine serves all connections.
func (s *Server) heartbeat() {
	every := min(s.cfg.PingInterval, s.cfg.PingTimeout-s.cfg.PingInterval, s.cfg.SlowTimeout) / 4
	t := time.NewTicker(max(every, time.Millisecond))
	defer t.Stop()
	var conns []*conn
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.mu.Lock()
		conns = conns[:0]
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		wall := time.Now()
		now := wall.UnixNano()
		for _, c := range conns {
			switch {
			case c.closed.Load():
			case now-c.lastRecv.Load() > int64(s.cfg.PingTimeout):
				c.shut(CloseHeartbeat, "heartbeat timeout")
			case c.out.StalledFor(wall) > s.cfg.SlowTimeout:
				c.slowClose()
			case now >= c.nextPing.Load():
				c.nextPing.Store(now + int64(s.cfg.PingInterval))
				c.ws.Async(c.ping)
			}
		}
		clear(conns)
	}
}
