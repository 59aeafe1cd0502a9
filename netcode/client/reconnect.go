package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/lxzan/gws"
	"github.com/tickroom/tickroom/netcode"
)

// Defaults of ReconnectPolicy (PROTOCOL §9.3).
const (
	DefaultReconnectBase   = 100 * time.Millisecond
	DefaultReconnectCap    = 2 * time.Second
	DefaultReconnectWindow = 20 * time.Second // the server's default grace window
	defaultInputs          = 8
)

// ReconnectPolicy configures automatic reconnection (Config.Reconnect).
// Zero fields take the defaults.
//
// When a connection ends without Close, the client looks at why. A close
// frame with a terminal code (1000, 1002, 1003, 1007–1010, 4500–4999: see
// TerminalCloseCode) ends the client (OnLost). Anything else — 1001, 1006
// (no close frame: a reset, a dead network), 1011–1013, 4000–4499 such as
// 4001 heartbeat timeout, or Config.ReadTimeout without a single byte — is
// reconnected: the first attempt at once, attempt n ≥ 2 after a uniformly
// random wait in [0, min(Cap, Base·2^(n-1))] (full jitter), for as long as
// Window lasts since the connection was lost. A seated client then sends
// `resume` with its resume token, the tick of its newest state and the
// highest event seq it received; the server answers `resumed` and a frame
// (a delta from that tick, or a snapshot) that brings the replica up to
// date, and the session continues: same seat, same replica (a delta from
// the last applied tick applies as usual), events after the last one
// received, input numbering after the server's input_seq. resume_expired
// and resume_rejected mean the seat is gone (OnLost); throttled is retried
// with backoff. A client without a seat just reconnects.
type ReconnectPolicy struct {
	// Base and Cap shape the backoff: attempt n ≥ 2 waits up to
	// min(Cap, Base·2^(n-1)). Defaults DefaultReconnectBase,
	// DefaultReconnectCap.
	Base, Cap time.Duration
	// Window is how long to keep trying after the connection was lost;
	// default DefaultReconnectWindow (the server's default grace window:
	// after it the seat is gone anyway).
	Window time.Duration
	// Inputs bounds the inputs kept while offline (the latest ones are
	// kept); default 8.
	Inputs int
	// Rand returns a uniformly random integer in [0, n) (n > 0), e.g.
	// rand.New(src).Int64N. It is called only on the client's reader
	// goroutine; nil uses math/rand/v2's global source.
	Rand func(n int64) int64
}

func (p ReconnectPolicy) withDefaults() (ReconnectPolicy, error) {
	if p.Base == 0 {
		p.Base = DefaultReconnectBase
	}
	if p.Cap == 0 {
		p.Cap = DefaultReconnectCap
	}
	if p.Window == 0 {
		p.Window = DefaultReconnectWindow
	}
	if p.Inputs == 0 {
		p.Inputs = defaultInputs
	}
	switch {
	case p.Base < 0 || p.Cap < 0 || p.Window < 0:
		return p, fmt.Errorf("client: ReconnectPolicy Base %v, Cap %v, Window %v: must be positive", p.Base, p.Cap, p.Window)
	case p.Cap < p.Base:
		return p, fmt.Errorf("client: ReconnectPolicy Cap %v is less than Base %v", p.Cap, p.Base)
	case p.Inputs < 1 || p.Inputs > 1024:
		return p, fmt.Errorf("client: ReconnectPolicy Inputs is %d, must be in [1, 1024]", p.Inputs)
	}
	return p, nil
}

func (p *ReconnectPolicy) int64n() func(int64) int64 {
	if p.Rand != nil {
		return p.Rand
	}
	return rand.Int64N
}

