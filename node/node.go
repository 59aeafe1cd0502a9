// Package node wires one tickroom process: player tokens, the cluster
// membership (a Redis shared with other nodes, or an embedded miniredis),
// the rooms, the player registry, the matchmaking API and the HTTP and
// WebSocket server, listening on one address. `tickroom serve` and the
// servertest package both build their servers with New, so the graph is
// wired in one place (docs/SCALING.md).
package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/tickroom/tickroom/cluster"
	"github.com/tickroom/tickroom/matchmaking"
	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
	"github.com/tickroom/tickroom/server"
	"golang.org/x/time/rate"
)

// Config configures a Node. Zero fields take the documented defaults.
type Config struct {
	// Addr is the HTTP listen address (WebSocket at /ws); default
	// 127.0.0.1:0 (a free port). Listener, if set, is used instead.
	Addr     string
	Listener net.Listener
	// TLSCert and TLSKey are PEM files of a certificate (chain) and its
	// key; both set: the node serves https and wss (HTTP/1.1 only, so
	// WebSockets upgrade), and its URL, WS and advertised ws_url use those
	// schemes (unless PublicURL says otherwise). Both empty: plain HTTP.
	TLSCert, TLSKey string
	// Drain is the period over which Close spreads the 1012 closes of the
	// connections (server.Server.Drain); zero: all at once. `tickroom
	// serve --drain` defaults to 10s.
	Drain time.Duration
	// WriteTimeout bounds each socket write, and so each close during a
	// drain (server.Config.WriteTimeout); default 5s.
	WriteTimeout time.Duration
	// Abuse limits of the server (server.Config; zero fields take its
	// documented defaults): the Origin allow-list, connection caps, the
	// guest-auth rates, the slow-consumer timeout and the message budgets.
	AllowedOrigins          []string
	MaxConns, MaxConnsPerIP int
	GuestPerIP, GuestTotal  server.Limit
	SlowTimeout             time.Duration
	Limits                  server.Limits
	// Secret is the HS256 secret of player tokens (at least 32 bytes);
	// nil: a random one (tokens die with the process). Every node of a
	// cluster needs the same secret.
	Secret   []byte
	TokenTTL time.Duration // guest token lifetime; default 24h
	// GuestAuth serves POST /v1/auth/guest.
	GuestAuth bool
	// Types are the room types; required. Every node of a cluster runs
	// the same types.
	Types []*room.Type
	// Modes are the matchmaking ticket queues.
	Modes []matchmaking.Mode
	// Redis is the shared store: redis://[:password@]host:port/db or
	// rediss://…; empty: an embedded miniredis for this process alone.
	Redis string
	// RedisPrefix prefixes every key and channel; default "tr:". Several
	// deployments can share one Redis with different prefixes.
	RedisPrefix string
	// NodeID names this node in the cluster; default random.
	NodeID string
	// LeaseTTL: a node that stops renewing for this long is dead and its
	// rooms leave the listings; default 10s.
	LeaseTTL time.Duration
	// StoreTimeout bounds each call to the store made for a request (a
	// join, a reservation, a listing); default 500ms, so that requests
	// answer 503 within about a second when the store is out.
	StoreTimeout time.Duration
	// PublicURL is the base URL clients reach this node at (http, https,
	// ws or wss). Other nodes hand out its WebSocket URL for rooms placed
	// here; empty: derived from the listen address.
	PublicURL           string
	TrustForwardedProto bool
	// APIKey enables the matchmaking backend endpoints (16 bytes or more).
	APIKey string
	// MatchInterval is the time between matcher passes; default 1s.
	MatchInterval time.Duration
	// MatchRateLimit bounds each player's matchmaking POSTs (0: the
	// matchmaking default; rate.Inf: none).
	MatchRateLimit rate.Limit
	// API, if set, builds the handler served under /v1/ instead of the
	// matchmaking API (tests); close runs at Close.
	API func(n *Node) (h http.Handler, close func())
	// ReservationTTL, PingInterval and PingTimeout: see room.Config and
	// server.Config.
	ReservationTTL            time.Duration
	PingInterval, PingTimeout time.Duration
	// Metrics serves GET /metrics; Pprof serves /debug/pprof/ (never
	// expose it publicly).
	Metrics bool
	Pprof   bool
	// Web, if set, serves the browser demo at / (web.Handler).
	Web http.Handler
	// Clock drives rooms, reservations, leases and the matcher; nil: real.
	Clock clockwork.Clock
	// Logger; nil discards.
	Logger *slog.Logger
}

