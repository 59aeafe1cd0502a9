package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/lxzan/gws"
	"github.com/tickroom/tickroom/netcode"
	"github.com/vmihailenco/msgpack/v5"
)

// sender serializes the client's writes and owns the state that must stay
// consistent with the order of what was written: the current socket, the
// input sequence, the tick to acknowledge and the inputs not yet known to be
// applied. Because all of it is read and written under mu together with the
// socket write, an input can never carry an ack older than an `ack 0`
// (snapshot request) sent before it, and an input is never written twice on
// one connection.
type sender struct {
	c *Client

	mu  sync.Mutex // guards the fields below and every socket write
	ws  *gws.Conn  // the current connection; nil between connections (reconnecting)
	buf *netcode.Buffer
	seq uint64 // last input seq handed out in the current seat
	ack uint64 // latest applied tick, to acknowledge; 0 = none / snapshot requested
	fed bool   // an input carried an ack since the last applied frame
	// leaving is set when leave was written: nothing more is sent for the
	// seat (an ack crossing the server's `left` would earn not_in_room).
	leaving bool
	// hold keeps inputs in pend instead of writing them: while there is no
	// connection, and after a resume until its frame tells which inputs the
	// server applied.
	hold bool
	// silent (GoSilent) suppresses every write: the client plays dead.
	silent bool
	// pend holds the latest inputs the server may not have applied yet,
	// with their final seqs; resent after a resume or a silence.
	pend    pending
	sentSeq uint64 // highest input seq written on the current connection
}

func (s *sender) init(c *Client, inputs int) {
	s.c = c
	s.buf = netcode.NewBuffer(256)
	s.pend = newPending(inputs)
}

// attach makes ws the current connection. Inputs are held (when hold) until
// release. It reports false, and closes ws, when Close has begun: Close
// either saw ws here or will see closing set.
func (s *sender) attach(ws *gws.Conn, hold bool) bool {
	s.mu.Lock()
	s.ws, s.hold, s.silent, s.sentSeq = ws, hold, false, 0
	closing := s.c.closing.Load()
	s.mu.Unlock()
	if closing {
		_ = ws.NetConn().Close()
		return false
	}
	return true
}

// detach follows the end of the connection. With reconnect it forgets the
// connection: until the next attach, inputs are held and other writes fail
// with ErrOffline (without, writes report the end).
func (s *sender) detach(reconnect bool) {
	s.mu.Lock()
	s.silent = false
	if reconnect {
		s.ws, s.hold = nil, true
	}
	s.mu.Unlock()
}

// current returns the current connection, nil if none.
func (s *sender) current() *gws.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ws
}

// writeLocked writes s.buf as one binary message. s.mu must be held.
func (s *sender) writeLocked() error {
	if s.buf.Len() > netcode.MaxClientMessage {
		return ErrTooLarge
	}
	if s.c.closing.Load() {
		return ErrClosed
	}
	select {
	case <-s.c.done:
		return s.c.closeCause()
	default:
	}
	ws := s.ws
	if ws == nil || s.silent {
		return ErrOffline
	}
	_ = ws.SetWriteDeadline(time.Now().Add(s.c.cfg.WriteTimeout))
	if err := ws.WriteMessage(gws.OpcodeBinary, s.buf.B); err != nil {
		if errors.Is(err, gws.ErrConnClosed) {
			return fmt.Errorf("client: write: %w: %w", ErrClosed, err)
		}
		return fmt.Errorf("client: write: %w", err)
	}
	return nil
}

// write encodes one message with enc and writes it.
func (s *sender) write(enc func(b *netcode.Buffer)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Reset()
	enc(s.buf)
	return s.writeLocked()
}

// writeInputLocked writes input seq. s.mu must be held.
func (s *sender) writeInputLocked(seq uint64, raw []byte) error {
	s.buf.Reset()
	netcode.AppendInput(s.buf, seq, raw, s.ack)
	if err := s.writeLocked(); err != nil {
		return err
	}
	s.sentSeq = max(s.sentSeq, seq)
	if s.ack != 0 {
		s.fed = true
	}
	s.c.st.inputsSent.Add(1)
	return nil
}

// flushLocked writes the pending inputs after seq, in order. It stops at
// the first failure (they stay pending). s.mu must be held.
func (s *sender) flushLocked(after uint64) {
	for i := range s.pend.n {
		in := s.pend.at(i)
		if in.seq <= after {
			continue
		}
		if s.writeInputLocked(in.seq, in.raw) != nil {
			return
		}
		s.c.st.inputsResent.Add(1)
	}
}

