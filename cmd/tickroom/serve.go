package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/tickroom/tickroom/games/arena"
	"github.com/tickroom/tickroom/matchmaking"
	"github.com/tickroom/tickroom/player"
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

	// Ready, if set, receives the bound address once the server accepts
	// connections (tests listen on port 0).
	Ready func(addr net.Addr)
}

// Flags registers the command's flags.
func (s *Serve) Flags(fs *flag.FlagSet) {
	fs.StringVar(&s.Addr, "addr", "127.0.0.1:8080", "HTTP listen address (WebSocket at /ws)")
	fs.StringVar(&s.Secret, "token-secret", "", "HS256 secret for player tokens, at least 32 bytes; empty: a random secret per process (tokens die with it)")
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
	fs.StringVar(&s.PublicURL, "public-url", "", "public base URL clients reach the server at (e.g. https://play.example.com); reservations' ws_url derive from it; empty: from each request's Host")
	fs.BoolVar(&s.TrustProxy, "trust-forwarded-proto", false, "trust X-Forwarded-Proto from a TLS-terminating proxy when building ws_url")
	fs.DurationVar(&s.QueueMaxWait, "queue-max-wait", 20*time.Second, "after this wait a ticket match starts with fewer players")
}

// Run serves until ctx is cancelled, then drains: WebSockets get 1001,
// HTTP requests finish, rooms stop.
func (s *Serve) Run(ctx context.Context, stdout, stderr io.Writer) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(s.LogLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	secret := []byte(s.Secret)
	if len(secret) == 0 {
		secret = player.RandomSecret()
		log.Warn("no --token-secret (TICKROOM_TOKEN_SECRET) set: using a random secret; tokens are valid for this process only")
	}
	tokens, err := player.NewTokens(player.TokenConfig{Secret: secret, TTL: s.TokenTTL})
	if err != nil {
		return fmt.Errorf("--token-secret: %w", err)
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
	metrics := server.NewMetrics()
	rooms, err := room.NewManager(room.Config{Types: types, Logger: log, OnTick: metrics.ObserveTick})
	if err != nil {
		return err
	}
	defer rooms.Close()
	players := player.NewRegistry()
	mm, err := matchmaking.New(matchmaking.Config{
		Rooms: rooms, Tokens: tokens, Notify: players.Send,
		APIKey: s.APIKey, PublicURL: s.PublicURL, TrustForwardedProto: s.TrustProxy,
		Logger: log.With("component", "matchmaking"),
		Modes: []matchmaking.Mode{
			{Name: "arena", MaxPlayers: s.ArenaCapacity - s.ArenaCapacity%2, Teams: 2, MinPlayers: 2, AllowPartial: true, MaxWait: s.QueueMaxWait},
			{Name: "arena-players", MaxPlayers: s.ArenaCapacity, MinPlayers: min(2, s.ArenaCapacity), AllowPartial: true, MaxWait: s.QueueMaxWait},
		},
	})
	if err != nil {
		return fmt.Errorf("matchmaking: %w", err)
	}
	defer mm.Close() // after srv.Close (below), before rooms.Close (deferred earlier)
	srv, err := server.New(server.Config{Tokens: tokens, Rooms: rooms, Players: players, Logger: log, GuestAuth: s.GuestAuth,
		Metrics: metrics, API: mm.Handler(), PingInterval: s.PingInterval, PingTimeout: s.PingTimeout, Web: web.Handler()})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return err
	}
	handler := srv.Handler()
	if s.Pprof {
		mux := http.NewServeMux()
		mux.Handle("/", handler)
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		handler = mux
	}
	hs := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = t.Name()
	}
	log.Info("tickroom serving", "addr", "http://"+ln.Addr().String(), "ws", "ws://"+ln.Addr().String()+"/ws", "room_types", strings.Join(names, ","))
	if s.Ready != nil {
		s.Ready(ln.Addr())
	}

	select {
	case err := <-served:
		srv.Close()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	srv.Close() // WebSockets: close 1001, bounded by the write timeout
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	<-served
	return nil
}
