// Package bot runs headless players against a tickroom server. Each bot
// fetches a guest token, gets a seat through the matchmaking API (or a
// direct join), sends one input per tick on a drift-free schedule while the
// client SDK (netcode/client) verifies the checksum of every frame, then
// leaves. Run aggregates what the bots saw into a Summary: it is the load
// generator behind `tickroom bot` and the driver of the end-to-end
// acceptance tests.
//
// Matchmaking (Config.Matchmaking): quick (the default) reserves a seat
// with join-or-create, dials the reservation's ws_url and takes the seat;
// ticket dials, queues a ticket with a rating drawn from the bot's seeded
// source and takes the seat of its match (pushed, or polled); direct joins
// by room type over the WebSocket without the API.
//
// Chaos: with Config.ChaosKillRate, ChaosSilentRate or ChaosDMFloodRate
// set, a chaos goroutine kills the sockets of playing bots abruptly, makes
// them go silent, or has them flood another bot with direct messages, and
// the Summary tells whether the SDK's automatic reconnection (on by
// default in bots) took every seat back with a replica in sync and no room
// event lost.
package bot

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/netcode/client"
)

// Defaults of Config.
const (
	DefaultURL      = "http://127.0.0.1:8080"
	DefaultBots     = 10
	DefaultRoom     = "arena"
	DefaultDuration = 10 * time.Second
	DefaultRate     = 20
	DefaultSeed     = 1
	DefaultDials    = 25

	DefaultChaosDMBurst = 150
	DefaultChaosDMSize  = 1000
)

// Timeouts of a bot's steps.
const (
	connectTimeout = 30 * time.Second // token + reservation + dial + join; for tickets: token + dial + ticket, then the seat
	leaveTimeout   = 5 * time.Second
)

// Matchmaking modes (Config.Matchmaking).
const (
	// MatchQuick: POST /v1/matchmake/join-or-create {mode: Room}, dial the
	// reservation's ws_url, take the seat (JoinSeat).
	MatchQuick = "quick"
	// MatchTicket: dial, POST /v1/matchmaking/tickets {mode: Room, rating},
	// wait for the match (the pushed `matched`, or polling the ticket),
	// take the seat. Room must be a mode with a ticket queue.
	MatchTicket = "ticket"
	// MatchDirect: dial and `join` by room type, without the API.
	MatchDirect = "direct"
)

// Defaults of the matchmaking fields of Config.
const (
	DefaultMatchmaking = MatchQuick
	// DefaultMatchTimeout exceeds the server's default ticket TTL (2 min):
	// the server ends a ticket before a bot gives up on it.
	DefaultMatchTimeout = 3 * time.Minute
	DefaultRatingMean   = 1500
	DefaultRatingStdDev = 300
)

// DefaultReconnectWindow is how long a bot keeps trying to reconnect: the
// server's default grace window.
const DefaultReconnectWindow = client.DefaultReconnectWindow

