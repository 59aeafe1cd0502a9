package matchmaking

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
	"golang.org/x/time/rate"
)

// Rooms is what matchmaking needs of the rooms; *room.Manager satisfies it.
// Its methods must be safe for concurrent use; they are called from HTTP
// handlers and from the matcher, never with a lock of the Service held,
// and may wait on I/O (a shared directory) within ctx's deadline.
type Rooms interface {
	// Reserve holds a seat for one player in the room sel picks.
	Reserve(ctx context.Context, p player.ID, sel room.Selector) (room.Reservation, error)
	// ReserveGroup holds one seat per player, all in one room, or none.
	ReserveGroup(ctx context.Context, players []player.ID, sel room.Selector) ([]room.Reservation, error)
	// List returns the public rooms of a type ("" for all types).
	List(ctx context.Context, typ string) ([]room.RoomInfo, error)
	// HasType reports whether typ is a room type the server runs.
	HasType(typ string) bool
}

// Tokens verifies player tokens; *player.Tokens satisfies it.
type Tokens interface {
	Verify(token string) (player.Claims, error)
}

// Config configures a Service. Zero fields take the documented defaults.
type Config struct {
	Rooms  Rooms  // required
	Tokens Tokens // required
	// Notify pushes a message (the `matched` message, PROTOCOL §3) to every
	// live connection of a player and returns how many took it;
	// (*player.Registry).Send fits. It must not block. It is called by the
	// matcher goroutine with no lock held; msg is not modified afterwards.
	// Nil: matched players learn it only by polling their ticket.
	Notify func(id player.ID, msg []byte) int
	// Modes are the ticket queues, one per room type at most. Quick match
	// works for every room type, with or without a queue.
	Modes []Mode
	// APIKey authenticates a game's backend (Authorization: Bearer <key>)
	// on POST /v1/reservations and GET /v1/matchmaking/stats. At least 16
	// bytes; empty: POST /v1/reservations is not served (404).
	APIKey string
	// PublicURL is the server's public base URL (http, https, ws or wss;
	// e.g. https://play.example.com): the ws_url of every reservation is
	// it with scheme ws or wss and "/ws" appended to its path. Empty: ws_url
	// is derived from each request's Host, "wss" only if the request came
	// over TLS or TrustForwardedProto is set and X-Forwarded-Proto is https.
	PublicURL           string
	TrustForwardedProto bool
	// NodeWSURL is this node's WebSocket URL as the other nodes of a
	// cluster hand it out; a matched ticket's reservation in a room of
	// this node carries it when PublicURL is empty (the ticket may be read
	// through another node). Empty: derived per request.
	NodeWSURL string
	// Clock drives the matcher, reservation-independent expiries and the
	// rate limiter; nil: the real clock.
	Clock clockwork.Clock
	// Logger; nil discards.
	Logger *slog.Logger
	// Interval is the time between two matcher passes; default 1s.
	Interval time.Duration
	// RateLimit and RateBurst bound each player's POSTs (token bucket);
	// default 5 per second with bursts of 10. rate.Inf: no limit.
	RateLimit rate.Limit
	RateBurst int
	// IdempotencyTTL is how long an answer that holds no reservation (a
	// ticket) is replayed for its Idempotency-Key; default 15s. Answers
	// holding reservations are replayed until the reservations expire.
	IdempotencyTTL time.Duration
	// Retention is how long an ended ticket (matched, expired, cancelled)
	// stays readable; default 5m.
	Retention time.Duration
	// Tickets stores the tickets; nil: NewMemoryTicketStore (one
	// process). Several Services sharing one store (cluster.NewTicketStore
	// on one Redis) are one matchmaking service: a ticket created on any
	// is matched with the others and read or cancelled on any, and one
	// matcher at a time (the lease holder) decides.
	Tickets TicketStore
	// LeaseTTL is how long the matcher lease lasts unless renewed (each
	// pass renews it); default 3×Interval. A matcher that dies is replaced
	// within it.
	LeaseTTL time.Duration
}