// Delay returns how long to wait before reconnection attempt n (1-based):
// 0 for the first, then a uniformly random duration in
// [0, min(Cap, Base·2^(n-1))]. Zero fields take the defaults.
func (p ReconnectPolicy) Delay(attempt int) time.Duration {
	if attempt <= 1 {
		return 0
	}
	if p.Base <= 0 {
		p.Base = DefaultReconnectBase
	}
	if p.Cap <= 0 {
		p.Cap = DefaultReconnectCap
	}
	ceil := p.Cap
	if attempt-1 < 32 {
		if d := p.Base << (attempt - 1); d > 0 && d < ceil {
			ceil = d
		}
	}
	return time.Duration(p.int64n()(int64(ceil) + 1))
}

// TerminalCloseCode reports whether a WebSocket close code from the server
// means "do not reconnect" (PROTOCOL §7): 1000, 1002, 1003, 1007–1010 and
// 4500–4999 (e.g. 4502 abuse, 4509 replaced by another connection).
// Every other code — 1001, 1005, 1006, 1011–1015, 4000–4499 — is worth a
// reconnect.
func TerminalCloseCode(code uint16) bool {
	switch {
	case code == 1000, code == 1002, code == 1003, code >= 1007 && code <= 1010:
		return true
	case code >= 4500 && code <= 4999:
		return true
	}
	return false
}

// ResumeInfo describes a successful reconnection, for Config.OnResumed.
type ResumeInfo struct {
	// Room is the room whose seat was resumed; "" when the client held no
	// seat (only the connection was restored).
	Room string
	// Recovered is false when room events of the outage were lost (the
	// server's per-seat buffer overflowed); true without a seat.
	Recovered bool
	// Attempts counts the reconnection attempts, the successful one
	// included.
	Attempts int
	// Duration runs from the first reconnection dial to the resynchronised
	// replica (backoff waits between failed attempts included).
	Duration time.Duration
	// Redirects counts the redirects followed to the server holding the
	// seat (a cluster, PROTOCOL §9.1).
	Redirects int
	// Snapshot is true when the replica was resynchronised by a full
	// snapshot, false for a delta from its last applied tick.
	Snapshot bool
}

// outage is a reconnection in progress. Owned by the reader goroutine.
type outage struct {
	start     time.Time // when the connection was lost
	dialStart time.Time // the first reconnection dial
	attempts  int
	last      error // the latest failure
	redirects int   // redirects followed in this outage
	resuming  bool  // resume sent on the current attempt
	resumed   bool  // resumed arrived: waiting for a frame that applies
	recovered bool
}

// seatGone is a resume refused for good (resume_expired, resume_rejected).
type seatGone struct{ err *ServerError }

func (e *seatGone) Error() string { return "client: the seat is gone: " + e.err.Error() }
func (e *seatGone) Unwrap() error { return e.err }

// terminal reports whether err ends the client instead of a reconnect.
func terminal(err error) bool {
	var ce *CloseError
	var sg *seatGone
	var he *HTTPError
	switch {
	case errors.As(err, &ce):
		return TerminalCloseCode(ce.Code)
	case errors.As(err, &sg):
		return true
	case errors.As(err, &he):
		return he.StatusCode == http.StatusUnauthorized // the token is refused: retrying will not help
	}
	return false
}

// run is the reader goroutine: it reads each connection until it ends and
// decides what comes next.
func (c *Client) run(ws *gws.Conn) {
	defer close(c.done)
	for ws != nil {
		c.serve(ws)
		ws = c.next()
	}
}

// serve reads ws until the connection ends.
func (c *Client) serve(ws *gws.Conn) {
	c.ws, c.welcomed, c.connErr, c.abort = ws, false, nil, nil
	c.readBy = time.Time{}
	c.alive()
	ws.ReadLoop()
	c.connEnded()
}

