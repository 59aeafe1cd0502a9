package server

import (
	"context"
	"errors"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
	"golang.org/x/time/rate"
)

// Close codes sent by the server (docs/PROTOCOL.md §7).
const (
	CloseNormal      = 1000
	CloseGoingAway   = 1001
	CloseUnsupported = 1003
	CloseInternal    = 1011
	CloseHeartbeat   = 4001
	CloseSlow        = 4008
	CloseAbuse       = 4502
	CloseReplaced    = 4509
	CloseRateLimited = 4529
)

// Error codes of the server's own (docs/PROTOCOL.md §7).
const (
	// CodeRateLimited: the message was over its budget and dropped.
	CodeRateLimited = "rate_limited"
	// CodeRecipientBusy: a direct message was dropped because the
	// recipient's queue of pushes is full (it is reading slowly or being
	// flooded); the recipient is not affected.
	CodeRecipientBusy = "recipient_busy"
)

// conn is one authenticated WebSocket connection. Its reader goroutine (the
// gws read loop) decodes and dispatches client messages; writes go through
// its outbox and are performed on gws's per-connection write queue.
//
// It implements room.Conn and player.Conn.
type conn struct {
	s      *Server
	ws     *gws.Conn
	player player.ID
	name   string
	ip     string // client address, for the per-address cap
	out    *netcode.Outbox
	push   *pusher // how the player registry sees this connection

	seat     atomic.Pointer[room.Seat] // current seat, nil if none
	joining  atomic.Bool               // a join or resume is on its way to a room
	closed   atomic.Bool
	lastRecv atomic.Int64 // unix nanos of the last frame received (any opcode)
	deadline atomic.Int64 // unix nanos of the write deadline last set
	nextPing atomic.Int64 // unix nanos when the next heartbeat ping is due

	ping func() // writes a heartbeat ping; run on the writer (bound once)

	// Owned by the reader goroutine.
	msg    netcode.ClientMessage
	abuse  *rate.Limiter
	budget *budgets

	closeOnce sync.Once
	shutting  atomic.Bool // shut or slowClose was called
}

func newConn(s *Server, ws *gws.Conn, c player.Claims) *conn {
	cn := &conn{
		s:      s,
		ws:     ws,
		player: c.Player,
		name:   c.Name,
		abuse:  rate.NewLimiter(rate.Every(2*time.Second), 5),
		budget: newBudgets(s.cfg.Limits),
	}
	cn.push = &pusher{cn}
	cn.out = netcode.NewOutbox(transport{cn}, s.cfg.Outbox)
	cn.ping = func() {
		cn.keepWriteDeadline()
		_ = cn.ws.WritePing(nil)
	}
	now := time.Now()
	cn.lastRecv.Store(now.UnixNano())
	// The first ping comes after a random part of the interval, so clients
	// that connected together are not pinged together.
	iv := int64(s.cfg.PingInterval)
	cn.nextPing.Store(now.UnixNano() + iv/2 + mrand.Int64N(iv/2+1))
	return cn
}

// transport adapts the gws connection to netcode.Transport.
type transport struct{ c *conn }

func (t transport) Async(f func()) { t.c.ws.Async(f) }

func (t transport) WriteMessage(b []byte) error {
	t.c.keepWriteDeadline()
	if m := t.c.s.cfg.Metrics; m != nil {
		m.wrote(len(b))
	}
	return t.c.ws.WriteMessage(gws.OpcodeBinary, b)
}

// SendFrame implements room.Conn. A refused frame is skipped (the room
// sends a delta from the last acknowledged tick later) and counted.
func (c *conn) SendFrame(f *netcode.Frame) bool {
	if c.out.SendFrame(f) {
		return true
	}
	if !c.closed.Load() {
		c.s.metrics.drop(dropFrame)
	}
	return false
}

