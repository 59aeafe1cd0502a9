package room

import (
	"errors"
	"testing"

	"github.com/tickroom/tickroom/netcode"
)

// fuzzInput has the shapes game inputs commonly have: numbers, a string,
// a list and a nested struct, decoded by reflection.
type fuzzInput struct {
	_    struct{} `msgpack:",as_array"`
	DX   float64
	Btn  int8
	Name string
	Path []int32
	Aim  struct {
		X, Y float32
	}
}

// FuzzInputDecode feeds client input payloads — anything the pre-scan
// (netcode.CheckValue) lets through — to a seat's input queue, as the
// connection reader does. It must never panic, nor queue what it refused.
func FuzzInputDecode(f *testing.F) {
	for _, seed := range [][]byte{
		{0x95, 0xcb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0, 0x01, 0xa1, 'a', 0x92, 0x01, 0x02, 0x92, 0xca, 0, 0, 0, 0, 0xca, 0, 0, 0, 0},
		{0x91, 0x05},
		{0x90},
		{0xc0},
		{0x92, 0xa1, 'x', 0x80},
		{0x95, 0x01, 0xcc, 0xff, 0xa0, 0xdc, 0x00, 0x01, 0x01, 0x92, 0x01, 0x02},
		{0x81, 0xa2, 'D', 'X', 0x01},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := netcode.CheckValue(b)
		if err != nil || n != len(b) {
			return // the reader answers bad_message before any decode
		}
		q := newQueue[fuzzInput](4)
		if err := q.push(1, b); err != nil {
			// push turns a decoder panic into ErrInputPanic so it cannot
			// take a server down; these types have no decoder of their
			// own, so such a panic is msgpack's, and the fuzzer reports it.
			if errors.Is(err, ErrInputPanic) {
				t.Fatalf("msgpack panicked: %v", err)
			}
			if q.n != 0 {
				t.Fatalf("a refused input was queued")
			}
			return
		}
		if q.n != 1 {
			t.Fatalf("an accepted input was not queued")
		}
		// A second input type on the same bytes: refusing is fine, panicking is not.
		if err := newQueue[counterInput](4).push(1, b); errors.Is(err, ErrInputPanic) {
			t.Fatalf("msgpack panicked: %v", err)
		}
	})
}