// Node is one running tickroom process.
type Node struct {
	URL string // http://host:port
	WS  string // ws://host:port/ws

	Tokens      *player.Tokens
	Cluster     *cluster.Node
	Rooms       *room.Manager
	Players     *player.Registry
	Matchmaking *matchmaking.Service // nil when Config.API replaced it
	Server      *server.Server

	log      *slog.Logger
	ln       net.Listener
	hs       *http.Server
	served   chan struct{} // closed when the HTTP server stopped; serveErr is then set
	serveErr error
	closeAPI func()
	closed   atomic.Bool
	drainCfg time.Duration
	storeTO  time.Duration
	writeTO  time.Duration

	drainOnce sync.Once
	drainErr  error
}

// New wires a node and starts serving. Close it to drain it.
func New(ctx context.Context, cfg Config) (n *Node, err error) {
	if len(cfg.Types) == 0 {
		return nil, errors.New("node: Config.Types is empty")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.StoreTimeout == 0 {
		cfg.StoreTimeout = 500 * time.Millisecond
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = 5 * time.Second
	}
	if cfg.Drain < 0 {
		return nil, errors.New("node: Config.Drain is negative")
	}
	n = &Node{log: cfg.Logger, served: make(chan struct{}), drainCfg: cfg.Drain, storeTO: cfg.StoreTimeout, writeTO: cfg.WriteTimeout}
	var cleanup []func()
	defer func() {
		if err != nil {
			for i := len(cleanup) - 1; i >= 0; i-- {
				cleanup[i]()
			}
		}
	}()

	secret := cfg.Secret
	if len(secret) == 0 {
		secret = player.RandomSecret()
	}
	if n.Tokens, err = player.NewTokens(player.TokenConfig{Secret: secret, TTL: cfg.TokenTTL}); err != nil {
		return nil, fmt.Errorf("node: tokens: %w", err)
	}

	n.ln = cfg.Listener
	if n.ln == nil {
		addr := cfg.Addr
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		if n.ln, err = net.Listen("tcp", addr); err != nil {
			return nil, err
		}
	}
	cleanup = append(cleanup, func() { _ = n.ln.Close() })
	tlsConf, err := loadTLS(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, err
	}
	n.URL = "http://" + n.ln.Addr().String()
	n.WS = "ws://" + n.ln.Addr().String() + "/ws"
	public := cfg.PublicURL
	if tlsConf != nil {
		n.URL = "https://" + n.ln.Addr().String()
		n.WS = "wss://" + n.ln.Addr().String() + "/ws"
		if public == "" {
			public = n.URL
		}
	}
	wsURL, err := PublicWS(public, n.ln.Addr())
	if err != nil {
		return nil, err
	}

	n.Players = player.NewRegistry()
	var rooms atomic.Pointer[room.Manager] // Owned is called by the cluster once the rooms exist
	if n.Cluster, err = cluster.Open(ctx, cluster.Config{
		URL: cfg.Redis, Prefix: cfg.RedisPrefix, NodeID: cfg.NodeID, WSURL: wsURL, LeaseTTL: cfg.LeaseTTL, OpTimeout: cfg.StoreTimeout,
		Clock: cfg.Clock, Logger: cfg.Logger.With("component", "cluster"),
		Deliver: n.Players.Send,
		Online:  n.Players.Online,
		Owned: func() []room.OwnedRoom {
			if m := rooms.Load(); m != nil {
				return m.Owned()
			}
			return nil
		},
	}); err != nil {
		return nil, fmt.Errorf("node: cluster: %w", err)
	}
	cleanup = append(cleanup, func() { _ = n.Cluster.Close() })
	n.Players.OnPresence(func(id player.ID, online bool) {
		if online {
			n.Cluster.Online(id)
		} else {
			n.Cluster.Offline(id)
		}
	})

	var metrics *server.Metrics
	var onTick func(time.Duration, int64)
	if cfg.Metrics {
		metrics = server.NewMetrics()
		onTick = metrics.ObserveTick
		metrics.Register(clusterMetrics(n.Cluster)...)
		metrics.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tickroom_ready", Help: "1 while the node takes new players (GET /readyz 200), 0 from the start of a drain."},
			func() float64 {
				if s := n.Server; s == nil || s.Draining() {
					return 0
				}
				return 1
			}))
	}
	if n.Rooms, err = room.NewManager(room.Config{Types: cfg.Types, Directory: n.Cluster.Directory(), DirectoryTimeout: 2 * cfg.StoreTimeout, Clock: cfg.Clock,
		Logger: cfg.Logger, OnTick: onTick, ReservationTTL: cfg.ReservationTTL}); err != nil {
		return nil, err
	}
	rooms.Store(n.Rooms)
	if metrics != nil {
		for _, f := range []struct {
			reason string
			v      func(room.Faults) uint64
		}{{"crashed", func(f room.Faults) uint64 { return f.Crashed }}, {"overloaded", func(f room.Faults) uint64 { return f.Overloaded }}} {
			metrics.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tickroom_rooms_closed_by_fault_total",
				Help:        "Rooms closed because game code panicked (crashed) or their ticks overran for too long (overloaded).",
				ConstLabels: prometheus.Labels{"reason": f.reason}}, func() float64 { return float64(f.v(n.Rooms.Faults())) }))
		}
	}
	cleanup = append(cleanup, n.Rooms.Close)

	var api http.Handler
	if cfg.API != nil {
		api, n.closeAPI = cfg.API(n)
	} else {
		// Matched tickets name this node's ws_url when other nodes may read
		// them; a single node derives it from each request, as quick match.
		nodeWS := ""
		if cfg.Redis != "" {
			nodeWS = wsURL
		}
		tickets := cluster.NewTicketStore(n.Cluster.Client(), n.Cluster.Prefix(), cluster.TicketConfig{Timeout: cfg.StoreTimeout})
		if n.Matchmaking, err = matchmaking.New(matchmaking.Config{
			Rooms: n.Rooms, Tokens: n.Tokens, Notify: n.notify, Modes: cfg.Modes, Tickets: tickets, NodeWSURL: nodeWS,
			APIKey: cfg.APIKey, PublicURL: cfg.PublicURL, TrustForwardedProto: cfg.TrustForwardedProto,
			Clock: cfg.Clock, Logger: cfg.Logger.With("component", "matchmaking"), Interval: cfg.MatchInterval, RateLimit: cfg.MatchRateLimit,
		}); err != nil {
			return nil, fmt.Errorf("node: matchmaking: %w", err)
		}
		api, n.closeAPI = n.Matchmaking.Handler(), n.Matchmaking.Close
	}
	if n.closeAPI == nil {
		n.closeAPI = func() {}
	}
	cleanup = append(cleanup, n.closeAPI)

	if n.Server, err = server.New(server.Config{Tokens: n.Tokens, Rooms: n.Rooms, Players: n.Players, Logger: cfg.Logger,
		GuestAuth: cfg.GuestAuth, Metrics: metrics, API: api, Remote: n.Cluster, Web: cfg.Web,
		PingInterval: cfg.PingInterval, PingTimeout: cfg.PingTimeout, WriteTimeout: cfg.WriteTimeout,
		AllowedOrigins: cfg.AllowedOrigins, MaxConns: cfg.MaxConns, MaxConnsPerIP: cfg.MaxConnsPerIP,
		GuestPerIP: cfg.GuestPerIP, GuestTotal: cfg.GuestTotal, SlowTimeout: cfg.SlowTimeout, Limits: cfg.Limits}); err != nil {
		return nil, err
	}

	handler := n.Server.Handler()
	if cfg.Pprof {
		mux := http.NewServeMux()
		mux.Handle("/", handler)
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		handler = mux
	}
	n.hs = &http.Server{
		Handler:           limitHTTP(handler),
		ReadHeaderTimeout: ReadHeaderTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
	ln := n.ln
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	go func() {
		n.serveErr = n.hs.Serve(ln)
		close(n.served)
	}()
	return n, nil
}

