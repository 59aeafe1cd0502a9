package bot

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/netcode/client"
)

// Timings of the matchmaking steps.
const (
	// ticketPoll is how often a ticket bot reads its ticket while it
	// waits: the fallback when the `matched` push does not come.
	ticketPoll = time.Second
	// cancelTimeout bounds the DELETE of a ticket a bot gives up on.
	cancelTimeout = 5 * time.Second
	// Backoff after a 429 without Retry-After: retryBase·2^(n-1), capped.
	retryBase = 250 * time.Millisecond
	retryCap  = 5 * time.Second
	// maxUnavailableRetries bounds the retries of a request answered
	// 503 or `unavailable` (the cluster store is out or overloaded).
	maxUnavailableRetries = 4
)

// maxRating bounds ticket ratings (the API takes ±1,000,000).
const maxRating = 1_000_000

// errTicketExpired ends a ticket bot whose ticket the server expired: not
// an error (see Config.Matchmaking).
var errTicketExpired = errors.New("bot: ticket expired unmatched")

// Ticket outcomes (matchStats.ticket).
const (
	ticketMatched = "matched"
	ticketExpired = "expired"
)

// matchStats is how a bot got its seat.
type matchStats struct {
	latency time.Duration // first matchmaking API request → seat taken; 0: no seat through the API
	retries uint64        // requests retried after 429
	ticket  string        // ticket mode: ticketMatched, ticketExpired or "" (no outcome)
	pushed  bool          // the match came as the `matched` push (else by polling)
	rating  float64       // the ticket's rating
}

// opts are the API request options of the bot, plus an Idempotency-Key.
func (b *bot) opts(key string) []client.RequestOption {
	return []client.RequestOption{client.WithHTTPClient(b.hc), client.WithIdempotencyKey(key)}
}

// quickSeat reserves a seat with join-or-create, dials the reservation's
// ws_url and takes the seat.
func (b *bot) quickSeat(ctx context.Context, token string, mm *matchStats) (*client.Client, client.JoinInfo, error) {
	start := time.Now()
	var res client.Reservation
	err := b.retry(ctx, mm, func() (err error) {
		res, err = client.JoinOrCreate(ctx, b.cfg.URL, token, b.cfg.Room, nil, b.opts(fmt.Sprintf("bot-%d-quick", b.n))...)
		return err
	})
	if err != nil {
		return nil, client.JoinInfo{}, fmt.Errorf("bot %d: join-or-create %q: %w", b.n, b.cfg.Room, err)
	}
	c, err := client.Dial(ctx, b.clientConfig(res.WSURL, token))
	if err != nil {
		return nil, client.JoinInfo{}, fmt.Errorf("bot %d: %w", b.n, err)
	}
	var info client.JoinInfo
	err = b.retry(ctx, mm, func() (err error) {
		info, err = c.JoinSeat(ctx, res.SeatToken)
		return err
	})
	if err != nil {
		_ = c.Close()
		return nil, client.JoinInfo{}, fmt.Errorf("bot %d: taking the seat in room %s: %w", b.n, res.RoomID, err)
	}
	mm.latency = time.Since(start)
	return c, info, nil
}

// ticketSeat dials (so the match can be pushed), queues a ticket, waits
// for its match and takes the seat. The dial slot is released while it
// waits. A ticket the server expires returns errTicketExpired.
func (b *bot) ticketSeat(ctx context.Context, token string, mm *matchStats, release func()) (*client.Client, client.JoinInfo, error) {
	fail := func(c *client.Client, err error) (*client.Client, client.JoinInfo, error) {
		if c != nil {
			_ = c.Close()
		}
		return nil, client.JoinInfo{}, err
	}
	qctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	c, err := client.Dial(qctx, b.clientConfig(b.ws, token))
	if err != nil {
		return fail(nil, fmt.Errorf("bot %d: %w", b.n, err))
	}
	mm.rating = b.drawRating()
	start := time.Now()
	var tk client.Ticket
	err = b.retry(qctx, mm, func() (err error) {
		req := client.TicketRequest{Mode: b.cfg.Room, Rating: &mm.rating}
		tk, err = client.CreateTicket(qctx, b.cfg.URL, token, req, b.opts(fmt.Sprintf("bot-%d-ticket", b.n))...)
		return err
	})
	if err != nil {
		return fail(c, fmt.Errorf("bot %d: ticket in %q: %w", b.n, b.cfg.Room, err))
	}
	release() // queued: the dial slot goes to the next bot

	seat, wsURL, err := b.awaitMatch(ctx, c, token, tk.ID, mm)
	if err != nil {
		return fail(c, err)
	}
	jctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if wsURL != "" && wsURL != b.ws {
		// The seat is on another endpoint than the one the bot waited on.
		c2, err := client.Dial(jctx, b.clientConfig(wsURL, token))
		if err != nil {
			return fail(c, fmt.Errorf("bot %d: %w", b.n, err))
		}
		_ = c.Close()
		c = c2
	}
	info, err := c.JoinSeat(jctx, seat)
	if err != nil {
		return fail(c, fmt.Errorf("bot %d: taking the matched seat of ticket %s: %w", b.n, tk.ID, err))
	}
	mm.latency = time.Since(start)
	return c, info, nil
}

