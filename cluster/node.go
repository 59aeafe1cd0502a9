package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"github.com/tickroom/tickroom/room"
)

// Node is this process's membership of the cluster: its lease, its
// directory, its presence and its pub/sub channel. Safe for concurrent
// use. Open starts it; Close stops it.
type Node struct {
	cfg    Config
	id     string
	epoch  string // random per Open: tells this incarnation from earlier ones
	prefix string
	clock  clockwork.Clock
	log    *slog.Logger
	rdb    *redis.Client
	ps     *redis.PubSub
	mini   *miniredis.Miniredis // embedded mode only

	// ctx ends when Close starts; stored because the node's goroutines
	// outlive Open's ctx.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the node starts

	qmu    sync.RWMutex // guards closed against sends on ops
	closed bool
	ops    chan op

	reassertc chan struct{} // cap 1: the writer re-asserts everything
	kick      chan struct{} // cap 1: renew now
	tick      clockwork.Ticker
	renewals  uint64 // renew attempts; renew goroutine only

	dirty      atomic.Bool // a write failed: re-assert after the next renewal
	draining   atomic.Bool // Drain was called: registrations keep the mark
	subscribed atomic.Bool

	mu           sync.Mutex // guards the lease fields below
	leaseUntil   time.Time  // deadline of the last successful renewal
	renewOK      bool       // the last renewal succeeded
	healthySince time.Time  // first of the current run of successful renewals

	stats     counters
	closeOnce sync.Once
}

// Open connects to Redis (or starts the embedded miniredis), subscribes
// the node's channel, waits for the subscription, registers the lease and
// starts the node's goroutines. ctx bounds only the start.
func Open(ctx context.Context, cfg Config) (*Node, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	var eb [8]byte
	_, _ = rand.Read(eb[:])
	n := &Node{cfg: cfg, id: cfg.NodeID, epoch: hex.EncodeToString(eb[:]), prefix: cfg.Prefix, clock: cfg.Clock,
		log: cfg.Logger.With("node", cfg.NodeID), ops: make(chan op, cfg.QueueSize),
		reassertc: make(chan struct{}, 1), kick: make(chan struct{}, 1)}
	url := cfg.URL
	if url == "" {
		n.mini = miniredis.NewMiniRedis()
		if err := n.mini.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("cluster: embedded miniredis: %w", err)
		}
		url = "redis://" + n.mini.Addr() + "/0"
		n.log.Info("cluster: no Redis URL; started an embedded miniredis (single process only)", "addr", n.mini.Addr())
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		n.stopMini()
		return nil, fmt.Errorf("cluster: Redis URL: %w", err)
	}
	opts.MaxRetries = -1 // a retry could run a non-idempotent script twice
	opts.DialTimeout = 750 * time.Millisecond
	opts.DialerRetries = 1 // one dial per call: answers within ~1 s when Redis is gone
	opts.ReadTimeout = cfg.OpTimeout
	opts.WriteTimeout = cfg.OpTimeout
	opts.PoolTimeout = cfg.OpTimeout + 100*time.Millisecond
	opts.ContextTimeoutEnabled = true
	opts.DisableIdentity = true
	opts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	n.rdb = redis.NewClient(opts)

	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.ps = n.rdb.Subscribe(ctx, n.channel(n.id))
	if err := n.awaitSubscribed(ctx); err != nil {
		n.abort()
		return nil, fmt.Errorf("%w: subscribe: %v", room.ErrUnavailable, err)
	}
	n.subscribed.Store(true)
	if err := n.register(ctx); err != nil {
		n.abort()
		return nil, fmt.Errorf("%w: register: %v", room.ErrUnavailable, err)
	}
	n.tick = n.clock.NewTicker(cfg.LeaseTTL / 5)
	n.goFunc(n.readLoop)
	n.goFunc(n.renewLoop)
	n.goFunc(n.writeLoop)
	if n.mini != nil {
		n.goFunc(n.driveMini)
	}
	n.log.Info("cluster: node registered", "ws_url", cfg.WSURL, "epoch", n.epoch, "lease", cfg.LeaseTTL)
	return n, nil
}

