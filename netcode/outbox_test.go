package netcode

import (
	"testing"
	"time"
)

// stepTransport runs Async functions only when the test says so, like a
// writer stuck on a full socket.
type stepTransport struct {
	pending []func()
	written [][]byte
}

func (t *stepTransport) Async(f func()) { t.pending = append(t.pending, f) }
func (t *stepTransport) WriteMessage(b []byte) error {
	t.written = append(t.written, append([]byte(nil), b...))
	return nil
}
func (t *stepTransport) run() {
	for len(t.pending) > 0 {
		f := t.pending[0]
		t.pending = t.pending[1:]
		f()
	}
}

func TestOutboxPushesAreBoundedApart(t *testing.T) {
	tr := &stepTransport{}
	o := NewOutbox(tr, OutboxConfig{MaxFrames: 2, MaxMessages: 8, MaxPushes: 3})
	for i := range 5 {
		if got, want := o.SendPush([]byte{byte(i)}), i < 3; got != want {
			t.Fatalf("push %d: queued %v, want %v", i, got, want)
		}
	}
	if d := o.StalledFor(time.Now()); d != 0 {
		t.Fatalf("refused pushes stalled the outbox (%v): pushes must not make a connection look slow", d)
	}
	// Frames and the connection's own messages still have their room.
	for i := range 2 {
		if !o.SendFrame(&Frame{}) {
			t.Fatalf("frame %d refused after the pushes filled their queue", i)
		}
	}
	if o.SendFrame(&Frame{}) {
		t.Fatal("third frame queued beyond MaxFrames")
	}
	if o.StalledFor(time.Now().Add(time.Second)) < time.Second {
		t.Fatal("a refused frame did not stall the outbox")
	}
	for i := range 3 {
		if !o.Send([]byte{0xa0 + byte(i)}) {
			t.Fatalf("own message %d refused", i)
		}
	}
	if o.Send([]byte{0xaf}) {
		t.Fatal("message queued beyond MaxMessages")
	}
	st := o.Stats()
	if st.Pushes != 3 || st.PushesDropped != 2 || st.FramesDropped != 1 || st.MessagesDropped != 1 {
		t.Fatalf("stats %+v", st)
	}
	// The writer drains everything, in order; the stall ends.
	tr.run()
	if len(tr.written) != 8 {
		t.Fatalf("%d items written, want 8", len(tr.written))
	}
	if d := o.StalledFor(time.Now()); d != 0 {
		t.Fatalf("still stalled (%v) after the queue emptied", d)
	}
	// Push slots are free again.
	if !o.SendPush([]byte{9}) {
		t.Fatal("push refused after the queue drained")
	}
}