// connEnded cleans up after a connection: what was waiting on it fails.
func (c *Client) connEnded() {
	c.silence.Store(0)
	c.send.detach(c.cfg.Reconnect != nil)
	c.mu.Lock()
	c.online = false
	c.probe = 0
	for id, ch := range c.pings {
		ch <- ErrOffline
		delete(c.pings, id)
	}
	c.notifyLocked()
	c.mu.Unlock()
	if c.joining == nil && c.cfg.Reconnect != nil {
		// A join (or explicit resume) without an answer: the connection
		// that carried it is gone (without Reconnect, the end of the
		// client ends the wait).
		c.failJoin(fmt.Errorf("client: join: %w: the connection ended before the answer", ErrOffline))
	}
	c.send.mu.Lock()
	leaving := c.send.leaving
	c.send.mu.Unlock()
	c.mu.Lock()
	room := c.room
	c.mu.Unlock()
	if leaving && room != "" && c.cfg.Reconnect != nil {
		// The leave was sent; whether or not it arrived, the client gave
		// the seat up (the server frees it, at the latest when its grace
		// window ends).
		c.onLeft(room, "leave")
	}
}

// next decides what follows the end of a connection: the next connection
// to read, or nil when the client ends.
func (c *Client) next() *gws.Conn {
	err := c.connErr
	if c.abort != nil {
		err = c.abort
	}
	if c.closing.Load() {
		return nil // Close: Err stays nil
	}
	if !c.established {
		c.err = err // Dial reports it
		return nil
	}
	if c.out == nil { // a live connection ended
		c.st.disconnects.Add(1)
		if c.cfg.Reconnect == nil || terminal(err) {
			c.log.Warn("client: connection ended", "err", err)
		} else {
			c.log.Info("client: connection ended; reconnecting", "err", err)
		}
		if f := c.cfg.OnDisconnected; f != nil {
			f(err)
		}
		if c.cfg.Reconnect == nil || terminal(err) {
			c.end(err)
			return nil
		}
		c.out = &outage{start: time.Now()}
	} else if terminal(err) {
		c.end(err)
		return nil
	}
	c.out.last = err
	c.out.resuming, c.out.resumed = false, false
	return c.redial()
}

// end records why the client ended for good and reports it.
func (c *Client) end(err error) {
	if c.cfg.Reconnect != nil {
		err = fmt.Errorf("%w: %w", ErrLost, err)
		c.dropSeat()
	}
	c.err = err
	if c.out != nil {
		c.log.Warn("client: reconnection failed", "err", err)
	}
	c.out = nil
	if f := c.cfg.OnLost; f != nil {
		f(err)
	}
}

// dropSeat forgets a seat this client no longer holds.
func (c *Client) dropSeat() {
	c.mu.Lock()
	c.room, c.token = "", ""
	c.latest, c.tick, c.inputSeq = nil, 0, 0
	c.notifyLocked()
	c.mu.Unlock()
	c.rep.reset(nil)
	c.send.unseated()
	c.joining = nil
}

// redial dials until a connection is made (returned), the window elapses
// or Close is called (nil).
func (c *Client) redial() *gws.Conn {
	p := c.cfg.Reconnect
	o := c.out
	for {
		o.attempts++
		wait := p.Delay(o.attempts)
		left := time.Until(o.start.Add(p.Window))
		giveUp := left <= 0 || wait >= left
		if giveUp {
			wait = max(left, 0) // the window ends before the next attempt would start
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-c.life.Done():
				t.Stop()
				return nil
			}
		}
		if c.closing.Load() {
			return nil
		}
		if giveUp {
			c.end(fmt.Errorf("client: no reconnection within %v (%d attempts): %w", p.Window, o.attempts-1, o.last))
			return nil
		}
		if o.attempts == 1 {
			o.dialStart = time.Now()
		}
		c.st.reconnectAttempts.Add(1)
		if f := c.cfg.OnReconnecting; f != nil {
			f(o.attempts)
		}
		left = time.Until(o.start.Add(p.Window))
		ctx, cancel := context.WithTimeout(c.life, max(min(c.cfg.HandshakeTimeout, left), 100*time.Millisecond))
		ws, err := c.dial(ctx, c.cfg.HandshakeTimeout)
		cancel()
		if err == nil {
			if !c.send.attach(ws, true) {
				return nil // Close was called meanwhile
			}
			return ws
		}
		if c.closing.Load() {
			return nil
		}
		o.last = err
		c.log.Debug("client: reconnection attempt failed", "attempt", o.attempts, "err", err)
		if terminal(err) {
			c.end(err)
			return nil
		}
	}
}

