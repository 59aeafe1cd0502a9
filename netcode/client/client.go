// Package client is tickroom's Go client SDK. It dials a server with a
// player token, joins rooms, sends inputs with sequence numbers and keeps a
// replica of the room state by applying the server's snapshots and deltas
// (docs/PROTOCOL.md §5), verifying every checksum and acknowledging every
// applied frame so the server can send small deltas.
//
// Threading: each Client owns one goroutine, the reader, started by Dial and
// joined by Close. It decodes every server message, applies frames to the
// replica, sends acknowledgements, reconnects (Config.Reconnect) and runs
// the Config callbacks, one at a time. All Client methods are safe for concurrent use; the ones that send
// write on the calling goroutine (a write blocks at most Config.WriteTimeout)
// and the ones that wait for an answer (Join, JoinSeat, Leave, Ping, Wait)
// take a context. The client's two locks (the replica's and the writer's) are never
// held together, and neither is held while a callback runs.
//
// Acknowledgements: after each applied frame the client acknowledges its
// tick on the next input when inputs are flowing (an input carries the ack
// of the latest applied frame), otherwise with a separate ack message, so
// the server learns of every applied tick within about one tick and a client
// that sends an input per tick sends no ack messages at all. After a
// checksum mismatch or a missing baseline (a desync, counted in Stats) the
// client asks for a full snapshot and skips deltas until it arrives.
//
// Reconnection (PROTOCOL §9): with Config.Reconnect set, a connection that
// ends without Close and not with a terminal close code is redialed with
// full-jitter backoff, and a seated client takes its seat back with its
// resume token: the replica, the event sequence and the input numbering
// continue as if nothing happened, and inputs sent meanwhile are buffered
// and delivered after the resume. See ReconnectPolicy.
//
// Matchmaking (docs/API.md): JoinOrCreate, CreateRoom and JoinRoom return
// a seat Reservation; dial its WSURL and take the seat with JoinSeat.
// CreateTicket queues the player for a match; the match arrives as a
// pushed `matched` (Config.OnMatched) on the player's connections and in
// GetTicket. These HTTP helpers are plain functions, safe for concurrent
// use; a refusal is an *HTTPError with the server's error code.
package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
	"github.com/tickroom/tickroom/netcode"
)

// Defaults of Config.
const (
	DefaultHistory          = 64
	DefaultWriteTimeout     = 5 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
	// DefaultReadTimeout is how long a connection may stay completely
	// silent before the client considers it dead: the server pings every
	// 5 s and closes silent connections after 15 s (PROTOCOL §9.2).
	DefaultReadTimeout = 15 * time.Second
	// MaxServerMessage bounds one server message; a larger one closes the
	// connection (a full snapshot of a few thousand entities fits easily).
	MaxServerMessage = 4 << 20
)

