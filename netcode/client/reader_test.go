package client

import (
	"log/slog"
	"testing"

	"github.com/tickroom/tickroom/netcode"
)

// TestHandleSkipsWhatItCannotUse feeds server messages straight to the
// reader's dispatch: unknown types (a later protocol version) are skipped,
// garbage is counted as malformed, and extra trailing fields are ignored.
func TestHandleSkipsWhatItCannotUse(t *testing.T) {
	c := &Client{
		log:     slog.New(slog.DiscardHandler),
		welcome: make(chan struct{}),
		changed: make(chan struct{}),
		pings:   map[uint64]chan error{},
		rep:     newReplica(4),
	}
	welcomePlus := netcode.NewBuffer(64)
	e := welcomePlus.Enc()
	_ = e.EncodeArrayLen(5)
	_ = e.EncodeUint(uint64(netcode.MsgWelcome))
	_ = e.EncodeString("p1")
	_ = e.EncodeString("Ada")
	_ = e.EncodeUint(netcode.ProtocolVersion)
	_ = e.EncodeString("a field of protocol 2")

	tests := []struct {
		name                     string
		msg                      []byte
		wantUnknown, wantMalform uint64
	}{
		{"unknown type", []byte{0x92, 0xcc, 200, 0x01}, 1, 0},
		{"not msgpack", []byte{0xc1}, 0, 1},
		{"truncated", []byte{0x94, 0x65}, 0, 1},
		{"welcome with a trailing field", welcomePlus.B, 0, 0},
	}
	for _, tc := range tests {
		before := c.Stats()
		c.handle(tc.msg)
		got := c.Stats()
		if got.Unknown-before.Unknown != tc.wantUnknown || got.Malformed-before.Malformed != tc.wantMalform {
			t.Errorf("%s: got unknown +%d malformed +%d, want +%d +%d", tc.name,
				got.Unknown-before.Unknown, got.Malformed-before.Malformed, tc.wantUnknown, tc.wantMalform)
		}
	}
	select {
	case <-c.welcome:
		if c.PlayerID() != "p1" || c.Name() != "Ada" {
			t.Errorf("welcome: got %q %q, want p1 Ada", c.PlayerID(), c.Name())
		}
	default:
		t.Error("welcome with a trailing field was not accepted")
	}
}