// startResume runs when welcome arrives on a reconnection: a seated client
// asks for its seat back; otherwise the reconnection is complete.
func (c *Client) startResume() {
	c.mu.Lock()
	room, token := c.room, c.token
	c.mu.Unlock()
	if room == "" || token == "" {
		c.out.recovered = true
		c.send.frame(0, true)
		c.reconnected(false)
		return
	}
	c.out.resuming = true
	if err := c.send.resume(token, c.rep.lastTick(), c.lastEventSeq); err != nil {
		c.log.Debug("client: sending resume", "err", err) // the connection is ending; the next attempt follows
	}
}

// onAutoResumed handles `resumed` answering the client's own resume: the
// seat is this connection's again; the replica is kept, so the resync
// frame that follows (a delta from its newest tick) applies to it.
func (c *Client) onAutoResumed(m *netcode.ServerMessage) {
	c.mu.Lock()
	sameRoom := m.RoomID == c.room
	c.mu.Unlock()
	if !sameRoom { // never expected: follow the server
		c.onSeat(m, true)
	} else {
		c.rep.ensure(int(min(m.History, maxHistory)))
	}
	c.out.resumed = true
	c.out.recovered = m.Recovered
	c.awaitFrame = true
	if !m.Recovered {
		c.st.unrecovered.Add(1)
	}
	c.mu.Lock()
	c.token = m.ResumeToken
	c.online = true
	c.notifyLocked()
	c.mu.Unlock()
}

// onResumeError handles an error answering the client's own resume: the
// attempt ends (the reader closes the connection); a refused token ends
// the client, anything else (throttled) is retried after a backoff.
func (c *Client) onResumeError(e *ServerError) {
	switch e.Code {
	case netcode.CodeResumeExpired, netcode.CodeResumeRejected, netcode.CodeRoomGone:
		c.abort = &seatGone{e}
	default:
		c.abort = e
	}
	c.out.resuming = false
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout))
	_ = c.ws.WriteClose(1000, nil)
}

// maxRedirects bounds the redirects one reconnection follows, so two
// servers that disagree cannot bounce a client forever.
const maxRedirects = 3

// onRedirect handles `redirect`. Answering the client's own resume, the
// next dial goes to the node that holds the seat, at once; answering an
// explicit Join, JoinSeat or Resume, the caller gets the *RedirectError.
func (c *Client) onRedirect(e *RedirectError) {
	u, err := url.Parse(e.WSURL)
	valid := err == nil && (u.Scheme == "ws" || u.Scheme == "wss") && u.Host != ""
	if e.Ref == netcode.MsgResume && c.out != nil && c.out.resuming && !c.out.resumed {
		c.out.resuming = false
		c.out.redirects++
		switch {
		case !valid:
			c.abort = &seatGone{&ServerError{Code: netcode.CodeBadMessage, Message: "redirect to an invalid URL", Ref: e.Ref}}
		case c.out.redirects > maxRedirects:
			c.abort = &seatGone{&ServerError{Code: netcode.CodeRoomGone, Message: "too many redirects", Ref: e.Ref}}
		default:
			c.log.Debug("client: resume redirected", "to", redact(e.WSURL))
			c.redirectTo = e.WSURL
			c.out.attempts = 0 // the first attempt of a backoff is immediate
			c.abort = e
			c.st.redirects.Add(1)
		}
		_ = c.ws.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout))
		_ = c.ws.WriteClose(1000, nil)
		return
	}
	if (e.Ref == netcode.MsgJoin || e.Ref == netcode.MsgResume) && c.joining == nil {
		c.failJoin(e)
	}
}

