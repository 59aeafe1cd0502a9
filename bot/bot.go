// Package bot runs headless players against a tickroom server. Each bot
// fetches a guest token, dials, joins a room, sends one input per tick on
// a drift-free schedule while the client SDK (netcode/client) verifies the
// checksum of every frame, then leaves. Run aggregates what the bots saw
// into a Summary: it is the load generator behind `tickroom bot` and the
// driver of the end-to-end acceptance test.
package bot

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

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
)

// Timeouts of a bot's steps.
const (
	connectTimeout = 30 * time.Second // token + dial + join
	leaveTimeout   = 5 * time.Second
)

// Config configures Run. Zero fields take the documented defaults.
type Config struct {
	// URL is the server's HTTP base URL (the WebSocket endpoint is derived
	// from it). Default DefaultURL.
	URL string
	// Bots is the number of bots. Default DefaultBots.
	Bots int
	// Room is the room type to join. Default DefaultRoom.
	Room string
	// Duration is how long each bot sends inputs after it joined.
	// Default DefaultDuration.
	Duration time.Duration
	// Rate is the inputs per second of each bot. Default DefaultRate.
	Rate float64
	// Seed seeds every bot's random source (its schedule phase and its
	// directions); bot i uses the stream (Seed, i). Default DefaultSeed.
	Seed uint64
	// Dials bounds the bots connecting (token, dial, join) at the same
	// time. Default DefaultDials.
	Dials int
	// Logger; nil discards.
	Logger *slog.Logger

	// AfterPlay, if set, is called on each bot's goroutine once its input
	// loop has stopped, before it leaves, with the bot's number and its
	// still-connected client (whose replica keeps following the room). It
	// is called concurrently by many bots. A non-nil error counts as an
	// error in the Summary. Tests use it to compare replicas with the
	// server's state.
	AfterPlay func(ctx context.Context, bot int, c *client.Client) error
}

// Flags registers the flags of `tickroom bot` that set c: --url, --bots,
// --room, --duration, --rate, --seed and --dials, with the defaults above.
func (c *Config) Flags(fs *flag.FlagSet) {
	fs.StringVar(&c.URL, "url", DefaultURL, "server HTTP base URL (the WebSocket URL is derived from it)")
	fs.IntVar(&c.Bots, "bots", DefaultBots, "number of bots")
	fs.StringVar(&c.Room, "room", DefaultRoom, "room type to join")
	fs.DurationVar(&c.Duration, "duration", DefaultDuration, "how long each bot plays after joining")
	fs.Float64Var(&c.Rate, "rate", DefaultRate, "inputs per second per bot")
	fs.Uint64Var(&c.Seed, "seed", DefaultSeed, "seed of the bots' random choices")
	fs.IntVar(&c.Dials, "dials", DefaultDials, "bots connecting at the same time, at most")
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
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
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

// Summary is what the bots saw, aggregated. It marshals to the JSON object
// printed by `tickroom bot`.
type Summary struct {
	Bots             int     `json:"bots"`
	Connected        int     `json:"connected"`          // bots that joined a room
	Rooms            int     `json:"rooms"`              // distinct room IDs joined
	Snapshots        uint64  `json:"snapshots"`          // full frames received
	Deltas           uint64  `json:"deltas"`             // delta frames received
	BytesReceived    uint64  `json:"bytes_received"`     // payload bytes of all server messages
	Frames           uint64  `json:"frames"`             // frames received
	FramesPerSecond  float64 `json:"frames_per_s"`       // all bots' frames per second of the run
	FrameRate        float64 `json:"frame_hz"`           // frames per second per bot while seated
	AvgDeltaBytes    float64 `json:"avg_delta_bytes"`    // bytes per delta frame
	AvgSnapshotBytes float64 `json:"avg_snapshot_bytes"` // bytes per full frame
	Events           uint64  `json:"events"`             // room events received
	Desyncs          uint64  `json:"desyncs"`            // frames whose checksum did not match, or whose base was missing
	Errors           uint64  `json:"errors"`             // failed connects, error messages, unexpected leaves and closes, failed sends
	FirstError       string  `json:"first_error,omitempty"`
	InputsSent       uint64  `json:"inputs_sent"`
	InputsLate       uint64  `json:"inputs_late"` // schedule slots skipped because a bot fell behind
	DurationS        float64 `json:"duration_s"`  // wall time of the run
}

// OK reports whether every bot connected and nothing went wrong: no desync
// and no error.
func (s Summary) OK() bool {
	return s.Connected == s.Bots && s.Desyncs == 0 && s.Errors == 0
}

// Run runs cfg.Bots bots to completion and returns their Summary. The bots
// start together; at most cfg.Dials connect at a time. Each plays for
// cfg.Duration after joining, then leaves and closes. When ctx ends, bots
// stop early (still leaving cleanly) and the Summary covers what ran; bots
// that had not connected yet are not counted as errors but leave
// Connected short of Bots. Run returns an error only for an invalid Config,
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
	start := time.Now()
	sem := make(chan struct{}, cfg.Dials)
	results := make([]result, cfg.Bots)
	var wg sync.WaitGroup
	for i := range cfg.Bots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := &bot{cfg: &cfg, ws: wsURL, n: i, log: cfg.Logger.With("bot", i),
				rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i)))}
			results[i] = b.run(ctx, sem)
		}()
	}
	wg.Wait()
	return summarize(cfg, results, time.Since(start)), nil
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
}