// clusterMetrics exports the cluster's counters (Redis errors, owner
// writes dropped, renewals, ...) and health.
func clusterMetrics(c *cluster.Node) []prometheus.Collector {
	counter := func(name, help string, v func(cluster.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tickroom_cluster_" + name, Help: help},
			func() float64 { return float64(v(c.Stats())) })
	}
	return []prometheus.Collector{
		counter("redis_errors_total", "Failed Redis calls, any path.", func(s cluster.Stats) uint64 { return s.RedisErrors }),
		counter("ops_applied_total", "Owner writes (seat released, lock, metadata, tokens, presence) applied.", func(s cluster.Stats) uint64 { return s.OpsApplied }),
		counter("ops_refused_total", "Owner writes refused because another owner holds the record.", func(s cluster.Stats) uint64 { return s.OpsRefused }),
		counter("ops_dropped_total", "Owner writes dropped: queue full or node closing (re-asserted later).", func(s cluster.Stats) uint64 { return s.OpsDropped }),
		counter("pubsub_received_total", "Direct messages and pushes received from other nodes.", func(s cluster.Stats) uint64 { return s.PubSubIn }),
		counter("pubsub_dropped_total", "Messages from other nodes dropped (malformed, too big).", func(s cluster.Stats) uint64 { return s.PubSubDropped }),
		counter("renewals_total", "Lease renewals that succeeded.", func(s cluster.Stats) uint64 { return s.RenewalsOK }),
		counter("renewals_failed_total", "Lease renewals that failed.", func(s cluster.Stats) uint64 { return s.RenewalsFailed }),
		counter("reassertions_total", "Re-assertions of this node's rooms, tokens and presence.", func(s cluster.Stats) uint64 { return s.Reassertions }),
		counter("swept_nodes_total", "Dead nodes whose records this node removed.", func(s cluster.Stats) uint64 { return s.Swept }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tickroom_cluster_healthy", Help: "1 while the node reaches its Redis and holds its lease."},
			func() float64 {
				if c.Healthy() {
					return 1
				}
				return 0
			}),
	}
}