// Deliver implements room.Conn: it queues a control message the
// connection caused (its room's joined/resumed/left, a redirect), which
// the client cannot do without. Pushes from other players never take
// these slots (see pusher), so a connection that cannot take one more has
// stopped reading or floods requests faster than it reads their answers:
// it is closed as a slow consumer.
func (c *conn) Deliver(msg []byte) bool {
	if c.out.Send(msg) {
		return true
	}
	if !c.closed.Load() {
		c.s.metrics.drop(dropControl)
		c.slowClose()
	}
	return false
}

// pusher is the connection as the player registry sees it (player.Conn):
// what arrives through the registry — direct messages from other players,
// matchmaking's matched, deliveries from other nodes — was not caused by
// this connection, so it goes to the outbox's small push queue, and when
// that is full it is dropped and counted; the connection, its frames and
// its own messages are never affected.
type pusher struct{ c *conn }

// Deliver implements player.Conn.
func (p *pusher) Deliver(msg []byte) bool {
	if p.c.out.SendPush(msg) {
		return true
	}
	if !p.c.closed.Load() {
		p.c.s.metrics.drop(dropPush)
	}
	return false
}

// Unseat implements room.Conn: the room gave up the seat.
func (c *conn) Unseat(s *room.Seat) { c.seat.CompareAndSwap(s, nil) }

// Replaced implements room.Conn: another connection resumed the seat. This
// connection forgets it and is closed with 4509, which clients must not
// answer by reconnecting.
func (c *conn) Replaced(s *room.Seat) {
	c.seat.CompareAndSwap(s, nil)
	c.shut(CloseReplaced, "replaced by another connection")
}

// close sends a close frame (bounded by the write timeout) and closes the
// socket; the read loop then ends and OnClose cleans up. It blocks: call
// it on a goroutine that may wait (the writer, via shut).
func (c *conn) close(code uint16, reason string) {
	c.closeOnce.Do(func() {
		c.s.metrics.closed(code)
		c.setWriteDeadline(time.Now().UnixNano())
		_ = c.ws.WriteClose(code, []byte(reason))
	})
}

// shut closes the connection without blocking, from any goroutine: the
// close runs on the connection's writer (gws's write queue), after the
// writes already queued — each bounded by the write deadline — so the
// messages that explain the close reach the client first. The writer is
// owned by the connection and ends with it; Server.Close waits for the
// read loops, which end when the close closes the socket.
func (c *conn) shut(code uint16, reason string) {
	if !c.shutting.CompareAndSwap(false, true) {
		return
	}
	c.ws.Async(func() { c.close(code, reason) })
}

// slowClose closes a connection that stopped reading (4008): it cuts the
// write that is stuck on the full socket at once (its deadline is set to
// now), then closes. The close frame reaches the client only if its socket
// can still take it; a client that stopped reading usually sees the
// connection end without one (1006). Both mean "reconnect and resume".
func (c *conn) slowClose() {
	if !c.shutting.CompareAndSwap(false, true) {
		return
	}
	c.s.metrics.drop(dropSlowClose)
	c.s.log.Info("closing a slow consumer", "player", c.player, "remote", c.ip)
	_ = c.ws.NetConn().SetWriteDeadline(time.Now())
	c.ws.Async(func() { c.close(CloseSlow, "slow consumer") })
}

// handler receives gws events for every connection of a Server.
type handler struct{ s *Server }

const sessionKey = "c"

func connOf(ws *gws.Conn) *conn {
	v, _ := ws.Session().Load(sessionKey)
	c, _ := v.(*conn)
	return c
}

func (h handler) OnOpen(ws *gws.Conn) {
	c := connOf(ws)
	h.s.players.Attach(c.player, c.name, c.push)
	b := netcode.NewBuffer(64)
	netcode.AppendWelcome(b, string(c.player), c.name)
	c.out.Send(b.B)
}

func (h handler) OnClose(ws *gws.Conn, err error) {
	c := connOf(ws)
	c.closed.Store(true)
	h.s.players.Detach(c.player, c.push)
	c.out.Close()
	if s := c.seat.Swap(nil); s != nil {
		s.Room().Disconnect(s, c) // the seat enters its grace window
	}
	h.s.untrack(c)
}

