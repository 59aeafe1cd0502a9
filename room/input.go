package room

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/vmihailenco/msgpack/v5"
)

// inputQueue is a seat's bounded queue of decoded inputs. Connection
// readers push; the room goroutine drains at the tick.
type inputQueue interface {
	// push decodes payload and queues it. When the queue is full the
	// oldest input is dropped (and counted).
	push(seq uint64, payload []byte) error
	// dropped returns how many inputs were dropped for overflow.
	dropped() uint64
}

type queued[In any] struct {
	seq uint64
	in  In
}

type queue[In any] struct {
	mu    sync.Mutex // guards everything below
	ring  []queued[In]
	start int
	n     int
	drops atomic.Uint64

	// A decoder kept with the queue: msgpack.Unmarshal would allocate a
	// reader and box a fresh value for every input.
	rd      bytes.Reader
	dec     *msgpack.Decoder
	scratch In
}

func newQueue[In any](capacity int) *queue[In] {
	q := &queue[In]{ring: make([]queued[In], capacity)}
	q.dec = msgpack.NewDecoder(&q.rd)
	return q
}

func (q *queue[In]) push(seq uint64, payload []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.decode(payload); err != nil {
		return err
	}
	in := q.scratch
	if q.n == len(q.ring) {
		q.start = (q.start + 1) % len(q.ring)
		q.n--
		q.drops.Add(1)
	}
	q.ring[(q.start+q.n)%len(q.ring)] = queued[In]{seq: seq, in: in}
	q.n++
	return nil
}

// decode decodes payload into q.scratch. A panic while decoding (in a
// game's own DecodeMsgpack, or in the msgpack library on hostile bytes)
// refuses the input like any undecodable one: it runs on the connection's
// reader, where it must neither take the process down nor leave q.mu held.
// Called with q.mu held.
func (q *queue[In]) decode(payload []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrInputPanic, p)
		}
	}()
	var zero In
	q.scratch = zero
	q.rd.Reset(payload)
	q.dec.ResetReader(&q.rd)
	return q.dec.Decode(&q.scratch)
}

// ErrInputPanic is returned by Seat.PushInput when decoding the payload
// panicked; the input is refused, the room goes on.
var ErrInputPanic = errors.New("room: decoding the input panicked")

func (q *queue[In]) dropped() uint64 { return q.drops.Load() }

// drain appends the queued inputs to dst in arrival order and empties the queue.
func (q *queue[In]) drain(dst []queued[In]) []queued[In] {
	q.mu.Lock()
	for i := 0; i < q.n; i++ {
		j := (q.start + i) % len(q.ring)
		dst = append(dst, q.ring[j])
		var zero queued[In]
		q.ring[j] = zero
	}
	q.start, q.n = 0, 0
	q.mu.Unlock()
	return dst
}

// ackCell holds the highest tick a client acknowledged; 0 means it has
// no baseline and gets a full snapshot. Written by the connection's reader,
// read by the room goroutine.
type ackCell struct{ v atomic.Uint64 }

// store records an ack. Acks only move forward, except 0, which resets the
// baseline (a client asking for a snapshot after a checksum mismatch).
func (a *ackCell) store(tick uint64) {
	if tick == 0 {
		a.v.Store(0)
		return
	}
	for {
		old := a.v.Load()
		if old >= tick || a.v.CompareAndSwap(old, tick) {
			return
		}
	}
}

func (a *ackCell) load() uint64 { return a.v.Load() }