// Config configures Run. Zero fields take the documented defaults.
type Config struct {
	// URL is the server's HTTP base URL (the WebSocket endpoint is derived
	// from it). Default DefaultURL.
	URL string
	// Bots is the number of bots. Default DefaultBots.
	Bots int
	// Room is the room type to join (the matchmaking mode). Default
	// DefaultRoom.
	Room string
	// Matchmaking is how a bot gets its seat: MatchQuick, MatchTicket or
	// MatchDirect. Default DefaultMatchmaking.
	//
	// In ticket mode a bot whose ticket the server expires (no match
	// within the mode's ticket TTL) is not an error: the server's matcher
	// lets a ticket expire only when the mode cannot match it (fewer
	// players waiting than the mode's minimum, ratings beyond its widest
	// window), so it is counted in Summary.TicketsExpired and the bot does
	// not play. A ticket the API refuses (e.g. 404 unknown_mode: the mode
	// has no queue, so it can match no one), a wait beyond MatchTimeout,
	// a lost connection and a seat that cannot be taken are errors.
	Matchmaking string
	// MatchTimeout bounds a ticket bot's wait for its match; then it
	// cancels the ticket and counts an error. Default DefaultMatchTimeout.
	MatchTimeout time.Duration
	// RatingMean and RatingStdDev shape the ticket ratings: normal,
	// drawn from each bot's seeded source and rounded. Defaults
	// DefaultRatingMean, DefaultRatingStdDev; RatingStdDev < 0 gives every
	// bot RatingMean.
	RatingMean, RatingStdDev float64
	// Duration is how long each bot sends inputs after it joined.
	// Default DefaultDuration.
	Duration time.Duration
	// Rate is the inputs per second of each bot. Default DefaultRate.
	Rate float64
	// Seed seeds every bot's random source (its schedule phase and its
	// directions); bot i uses the stream (Seed, i). Default DefaultSeed.
	Seed uint64
	// Dials bounds the bots connecting (token, reservation, dial, join)
	// at the same time; a ticket bot gives its slot up once its ticket is
	// queued. Default DefaultDials.
	Dials int
	// Logger; nil discards.
	Logger *slog.Logger

	// ChaosKillRate is the fraction of the playing bots whose socket is
	// killed abruptly (no close frame: client.KillConnection) per second;
	// 0: none. Victims are drawn from a random source seeded by Seed.
	ChaosKillRate float64
	// ChaosSilentRate is the fraction of the playing bots that go silent
	// (client.GoSilent: no reads, no pongs, no writes) per second; 0: none.
	ChaosSilentRate float64
	// ChaosSilence is how long a silent bot stays silent; 0: uniformly
	// random in [2s, 6s). Longer than the server's heartbeat timeout
	// (15 s by default), it makes the server close the connection (4001)
	// and the bot resume.
	ChaosSilence time.Duration
	// ChaosDMFloodRate is the fraction of the playing bots per second that
	// flood another playing bot (drawn at random) with a burst of
	// ChaosDMBurst direct messages of ChaosDMSize bytes sent to its player
	// ID, as an abusive player would; 0: none. The server's `error`
	// answers to the flooder's messages (the victim offline, rate limits)
	// are counted in Summary.ChaosDMErrors, not as errors; what matters is
	// that the victim keeps playing.
	ChaosDMFloodRate float64
	// ChaosDMBurst is how many messages a flood sends; default 150.
	ChaosDMBurst int
	// ChaosDMSize is the payload size of a flood's messages in bytes;
	// default 1000 (the largest string PROTOCOL allows is 4 KiB).
	ChaosDMSize int
	// NoReconnect turns the SDK's automatic reconnection off (a lost
	// connection is then an error).
	NoReconnect bool
	// ReconnectWindow is how long a bot keeps trying to reconnect.
	// Default DefaultReconnectWindow.
	ReconnectWindow time.Duration
	// ReconnectURL, if set, is where a seated bot's reconnections dial (a
	// load balancer, or another node of a cluster): a seat held by
	// another node is then reached through a redirect.
	ReconnectURL string

	// OnPlay, if set, is called on each bot's goroutine when it is seated
	// and starts its input loop, with the bot's number. It is called
	// concurrently by many bots and must not block. Tests use it to strike
	// while the bots play.
	OnPlay func(bot int)
	// AfterPlay, if set, is called on each bot's goroutine once its input
	// loop has stopped, before it leaves, with the bot's number and its
	// still-connected client (whose replica keeps following the room). It
	// is called concurrently by many bots. A non-nil error counts as an
	// error in the Summary. Tests use it to compare replicas with the
	// server's state.
	AfterPlay func(ctx context.Context, bot int, c *client.Client) error
}