func (r *result) fail(err error) {
	r.errors++
	if r.firstErr == nil {
		r.firstErr = err
	}
}

func summarize(cfg Config, results []result, d time.Duration) Summary {
	s := Summary{Bots: cfg.Bots, DurationS: d.Seconds()}
	rooms := map[string]bool{}
	var snapBytes, deltaBytes uint64
	var seated time.Duration
	for _, r := range results {
		if r.connected {
			s.Connected++
			rooms[r.room] = true
		}
		s.Snapshots += r.stats.Snapshots
		s.Deltas += r.stats.Deltas
		s.BytesReceived += r.stats.BytesReceived
		s.Frames += r.stats.Frames
		s.Events += r.stats.Events
		s.Desyncs += r.stats.Desyncs
		s.InputsSent += r.stats.InputsSent
		s.InputsLate += r.late
		s.Errors += r.errors
		if s.FirstError == "" && r.firstErr != nil {
			s.FirstError = r.firstErr.Error()
		}
		snapBytes += r.stats.SnapshotBytes
		deltaBytes += r.stats.DeltaBytes
		seated += r.seated
	}
	s.Rooms = len(rooms)
	s.AvgSnapshotBytes = ratio(snapBytes, s.Snapshots)
	s.AvgDeltaBytes = ratio(deltaBytes, s.Deltas)
	if d > 0 {
		s.FramesPerSecond = round2(float64(s.Frames) / d.Seconds())
	}
	if seated > 0 {
		s.FrameRate = round2(float64(s.Frames) / seated.Seconds())
	}
	s.DurationS = round2(s.DurationS)
	return s
}

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return round2(float64(a) / float64(b))
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// bot is one headless player. Its fields are owned by its goroutine.
type bot struct {
	cfg *Config
	ws  string
	n   int
	log *slog.Logger
	rng *rand.Rand

	unexpectedLeft atomic.Pointer[string] // reason of a left the bot did not ask for
}

// run connects, plays, and leaves; it returns the bot's outcome.
func (b *bot) run(ctx context.Context, sem chan struct{}) (r result) {
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return r
	}
	c, info, err := b.connect(ctx)
	<-sem
	if err != nil {
		if ctx.Err() == nil {
			b.log.Warn("bot: connect failed", "err", err)
			r.fail(err)
		}
		return r
	}
	r.connected, r.room = true, info.RoomID
	seatedAt := time.Now()

	r.late, err = b.play(ctx, c)
	if err != nil {
		r.fail(err)
	}
	if b.cfg.AfterPlay != nil {
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
	if n := r.stats.Errors + r.stats.Malformed; n > 0 {
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

// connect fetches a token, dials and joins.
func (b *bot) connect(ctx context.Context) (*client.Client, client.JoinInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	name := fmt.Sprintf("bot-%d", b.n)
	token, _, err := client.GuestToken(ctx, b.cfg.URL, name)
	if err != nil {
		return nil, client.JoinInfo{}, fmt.Errorf("bot %d: %w", b.n, err)
	}
	c, err := client.Dial(ctx, client.Config{
		URL:    b.ws,
		Token:  token,
		Logger: b.log,
		OnError: func(e *client.ServerError) {
			b.log.Warn("bot: server error", "code", e.Code, "message", e.Message, "ref", e.Ref.String())
		},
		OnLeft: func(room, reason string) {
			if reason != "leave" {
				b.unexpectedLeft.CompareAndSwap(nil, &reason)
			}
		},
	})
	if err != nil {
		return nil, client.JoinInfo{}, fmt.Errorf("bot %d: %w", b.n, err)
	}
	info, err := c.Join(ctx, b.cfg.Room, "")
	if err != nil {
		_ = c.Close()
		return nil, client.JoinInfo{}, fmt.Errorf("bot %d: join %q: %w", b.n, b.cfg.Room, err)
	}
	return c, info, nil
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