// Config configures Dial. URL and Token are required; zero fields take the
// documented defaults.
//
// The callbacks run on the Client's reader goroutine, one at a time, in the
// order the messages arrived (the connection callbacks too, in the order
// of the events). They must not block, and must not call Join, JoinSeat,
// Resume, Leave, Ping, Wait, WaitOnline or Close (which wait for the reader);
// sending (SendInput, SendMsg) and the chaos hooks are allowed. Byte slices passed to them are valid
// only during the call.
type Config struct {
	// URL is the WebSocket endpoint, e.g. ws://127.0.0.1:8080/ws.
	URL string
	// Token is the player token, sent as "Authorization: Bearer <token>".
	Token string
	// Logger; nil discards.
	Logger *slog.Logger
	// History is how many states the replica keeps as possible delta
	// baselines (PROTOCOL §5): the applied ticks the server may still use.
	// Default DefaultHistory, the server's own history, so a baseline is
	// never missing however late the acks reach the server; at least 4.
	// A slot costs memory only once it has been used, which happens when
	// acks lag: a smaller History bounds that, at the price of a desync
	// (and a full snapshot, never a wrong state) when the lag exceeds it.
	History int
	// WriteTimeout bounds each socket write. Default DefaultWriteTimeout.
	WriteTimeout time.Duration
	// HandshakeTimeout bounds the WebSocket handshake, and then the wait
	// for welcome (a sooner ctx deadline wins). Default
	// DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// ReadTimeout: a connection from which nothing at all (no message, no
	// ping) arrives for this long is considered dead and closed; with
	// Reconnect the client then reconnects. Default DefaultReadTimeout;
	// negative disables it.
	ReadTimeout time.Duration
	// TLSConfig configures wss:// connections (e.g. RootCAs trusting a
	// private or test CA); nil: the system roots. Dial clones it for each
	// connection. The HTTP helpers take it through WithTLSConfig.
	TLSConfig *tls.Config
	// Reconnect turns automatic reconnection and resume on; nil: off (a
	// lost connection ends the Client). Dial copies it.
	Reconnect *ReconnectPolicy

	// OnFrame is called after each frame was applied and verified.
	OnFrame func(f Frame)
	// OnEvent is called for each room event, after the frame carrying it
	// was processed (even if the frame itself could not be applied).
	OnEvent func(e Event)
	// OnMessage is called for each direct message (PROTOCOL msg 105).
	OnMessage func(from string, payload []byte)
	// OnError is called for each error message that is not the answer to a
	// Join in progress (that one is returned by Join).
	OnError func(err *ServerError)
	// OnLeft is called when the seat is gone: reason "leave" (after Leave),
	// "kicked" or "closed".
	OnLeft func(roomID, reason string)
	// OnMatched is called when the server pushes `matched`: a matchmaking
	// ticket of the player (CreateTicket) was matched and a seat reserved.
	// Take it with JoinSeat(m.SeatToken) before m.ExpiresAt — not from
	// the callback (JoinSeat waits for the reader): hand it to another
	// goroutine. Every live connection of the player gets the push.
	OnMatched func(m Matched)

	// OnDisconnected is called when a live connection ended without Close,
	// with the reason (a *CloseError for a close frame from the server).
	// OnReconnecting or OnLost follows.
	OnDisconnected func(err error)
	// OnReconnecting is called before each reconnection attempt (1, 2, …)
	// of one outage.
	OnReconnecting func(attempt int)
	// OnResumed is called when a reconnection succeeded: the connection is
	// back and, if the client was seated, the seat too and the replica
	// resynchronised.
	OnResumed func(info ResumeInfo)
	// OnLost is called once when the client ends for good without Close:
	// a terminal close code, a resume refused (resume_expired,
	// resume_rejected: the seat is gone), the reconnect window elapsed,
	// or, without Reconnect, any lost connection. err wraps ErrLost (with
	// Reconnect) and the cause. Done is closed right after.
	OnLost func(err error)
}

// Frame describes one applied frame, for Config.OnFrame.
type Frame struct {
	Room     string
	Tick     uint64
	Age      uint64 // 0: full snapshot
	InputSeq uint64 // last input seq the server applied at or before Tick
	Size     int    // bytes of the frame message
	// State is the replica after the frame. It is read-only and valid only
	// during the callback; use Client.State for a copy.
	State *netcode.Snapshot
}

// Event is one room event (PROTOCOL §6), for Config.OnEvent.
type Event struct {
	Room    string
	Seq     uint64
	Name    string
	Payload []byte // one raw msgpack value; valid only during the callback
}

// Matched is a `matched` push (PROTOCOL §3): the ticket's players have
// seats reserved in room RoomID, on the server that pushed it.
type Matched struct {
	TicketID  string
	Mode      string
	RoomID    string
	SeatToken string // single use, for this player only; never log it
	ExpiresAt time.Time
	// WSURL is where the room is when it is on another server of a
	// cluster: dial it and JoinSeat there. "" means this server.
	WSURL string
}

// State describes the replica, as returned by Client.State and seen by
// Client.Wait.
type State struct {
	Room     string // the room the replica is of
	Tick     uint64 // the tick of the latest applied frame
	InputSeq uint64 // the last input seq the server applied at or before Tick
	// Snapshot is the replica. From State it is the caller's copy; inside
	// a Wait condition it is the live replica, read-only.
	Snapshot *netcode.Snapshot
}

// JoinInfo is what Join returns: the seat and the first state.
type JoinInfo struct {
	RoomID   string
	RoomType string
	TickRate int // Hz
	Schema   *netcode.Schema
	Tick     uint64 // tick of the first full frame
}