// Flags registers the flags of `tickroom bot` that set c: --url, --bots,
// --room, --matchmaking, --match-timeout, --rating-mean, --rating-stddev,
// --duration, --rate, --seed, --dials, --chaos-kill-rate,
// --chaos-silent-rate, --chaos-silence, --chaos-dm-flood-rate,
// --chaos-dm-burst, --chaos-dm-size, --no-reconnect and --reconnect-window,
// with the defaults above.
func (c *Config) Flags(fs *flag.FlagSet) {
	fs.StringVar(&c.URL, "url", DefaultURL, "server HTTP base URL (the matchmaking API; direct and ticket bots dial the WebSocket derived from it)")
	fs.IntVar(&c.Bots, "bots", DefaultBots, "number of bots")
	fs.StringVar(&c.Room, "room", DefaultRoom, "room type to join (the matchmaking mode)")
	fs.StringVar(&c.Matchmaking, "matchmaking", DefaultMatchmaking,
		"how bots get seats: quick (join-or-create reservation), ticket (queue with a rating, seat when matched) or direct (join by room type, no API)")
	fs.DurationVar(&c.MatchTimeout, "match-timeout", DefaultMatchTimeout, "ticket mode: how long a bot waits for its match")
	fs.Float64Var(&c.RatingMean, "rating-mean", DefaultRatingMean, "ticket mode: mean of the bots' normal rating distribution")
	fs.Float64Var(&c.RatingStdDev, "rating-stddev", DefaultRatingStdDev, "ticket mode: standard deviation of the bots' ratings (negative: all equal)")
	fs.DurationVar(&c.Duration, "duration", DefaultDuration, "how long each bot plays after joining")
	fs.Float64Var(&c.Rate, "rate", DefaultRate, "inputs per second per bot")
	fs.Uint64Var(&c.Seed, "seed", DefaultSeed, "seed of the bots' random choices")
	fs.IntVar(&c.Dials, "dials", DefaultDials, "bots connecting at the same time, at most")
	fs.Float64Var(&c.ChaosKillRate, "chaos-kill-rate", 0, "fraction of playing bots whose socket is killed abruptly per second")
	fs.Float64Var(&c.ChaosSilentRate, "chaos-silent-rate", 0, "fraction of playing bots that go silent per second")
	fs.DurationVar(&c.ChaosSilence, "chaos-silence", 0, "how long a silent bot stays silent (0: random in [2s, 6s))")
	fs.Float64Var(&c.ChaosDMFloodRate, "chaos-dm-flood-rate", 0, "fraction of playing bots per second that flood another bot with direct messages")
	fs.IntVar(&c.ChaosDMBurst, "chaos-dm-burst", DefaultChaosDMBurst, "direct messages per flood")
	fs.IntVar(&c.ChaosDMSize, "chaos-dm-size", DefaultChaosDMSize, "payload bytes of each flood message")
	fs.BoolVar(&c.NoReconnect, "no-reconnect", false, "turn the SDK's automatic reconnection off")
	fs.DurationVar(&c.ReconnectWindow, "reconnect-window", DefaultReconnectWindow, "how long a bot keeps trying to reconnect")
	fs.StringVar(&c.ReconnectURL, "reconnect-url", "", "WebSocket URL seated bots reconnect to (e.g. another node of a cluster: seats elsewhere are reached through a redirect); empty: where they joined")
}