func (n *Node) goFunc(f func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
}

// awaitSubscribed waits for the confirmation of the node channel's
// SUBSCRIBE, so no message sent after registration is lost.
func (n *Node) awaitSubscribed(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*n.cfg.OpTimeout+time.Second)
	defer cancel()
	for {
		m, err := n.ps.Receive(ctx)
		if err != nil {
			return err
		}
		if s, ok := m.(*redis.Subscription); ok && s.Kind == "subscribe" {
			return nil
		}
	}
}

func (n *Node) abort() {
	n.cancel()
	_ = n.ps.Close()
	_ = n.rdb.Close()
	n.stopMini()
}

func (n *Node) stopMini() {
	if n.mini != nil {
		n.mini.Close()
	}
}

// driveMini moves the embedded miniredis's key TTLs with real time (they
// only collect garbage; see the package comment).
func (n *Node) driveMini() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-n.ctx.Done():
			return
		case now := <-t.C:
			n.mini.FastForward(now.Sub(last))
			last = now
		}
	}
}

// Close leaves the cluster: it stops the node's goroutines, fails queued
// Dispose calls (done(false)), removes the node's rooms, tokens, presence
// and lease from Redis (listings update at once), and closes the
// connections. Safe to call more than once.
func (n *Node) Close() error { return n.close(true) }

// close stops the node; leave=false simulates a crash (tests).
func (n *Node) close(leave bool) error {
	var err error
	n.closeOnce.Do(func() {
		n.qmu.Lock()
		n.closed = true
		n.qmu.Unlock()
		n.cancel()
		_ = n.ps.Close()
		n.wg.Wait()
		n.tick.Stop()
		n.drainOps()
		if leave {
			ctx, cancel := context.WithTimeout(context.Background(), 2*n.cfg.OpTimeout)
			_, err = scrLeave.Run(ctx, n.rdb, nil, n.args(n.id, n.epoch)...).Result()
			cancel()
			if err != nil {
				err = fmt.Errorf("cluster: leave: %w", err)
			}
		}
		if cerr := n.rdb.Close(); err == nil && cerr != nil && !errors.Is(cerr, redis.ErrClosed) {
			err = cerr
		}
		n.stopMini()
		n.log.Info("cluster: node closed", "left", leave)
	})
	return err
}

// args prepends the prefix and the clock (ms) every script expects.
func (n *Node) args(rest ...any) []any {
	return append([]any{n.prefix, n.clock.Now().UnixMilli()}, rest...)
}

func (n *Node) channel(node string) string { return n.prefix + "n:" + node }

// opCtx bounds one Redis call of a request path.
func (n *Node) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, n.cfg.OpTimeout)
}

// unavailable counts a Redis failure and wraps it as room.ErrUnavailable.
func (n *Node) unavailable(what string, err error) error {
	n.stats.redisErrors.Add(1)
	n.log.Debug("cluster: redis call failed", "op", what, "err", err)
	return fmt.Errorf("%w: %s: %v", room.ErrUnavailable, what, err)
}

// Client is the command client (for tests and tools).
func (n *Node) Client() redis.UniversalClient { return n.rdb }

// Prefix is the key prefix.
func (n *Node) Prefix() string { return n.prefix }

// ID is the node's ID.
func (n *Node) ID() string { return n.id }

// WSURL is the node's public WebSocket URL.
func (n *Node) WSURL() string { return n.cfg.WSURL }

// Directory returns the node's room directory.
func (n *Node) Directory() room.Directory { return (*directory)(n) }

// Healthy reports whether the last lease renewal succeeded, the lease has
// not run out by this node's clock, and the node channel is subscribed.
func (n *Node) Healthy() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.renewOK && n.clock.Now().Before(n.leaseUntil) && n.subscribed.Load()
}
