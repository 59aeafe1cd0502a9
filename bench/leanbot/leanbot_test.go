package leanbot

import (
	"context"
	"testing"
	"time"

	"github.com/tickroom/tickroom/server/servertest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Lean players against a real server: all join (two rooms of 10), receive
// frames, send inputs and leave without errors.
func TestRun(t *testing.T) {
	srv := servertest.New(t, servertest.Options{})
	sum, err := Run(context.Background(), Config{URL: srv.URL, Bots: 12, Duration: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Connected != 12 || sum.Errors != 0 {
		t.Fatalf("got %+v, want 12 connected and no errors", sum)
	}
	// 400 ms at 20 Hz: about 8 frames and 8 inputs each.
	if sum.Frames < 12*4 || sum.InputsSent < 12*4 {
		t.Errorf("got %d frames, %d inputs; want ≥ 48 of each", sum.Frames, sum.InputsSent)
	}
}

func TestHeader(t *testing.T) {
	for _, tc := range []struct {
		in         []byte
		typ, tick  uint64
		ok, tickOK bool
	}{
		{[]byte{0x95, 103, 0x05, 0, 0}, 103, 5, true, true},
		{[]byte{0x95, 103, 0xcc, 200}, 103, 200, true, true},
		{[]byte{0x95, 103, 0xcd, 0x01, 0x00}, 103, 256, true, true},
		{[]byte{0x95, 103, 0xce, 0, 1, 0, 0}, 103, 65536, true, true},
		{[]byte{0x95, 103, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0}, 103, 1 << 32, true, true},
		{[]byte{0xdc, 0, 9, 103, 7}, 103, 7, true, true},
		{[]byte{0x93, 101}, 101, 0, true, false},
		{[]byte{0x95, 103, 0xcd, 0x01}, 103, 0, true, false}, // truncated tick
		{[]byte{0x81, 1}, 0, 0, false, false},                // a map, not an array
		{nil, 0, 0, false, false},
	} {
		typ, rest, ok := header(tc.in)
		if ok != tc.ok || typ != tc.typ {
			t.Errorf("header(%x) = %d, %v; want %d, %v", tc.in, typ, ok, tc.typ, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		tick, _, tickOK := readUint(rest)
		if tickOK != tc.tickOK || tick != tc.tick {
			t.Errorf("tick of %x = %d, %v; want %d, %v", tc.in, tick, tickOK, tc.tick, tc.tickOK)
		}
	}
}