// withDefaults validates c and fills in the defaults.
func (c Config) withDefaults() (Config, error) {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if c.Bots == 0 {
		c.Bots = DefaultBots
	}
	if c.Room == "" {
		c.Room = DefaultRoom
	}
	if c.Matchmaking == "" {
		c.Matchmaking = DefaultMatchmaking
	}
	if c.MatchTimeout == 0 {
		c.MatchTimeout = DefaultMatchTimeout
	}
	if c.RatingMean == 0 {
		c.RatingMean = DefaultRatingMean
	}
	if c.RatingStdDev == 0 {
		c.RatingStdDev = DefaultRatingStdDev
	}
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Seed == 0 {
		c.Seed = DefaultSeed
	}
	if c.Dials == 0 {
		c.Dials = DefaultDials
	}
	if c.ReconnectWindow == 0 {
		c.ReconnectWindow = DefaultReconnectWindow
	}
	if c.ChaosDMBurst == 0 {
		c.ChaosDMBurst = DefaultChaosDMBurst
	}
	if c.ChaosDMSize == 0 {
		c.ChaosDMSize = DefaultChaosDMSize
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case c.Matchmaking != MatchQuick && c.Matchmaking != MatchTicket && c.Matchmaking != MatchDirect:
		return c, fmt.Errorf("bot: Matchmaking is %q, must be %q, %q or %q", c.Matchmaking, MatchQuick, MatchTicket, MatchDirect)
	case c.MatchTimeout < 0:
		return c, fmt.Errorf("bot: MatchTimeout is %v, must be positive", c.MatchTimeout)
	case math.IsNaN(c.RatingMean) || math.Abs(c.RatingMean) > maxRating || math.IsNaN(c.RatingStdDev) || c.RatingStdDev > maxRating:
		return c, fmt.Errorf("bot: RatingMean %v and RatingStdDev %v must be within ±%d", c.RatingMean, c.RatingStdDev, maxRating)
	case !(c.ChaosKillRate >= 0 && c.ChaosKillRate <= 1):
		return c, fmt.Errorf("bot: ChaosKillRate is %v, must be in [0, 1]", c.ChaosKillRate)
	case !(c.ChaosSilentRate >= 0 && c.ChaosSilentRate <= 1):
		return c, fmt.Errorf("bot: ChaosSilentRate is %v, must be in [0, 1]", c.ChaosSilentRate)
	case !(c.ChaosDMFloodRate >= 0 && c.ChaosDMFloodRate <= 1):
		return c, fmt.Errorf("bot: ChaosDMFloodRate is %v, must be in [0, 1]", c.ChaosDMFloodRate)
	case c.ChaosDMBurst < 0 || c.ChaosDMBurst > 100000:
		return c, fmt.Errorf("bot: ChaosDMBurst is %d, must be in [0, 100000]", c.ChaosDMBurst)
	case c.ChaosDMSize < 0 || c.ChaosDMSize > 4096:
		return c, fmt.Errorf("bot: ChaosDMSize is %d, must be in [0, 4096]", c.ChaosDMSize)
	case c.ChaosSilence < 0:
		return c, fmt.Errorf("bot: ChaosSilence is %v, must be positive", c.ChaosSilence)
	case c.ReconnectWindow < 0:
		return c, fmt.Errorf("bot: ReconnectWindow is %v, must be positive", c.ReconnectWindow)
	case c.Bots < 0:
		return c, fmt.Errorf("bot: Bots is %d, must be positive", c.Bots)
	case c.Duration < 0:
		return c, fmt.Errorf("bot: Duration is %v, must be positive", c.Duration)
	case !(c.Rate > 0 && c.Rate <= 1000):
		return c, fmt.Errorf("bot: Rate is %v inputs/s, must be in (0, 1000]", c.Rate)
	case c.Dials < 0:
		return c, fmt.Errorf("bot: Dials is %d, must be positive", c.Dials)
	}
	return c, nil
}

// Run runs cfg.Bots bots to completion and returns their Summary. The bots
// start together; at most cfg.Dials connect at a time. Each plays for
// cfg.Duration after joining, then leaves and closes. When ctx ends, bots
// stop early (still leaving cleanly; a queued ticket is cancelled) and the
// Summary covers what ran; bots that had not connected yet are not counted
// as errors but leave Connected short of Bots. Run returns an error only for an invalid Config,
// and returns after every bot goroutine has exited.
func Run(ctx context.Context, cfg Config) (Summary, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Summary{}, err
	}
	wsURL, err := client.WebSocketURL(cfg.URL)
	if err != nil {
		return Summary{}, fmt.Errorf("bot: %w", err)
	}
	// One keep-alive pool for every bot's API requests (ticket polls
	// included), closed when the bots are done.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = max(cfg.Dials, 16)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}

	start := time.Now()
	sem := make(chan struct{}, cfg.Dials)
	results := make([]result, cfg.Bots)
	bots := make([]*bot, cfg.Bots)
	for i := range bots {
		bots[i] = &bot{cfg: &cfg, ws: wsURL, hc: hc, n: i, log: cfg.Logger.With("bot", i),
			rng:     rand.New(rand.NewPCG(cfg.Seed, uint64(i))),
			matched: make(chan client.Matched, 4)}
	}
	var wg sync.WaitGroup
	for i, b := range bots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = b.run(ctx, sem)
		}()
	}
	var chaos chaosCounts
	stop := make(chan struct{})
	var cwg sync.WaitGroup
	if cfg.ChaosKillRate > 0 || cfg.ChaosSilentRate > 0 || cfg.ChaosDMFloodRate > 0 {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			chaos = runChaos(&cfg, bots, stop)
		}()
	}
	wg.Wait()
	close(stop)
	cwg.Wait()
	sum := summarize(cfg, results, time.Since(start))
	sum.ChaosKills, sum.ChaosSilences = chaos.kills, chaos.silences
	sum.ChaosDMFloods, sum.ChaosDMsSent = chaos.floods, chaos.dms
	return sum, nil
}