// frame records the input_seq of a frame: inputs up to it were applied and
// are forgotten. With release (the first frame after a resume) the held
// inputs the server has not applied are written now, in order, under
// their own seqs, and later inputs go out directly again. Called by the
// reader before applied.
func (s *sender) frame(inputSeq uint64, release bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pend.trim(inputSeq)
	if !release {
		return
	}
	// Numbering continues after what the server applied, even if it knows
	// of more inputs than this client sent (another device resumed).
	s.seq = max(s.seq, inputSeq)
	s.hold = false
	if !s.leaving {
		s.flushLocked(inputSeq)
	}
}

// endSilence lets writes through again, sends the inputs buffered during
// the silence, then an application ping with probe as its data.
func (s *sender) endSilence(probe []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.silent {
		return
	}
	s.silent = false
	if !s.hold && !s.leaving {
		s.flushLocked(s.sentSeq)
	}
	s.buf.Reset()
	netcode.AppendPing(s.buf, probe)
	_ = s.writeLocked()
}

// startSilence suppresses every write until endSilence or the end of the
// connection. It reports false when there is no usable connection.
func (s *sender) startSilence() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ws == nil || s.hold {
		return false
	}
	s.silent = true
	return true
}

// applied records that the frame of tick was applied and acknowledges it:
// with a separate ack message, unless inputs are flowing (an input was sent
// since the previous frame), in which case the next input carries it. Either
// way the server learns of every tick within about one tick. Called by the
// reader.
func (s *sender) applied(tick uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ack = tick
	if tick == 0 || s.leaving {
		// The state before a room's first tick: `ack 0` would mean
		// "send a snapshot", which the server does anyway.
		return
	}
	if s.fed {
		s.fed = false
		return
	}
	s.buf.Reset()
	netcode.AppendAck(s.buf, tick)
	if err := s.writeLocked(); err == nil {
		s.c.st.acksSent.Add(1)
	}
}

// requestSnapshot forgets the acknowledged tick and sends `[3, 0]`.
// Called by the reader after a desync.
func (s *sender) requestSnapshot() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ack, s.fed = 0, false
	if s.leaving {
		return
	}
	s.buf.Reset()
	netcode.AppendAck(s.buf, 0)
	if err := s.writeLocked(); err == nil {
		s.c.st.acksSent.Add(1)
	}
}

// seated resets the per-seat state for a new seat: inputs count from 1
// again and nothing is acknowledged yet. With hold, inputs wait for the
// seat's first frame (a resumed seat: its input_seq says where numbering
// continues). Called by the reader on joined and on an explicit resume.
func (s *sender) seated(hold bool) {
	s.mu.Lock()
	s.seq, s.ack, s.fed, s.leaving, s.hold = 0, 0, false, false, hold
	s.pend.reset()
	s.mu.Unlock()
}

// unseated drops the per-seat input state when the seat is gone.
func (s *sender) unseated() {
	s.mu.Lock()
	s.pend.reset()
	s.mu.Unlock()
}

// resume writes `[7, token, lastTick, lastEventSeq]` on the current
// connection, bypassing hold (the seat is not this connection's yet).
func (s *sender) resume(token string, lastTick, lastEventSeq uint64) error {
	return s.write(func(b *netcode.Buffer) { netcode.AppendResume(b, token, lastTick, lastEventSeq) })
}

// SendInput sends one input for the current seat: payload is encoded with
// msgpack (arena: []float64{dx, dy}; a msgpack.RawMessage is sent as it
// is), gets the next sequence number (1, 2, 3… per seat) and carries the
// acknowledgement of the latest applied frame. It returns the sequence
// number; the server reports the last one it applied in each frame
// (State.InputSeq). It fails with ErrNotInRoom before the seat is
// confirmed by Join (or Resume) and after Leave.
//
// With Config.Reconnect set, SendInput does not fail while the client is
// reconnecting (or silent, see GoSilent): the input gets its seq and waits
// in a small buffer (ReconnectPolicy.Inputs, the latest ones; older ones
// are dropped and counted in Stats.InputsDropped). After the resume, the
// buffered inputs the server has not applied are sent, in order and under
// the seqs returned here; inputs it already applied are never sent again.
func (c *Client) SendInput(payload any) (seq uint64, err error) {
	raw, err := msgpack.Marshal(payload)
	if err != nil {
		return 0, fmt.Errorf("client: encoding input: %w", err)
	}
	c.mu.Lock()
	seated := c.room != ""
	c.mu.Unlock()
	if !seated {
		return 0, ErrNotInRoom
	}
	s := &c.send
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.leaving {
		return 0, ErrNotInRoom
	}
	if c.closing.Load() {
		return 0, ErrClosed
	}
	seq = s.seq + 1
	if s.hold || s.silent {
		if s.pend.push(seq, raw) {
			c.st.inputsDropped.Add(1)
		}
		s.seq = seq
		c.st.inputsBuffered.Add(1)
		return seq, nil
	}
	if err := s.writeInputLocked(seq, raw); err != nil {
		if c.cfg.Reconnect == nil || errors.Is(err, ErrClosed) && c.closing.Load() || errors.Is(err, ErrTooLarge) {
			return 0, err
		}
		select {
		case <-c.done:
			return 0, err
		default:
		}
		// The connection just died: the input waits for the resume.
		if s.pend.push(seq, raw) {
			c.st.inputsDropped.Add(1)
		}
		s.seq = seq
		c.st.inputsBuffered.Add(1)
		return seq, nil
	}
	// A written input pushed out of the buffer before the server confirmed
	// it can no longer be resent after a resume; it is not counted as
	// dropped (it was sent).
	_ = s.pend.push(seq, raw)
	s.seq = seq
	return seq, nil
}