func (h handler) OnPing(ws *gws.Conn, payload []byte) {
	connOf(ws).touch()
	_ = ws.WritePong(payload)
}

func (h handler) OnPong(ws *gws.Conn, payload []byte) { connOf(ws).touch() }

func (h handler) OnMessage(ws *gws.Conn, m *gws.Message) {
	defer m.Close()
	c := connOf(ws)
	c.touch()
	if m.Opcode != gws.OpcodeBinary {
		c.shut(CloseUnsupported, "binary frames only")
		return
	}
	if err := netcode.DecodeClient(m.Bytes(), &c.msg); err != nil {
		var pe *netcode.ProtocolError
		if !errors.As(err, &pe) {
			pe = &netcode.ProtocolError{Code: netcode.CodeBadMessage, Message: "bad message"}
		}
		c.badMessage(pe.Code, pe.Message, pe.Ref)
		return
	}
	c.dispatch(&c.msg)
}

// dispatch handles one valid client message on the reader goroutine.
func (c *conn) dispatch(m *netcode.ClientMessage) {
	if b, kind := c.budget.of(m.Type); b != nil {
		allowed, abusive := b.take(time.Now())
		if !allowed {
			c.s.metrics.rateLimited(kind)
			if abusive {
				c.shut(CloseRateLimited, "rate limit exceeded")
				return
			}
			c.sendError(CodeRateLimited, "over the "+kind+" budget: message dropped; slow down", m.Type)
			return
		}
	}
	switch m.Type {
	case netcode.MsgJoin:
		c.join(m.RoomType, m.RoomID, m.Token)
	case netcode.MsgInput:
		s := c.seat.Load()
		if s == nil {
			c.sendError(netcode.CodeNotInRoom, "input without a seat: join a room first", m.Type)
			return
		}
		if err := s.PushInput(m.Seq, m.Payload); err != nil {
			c.badMessage(netcode.CodeBadMessage, "input: payload does not match the room's input type", m.Type)
			return
		}
		if m.Ack != 0 {
			s.Ack(m.Ack)
		}
	case netcode.MsgAck:
		// Without a seat an ack is ignored: frames sent just before a
		// leave or kick are acknowledged after it, and that is no error.
		if s := c.seat.Load(); s != nil {
			s.Ack(m.Ack)
		}
	case netcode.MsgLeave:
		s := c.seat.Load()
		if s == nil {
			c.sendError(netcode.CodeNotInRoom, "leave without a seat", m.Type)
			return
		}
		s.Room().Leave(s)
	case netcode.MsgMsg:
		c.direct(player.ID(m.To), m.Payload)
	case netcode.MsgPing:
		b := netcode.NewBuffer(8 + len(m.Payload))
		netcode.AppendPong(b, m.Payload)
		c.answer(b.B)
	case netcode.MsgResume:
		c.resume(m)
	}
}

// direct sends a direct message to every connection of player to, on
// this node and, with a Remote, on every other node.
func (c *conn) direct(to player.ID, payload []byte) {
	b := netcode.NewBuffer(16 + len(c.player) + len(payload))
	netcode.AppendDirect(b, string(c.player), payload)
	n := c.s.players.Send(to, b.B)
	busy := false
	if n == 0 {
		if p, ok := c.s.players.Lookup(to); ok && p.Online() {
			busy = true // every local connection refused: their push queues are full
		}
	}
	var err error
	if r := c.s.cfg.Remote; r != nil {
		ctx, cancel := context.WithTimeout(context.Background(), c.s.cfg.RemoteTimeout)
		var nodes int
		nodes, err = r.Send(ctx, to, b.B)
		cancel()
		n += nodes
		if err != nil {
			c.s.log.Debug("direct message to other nodes failed", "to", to, "err", err)
		}
	}
	switch {
	case n > 0:
	case busy:
		c.sendError(CodeRecipientBusy, "player "+quote(string(to))+" is not taking messages now: message dropped", netcode.MsgMsg)
	case err != nil:
		c.sendError(netcode.CodeUnavailable, "player "+quote(string(to))+" is not on this node and the cluster cannot be reached: retry later", netcode.MsgMsg)
	default:
		c.sendError(netcode.CodePlayerOffline, "player "+quote(string(to))+" has no live connection", netcode.MsgMsg)
	}
}