// result is one bot's outcome.
type result struct {
	connected bool
	room      string
	stats     client.Stats
	errors    uint64
	firstErr  error
	late      uint64
	seated    time.Duration
	conn      connStats
	mm        matchStats
	dms       uint64 // direct messages received
	dmErrors  uint64 // server errors answering the bot's DM floods
}

// connStats are what a bot's client reported through its connection
// callbacks and room events. Written on the client's goroutine, read after
// Close.
type connStats struct {
	resumesOK, resumesSnapshot, resumesFailed uint64
	lost                                      bool
	resync                                    []time.Duration
	resyncRedirected                          []time.Duration // the resumes that followed a redirect
	firstEvent, lastEvent, eventGaps          uint64
	unrecovered                               uint64
	outage                                    bool // an outage in progress (disconnected, not resumed)
}

func (r *result) fail(err error) {
	r.errors++
	if r.firstErr == nil {
		r.firstErr = err
	}
}

// bot is one headless player. Its fields are owned by its goroutine.
type bot struct {
	cfg *Config
	ws  string       // the WebSocket URL derived from cfg.URL (direct and ticket bots dial it)
	hc  *http.Client // for the API; shared by all bots
	n   int
	log *slog.Logger
	rng *rand.Rand
	// matched receives the `matched` pushes of the bot's client (sent
	// without blocking by its reader goroutine).
	matched chan client.Matched

	unexpectedLeft atomic.Pointer[string] // reason of a left the bot did not ask for
	dmsReceived    atomic.Uint64          // direct messages received (chaos floods)
	dmErrors       atomic.Uint64          // server errors answering the bot's DM floods

	mu      sync.Mutex // guards c and playing: chaos strikes only a playing bot
	c       *client.Client
	playing bool

	conn connStats // written by the client's callbacks; read after Close
}

// isPlaying reports whether the bot is in its input loop with its
// connection up: a candidate for chaos.
func (b *bot) isPlaying() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.playing && b.c.Online()
}

// strike runs f on the bot's client if the bot is still playing, and
// reports what f did.
func (b *bot) strike(f func(c *client.Client) bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.playing && f(b.c)
}

func (b *bot) setPlaying(c *client.Client, on bool) {
	b.mu.Lock()
	b.c, b.playing = c, on
	b.mu.Unlock()
}