// SendMsg sends a direct message to player to; payload is encoded with
// msgpack. It reaches every live connection of that player. An offline
// player is reported asynchronously through Config.OnError (code
// player_offline).
func (c *Client) SendMsg(to string, payload any) error {
	raw, err := msgpack.Marshal(payload)
	if err != nil {
		return fmt.Errorf("client: encoding message: %w", err)
	}
	return c.send.write(func(b *netcode.Buffer) { netcode.AppendMsg(b, to, raw) })
}

// RequestSnapshot asks the server for a full snapshot in its next frame
// (`[3, 0]`). Deltas arriving until then are skipped, not acknowledged: an
// ack of a delta that was already on its way would move the server's
// baseline forward again and cancel the request. The client does this by
// itself after a desync; it is exposed for tests and tools.
func (c *Client) RequestSnapshot() {
	c.snapWanted.Store(true)
	c.send.requestSnapshot()
}

// Join asks for a seat in a room (PROTOCOL join) and waits for `joined`
// and the first full frame, which is then the replica. With roomID empty an
// open room of roomType is joined or created; with roomID set exactly that
// room is joined. A refusal is returned as a *ServerError carrying the wire
// code (unknown_room_type, room_full, ...); the connection stays usable.
// Only one Join or Resume may wait at a time (else ErrJoinPending). If ctx
// ends first the join may still complete later: the replica then follows
// that room. While reconnecting it fails with ErrOffline; a connection
// lost before `joined` arrived fails it too (the server frees a seat it
// may have made when its grace window ends).
func (c *Client) Join(ctx context.Context, roomType, roomID string) (JoinInfo, error) {
	return c.seatRequest(ctx, "join", func(b *netcode.Buffer) { netcode.AppendJoin(b, roomType, roomID) })
}

// JoinSeat takes a seat reserved for this player by the matchmaking API
// (Reservation.SeatToken, or Matched.SeatToken of a pushed match): it
// sends `join [1, "", "", seatToken]` and, like Join, waits for `joined`
// and the first full frame. Dial the reservation's WSURL first. A token
// that is unknown, already used or reserved for another player is a
// *ServerError with Code netcode.CodeSeatInvalid; a reservation that
// expired (its seat was freed: reserve again) one with
// netcode.CodeSeatExpired. Either way the connection stays usable. The
// seat is then like any other: with Config.Reconnect a lost connection
// resumes it with the resume token of `joined`.
func (c *Client) JoinSeat(ctx context.Context, seatToken string) (JoinInfo, error) {
	if seatToken == "" {
		return JoinInfo{}, errors.New("client: JoinSeat: empty seat token")
	}
	return c.seatRequest(ctx, "join", func(b *netcode.Buffer) { netcode.AppendJoinSeat(b, seatToken) })
}

// Resume takes back a seat held for this player with its resume token
// (PROTOCOL §9), e.g. one saved by a previous process (ResumeToken), or the
// seat of another of the player's connections, which the server then
// closes with 4509. It waits for `resumed` and the first frame, which is
// then the replica (a full snapshot: this client holds no earlier state),
// and returns the seat like Join; the room events the seat buffered are
// delivered to OnEvent. Inputs continue after the server's input_seq. A
// refusal is a *ServerError with code resume_expired, resume_rejected or
// throttled. Automatic reconnection (Config.Reconnect) does not need it.
func (c *Client) Resume(ctx context.Context, token string) (JoinInfo, error) {
	return c.seatRequest(ctx, "resume", func(b *netcode.Buffer) { netcode.AppendResume(b, token, 0, 0) })
}

// seatRequest sends a join or resume and waits for its outcome.
func (c *Client) seatRequest(ctx context.Context, what string, enc func(b *netcode.Buffer)) (JoinInfo, error) {
	w := &joinWait{done: make(chan joinResult, 1)}
	c.mu.Lock()
	if c.joinW != nil {
		c.mu.Unlock()
		return JoinInfo{}, ErrJoinPending
	}
	if !c.online {
		c.mu.Unlock()
		return JoinInfo{}, c.offlineErr()
	}
	c.joinW = w
	c.mu.Unlock()
	cancel := func() {
		c.mu.Lock()
		if c.joinW == w {
			c.joinW = nil
		}
		c.mu.Unlock()
	}

	if err := c.send.write(enc); err != nil {
		cancel()
		return JoinInfo{}, err
	}
	select {
	case r := <-w.done:
		return r.info, r.err
	case <-ctx.Done():
		cancel()
		return JoinInfo{}, ctx.Err()
	case <-c.done:
		return JoinInfo{}, fmt.Errorf("client: %s: %w", what, c.closeCause())
	}
}