// Stats are a Client's counters since Dial.
type Stats struct {
	Messages      uint64 // server messages received
	BytesReceived uint64 // payload bytes of all server messages
	Frames        uint64 // frame messages received
	Snapshots     uint64 // full frames (age 0) received
	Deltas        uint64 // delta frames received
	SnapshotBytes uint64 // bytes of full frames
	DeltaBytes    uint64 // bytes of delta frames
	Applied       uint64 // frames applied with a matching checksum
	Desyncs       uint64 // checksum mismatches, missing baselines, bad deltas
	Ignored       uint64 // delta frames skipped while waiting for a snapshot
	Events        uint64
	Matched       uint64 // matched pushes received
	Errors        uint64 // error messages received (a refused automatic resume is not counted: the client handles it)
	Malformed     uint64 // undecodable server messages
	Unknown       uint64 // messages of an unknown type (a later protocol version), skipped
	InputsSent    uint64
	AcksSent      uint64 // separate ack messages (acks ride on inputs too)

	Disconnects       uint64 // live connections that ended without Close
	ReconnectAttempts uint64 // dials made to reconnect
	Resumes           uint64 // reconnections that succeeded (seat resumed, replica resynced)
	ResumeSnapshots   uint64 // resumes resynchronised by a full snapshot (else a delta)
	Redirects         uint64 // resumes sent on to the server that holds the seat (redirect)
	Unrecovered       uint64 // resumes whose `recovered` was false: room events were lost
	InputsBuffered    uint64 // inputs buffered while reconnecting or silent
	InputsDropped     uint64 // buffered inputs dropped (buffer full) before they could be sent
	InputsResent      uint64 // buffered inputs sent after a resume or silence
	DuplicateEvents   uint64 // events with a seq already delivered (dropped; never expected)
}

// Client is one connection to a tickroom server. Create it with Dial and
// release it with Close. Its methods are safe for concurrent use.
type Client struct {
	cfg  Config
	log  *slog.Logger
	done chan struct{} // closed when the reader goroutine has exited
	// life is canceled by Close: it aborts reconnection dials, backoff
	// waits and silences. Stored because the reader goroutine outlives
	// Dial's ctx.
	life      context.Context
	cancel    context.CancelFunc
	closeOnce sync.Once

	welcome  chan struct{} // closed by the reader when the first welcome arrives
	playerID string        // set before welcome is closed
	name     string

	closing atomic.Bool  // Close was called
	err     error        // why the client ended; written by the reader before done is closed
	silence atomic.Int64 // GoSilent: unix nanos until which the reader plays dead; 0 none
	// snapWanted is set by RequestSnapshot: the reader skips deltas until
	// a full frame.
	snapWanted atomic.Bool

	send sender

	mu       sync.Mutex // guards the fields below
	url      string     // where reconnections dial (Config.URL, or SetURL)
	room     string     // current room, "" when not seated
	token    string     // the seat's resume token
	online   bool       // connected and, if seated, holding the seat (not reconnecting)
	latest   *netcode.Snapshot
	tick     uint64
	inputSeq uint64
	changed  chan struct{} // closed and replaced when the replica, room or online state changes
	joinW    *joinWait
	leaveW   chan struct{}
	pings    map[uint64]chan error
	pingSeq  uint64
	probe    uint64 // id of the ping that ends a silence (GoSilent); 0 none

	// Owned by the reader goroutine.
	msg          netcode.ServerMessage
	rep          *replica
	joining      *JoinInfo // joined (or an explicit resume) received, waiting for the first frame
	ws           *gws.Conn // the connection being read
	welcomed     bool      // welcome arrived on ws
	established  bool      // the first welcome arrived: later losses may reconnect
	connErr      error     // why ws ended (set by OnClose)
	abort        error     // why the reader itself closed ws (resume refused, throttled, redirected)
	redirectTo   string    // the next reconnection dial goes here (a redirect), once
	out          *outage   // the reconnection in progress; nil when connected
	awaitFrame   bool      // a resumed seat waits for its resync frame (releases held inputs)
	lastEventSeq uint64    // highest room event seq delivered in the current seat
	readBy       time.Time // the read deadline last set on ws

	st counters
}

// joinWait is a Join in progress.
type joinWait struct {
	done chan joinResult // buffered 1
}

type joinResult struct {
	info JoinInfo
	err  error
}

