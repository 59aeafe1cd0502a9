package netcode

import (
	"sync"
	"sync/atomic"
	"time"
)

// Shared is an immutable, reference-counted byte buffer: one encoded delta
// or event list sent to many connections. The producer fills Buf, then
// hands a reference to each consumer with Retain; every holder calls
// Release when done, and the last Release returns it to its pool.
type Shared struct {
	buf  *Buffer
	refs atomic.Int32
}

var sharedPool = sync.Pool{New: func() any { return &Shared{buf: NewBuffer(256)} }}

// NewShared returns an empty Shared holding one reference (the caller's).
func NewShared() *Shared {
	s := sharedPool.Get().(*Shared)
	s.buf.Reset()
	s.refs.Store(1)
	return s
}

// Buf is the buffer to encode into. It must not be written after the
// Shared has been handed to another goroutine.
func (s *Shared) Buf() *Buffer { return s.buf }

// Bytes returns the encoded bytes.
func (s *Shared) Bytes() []byte { return s.buf.B }

// Retain adds a reference.
func (s *Shared) Retain() { s.refs.Add(1) }

// Release drops a reference; the last one recycles s.
func (s *Shared) Release() {
	if n := s.refs.Add(-1); n == 0 {
		if cap(s.buf.B) <= 64<<10 {
			sharedPool.Put(s)
		}
	} else if n < 0 {
		panic("netcode: Shared released too often")
	}
}

// MaxFrameHead is the largest frame head: array header, type, tick, age,
// input seq (9 bytes each at most) and a uint32 checksum.
const MaxFrameHead = 40

// Frame is one state frame for one connection: a per-connection head
// (AppendFrameHead output), then shared parts written back to back. A
// Frame holds one reference on each non-nil part; whoever ends up with the
// Frame (the outbox, or the caller when Outbox.SendFrame refuses it)
// releases them.
type Frame struct {
	head    [MaxFrameHead]byte
	headLen uint8
	pad     uint8 // empty msgpack arrays (0x90) written between Delta and Events
	Delta   *Shared
	Events  *Shared
}

// SetHead copies the frame head (at most MaxFrameHead bytes).
func (f *Frame) SetHead(b []byte) {
	f.headLen = uint8(copy(f.head[:], b))
}

// SetPad sets how many empty arrays are written between Delta and Events
// (to fill the optional created/removed fields when events follow a
// delta that had none).
func (f *Frame) SetPad(n int) { f.pad = uint8(n) }

// AppendTo appends the whole frame's bytes to dst.
func (f *Frame) AppendTo(dst []byte) []byte {
	dst = append(dst, f.head[:f.headLen]...)
	if f.Delta != nil {
		dst = append(dst, f.Delta.Bytes()...)
	}
	for i := 0; i < int(f.pad); i++ {
		dst = append(dst, 0x90)
	}
	if f.Events != nil {
		dst = append(dst, f.Events.Bytes()...)
	}
	return dst
}

// Release drops the frame's references on its parts.
func (f *Frame) Release() {
	if f.Delta != nil {
		f.Delta.Release()
		f.Delta = nil
	}
	if f.Events != nil {
		f.Events.Release()
		f.Events = nil
	}
}

// Transport is what an Outbox writes through: one connection.
type Transport interface {
	// Async runs f on the connection's writer, after previously scheduled
	// functions, never concurrently with them. It must not block.
	Async(f func())
	// WriteMessage writes one binary WebSocket message. It is called only
	// from functions run by Async.
	WriteMessage(b []byte) error
}

// OutboxConfig sizes an Outbox. Zero fields take the defaults.
type OutboxConfig struct {
	// MaxFrames bounds the state frames waiting to be written (default 4).
	// A frame offered beyond it is refused: the room skips that client for
	// the tick and later sends a delta from its older acknowledged tick.
	MaxFrames int
	// MaxMessages bounds all queued items, frames and pushes included
	// (default 64). A control message offered beyond it is refused; the
	// owner should close the connection as a slow consumer.
	MaxMessages int
	// MaxPushes bounds the pushes waiting to be written (default 16):
	// messages the connection did not cause (direct messages from other
	// players, matchmaking pushes). A push offered beyond it is refused
	// and the connection is not otherwise affected, so other players can
	// never fill an outbox: frames and the connection's own messages keep
	// at least MaxMessages−MaxPushes slots.
	MaxPushes int
}

// OutboxStats counts what happened to offered items.
type OutboxStats struct {
	Frames, FramesDropped     uint64
	Messages, MessagesDropped uint64
	Pushes, PushesDropped     uint64
	Bytes                     uint64 // bytes handed to the transport
}

type outItem struct {
	frame Frame
	msg   []byte // nil for a frame
	push  bool   // msg was queued by SendPush
}

// Outbox is a connection's bounded send queue. Producers (room goroutines,
// readers) enqueue without blocking; the queue is drained by one function
// at a time scheduled on the Transport, so the producer never waits on a
// socket. It is safe for concurrent use.
type Outbox struct {
	t     Transport
	cfg   OutboxConfig
	flush func() // o.drain, bound once so scheduling does not allocate

	mu     sync.Mutex // guards the fields below
	q      []outItem  // FIFO; q[head:] are pending
	head   int
	frames int // frames pending
	pushes int // pushes pending
	// stalled is when an item was first refused for lack of room since the
	// queue was last empty (zero: not stalled); see Stalled.
	stalled   time.Time
	scheduled bool
	closed    bool
	stats     OutboxStats

	wbuf []byte // drain's scratch; touched only by the running drain
}

