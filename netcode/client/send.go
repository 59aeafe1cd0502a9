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
// consistent with the order of what was written: the input sequence and the
// tick to acknowledge. Because both are read and written under mu together
// with the socket write, an input can never carry an ack older than an
// `ack 0` (snapshot request) sent before it.
type sender struct {
	c *Client

	mu  sync.Mutex // guards the fields below and every socket write
	buf *netcode.Buffer
	seq uint64 // last input seq sent in the current seat
	ack uint64 // latest applied tick, to acknowledge; 0 = none / snapshot requested
	fed bool   // an input carried an ack since the last applied frame
	// leaving is set when leave was written: nothing more is sent for the
	// seat (an ack crossing the server's `left` would earn not_in_room).
	leaving bool
}

func (s *sender) init(c *Client) {
	s.c = c
	s.buf = netcode.NewBuffer(256)
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
	ws := s.c.ws
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
// again and nothing is acknowledged yet. Called by the reader on joined.
func (s *sender) seated() {
	s.mu.Lock()
	s.seq, s.ack, s.fed, s.leaving = 0, 0, false, false
	s.mu.Unlock()
}

// SendInput sends one input for the current seat: payload is encoded with
// msgpack (arena: []float64{dx, dy}; a msgpack.RawMessage is sent as it
// is), gets the next sequence number (1, 2, 3… per seat) and carries the
// acknowledgement of the latest applied frame. It returns the sequence
// number; the server reports the last one it applied in each frame
// (State.InputSeq). It fails with ErrNotInRoom before the seat is
// confirmed by Join.
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
	s.buf.Reset()
	netcode.AppendInput(s.buf, s.seq+1, raw, s.ack)
	if err := s.writeLocked(); err != nil {
		return 0, err
	}
	s.seq++
	if s.ack != 0 {
		s.fed = true
	}
	c.st.inputsSent.Add(1)
	return s.seq, nil
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
// (`[3, 0]`). The client does this by itself after a desync; it is exposed
// for tests and tools.
func (c *Client) RequestSnapshot() { c.send.requestSnapshot() }

// Join asks for a seat in a room (PROTOCOL join) and waits for `joined`
// and the first full frame, which is then the replica. With roomID empty an
// open room of roomType is joined or created; with roomID set exactly that
// room is joined. A refusal is returned as a *ServerError carrying the wire
// code (unknown_room_type, room_full, ...); the connection stays usable.
// Only one Join may wait at a time (else ErrJoinPending). If ctx ends first
// the join may still complete later: the replica then follows that room.
func (c *Client) Join(ctx context.Context, roomType, roomID string) (JoinInfo, error) {
	w := &joinWait{done: make(chan joinResult, 1)}
	c.mu.Lock()
	if c.joinW != nil {
		c.mu.Unlock()
		return JoinInfo{}, ErrJoinPending
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

	if err := c.send.write(func(b *netcode.Buffer) { netcode.AppendJoin(b, roomType, roomID) }); err != nil {
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
		return JoinInfo{}, fmt.Errorf("client: join: %w", c.closeCause())
	}
}

// Leave gives up the current seat and waits for the server's `left`.
// From the call on, nothing more is sent for the seat (inputs fail with
// ErrNotInRoom, frames still arriving are not acknowledged); the replica
// is dropped when `left` arrives.
func (c *Client) Leave(ctx context.Context) error {
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
	s.leaving = true
	s.buf.Reset()
	netcode.AppendLeave(s.buf)
	err := s.writeLocked()
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

// Ping sends an application-level ping and waits for its pong; it returns
// the round-trip time.
func (c *Client) Ping(ctx context.Context) (time.Duration, error) {
	ch := make(chan struct{})
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
	case <-ch:
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