// Errors.
var (
	// ErrClosed is returned by methods of a closed Client, and wrapped by
	// those whose connection ended while they waited.
	ErrClosed = errors.New("client: connection closed")
	// ErrNotInRoom is returned by SendInput and Leave without a seat.
	ErrNotInRoom = errors.New("client: not in a room")
	// ErrJoinPending is returned by Join while another Join waits.
	ErrJoinPending = errors.New("client: a join is already in progress")
	// ErrTooLarge is returned for a message over netcode.MaxClientMessage.
	ErrTooLarge = errors.New("client: message larger than 16 KiB")
	// ErrOffline is returned by requests that need the connection (Join,
	// Resume, Ping, SendMsg) while the client is reconnecting or silent.
	ErrOffline = errors.New("client: offline (reconnecting)")
	// ErrReadTimeout is wrapped by the end of a connection on which nothing
	// arrived for Config.ReadTimeout.
	ErrReadTimeout = errors.New("client: nothing received within the read timeout")
	// ErrLost is wrapped by the error of a Client with Reconnect that gave
	// up (Err, OnLost): the seat, or the session, is gone.
	ErrLost = errors.New("client: connection lost for good")
)

// ServerError is an error message from the server (PROTOCOL §7).
type ServerError struct {
	Code    string          // a netcode.Code* constant
	Message string          // human-readable
	Ref     netcode.MsgType // the client message type that caused it, 0 if none
}

func (e *ServerError) Error() string {
	if e.Ref != 0 {
		return fmt.Sprintf("tickroom: %s: %s: %s", e.Ref, e.Code, e.Message)
	}
	return fmt.Sprintf("tickroom: %s: %s", e.Code, e.Message)
}

// CloseError reports that the server closed the WebSocket (PROTOCOL §7).
type CloseError struct {
	Code   uint16
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("client: server closed the connection: code %d %q", e.Code, e.Reason)
}

// HTTPError is a failed HTTP exchange: the handshake of Dial, the request
// of GuestToken or a matchmaking API call (JoinOrCreate, CreateTicket, …).
// Code and Message come from the server's JSON error body {code, message}
// when there is one; Code is stable (docs/API.md lists them, e.g.
// "unknown_mode", "room_full", "ticket_exists", "rate_limited"), Message is
// for humans.
type HTTPError struct {
	StatusCode int
	Code       string
	Message    string
	// RetryAfter is the server's Retry-After (a 429 rate_limited says when
	// to retry); 0 when absent.
	RetryAfter time.Duration
}

// RedirectError answers a Join, JoinSeat or Resume whose room runs on
// another server of the cluster (PROTOCOL §9, `redirect`): dial WSURL and
// make the request there. Automatic resumes follow redirects by themselves.
type RedirectError struct {
	WSURL string
	Ref   netcode.MsgType // the request that was redirected
}

func (e *RedirectError) Error() string {
	return "client: " + e.Ref.String() + " redirected to " + redact(e.WSURL)
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("client: HTTP %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Code != "" {
		s += ": " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Dial connects to cfg.URL with cfg.Token and waits for the server's
// welcome, or for ctx. A token the server refuses yields an *HTTPError with
// StatusCode 401. On success the reader goroutine runs until Close (or,
// without Reconnect, until the connection ends). Dial itself does not
// retry: reconnection starts once a connection was established.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.URL == "" {
		return nil, errors.New("client: Config.URL is required")
	}
	if cfg.Token == "" {
		return nil, errors.New("client: Config.Token is required")
	}
	if cfg.History == 0 {
		cfg.History = DefaultHistory
	}
	if cfg.History < 4 {
		return nil, fmt.Errorf("client: Config.History is %d, must be at least 4", cfg.History)
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	inputs := defaultInputs
	if cfg.Reconnect != nil {
		p, err := cfg.Reconnect.withDefaults()
		if err != nil {
			return nil, err
		}
		cfg.Reconnect = &p
		inputs = p.Inputs
	}
	hs := cfg.HandshakeTimeout
	if dl, ok := ctx.Deadline(); ok {
		hs = min(hs, time.Until(dl))
	}
	if hs <= 0 {
		return nil, context.DeadlineExceeded
	}

	c := &Client{
		cfg:     cfg,
		log:     cfg.Logger,
		done:    make(chan struct{}),
		welcome: make(chan struct{}),
		changed: make(chan struct{}),
		pings:   map[uint64]chan error{},
		rep:     newReplica(cfg.History),
		url:     cfg.URL,
	}
	c.life, c.cancel = context.WithCancel(context.Background())
	c.send.init(c, inputs)

	ws, err := c.dial(ctx, hs)
	if err != nil {
		c.cancel()
		return nil, err
	}
	c.send.attach(ws, false)
	go c.run(ws)

	timer := time.NewTimer(cfg.HandshakeTimeout)
	defer timer.Stop()
	select {
	case <-c.welcome:
		return c, nil
	case <-c.done:
		return nil, fmt.Errorf("client: connection ended before welcome: %w", c.closeCause())
	case <-timer.C:
		_ = c.Close()
		return nil, fmt.Errorf("client: no welcome within %v", cfg.HandshakeTimeout)
	case <-ctx.Done():
		_ = c.Close()
		return nil, ctx.Err()
	}
}

// dial opens one WebSocket connection (handshake bounded by timeout and
// ctx). The connection's reader is not started.
func (c *Client) dial(ctx context.Context, timeout time.Duration) (*gws.Conn, error) {
	cfg := &c.cfg
	d := &ctxDialer{ctx: ctx}
	c.mu.Lock()
	target := c.url
	c.mu.Unlock()
	if c.redirectTo != "" {
		target, c.redirectTo = c.redirectTo, ""
	}
	ws, resp, err := gws.NewClient(handler{c}, &gws.ClientOption{
		Addr:               target,
		RequestHeader:      http.Header{"Authorization": {"Bearer " + cfg.Token}},
		HandshakeTimeout:   timeout,
		ReadMaxPayloadSize: MaxServerMessage,
		NewDialer:          func() (gws.Dialer, error) { return d, nil },
		TlsConfig:          cloneTLS(cfg.TLSConfig),
		Logger:             gwsLogger{c.log},
	})
	canceled := d.stop()
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, httpError(resp)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("client: dial %s: %w", redact(target), ctx.Err())
		}
		return nil, fmt.Errorf("client: dial %s: %w", redact(target), err)
	}
	if canceled {
		_ = ws.NetConn().Close()
		return nil, fmt.Errorf("client: dial %s: %w", redact(target), ctx.Err())
	}
	return ws, nil
}