// offlineErr is the error of a request that needs the connection while
// there is none: ErrClosed after Close, the end's cause once the client
// ended, else ErrOffline (reconnecting).
func (c *Client) offlineErr() error {
	if c.closing.Load() {
		return ErrClosed
	}
	select {
	case <-c.done:
		return c.closeCause()
	default:
		return ErrOffline
	}
}

// Leave gives up the current seat and waits for the server's `left`.
// From the call on, nothing more is sent for the seat (inputs fail with
// ErrNotInRoom, frames still arriving are not acknowledged); the replica
// is dropped when `left` arrives. While the client is reconnecting, Leave
// first waits for the resume (or ctx): the seat is held by the server
// until then. If the connection is lost after leave was sent, the leave
// counts as done.
func (c *Client) Leave(ctx context.Context) error {
	if err := c.WaitOnline(ctx); err != nil {
		return err
	}
	c.mu.Lock()
	if c.room == "" {
		c.mu.Unlock()
		return ErrNotInRoom
	}
	if c.leaveW == nil {
		c.leaveW = make(chan struct{})
	}
	w := c.leaveW
	c.mu.Unlock()

	s := &c.send
	s.mu.Lock()
	var err error
	if !s.leaving { // else a leave is already on its way: wait for its answer
		s.leaving = true
		s.pend.reset()
		s.buf.Reset()
		netcode.AppendLeave(s.buf)
		err = s.writeLocked()
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	select {
	case <-w:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return fmt.Errorf("client: leave: %w", c.closeCause())
	}
}

// WaitOnline waits until the client can use its connection: connected
// and, if seated, holding its seat (not reconnecting, not silent). It
// returns at once for a client without a seat whose connection is up, and
// fails when ctx ends or the client ends (then wrapping ErrClosed and the
// cause, e.g. ErrLost).
func (c *Client) WaitOnline(ctx context.Context) error {
	return c.await(ctx, func() bool { return c.online })
}

// Ping sends an application-level ping and waits for its pong; it returns
// the round-trip time. It fails with ErrOffline while reconnecting, and
// when the connection is lost before the pong arrives.
func (c *Client) Ping(ctx context.Context) (time.Duration, error) {
	ch := make(chan error, 1)
	c.mu.Lock()
	c.pingSeq++
	id := c.pingSeq
	c.pings[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pings, id)
		c.mu.Unlock()
	}()

	var data [9]byte
	raw := appendUint(data[:0], id)
	start := time.Now()
	if err := c.send.write(func(b *netcode.Buffer) { netcode.AppendPing(b, raw) }); err != nil {
		return 0, err
	}
	select {
	case err := <-ch:
		if err != nil {
			return 0, fmt.Errorf("client: ping: %w", err)
		}
		return time.Since(start), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-c.done:
		return 0, fmt.Errorf("client: ping: %w", c.closeCause())
	}
}

// appendUint appends v as a msgpack uint64 (always 9 bytes, so the pong is
// easy to match).
func appendUint(b []byte, v uint64) []byte {
	return append(b, 0xcf, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// pending is the sender's bounded buffer of the latest inputs the server
// has not confirmed (by a frame's input_seq), in seq order: a ring whose
// storage is reused. Guarded by sender.mu.
type pending struct {
	items   []pendingInput // len = the bound
	head, n int
}

type pendingInput struct {
	seq uint64
	raw []byte
}

func newPending(limit int) pending { return pending{items: make([]pendingInput, limit)} }

// at returns the i-th oldest input, i < p.n.
func (p *pending) at(i int) *pendingInput { return &p.items[(p.head+i)%len(p.items)] }

// push appends input seq; when the buffer is full the oldest is dropped
// and push reports true.
func (p *pending) push(seq uint64, raw []byte) (dropped bool) {
	if p.n == len(p.items) {
		p.head = (p.head + 1) % len(p.items)
		p.n--
		dropped = true
	}
	in := p.at(p.n)
	in.seq, in.raw = seq, append(in.raw[:0], raw...)
	p.n++
	return dropped
}

// trim forgets the inputs with seq ≤ applied.
func (p *pending) trim(applied uint64) {
	for p.n > 0 && p.at(0).seq <= applied {
		p.head = (p.head + 1) % len(p.items)
		p.n--
	}
}

func (p *pending) reset() { p.head, p.n = 0, 0 }