// reconnected completes a reconnection: the replica is in sync again (or
// there was no seat).
func (c *Client) reconnected(snapshot bool) {
	o := c.out
	c.out = nil
	c.mu.Lock()
	room := c.room
	c.online = true
	c.notifyLocked()
	c.mu.Unlock()
	c.st.resumes.Add(1)
	if snapshot {
		c.st.resumeSnapshots.Add(1)
	}
	info := ResumeInfo{Room: room, Recovered: o.recovered, Attempts: o.attempts, Duration: time.Since(o.dialStart), Snapshot: snapshot, Redirects: o.redirects}
	c.log.Debug("client: reconnected", "room", room, "attempts", info.Attempts, "duration", info.Duration, "snapshot", snapshot)
	if f := c.cfg.OnResumed; f != nil {
		f(info)
	}
}

// alive pushes the read deadline ReadTimeout ahead, at most every eighth
// of it (a deadline change per message would be wasted work). Reader only.
func (c *Client) alive() {
	rt := c.cfg.ReadTimeout
	if rt <= 0 {
		return
	}
	now := time.Now()
	if c.readBy.Sub(now) > rt-rt/8 {
		return
	}
	c.readBy = now.Add(rt)
	_ = c.ws.SetReadDeadline(c.readBy)
}

// KillConnection ends the current connection abruptly, as a network
// failure would: the socket is closed (with a TCP reset) without a close
// frame, so the server sees an abnormal end (1006) and holds the seat for
// its grace window. With Reconnect the client then reconnects and resumes.
// It is a hook for tests and chaos runs; it reports false when there is no
// connection (e.g. while reconnecting).
func (c *Client) KillConnection() bool {
	ws := c.send.current()
	if ws == nil {
		return false
	}
	nc := ws.NetConn()
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = nc.Close()
	return true
}

// GoSilent makes the client play dead for d, as a frozen process or a
// half-open connection would: from the next message or ping on, the reader
// stops (nothing is read, no pong, no ack) and nothing is written (inputs
// are buffered as while reconnecting); Online reports false. After d the
// client reads what arrived meanwhile, sends the buffered inputs and a
// ping; its pong makes the client online again. If the server gave up on
// the connection meanwhile (heartbeat timeout, 4001), the client reconnects
// (with Reconnect).
// The silence ends early with Close or the end of the connection. It is a
// hook for tests and chaos runs; it reports false when the client is not
// connected and online.
func (c *Client) GoSilent(d time.Duration) bool {
	if d <= 0 {
		return false
	}
	until := time.Now().Add(d).UnixNano()
	c.silence.Store(until)
	if !c.send.startSilence() {
		c.silence.CompareAndSwap(until, 0)
		return false
	}
	c.setOnline(false)
	return true
}

// setOnline records whether the connection is usable and wakes waiters.
func (c *Client) setOnline(on bool) {
	c.mu.Lock()
	c.online = on
	c.notifyLocked()
	c.mu.Unlock()
}

// beSilent blocks the reader while a GoSilent is in force. Reader only.
func (c *Client) beSilent() {
	until := c.silence.Load()
	if until == 0 {
		return
	}
	if d := time.Until(time.Unix(0, until)); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-c.life.Done():
			t.Stop()
		}
	}
	c.silence.CompareAndSwap(until, 0)
	c.readBy = time.Time{}
	c.alive()
	// Whether the server still holds the connection is unknown: what it
	// sent meanwhile is read next, maybe ending with a close (4001). An
	// application ping answers it: its pong makes the client online again.
	c.mu.Lock()
	c.pingSeq++
	probe := c.pingSeq
	c.probe = probe
	c.mu.Unlock()
	var data [9]byte
	raw := appendUint(data[:0], probe)
	c.send.endSilence(raw)
}