// run connects, plays, and leaves; it returns the bot's outcome.
func (b *bot) run(ctx context.Context, sem chan struct{}) (r result) {
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return r
	}
	var once sync.Once
	release := func() { once.Do(func() { <-sem }) }
	c, info, err := b.connect(ctx, &r.mm, release)
	release()
	if err != nil {
		if ctx.Err() == nil && !errors.Is(err, errTicketExpired) {
			b.log.Warn("bot: connect failed", "err", err)
			r.fail(err)
		}
		return r
	}
	r.connected, r.room = true, info.RoomID
	seatedAt := time.Now()
	if b.cfg.ReconnectURL != "" {
		c.SetURL(b.cfg.ReconnectURL)
	}

	b.setPlaying(c, true)
	if b.cfg.OnPlay != nil {
		b.cfg.OnPlay(b.n)
	}
	r.late, err = b.play(ctx, c)
	b.setPlaying(c, false) // no more chaos
	if err != nil {
		r.fail(err)
	}
	// A bot struck late may still be reconnecting (or silent): the seat
	// and the replica are checked once it is back.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.ReconnectWindow+leaveTimeout)
	if err := c.WaitOnline(wctx); err != nil && c.Err() == nil {
		r.fail(fmt.Errorf("bot %d: not back online after play: %w", b.n, err))
	}
	cancel()
	if b.cfg.AfterPlay != nil && c.Err() == nil {
		if err := b.cfg.AfterPlay(ctx, b.n, c); err != nil {
			r.fail(fmt.Errorf("bot %d: after play: %w", b.n, err))
		}
	}
	if reason := b.unexpectedLeft.Load(); reason != nil {
		r.fail(fmt.Errorf("bot %d: left room %s: %s", b.n, info.RoomID, *reason))
	} else if c.Err() == nil {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaveTimeout)
		if err := c.Leave(lctx); err != nil {
			r.fail(fmt.Errorf("bot %d: leave: %w", b.n, err))
		}
		cancel()
	}
	r.seated = time.Since(seatedAt)
	if err := c.Err(); err != nil {
		r.fail(fmt.Errorf("bot %d: connection: %w", b.n, err))
	}
	_ = c.Close()
	r.stats = c.Stats()
	r.conn = b.conn // the client's goroutine has exited
	r.dms = b.dmsReceived.Load()
	r.dmErrors = b.dmErrors.Load()
	// Errors answering the bot's own DM floods are chaos, not failures.
	if n := r.stats.Errors - min(r.stats.Errors, r.dmErrors) + r.stats.Malformed; n > 0 {
		r.errors += n
		if r.firstErr == nil {
			r.firstErr = fmt.Errorf("bot %d: %d error or undecodable messages from the server", b.n, n)
		}
	}
	if r.stats.Desyncs > 0 {
		b.log.Warn("bot: desyncs", "n", r.stats.Desyncs)
	}
	return r
}

// connect fetches a token and takes a seat the way cfg.Matchmaking says.
// It calls release once it no longer needs its dial slot (a ticket bot
// waiting for its match does not hold one). mm records the matchmaking.
func (b *bot) connect(ctx context.Context, mm *matchStats, release func()) (*client.Client, client.JoinInfo, error) {
	tctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	name := fmt.Sprintf("bot-%d", b.n)
	token, _, err := client.GuestToken(tctx, b.cfg.URL, name)
	if err != nil {
		return nil, client.JoinInfo{}, fmt.Errorf("bot %d: %w", b.n, err)
	}
	switch b.cfg.Matchmaking {
	case MatchQuick:
		return b.quickSeat(tctx, token, mm)
	case MatchTicket:
		return b.ticketSeat(ctx, token, mm, release)
	}
	c, err := client.Dial(tctx, b.clientConfig(b.ws, token))
	if err != nil {
		return nil, client.JoinInfo{}, fmt.Errorf("bot %d: %w", b.n, err)
	}
	info, err := c.Join(tctx, b.cfg.Room, "")
	if err != nil {
		_ = c.Close()
		return nil, client.JoinInfo{}, fmt.Errorf("bot %d: join %q: %w", b.n, b.cfg.Room, err)
	}
	return c, info, nil
}

// clientConfig is the SDK configuration of the bot's connection to url.
func (b *bot) clientConfig(url, token string) client.Config {
	cfg := client.Config{
		URL:    url,
		Token:  token,
		Logger: b.log,
		OnError: func(e *client.ServerError) {
			if e.Ref == netcode.MsgMsg {
				// Answers to chaos DM floods (the only `msg` bots send):
				// the victim was offline, or the flooder is limited.
				b.dmErrors.Add(1)
				b.log.Debug("bot: server error answering a DM flood", "code", e.Code, "message", e.Message)
				return
			}
			b.log.Warn("bot: server error", "code", e.Code, "message", e.Message, "ref", e.Ref.String())
		},
		OnLeft: func(room, reason string) {
			if reason != "leave" {
				b.unexpectedLeft.CompareAndSwap(nil, &reason)
			}
		},
		// The callbacks below run on the client's goroutine, one at a
		// time; b.conn is read only after Close.
		OnEvent: b.conn.event,
		OnMessage: func(string, []byte) {
			b.dmsReceived.Add(1)
		},
		OnDisconnected: func(err error) {
			b.conn.outage = true
			b.log.Debug("bot: disconnected", "err", err)
		},
		OnResumed: b.conn.resumed,
		OnLost: func(err error) {
			b.conn.lost = true
			if b.conn.outage {
				b.conn.resumesFailed++
			}
			b.log.Warn("bot: seat lost", "err", err)
		},
		OnMatched: func(m client.Matched) {
			select {
			case b.matched <- m:
			default: // never expected: a bot has one ticket
			}
		},
	}
	if !b.cfg.NoReconnect {
		cfg.Reconnect = &client.ReconnectPolicy{
			Window: b.cfg.ReconnectWindow,
			// Own source per bot: used only on its client's goroutine.
			Rand: rand.New(rand.NewPCG(b.cfg.Seed, 1<<32|uint64(b.n))).Int64N,
		}
	}
	return cfg
}