// keepWriteDeadline keeps the write deadline at least WriteTimeout−slack
// ahead (slack: 1 s, or half a shorter WriteTimeout), so a peer that
// stopped reading cannot hold a write for long, without resetting the
// socket's timer on every write.
func (c *conn) keepWriteDeadline() {
	now := time.Now().UnixNano()
	slack := min(time.Second, c.s.cfg.WriteTimeout/2)
	if c.deadline.Load()-now > int64(c.s.cfg.WriteTimeout-slack) {
		return
	}
	c.setWriteDeadline(now)
}

func (c *conn) setWriteDeadline(now int64) {
	dl := now + int64(c.s.cfg.WriteTimeout)
	c.deadline.Store(dl)
	_ = c.ws.SetWriteDeadline(time.Unix(0, dl))
}

// touch records that something arrived (heartbeat liveness).
func (c *conn) touch() { c.lastRecv.Store(time.Now().UnixNano()) }

func (c *conn) resume(m *netcode.ClientMessage) {
	if c.seat.Load() != nil || !c.joining.CompareAndSwap(false, true) {
		c.sendError(netcode.CodeAlreadyInRoom, "this connection already holds a seat (or is joining): leave first", netcode.MsgResume)
		return
	}
	c.s.cfg.Rooms.Resume(room.ResumeRequest{
		Player:       c.player,
		Token:        m.Token,
		LastTick:     m.Ack,
		LastEventSeq: m.EventSeq,
		Conn:         c,
		Done:         c.resumed,
	})
}

// resumed receives the outcome of a resume (on the room goroutine, or the
// reader's for an unknown token).
func (c *conn) resumed(s *room.Seat, err error) {
	c.s.metrics.resume(resumeOutcome(err))
	if err != nil {
		defer c.joining.Store(false)
		c.seatFailed(err, netcode.MsgResume)
		return
	}
	c.joined(s, nil)
}

func (c *conn) join(roomType, roomID, seatToken string) {
	if c.seat.Load() != nil || !c.joining.CompareAndSwap(false, true) {
		c.sendError(netcode.CodeAlreadyInRoom, "this connection already holds a seat (or is joining): leave first", netcode.MsgJoin)
		return
	}
	c.s.cfg.Rooms.Join(room.JoinRequest{
		Player:    c.player,
		Name:      c.name,
		Conn:      c,
		RoomType:  roomType,
		RoomID:    roomID,
		SeatToken: seatToken,
		Done:      c.joined,
	})
}

// joined receives the outcome of a join (on the room goroutine).
func (c *conn) joined(s *room.Seat, err error) {
	defer c.joining.Store(false)
	if err != nil {
		c.seatFailed(err, netcode.MsgJoin)
		return
	}
	c.seat.Store(s)
	// The connection may have ended while the join was on its way.
	if c.closed.Load() && c.seat.CompareAndSwap(s, nil) {
		s.Room().Disconnect(s, c)
	}
}

// seatFailed answers a join or resume that got no seat: a redirect when
// another node runs the room, else an error.
func (c *conn) seatFailed(err error, ref netcode.MsgType) {
	var re *room.RedirectError
	if errors.As(err, &re) {
		b := netcode.NewBuffer(16 + len(re.WSURL))
		netcode.AppendRedirect(b, re.WSURL, ref)
		c.Deliver(b.B)
		return
	}
	code, msg := seatError(err)
	c.sendError(code, msg, ref)
}