// Service serves the matchmaking API and runs the matcher. Create it with
// New; it is safe for concurrent use. Close stops the matcher.
type Service struct {
	cfg      Config
	log      *slog.Logger
	clock    clockwork.Clock
	modes    map[string]*Mode
	names    []string // mode names, sorted
	publicWS string   // from Config.PublicURL; "" derives it per request
	nodeWS   string   // publicWS, else Config.NodeWSURL: for matched tickets
	apiKey   [32]byte // SHA-256 of Config.APIKey, compared in constant time
	idem     *idempotency
	lim      *limiter
	mux      *http.ServeMux

	store  TicketStore
	holder string     // this Service's matcher lease holder ID (random)
	passMu sync.Mutex // serializes the passes of this Service (the matcher goroutine and RunPass)
	leadAt time.Time  // when this Service last took or renewed the lease; guarded by passMu

	mu    sync.Mutex               // guards stats
	stats map[string]*modeCounters // per mode: what this Service did

	closed atomic.Bool // set by Close; read without s.mu, so quick match never waits for a matcher pass
	// draining is set by Drain: endpoints that reserve answer 503.
	draining atomic.Bool
	stopOnce sync.Once
	stop     chan struct{} // closed by Close
	wg       sync.WaitGroup
}

// New validates cfg and returns a Service whose matcher is running.
func New(cfg Config) (*Service, error) {
	if cfg.Rooms == nil {
		return nil, errors.New("matchmaking: Config.Rooms is required")
	}
	if cfg.Tokens == nil {
		return nil, errors.New("matchmaking: Config.Tokens is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = 5
	}
	if cfg.RateBurst == 0 {
		cfg.RateBurst = 10
	}
	if cfg.IdempotencyTTL == 0 {
		cfg.IdempotencyTTL = 15 * time.Second
	}
	if cfg.Retention == 0 {
		cfg.Retention = 5 * time.Minute
	}
	if cfg.LeaseTTL == 0 {
		cfg.LeaseTTL = 3 * cfg.Interval
	}
	if cfg.Tickets == nil {
		cfg.Tickets = NewMemoryTicketStore()
	}
	switch {
	case cfg.Interval < 0, cfg.IdempotencyTTL < 0, cfg.Retention < 0, cfg.LeaseTTL < 0:
		return nil, errors.New("matchmaking: Interval, IdempotencyTTL, Retention and LeaseTTL must be positive")
	case cfg.RateLimit < 0 || cfg.RateBurst < 0:
		return nil, errors.New("matchmaking: RateLimit and RateBurst must be positive")
	case cfg.APIKey != "" && len(cfg.APIKey) < 16:
		return nil, errors.New("matchmaking: Config.APIKey must be at least 16 bytes")
	}
	s := &Service{cfg: cfg, log: cfg.Logger, clock: cfg.Clock, modes: map[string]*Mode{},
		idem: newIdempotency(), lim: newLimiter(cfg.RateLimit, cfg.RateBurst),
		store: cfg.Tickets, holder: "m" + newTicketID()[1:], stats: map[string]*modeCounters{}, stop: make(chan struct{})}
	if cfg.APIKey != "" {
		s.apiKey = sha256.Sum256([]byte(cfg.APIKey))
	}
	for _, m := range cfg.Modes {
		m, err := m.withDefaults()
		if err != nil {
			return nil, err
		}
		if _, dup := s.modes[m.Name]; dup {
			return nil, fmt.Errorf("matchmaking: mode %q configured twice", m.Name)
		}
		if !cfg.Rooms.HasType(m.Name) {
			return nil, fmt.Errorf("matchmaking: mode %q is not a room type", m.Name)
		}
		s.modes[m.Name] = &m
		s.names = append(s.names, m.Name)
		s.stats[m.Name] = &modeCounters{}
	}
	slices.Sort(s.names)
	if cfg.PublicURL != "" {
		ws, err := PublicWSURL(cfg.PublicURL)
		if err != nil {
			return nil, err
		}
		s.publicWS = ws
	}
	s.nodeWS = s.publicWS
	if s.nodeWS == "" {
		s.nodeWS = cfg.NodeWSURL
	}
	s.routes()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.run()
	}()
	return s, nil
}