// notify pushes a message (matched) to every connection of a player, on
// this node and the others.
func (n *Node) notify(id player.ID, msg []byte) int {
	k := n.Players.Send(id, msg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	remote, err := n.Cluster.Send(ctx, id, msg)
	if err != nil {
		n.log.Debug("node: push to other nodes failed", "player", id, "err", err)
	}
	return k + remote
}

// Addr is the address the node listens on.
func (n *Node) Addr() net.Addr { return n.ln.Addr() }

// Stopped is closed when the HTTP server has stopped (by Close, or by
// itself: Err says why).
func (n *Node) Stopped() <-chan struct{} { return n.served }

// Err is why the HTTP server stopped; valid once Stopped is closed.
func (n *Node) Err() error {
	<-n.served
	if errors.Is(n.serveErr, http.ErrServerClosed) {
		return nil
	}
	return n.serveErr
}

// Drain is the first half of a graceful shutdown, in this order: /readyz
// answers 503 and new WebSocket handshakes are refused (at once); the
// matchmaking API stops reserving through this node (503 shutting_down)
// and its matcher hands over to another node's; the node is marked
// draining in the cluster, so placement and join-or-create on every node
// skip it and its rooms; then every connection is closed with 1012, spread
// over Config.Drain (server.Server.Drain), each close bounded by
// Config.WriteTimeout. It returns when the connections are closed or ctx
// ends. Close (which calls Drain if it has not run) finishes the shutdown.
// Safe for concurrent use; the first call does the work, later ones wait
// for it.
func (n *Node) Drain(ctx context.Context) error {
	n.drainOnce.Do(func() {
		start := time.Now()
		n.Server.StopAccepting()
		n.log.Info("node: draining", "period", n.drainCfg)
		if n.Matchmaking != nil {
			n.Matchmaking.Drain()
		}
		if err := n.Cluster.Drain(ctx); err != nil {
			n.log.Warn("node: cannot mark the node draining in the cluster; its rooms stay in placement until it leaves", "err", err)
		}
		n.drainErr = n.Server.Drain(ctx, n.drainCfg)
		n.log.Info("node: drained", "took", time.Since(start).Round(time.Millisecond))
	})
	return n.drainErr
}

// Close shuts the node down: Drain (if it has not run; bounded by
// Config.Drain + Config.WriteTimeout + a few seconds), then HTTP requests
// finish (at most 5 s), rooms stop, and the node leaves the cluster (its
// rooms leave the listings at once). Connections still open (a drain cut
// short) get 1001. Idempotent.
func (n *Node) Close() error {
	if !n.closed.CompareAndSwap(false, true) {
		return nil
	}
	dctx, dcancel := context.WithTimeout(context.Background(), n.drainCfg+n.writeTO+2*n.storeTO+2*time.Second)
	_ = n.Drain(dctx)
	dcancel()
	n.Server.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := n.hs.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = nil
	}
	if serr := n.Err(); err == nil {
		err = serr
	}
	n.closeAPI()
	n.Rooms.Close()
	if cerr := n.Cluster.Close(); cerr != nil {
		// Its lease runs out by itself: the cluster learns of the
		// departure a lease later than it would have.
		n.log.Warn("node: leaving the cluster failed", "err", cerr)
	}
	return err
}

// Crash stops the node the way a crash looks to the rest of the cluster:
// it does not leave, so the other nodes learn of its death only when its
// lease runs out. Its clients are closed at once, with 1001. For tests
// and drills.
func (n *Node) Crash() error {
	_ = n.Cluster.Abandon()
	n.drainOnce.Do(func() {}) // no drain: a crash closes everything at once
	return n.Close()
}

// PublicWS returns the WebSocket URL clients reach a node at: public (a
// base URL with scheme http, https, ws or wss; see
// matchmaking.PublicWSURL) or, when public is empty, ws://addr/ws.
func PublicWS(public string, addr net.Addr) (string, error) {
	if public == "" {
		return "ws://" + addr.String() + "/ws", nil
	}
	return matchmaking.PublicWSURL(public)
}