// resumeOutcome names a resume's outcome for tickroom_resumes_total.
func resumeOutcome(err error) string {
	var re *room.RedirectError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &re):
		return "redirected"
	case errors.Is(err, room.ErrResumeExpired):
		return "expired"
	case errors.Is(err, room.ErrResumeRejected):
		return "rejected"
	case errors.Is(err, room.ErrThrottled):
		return "throttled"
	case errors.Is(err, room.ErrRoomGone):
		return "gone"
	case errors.Is(err, room.ErrUnavailable):
		return "unavailable"
	default:
		return "error"
	}
}

// seatError maps room errors to wire codes, in one place.
func seatError(err error) (code, msg string) {
	switch {
	case errors.Is(err, room.ErrSeatInvalid):
		return netcode.CodeSeatInvalid, "seat token not valid for this player (unknown, used, or someone else's)"
	case errors.Is(err, room.ErrSeatExpired):
		return netcode.CodeSeatExpired, "the seat reservation expired: reserve again"
	case errors.Is(err, room.ErrResumeExpired):
		return netcode.CodeResumeExpired, "the seat's grace window is over: join again"
	case errors.Is(err, room.ErrResumeRejected):
		return netcode.CodeResumeRejected, "resume token not valid for this player"
	case errors.Is(err, room.ErrThrottled):
		return netcode.CodeThrottled, "this seat changed connections too often: retry after a backoff"
	case errors.Is(err, room.ErrUnknownType):
		return netcode.CodeUnknownRoomType, "no such room type"
	case errors.Is(err, room.ErrRoomNotFound):
		return netcode.CodeRoomNotFound, "no such room"
	case errors.Is(err, room.ErrRoomLocked):
		return netcode.CodeRoomLocked, "the room is locked by the game"
	case errors.Is(err, room.ErrRoomFull):
		return netcode.CodeRoomFull, "the room is full"
	case errors.Is(err, room.ErrAlreadyInRoom):
		return netcode.CodeAlreadyInRoom, "this player already holds a seat in that room"
	case errors.Is(err, room.ErrJoinRejected):
		return netcode.CodeJoinRejected, err.Error()
	case errors.Is(err, room.ErrClosed):
		return netcode.CodeRoomNotFound, "the room is closing"
	case errors.Is(err, room.ErrRoomGone):
		return netcode.CodeRoomGone, "the server that ran this room is gone: join again through matchmaking"
	case errors.Is(err, room.ErrUnavailable):
		return netcode.CodeUnavailable, "the cluster directory cannot be reached: retry later"
	default:
		return netcode.CodeInternal, "internal error"
	}
}

// sendError answers a request with an error. Answers are best-effort: a
// client that floods requests faster than it reads their answers loses
// the surplus answers (counted as control_dropped) rather than its
// connection; it is closed only if its outbox then stays stalled for
// SlowTimeout, or by its budgets (4529).
func (c *conn) sendError(code, msg string, ref netcode.MsgType) {
	b := netcode.NewBuffer(24 + len(code) + len(msg))
	netcode.AppendError(b, code, msg, ref)
	c.answer(b.B)
}

// answer queues a best-effort answer (error, pong): see sendError.
func (c *conn) answer(msg []byte) {
	if !c.out.Send(msg) && !c.closed.Load() {
		c.s.metrics.drop(dropControl)
	}
}

// badMessage answers a malformed message and closes connections that keep
// sending them.
func (c *conn) badMessage(code, msg string, ref netcode.MsgType) {
	c.sendError(code, msg, ref)
	if !c.abuse.Allow() {
		// Behind the queued writes, so the errors that explain the close
		// reach the client first.
		c.shut(CloseAbuse, "too many bad messages")
	}
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return `"` + s + `"`
}

// session is a gws.SessionStorage holding just our *conn, instead of gws's
// default map per connection.
type session struct{ v any }

func (s *session) Len() int                       { return 1 }
func (s *session) Load(string) (any, bool)        { return s.v, s.v != nil }
func (s *session) Delete(string)                  { s.v = nil }
func (s *session) Store(_ string, v any)          { s.v = v }
func (s *session) Range(f func(string, any) bool) { f(sessionKey, s.v) }