// SetURL changes where later reconnections dial, e.g. to a load balancer
// in front of a cluster's servers: a reconnection that reaches a server
// that does not hold the seat is redirected to the one that does.
func (c *Client) SetURL(wsURL string) {
	c.mu.Lock()
	c.url = wsURL
	c.mu.Unlock()
}

// PlayerID returns the player ID the server assigned (from welcome).
func (c *Client) PlayerID() string { return c.playerID }

// Name returns the player's display name (from welcome).
func (c *Client) Name() string { return c.name }

// Done is closed when the client has ended and its reader goroutine has
// exited: after Close, or when the connection was lost for good (without
// Reconnect: whenever the server or network ended it).
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the client ended: nil while it runs (reconnecting
// included) or when Close ended it. Without Reconnect: a *CloseError when
// the server closed the connection, another error for a network failure.
// With Reconnect: an error wrapping ErrLost and the cause (a *CloseError
// with a terminal code, a *ServerError resume_expired or resume_rejected,
// or the last failure when the reconnect window elapsed).
func (c *Client) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Online reports whether the client can use its connection: connected
// and, if seated, holding its seat. It is false while reconnecting, while
// silent (GoSilent) and after the end.
func (c *Client) Online() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.online
}

// ResumeToken returns the current seat's resume token ("" when not seated),
// the secret that takes the seat back (Resume). Never log or share it.
func (c *Client) ResumeToken() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token
}

// Close ends the client and waits for its reader goroutine to exit; no
// callback runs after it returns. When seated and online, it first leaves
// the room (sends leave and waits up to 2 s for `left`), so the server frees the seat at once instead of holding it for
// a grace window; then it closes the connection (close code 1000). It stops
// a reconnection in progress (the seat is then held by the server until its
// grace window ends). A waiting Join, Leave, Ping or Wait returns an error
// wrapping ErrClosed. Close is idempotent and always returns nil.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.leaveBeforeClose()
		c.closing.Store(true)
		c.cancel()
		if ws := c.send.current(); ws != nil {
			_ = ws.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout))
			_ = ws.WriteClose(1000, nil)
		}
	})
	<-c.done
	return nil
}

// closeLeaveTimeout bounds how long Close waits for `left`.
const closeLeaveTimeout = 2 * time.Second

// leaveBeforeClose leaves the room if the client is seated and online.
func (c *Client) leaveBeforeClose() {
	c.mu.Lock()
	seated := c.room != "" && c.online
	c.mu.Unlock()
	if !seated {
		return
	}
	select {
	case <-c.done:
		return
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeLeaveTimeout)
	defer cancel()
	if err := c.Leave(ctx); err != nil && !errors.Is(err, ErrNotInRoom) {
		c.log.Debug("client: leave before close", "err", err)
	}
}

