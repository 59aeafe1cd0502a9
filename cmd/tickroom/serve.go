package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tickroom/tickroom/games/arena"
	"github.com/tickroom/tickroom/matchmaking"
	"github.com/tickroom/tickroom/node"
	"github.com/tickroom/tickroom/room"
	"github.com/tickroom/tickroom/server"
	"github.com/tickroom/tickroom/web"
)

// Serve is `tickroom serve`: the room server with the demo game.
type Serve struct {
	Addr          string
	Secret        string
	TokenTTL      time.Duration
	GuestAuth     bool
	ArenaCapacity int
	TickRate      int
	Grace         time.Duration
	PingInterval  time.Duration
	PingTimeout   time.Duration
	LogLevel      string
	Pprof         bool
	APIKey        string
	PublicURL     string
	TrustProxy    bool
	QueueMaxWait  time.Duration
	Redis         string
	RedisPrefix   string
	NodeID        string
	LeaseTTL      time.Duration
	TLSCert       string
	TLSKey        string
	Drain         time.Duration
	LogFormat     string

	AllowedOrigins string
	MaxConns       int
	MaxConnsPerIP  int
	GuestRate      float64
	GuestBurst     int

	// Ready, if set, receives the bound address once the server accepts
	// connections (tests listen on port 0).
	Ready func(addr net.Addr)
}

// Flags registers the command's flags.
func (s *Serve) Flags(fs *flag.FlagSet) {
	fs.StringVar(&s.Addr, "addr", "127.0.0.1:8080", "HTTP listen address (WebSocket at /ws)")
	fs.StringVar(&s.Secret, "token-secret", "", "HS256 secret for player tokens, at least 32 bytes; empty: a random secret per process (tokens die with it; a cluster needs one shared secret)")
	fs.DurationVar(&s.TokenTTL, "token-ttl", 24*time.Hour, "lifetime of guest tokens")
	fs.BoolVar(&s.GuestAuth, "guest-auth", true, "serve POST /v1/auth/guest (development convenience)")
	fs.IntVar(&s.ArenaCapacity, "arena-capacity", 10, "players per arena room")
	fs.IntVar(&s.TickRate, "tick-rate", 20, "arena ticks per second")
	fs.DurationVar(&s.Grace, "grace", 20*time.Second, "how long a dropped player's seat is held for a resume (negative: none)")
	fs.DurationVar(&s.PingInterval, "ping-interval", 5*time.Second, "heartbeat ping interval")
	fs.DurationVar(&s.PingTimeout, "ping-timeout", 15*time.Second, "close a connection silent for this long (half-open TCP); its seat enters the grace window")
	fs.StringVar(&s.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&s.Pprof, "pprof", false, "serve Go profiles at /debug/pprof/ (never expose publicly)")
	fs.StringVar(&s.APIKey, "api-key", "", "key (at least 16 bytes) a game backend presents for POST /v1/reservations and queue stats; empty: that endpoint is off")
	fs.StringVar(&s.PublicURL, "public-url", "", "public base URL clients reach this node at (e.g. https://play.example.com); ws_url of reservations and of this node in a cluster derive from it; empty: from each request's Host (and the listen address for other nodes)")
	fs.BoolVar(&s.TrustProxy, "trust-forwarded-proto", false, "trust X-Forwarded-Proto from a TLS-terminating proxy when building ws_url")
	fs.DurationVar(&s.QueueMaxWait, "queue-max-wait", 20*time.Second, "after this wait a ticket match starts with fewer players")
	fs.StringVar(&s.Redis, "redis", "", "shared Redis of a cluster: redis://[:password@]host:port/db or rediss://...; empty: an embedded in-process store (single node)")
	fs.StringVar(&s.RedisPrefix, "redis-prefix", "tr:", "prefix of every Redis key and channel (several deployments can share one Redis)")
	fs.StringVar(&s.NodeID, "node-id", "", "this node's name in the cluster; empty: random")
	fs.DurationVar(&s.LeaseTTL, "lease-ttl", 10*time.Second, "a node silent for this long is dead: its rooms leave the listings")
	fs.StringVar(&s.TLSCert, "tls-cert", "", "PEM certificate (chain) file: serve https and wss (with --tls-key)")
	fs.StringVar(&s.TLSKey, "tls-key", "", "PEM private key file of --tls-cert")
	fs.StringVar(&s.AllowedOrigins, "allowed-origins", "", "comma-separated browser origins allowed to open WebSockets (scheme://host[:port], or scheme://*.example.com); requests without Origin are always allowed; empty: every origin (development only)")
	fs.IntVar(&s.MaxConns, "max-conns", 10000, "WebSocket connections at most, in total (beyond: 503 + Retry-After)")
	fs.IntVar(&s.MaxConnsPerIP, "max-conns-per-ip", 500, "WebSocket connections at most per client address (negative: no cap; load tests from one address need it)")
	fs.Float64Var(&s.GuestRate, "guest-rate", 2, "guest tokens per second per client address (POST /v1/auth/guest; beyond: 429)")
	fs.IntVar(&s.GuestBurst, "guest-burst", 60, "guest tokens per client address in a burst")
	fs.DurationVar(&s.Drain, "drain", 10*time.Second, "on SIGTERM/SIGINT, close the connections with 1012 spread over this period (0: all at once); the process exits within about drain + 5s")
	fs.StringVar(&s.LogFormat, "log-format", "text", "text or json (one JSON object per line)")
}

