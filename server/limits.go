package server

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/tickroom/tickroom/netcode"
	"golang.org/x/time/rate"
)

// Limit is a token bucket: Rate events per second on average, Burst at
// once. The zero Limit means "take the default"; a negative Rate means no
// limit.
type Limit struct {
	Rate  float64
	Burst int
}

func (l Limit) orDefault(d Limit) Limit {
	if l.Rate == 0 {
		return d
	}
	if l.Burst <= 0 {
		l.Burst = max(1, int(math.Ceil(l.Rate)))
	}
	return l
}

func (l Limit) limiter() *rate.Limiter {
	if l.Rate < 0 {
		return rate.NewLimiter(rate.Inf, 0)
	}
	return rate.NewLimiter(rate.Limit(l.Rate), l.Burst)
}

// Limits are the per-connection message budgets (docs/PROTOCOL.md §8).
// Zero fields take the defaults of DefaultLimits. A message over its
// budget is dropped and answered with error rate_limited; a connection
// whose rejected messages of one kind exceed AbuseFactor times that kind's
// budget (rate and burst; default 2) is closed with 4529.
type Limits struct {
	Input   Limit // input (default 120/s, burst 240; the room also keeps at most 16 per player)
	Ack     Limit // ack (default 120/s, burst 240)
	Msg     Limit // msg, direct messages (default 10/s, burst 20)
	Ping    Limit // ping (default 5/s, burst 10)
	Session Limit // join, resume and leave together (default 2/s, burst 6)
	// AbuseFactor scales the second bucket that rejected messages draw
	// from; when it is empty too, the connection is closed (default 2).
	AbuseFactor float64
}

// DefaultLimits are the budgets used for zero fields of Limits.
var DefaultLimits = Limits{
	Input:       Limit{Rate: 120, Burst: 240},
	Ack:         Limit{Rate: 120, Burst: 240},
	Msg:         Limit{Rate: 10, Burst: 20},
	Ping:        Limit{Rate: 5, Burst: 10},
	Session:     Limit{Rate: 2, Burst: 6},
	AbuseFactor: 2,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	l.Input = l.Input.orDefault(d.Input)
	l.Ack = l.Ack.orDefault(d.Ack)
	l.Msg = l.Msg.orDefault(d.Msg)
	l.Ping = l.Ping.orDefault(d.Ping)
	l.Session = l.Session.orDefault(d.Session)
	if l.AbuseFactor <= 0 {
		l.AbuseFactor = d.AbuseFactor
	}
	return l
}

// budget is one message kind's pair of buckets on one connection. Owned by
// the connection's reader goroutine (rate.Limiter is itself safe).
type budget struct {
	ok, excess *rate.Limiter
}

func newBudget(l Limit, factor float64) budget {
	b := budget{ok: l.limiter()}
	if l.Rate < 0 {
		b.excess = rate.NewLimiter(rate.Inf, 0)
	} else {
		b.excess = rate.NewLimiter(rate.Limit(l.Rate*factor), max(1, int(float64(l.Burst)*factor)))
	}
	return b
}

// take reports whether a message may pass (allowed) and, when it may not,
// whether the connection has gone beyond the abuse bound (abusive).
func (b *budget) take(now time.Time) (allowed, abusive bool) {
	if b.ok.AllowN(now, 1) {
		return true, false
	}
	return false, !b.excess.AllowN(now, 1)
}

// budgets are one connection's budgets by message kind.
type budgets struct {
	input, ack, msg, ping, session budget
}

func newBudgets(l Limits) *budgets {
	f := l.AbuseFactor
	return &budgets{
		input:   newBudget(l.Input, f),
		ack:     newBudget(l.Ack, f),
		msg:     newBudget(l.Msg, f),
		ping:    newBudget(l.Ping, f),
		session: newBudget(l.Session, f),
	}
}

// of returns the budget of message type t (nil: not limited here).
func (b *budgets) of(t netcode.MsgType) (*budget, string) {
	switch t {
	case netcode.MsgInput:
		return &b.input, "input"
	case netcode.MsgAck:
		return &b.ack, "ack"
	case netcode.MsgMsg:
		return &b.msg, "msg"
	case netcode.MsgPing:
		return &b.ping, "ping"
	case netcode.MsgJoin, netcode.MsgResume, netcode.MsgLeave:
		return &b.session, "session"
	}
	return nil, ""
}

// clientIP is the address a request came from: the host part of
// RemoteAddr. Proxy headers (X-Forwarded-For) are not trusted: behind a
// proxy every client shares the proxy's address, so per-address limits
// must then be raised or disabled (docs/API.md).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// keyedLimiter is a rate limit per key (client address) plus one for all
// keys together. Safe for concurrent use.
type keyedLimiter struct {
	per   Limit
	total *rate.Limiter

	mu   sync.Mutex // guards keys
	keys map[string]*rate.Limiter
}

// maxKeys bounds the per-address map; beyond it, limiters at full burst
// (idle long enough to have refilled) are forgotten.
const maxKeys = 10000

func newKeyedLimiter(per, total Limit) *keyedLimiter {
	return &keyedLimiter{per: per, total: total.limiter(), keys: map[string]*rate.Limiter{}}
}

// allow takes one token for key and one from the total; when either is
// empty it takes nothing and returns how long to wait (scope says which
// limit refused: "address" or "total").
func (k *keyedLimiter) allow(key string, now time.Time) (wait time.Duration, scope string) {
	if k.per.Rate < 0 {
		return k.reserve(k.total, now), "total"
	}
	k.mu.Lock()
	l, ok := k.keys[key]
	if !ok {
		if len(k.keys) >= maxKeys {
			for key, l := range k.keys {
				if l.TokensAt(now) >= float64(k.per.Burst) {
					delete(k.keys, key)
				}
			}
		}
		l = k.per.limiter()
		k.keys[key] = l
	}
	k.mu.Unlock()
	r := l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, "address"
	}
	if d := k.reserve(k.total, now); d > 0 {
		r.CancelAt(now)
		return d, "total"
	}
	return 0, ""
}

func (k *keyedLimiter) reserve(l *rate.Limiter, now time.Time) time.Duration {
	r := l.ReserveN(now, 1)
	if !r.OK() {
		return time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

// retryAfter formats a wait for the Retry-After header: whole seconds,
// rounded up, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// connCounter counts open WebSocket connections per client address and in
// total, against caps. Safe for concurrent use.
type connCounter struct {
	perIP, total int // caps; < 0: none

	mu   sync.Mutex // guards byIP and n
	byIP map[string]int
	n    int
}

// acquire counts one connection from ip, or reports which cap refused it.
func (c *connCounter) acquire(ip string) (ok bool, scope string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.total >= 0 && c.n >= c.total {
		return false, "total"
	}
	if c.perIP >= 0 && c.byIP[ip] >= c.perIP {
		return false, "address"
	}
	c.n++
	c.byIP[ip]++
	return true, ""
}

func (c *connCounter) release(ip string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n--
	if c.byIP[ip]--; c.byIP[ip] <= 0 {
		delete(c.byIP, ip)
	}
}