// awaitMatch waits for ticket id to be matched: the `matched` push on c,
// or the ticket read every ticketPoll. It returns the seat token and the
// WebSocket URL of the room's node ("" or b.ws: the one c is on).
func (b *bot) awaitMatch(ctx context.Context, c *client.Client, token, id string, mm *matchStats) (seat, wsURL string, err error) {
	wctx, cancel := context.WithTimeout(ctx, b.cfg.MatchTimeout)
	defer cancel()
	poll := time.NewTicker(ticketPoll)
	defer poll.Stop()
	for {
		select {
		case m := <-b.matched:
			if m.TicketID != id {
				continue
			}
			mm.ticket, mm.pushed = ticketMatched, true
			return m.SeatToken, m.WSURL, nil // WSURL: "" unless the room is on another node
		case <-poll.C:
			tk, err := client.GetTicket(wctx, b.cfg.URL, token, id, client.WithHTTPClient(b.hc))
			var he *client.HTTPError
			switch {
			case wctx.Err() != nil:
				continue // handled below
			case errors.As(err, &he):
				return "", "", fmt.Errorf("bot %d: reading ticket %s: %w", b.n, id, err)
			case err != nil:
				b.log.Debug("bot: reading the ticket failed; next poll", "err", err)
				continue
			}
			switch tk.Status {
			case client.TicketMatched:
				if tk.Reservation == nil {
					return "", "", fmt.Errorf("bot %d: ticket %s matched without a reservation", b.n, id)
				}
				mm.ticket = ticketMatched
				return tk.Reservation.SeatToken, tk.Reservation.WSURL, nil
			case client.TicketExpired:
				mm.ticket = ticketExpired
				b.log.Info("bot: ticket expired unmatched", "ticket", id, "rating", mm.rating, "wait_ms", tk.WaitMS)
				return "", "", errTicketExpired
			case client.TicketCancelled:
				return "", "", fmt.Errorf("bot %d: ticket %s was cancelled", b.n, id)
			}
		case <-c.Done():
			return "", "", fmt.Errorf("bot %d: connection lost while queued: %w", b.n, c.Err())
		case <-wctx.Done():
			b.cancelTicket(ctx, token, id)
			if ctx.Err() != nil {
				return "", "", ctx.Err() // the run stopped: not an error
			}
			return "", "", fmt.Errorf("bot %d: ticket %s not matched within %v", b.n, id, b.cfg.MatchTimeout)
		}
	}
}

// cancelTicket withdraws a ticket the bot gives up on (best effort: if it
// was matched meanwhile, its seat expires unused).
func (b *bot) cancelTicket(ctx context.Context, token, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cancelTimeout)
	defer cancel()
	if _, err := client.CancelTicket(ctx, b.cfg.URL, token, id, client.WithHTTPClient(b.hc)); err != nil {
		b.log.Debug("bot: cancelling the ticket", "err", err)
	}
}

// retry runs f until it succeeds, fails with anything but 429
// rate_limited, or ctx ends. After a 429 it waits the server's Retry-After
// (without one: retryBase·2^(n-1) up to retryCap) plus up to half of it
// again at random, so bots limited together do not come back together.
func (b *bot) retry(ctx context.Context, mm *matchStats, f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		var he *client.HTTPError
		var se *client.ServerError
		var wait time.Duration
		switch {
		case errors.As(err, &he) && he.StatusCode == http.StatusTooManyRequests:
			wait = he.RetryAfter
		case errors.As(err, &he) && he.StatusCode == http.StatusServiceUnavailable && attempt <= maxUnavailableRetries:
			wait = he.RetryAfter // the cluster store is out, or overloaded
		case errors.As(err, &se) && se.Code == netcode.CodeUnavailable && attempt <= maxUnavailableRetries:
		default:
			return err
		}
		if wait <= 0 {
			wait = min(retryCap, retryBase<<min(attempt-1, 16))
		}
		wait += time.Duration(b.rng.Int64N(int64(wait)/2 + 1))
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return fmt.Errorf("%w (no time left to retry after %v)", err, wait)
		}
		mm.retries++
		b.log.Debug("bot: rate limited or unavailable; retrying", "wait", wait, "attempt", attempt, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
	}
}

// drawRating draws a ticket rating: normal(RatingMean, RatingStdDev),
// rounded, within the API's bounds.
func (b *bot) drawRating() float64 {
	r := b.cfg.RatingMean
	if b.cfg.RatingStdDev > 0 {
		r += b.cfg.RatingStdDev * b.rng.NormFloat64()
	}
	return math.Max(-maxRating, math.Min(maxRating, math.Round(r)))
}

// summarizeMatchmaking adds the matchmaking figures of results to s.
func summarizeMatchmaking(s *Summary, results []result) {
	var lat []time.Duration
	type span struct{ lo, hi float64 }
	rooms := map[string]*span{}
	for _, r := range results {
		m := r.mm
		s.APIRetries += m.retries
		switch m.ticket {
		case ticketMatched:
			s.TicketsMatched++
			if m.pushed {
				s.TicketsPushed++
			}
		case ticketExpired:
			s.TicketsExpired++
		}
		if !r.connected {
			continue
		}
		if m.latency > 0 {
			lat = append(lat, m.latency)
		}
		if m.ticket == ticketMatched {
			if sp, ok := rooms[r.room]; ok {
				sp.lo, sp.hi = math.Min(sp.lo, m.rating), math.Max(sp.hi, m.rating)
			} else {
				rooms[r.room] = &span{m.rating, m.rating}
			}
		}
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		s.MatchmakingP50 = ms(percentile(lat, 50))
		s.MatchmakingP99 = ms(percentile(lat, 99))
		s.MatchmakingMax = ms(lat[len(lat)-1])
	}
	if len(rooms) > 0 {
		var sum float64
		for _, sp := range rooms {
			sum += sp.hi - sp.lo
		}
		s.MatchRatingSpreadAvg = round2(sum / float64(len(rooms)))
	}
}