// PublicWSURL turns a public base URL (http, https, ws or wss, no query,
// fragment or user) into the WebSocket URL: scheme ws or wss, "/ws"
// appended to its path.
func PublicWSURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("matchmaking: public URL %q is not an absolute URL", base)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("matchmaking: public URL %q: scheme must be http, https, ws or wss", base)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("matchmaking: public URL %q must have no query, fragment or user", base)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/ws"
	u.RawPath = ""
	return u.String(), nil
}

// Handler returns the API's handler, to be mounted at the root of the
// server's mux for paths under /v1/ (server.Config.API).
func (s *Service) Handler() http.Handler { return s.mux }

// Close stops the matcher and waits for it, then gives up the matcher
// lease so that another node's matcher takes over at once. Afterwards
// every endpoint answers 503 shutting_down; queued tickets stay as they
// are (in the store).
func (s *Service) Close() {
	s.closed.Store(true)
	s.stopMatcher()
}

// Drain stops reserving through this node, for a graceful shutdown: from
// now on the endpoints that reserve seats or queue tickets (join-or-create,
// create, join, POST tickets, POST reservations) answer 503
// shutting_down, and the matcher stops and gives up its lease so another
// node's matcher takes over at once. Listings, ticket status and
// cancellation still answer. It waits for a matcher pass in progress.
// Safe for concurrent use; idempotent; Close still follows.
func (s *Service) Drain() {
	s.draining.Store(true)
	s.stopMatcher()
}

// stopMatcher stops the matcher goroutine, waits for it, and gives up the
// matcher lease (once).
func (s *Service) stopMatcher() {
	s.stopOnce.Do(func() {
		close(s.stop)
		s.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := s.store.Resign(ctx, s.holder); err != nil {
			s.log.Warn("matchmaking: cannot give up the matcher lease; it expires by itself", "err", err)
		}
	})
	s.wg.Wait()
}

// run is the matcher goroutine: one pass per interval until Close.
func (s *Service) run() {
	t := s.clock.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.Chan():
			s.pass()
		}
	}
}

// RunPass runs one matcher pass now, on the caller's goroutine, as the
// matcher goroutine does every Interval: if this Service holds (or takes)
// the matcher lease, it expires, matches, seats and commits the queued
// tickets of every mode and pushes `matched`. It returns how many matches
// it committed. Passes of one Service never overlap; RunPass is for tests
// and tools that step the matcher themselves (a long Interval).
func (s *Service) RunPass() int { return len(s.pass()) }

// pass runs the matcher once over every mode, if this Service holds the
// matcher lease, then pushes `matched` to the players of the matches it
// made and forgets stale idempotency entries and rate limiters. No lock
// but passMu is held while it waits on the store or the rooms.
func (s *Service) pass() []*match {
	s.passMu.Lock()
	defer s.passMu.Unlock()
	now := s.clock.Now()
	ctx := context.Background() // each store call and reservation has its own deadline
	var made []*match
	lead, err := s.store.Lead(ctx, s.holder, now, s.cfg.LeaseTTL)
	switch {
	case err != nil:
		s.log.Warn("matchmaking: cannot take the matcher lease; no matching this pass", "err", err)
	case lead:
		s.leadAt = now
		for _, name := range s.names {
			mm, err := s.passMode(ctx, s.modes[name], now)
			made = append(made, mm...)
			if errors.Is(err, ErrTicketLeaseLost) {
				s.log.Info("matchmaking: another matcher holds the lease; this pass stops", "mode", name)
				break
			}
			if err != nil {
				s.log.Warn("matchmaking: matcher pass failed", "mode", name, "err", err)
			}
		}
		if err := s.store.Forget(ctx, now.Add(-s.cfg.Retention)); err != nil {
			s.log.Warn("matchmaking: cannot forget ended tickets", "err", err)
		}
	}
	if s.cfg.Notify != nil {
		for _, m := range made {
			s.push(m)
		}
	}
	s.idem.sweep(now)
	s.lim.sweep(now)
	return made
}