// NewOutbox returns an Outbox writing to t.
func NewOutbox(t Transport, cfg OutboxConfig) *Outbox {
	if cfg.MaxFrames <= 0 {
		cfg.MaxFrames = 4
	}
	if cfg.MaxMessages <= 0 {
		cfg.MaxMessages = 64
	}
	if cfg.MaxPushes <= 0 {
		cfg.MaxPushes = 16
	}
	cfg.MaxPushes = min(cfg.MaxPushes, cfg.MaxMessages)
	o := &Outbox{t: t, cfg: cfg}
	o.flush = o.drain
	return o
}

// SendFrame queues f. On success the outbox owns f's references; when it
// returns false (outbox full of frames, or closed) the caller still owns
// them and must Release f.
func (o *Outbox) SendFrame(f *Frame) bool {
	o.mu.Lock()
	if o.closed || o.frames >= o.cfg.MaxFrames || len(o.q)-o.head >= o.cfg.MaxMessages {
		o.stats.FramesDropped++
		o.stallLocked()
		o.mu.Unlock()
		return false
	}
	o.pushLocked(outItem{frame: *f})
	o.frames++
	o.stats.Frames++
	o.kickLocked()
	o.mu.Unlock()
	return true
}

// Send queues a complete message (msg must not be modified afterwards).
// It returns false when the outbox is full or closed.
func (o *Outbox) Send(msg []byte) bool {
	o.mu.Lock()
	if o.closed || len(o.q)-o.head >= o.cfg.MaxMessages {
		o.stats.MessagesDropped++
		o.stallLocked()
		o.mu.Unlock()
		return false
	}
	o.pushLocked(outItem{msg: msg})
	o.stats.Messages++
	o.kickLocked()
	o.mu.Unlock()
	return true
}

// SendPush queues a message the connection did not cause (msg must not be
// modified afterwards). It returns false when MaxPushes pushes are already
// waiting, the outbox is full, or it is closed. A refused push does not
// count as a stall (see StalledFor): a flood of pushes cannot make a reading
// connection look slow.
func (o *Outbox) SendPush(msg []byte) bool {
	o.mu.Lock()
	if o.closed || o.pushes >= o.cfg.MaxPushes || len(o.q)-o.head >= o.cfg.MaxMessages {
		o.stats.PushesDropped++
		o.mu.Unlock()
		return false
	}
	o.pushLocked(outItem{msg: msg, push: true})
	o.pushes++
	o.stats.Pushes++
	o.kickLocked()
	o.mu.Unlock()
	return true
}

// stallLocked records the first refusal since the queue was last empty.
func (o *Outbox) stallLocked() {
	if !o.closed && o.stalled.IsZero() {
		o.stalled = time.Now()
	}
}

// StalledFor returns how long before now the outbox first refused a frame
// or control message for lack of room since its queue was last empty, or
// 0 if it has not. A connection that keeps reading empties its queue now
// and then; one whose outbox stays stalled for long has stopped reading
// (the owner closes it as a slow consumer).
func (o *Outbox) StalledFor(now time.Time) time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.stalled.IsZero() {
		return 0
	}
	return now.Sub(o.stalled)
}

func (o *Outbox) pushLocked(it outItem) {
	if o.head > 0 && len(o.q) == cap(o.q) {
		// Reuse the consumed prefix instead of growing.
		n := copy(o.q, o.q[o.head:])
		clear(o.q[n:])
		o.q, o.head = o.q[:n], 0
	}
	o.q = append(o.q, it)
}

func (o *Outbox) kickLocked() {
	if !o.scheduled {
		o.scheduled = true
		o.t.Async(o.flush)
	}
}

// Close drops everything queued and refuses further items. Safe to call
// more than once.
func (o *Outbox) Close() {
	o.mu.Lock()
	o.closed = true
	for i := o.head; i < len(o.q); i++ {
		o.q[i].frame.Release()
		o.q[i] = outItem{}
	}
	o.q, o.head, o.frames, o.pushes = o.q[:0], 0, 0, 0
	o.stalled = time.Time{}
	o.mu.Unlock()
}

// Stats returns the counters.
func (o *Outbox) Stats() OutboxStats {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.stats
}

// Pending returns the number of queued items.
func (o *Outbox) Pending() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.q) - o.head
}

// drain writes queued items until the queue is empty. Run by the Transport.
func (o *Outbox) drain() {
	var written uint64
	for {
		o.mu.Lock()
		o.stats.Bytes += written
		written = 0
		if o.closed || o.head == len(o.q) {
			o.q, o.head = o.q[:0], 0
			o.stalled = time.Time{}
			o.scheduled = false
			o.mu.Unlock()
			return
		}
		it := o.q[o.head]
		o.q[o.head] = outItem{}
		o.head++
		switch {
		case it.msg == nil:
			o.frames--
		case it.push:
			o.pushes--
		}
		o.mu.Unlock()

		b := it.msg
		if b == nil {
			o.wbuf = it.frame.AppendTo(o.wbuf[:0])
			it.frame.Release()
			b = o.wbuf
		}
		err := o.t.WriteMessage(b)
		written = uint64(len(b))
		if err != nil {
			o.Close()
			o.mu.Lock()
			o.scheduled = false
			o.mu.Unlock()
			return
		}
	}
}