// State copies the replica into dst (reusing its storage; nil allocates a
// new snapshot) and describes it. ok is false when the client holds no
// replica (not seated yet, or left); dst is then untouched.
func (c *Client) State(dst *netcode.Snapshot) (s State, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.latest == nil {
		return State{}, false
	}
	if dst == nil {
		dst = &netcode.Snapshot{}
	}
	dst.CopyFrom(c.latest)
	return State{Room: c.room, Tick: c.tick, InputSeq: c.inputSeq, Snapshot: dst}, true
}

// Wait blocks until cond reports true, or ctx is done, or the connection
// ends. cond is called now and after every applied frame or seat change,
// with the client's lock held: it must be quick, must not call Client
// methods and must not keep s.Snapshot (the live replica, nil when there is
// none).
func (c *Client) Wait(ctx context.Context, cond func(s State) bool) error {
	return c.await(ctx, func() bool {
		return cond(State{Room: c.room, Tick: c.tick, InputSeq: c.inputSeq, Snapshot: c.latest})
	})
}

// await blocks until met (called with c.mu held, now and after every
// change of the client's state) reports true, ctx is done, or the client
// ends (then wrapping ErrClosed and the cause).
func (c *Client) await(ctx context.Context, met func() bool) error {
	for {
		c.mu.Lock()
		ok := met()
		ch := c.changed
		c.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			return fmt.Errorf("client: %w", c.closeCause())
		}
	}
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats { return c.st.load() }

// closeCause is the error for operations cut short by the end of the
// connection: ErrClosed, wrapping the reason when there is one.
func (c *Client) closeCause() error {
	if c.err != nil {
		return fmt.Errorf("%w: %w", ErrClosed, c.err)
	}
	return ErrClosed
}

// notifyLocked wakes Wait callers. c.mu must be held.
func (c *Client) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// WebSocketURL turns an HTTP base URL of a tickroom server
// (http://host:port, optionally with a path prefix) into its WebSocket
// endpoint (ws://host:port/ws). ws:// and wss:// URLs are returned as they
// are.
func WebSocketURL(httpBase string) (string, error) {
	u, err := url.Parse(httpBase)
	if err != nil {
		return "", fmt.Errorf("client: bad URL: %w", err)
	}
	switch u.Scheme {
	case "ws", "wss":
		return u.String(), nil
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("client: URL %q: scheme must be http, https, ws or wss", redact(httpBase))
	}
	if u.Host == "" {
		return "", fmt.Errorf("client: URL %q has no host", redact(httpBase))
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/ws"
	u.RawQuery, u.Fragment = "", ""
	return u.String(), nil
}

// redact drops the query (which may hold an access_token) from a URL for
// error messages.
func redact(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		return s[:i] + "?…"
	}
	return s
}

// ctxDialer dials with a context and, until stop, closes the connection
// when the context is canceled, which aborts a hanging handshake.
type ctxDialer struct {
	ctx context.Context // the Dial call's context, used only during Dial

	mu     sync.Mutex // guards stopFn
	stopFn func() bool
}

func (d *ctxDialer) Dial(network, addr string) (net.Conn, error) {
	var nd net.Dialer
	conn, err := nd.DialContext(d.ctx, network, addr)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.stopFn = context.AfterFunc(d.ctx, func() { _ = conn.Close() })
	d.mu.Unlock()
	return conn, nil
}

// stop ends the cancellation watch and reports whether it already fired
// (the connection is then closed).
func (d *ctxDialer) stop() bool {
	d.mu.Lock()
	f := d.stopFn
	d.mu.Unlock()
	if f == nil || f() {
		return false
	}
	// The AfterFunc started (or ran); it closes the conn.
	return true
}

// gwsLogger routes gws's internal error logs to slog.
type gwsLogger struct{ l *slog.Logger }

func (g gwsLogger) Error(v ...any) { g.l.Error("gws", "msg", fmt.Sprint(v...)) }

// cloneTLS copies a TLS configuration (gws sets ServerName on the one it
// is given); nil stays nil.
func cloneTLS(c *tls.Config) *tls.Config {
	if c == nil {
		return nil
	}
	return c.Clone()
}