// event checks the room events' sequence: arena broadcasts its events to
// the whole room, so from the first event a bot receives to its last,
// every seq must arrive.
func (k *connStats) event(e client.Event) {
	switch {
	case k.firstEvent == 0:
		k.firstEvent = e.Seq
	case e.Seq > k.lastEvent+1:
		k.eventGaps += e.Seq - k.lastEvent - 1
	}
	k.lastEvent = e.Seq
}

// resumed records a successful reconnection.
func (k *connStats) resumed(info client.ResumeInfo) {
	k.outage = false
	if info.Room == "" {
		return // no seat to take back (not expected while playing)
	}
	k.resumesOK++
	if info.Snapshot {
		k.resumesSnapshot++
	}
	if !info.Recovered {
		k.unrecovered++
	}
	k.resync = append(k.resync, info.Duration)
	if info.Redirects > 0 {
		k.resyncRedirected = append(k.resyncRedirected, info.Duration)
	}
}

// play sends inputs for cfg.Duration: one per period on the grid
// start+phase+k·period (a random phase spreads the bots over the tick), a
// unit vector whose direction is redrawn every 0.5–1.5 s. A bot that falls
// behind skips the missed slots instead of bursting; it returns how many.
// It stops early when ctx ends, the connection ends or the seat is gone.
func (b *bot) play(ctx context.Context, c *client.Client) (late uint64, err error) {
	period := time.Duration(float64(time.Second) / b.cfg.Rate)
	start := time.Now()
	end := start.Add(b.cfg.Duration)
	next := start.Add(time.Duration(b.rng.Int64N(int64(period))))
	turn := start
	var dir [2]float64

	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return late, nil
		case <-c.Done():
			return late, nil // reported by run through c.Err
		case <-timer.C:
		}
		now := time.Now()
		if !now.Before(end) || b.unexpectedLeft.Load() != nil {
			return late, nil
		}
		if !now.Before(turn) {
			a := b.rng.Float64() * 2 * math.Pi
			dir = [2]float64{math.Cos(a), math.Sin(a)}
			turn = now.Add(500*time.Millisecond + time.Duration(b.rng.Int64N(int64(time.Second))))
		}
		if _, err := c.SendInput(dir); err != nil {
			if c.Err() != nil || errors.Is(err, client.ErrClosed) {
				return late, nil // the connection ended: reported through c.Err
			}
			if errors.Is(err, client.ErrNotInRoom) && b.unexpectedLeft.Load() != nil {
				return late, nil // reported by run
			}
			return late, fmt.Errorf("bot %d: input: %w", b.n, err)
		}
		var skipped uint64
		next, skipped = nextSlot(next, now, period)
		late += skipped
		timer.Reset(time.Until(next))
	}
}

// nextSlot returns the first slot of the grid prev + k·period (k ≥ 1) that
// is after now, and how many slots before it were missed (already past).
// Scheduling on the grid instead of "now + period" keeps the rate exact:
// timer latency does not accumulate.
func nextSlot(prev, now time.Time, period time.Duration) (next time.Time, skipped uint64) {
	next = prev.Add(period)
	if behind := now.Sub(next); behind >= 0 {
		k := behind/period + 1
		next = next.Add(k * period)
		skipped = uint64(k)
	}
	return next, skipped
}

// playerID returns the player ID of the bot's client while it plays, or "".
func (b *bot) playerID() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.playing || b.c == nil {
		return ""
	}
	return b.c.PlayerID()
}