// Run serves until ctx is cancelled, then drains (node.Node.Drain):
// /readyz answers 503, matchmaking stops reserving here, the node is
// marked draining in the cluster, WebSockets get 1012 spread over
// --drain; then HTTP requests finish, rooms stop, the node leaves the
// cluster.
func (s *Serve) Run(ctx context.Context, stdout, stderr io.Writer) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(s.LogLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	var log *slog.Logger
	switch s.LogFormat {
	case "text", "":
		log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	case "json":
		log = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	default:
		return fmt.Errorf("--log-format %q: want text or json", s.LogFormat)
	}
	if s.Drain < 0 {
		return fmt.Errorf("--drain %v: must not be negative", s.Drain)
	}

	secret := []byte(s.Secret)
	if len(secret) == 0 {
		log.Warn("no --token-secret (TICKROOM_TOKEN_SECRET) set: using a random secret; tokens are valid for this process only")
	}
	var types []*room.Type
	for _, o := range []arena.Options{{Pickups: true}, {}} {
		o.Capacity, o.TickRate, o.Grace = s.ArenaCapacity, s.TickRate, s.Grace
		t, err := arena.Type(o)
		if err != nil {
			return err
		}
		types = append(types, t)
	}
	// go-redis logs reconnection failures on a process-wide logger: into
	// ours, at warn level (the cluster logs and counts them too).
	redis.SetLogger(redisLogger{log.With("component", "go-redis")})
	if s.Redis == "" {
		log.Info("no --redis (TICKROOM_REDIS): running on an embedded in-process store, as a single node")
	}
	n, err := node.New(ctx, node.Config{
		Addr: s.Addr, Secret: secret, TokenTTL: s.TokenTTL, GuestAuth: s.GuestAuth, Types: types,
		Modes: []matchmaking.Mode{
			{Name: "arena", MaxPlayers: s.ArenaCapacity - s.ArenaCapacity%2, Teams: 2, MinPlayers: 2, AllowPartial: true, MaxWait: s.QueueMaxWait},
			{Name: "arena-players", MaxPlayers: s.ArenaCapacity, MinPlayers: min(2, s.ArenaCapacity), AllowPartial: true, MaxWait: s.QueueMaxWait},
		},
		Redis: s.Redis, RedisPrefix: s.RedisPrefix, NodeID: s.NodeID, LeaseTTL: s.LeaseTTL,
		PublicURL: s.PublicURL, TrustForwardedProto: s.TrustProxy, APIKey: s.APIKey,
		PingInterval: s.PingInterval, PingTimeout: s.PingTimeout, Metrics: true, Pprof: s.Pprof, Logger: log,
		TLSCert: s.TLSCert, TLSKey: s.TLSKey, Drain: s.Drain,
		AllowedOrigins: splitList(s.AllowedOrigins), MaxConns: s.MaxConns, MaxConnsPerIP: s.MaxConnsPerIP,
		GuestPerIP: server.Limit{Rate: s.GuestRate, Burst: s.GuestBurst},
		Web:        web.Handler(),
	})
	if err != nil {
		return err
	}
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = t.Name()
	}
	log.Info("tickroom serving", "addr", n.URL, "ws", n.WS, "node", n.Cluster.ID(), "room_types", strings.Join(names, ","))
	if s.Ready != nil {
		s.Ready(n.Addr())
	}
	select {
	case <-n.Stopped():
	case <-ctx.Done():
		log.Info("shutting down: draining", "drain", s.Drain)
	}
	return n.Close()
}

// redisLogger routes go-redis's logs to slog.
type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(_ context.Context, format string, v ...any) {
	r.l.Warn(fmt.Sprintf(format, v...))
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
