package matchmaking

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/tickroom/tickroom/player"
	"golang.org/x/time/rate"
)

// ---- Idempotency-Key ----

// idemKey scopes a key to its caller: two players may use the same key.
type idemKey struct {
	principal string
	key       string
}

// idemEntry is one key's first request: in flight until done is closed,
// then its answer (nil if it failed, in which case the entry is gone).
type idemEntry struct {
	key    idemKey
	fp     [32]byte // SHA-256 of method, path and body
	done   chan struct{}
	answer *idemAnswer // set before done is closed
}

type idemAnswer struct {
	status   int
	location string
	body     []byte
	until    time.Time
}

// idempotency remembers successful answers by (caller, Idempotency-Key).
// A retry while the first request is in flight waits for its answer.
type idempotency struct {
	mu sync.Mutex // guards m; a leaf lock
	m  map[idemKey]*idemEntry
}

func newIdempotency() *idempotency { return &idempotency{m: map[idemKey]*idemEntry{}} }

var errIdemMismatch = apiErr(http.StatusUnprocessableEntity, "idempotency_mismatch", "this Idempotency-Key was used for a different request")

// begin looks k up. owner: k is new, the caller runs the request and must
// call finish with the returned entry. Otherwise the returned entry holds
// the earlier answer to replay. It blocks while an earlier request with k
// is in flight (or until ctx ends).
func (id *idempotency) begin(ctx context.Context, k idemKey, fp [32]byte, clock clockwork.Clock) (e *idemEntry, owner bool, err error) {
	for {
		id.mu.Lock()
		e = id.m[k]
		if e != nil && e.answer != nil && !clock.Now().Before(e.answer.until) {
			delete(id.m, k)
			e = nil
		}
		if e == nil {
			e = &idemEntry{key: k, fp: fp, done: make(chan struct{})}
			id.m[k] = e
			id.mu.Unlock()
			return e, true, nil
		}
		id.mu.Unlock()
		if e.fp != fp {
			return nil, false, errIdemMismatch
		}
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, false, errShuttingDown // the client is gone; nobody reads this
		}
		if e.answer != nil {
			return e, false, nil
		}
		// The first request failed and was forgotten: try again.
	}
}

// finish records the answer of an entry begin gave to its owner, or
// forgets the entry if a is nil (the request failed). e may be nil.
func (id *idempotency) finish(e *idemEntry, a *idemAnswer) {
	if e == nil {
		return
	}
	id.mu.Lock()
	if a != nil {
		e.answer = a
	} else if id.m[e.key] == e {
		delete(id.m, e.key)
	}
	id.mu.Unlock()
	close(e.done)
}

// sweep forgets answers past their time.
func (id *idempotency) sweep(now time.Time) {
	id.mu.Lock()
	for k, e := range id.m {
		if e.answer != nil && !now.Before(e.answer.until) {
			delete(id.m, k)
		}
	}
	id.mu.Unlock()
}

// ---- per-player rate limit ----

// limiter keeps a token bucket per player for the POST endpoints.
type limiter struct {
	limit rate.Limit
	burst int

	mu sync.Mutex // guards m; held only around rate.Limiter calls
	m  map[player.ID]*playerLimit
}

type playerLimit struct {
	l    *rate.Limiter
	last time.Time
}

func newLimiter(limit rate.Limit, burst int) *limiter {
	return &limiter{limit: limit, burst: burst, m: map[player.ID]*playerLimit{}}
}

// allow takes a token of p's bucket at now; if none is left it reports
// how long until one is.
func (l *limiter) allow(p player.ID, now time.Time) (bool, time.Duration) {
	if l.limit == rate.Inf {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	pl := l.m[p]
	if pl == nil {
		pl = &playerLimit{l: rate.NewLimiter(l.limit, l.burst)}
		l.m[p] = pl
	}
	pl.last = now
	r := pl.l.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep forgets the buckets of players idle long enough to have refilled.
func (l *limiter) sweep(now time.Time) {
	l.mu.Lock()
	for p, pl := range l.m {
		if now.Sub(pl.last) > time.Minute && pl.l.TokensAt(now) >= float64(l.burst) {
			delete(l.m, p)
		}
	}
	l.mu.Unlock()
}
