package arena

import (
	"math"
	"testing"

	"github.com/tickroom/tickroom/room"
	"github.com/vmihailenco/msgpack/v5"
)

func TestInputWireForm(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    Input
		wantErr bool
	}{
		{"float64s", mustMarshal(t, []float64{0.6, -0.8}), Input{0.6, -0.8}, false},
		{"float32s", mustMarshal(t, []float32{0.5, 1}), Input{0.5, 1}, false},
		{"ints", []byte{0x92, 0x01, 0xff}, Input{1, -1}, false},
		{"one element", []byte{0x91, 0x01}, Input{}, true},
		{"not an array", []byte{0xa1, 'x'}, Input{}, true},
		{"strings", []byte{0x92, 0xa1, 'x', 0xa1, 'y'}, Input{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Input
			err := msgpack.Unmarshal(tt.in, &got)
			if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
				t.Fatalf("got %+v, %v; want %+v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
	// The SDK encodes Input values; they round-trip.
	b, err := msgpack.Marshal(&Input{DX: 0.25, DY: math.Inf(1)})
	if err != nil {
		t.Fatal(err)
	}
	var back Input
	if err := msgpack.Unmarshal(b, &back); err != nil || back.DX != 0.25 || !math.IsInf(back.DY, 1) {
		t.Fatalf("round trip: %+v %v", back, err)
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A dropped player's avatar stops and stays still until it resumes, even
// when an input of before the drop is applied after it.
func TestDisconnectedAvatarStaysStill(t *testing.T) {
	g := New(false)
	s := new(room.Seat)
	p := &Player{Entity: 1, X: 100, Y: 100}
	g.players[s] = p
	g.Input(nil, s, Input{DX: 1})
	g.Disconnected(nil, s)
	g.Input(nil, s, Input{DX: 1}) // queued before the drop, applied at the next tick
	g.Tick(nil)
	if p.X != 100 || p.DX != 0 {
		t.Fatalf("after the drop the avatar is at x=%v moving %v, want still at 100", p.X, p.DX)
	}
	g.Reconnected(nil, s)
	g.Input(nil, s, Input{DX: 1})
	g.Tick(nil)
	if p.X != 100+Speed {
		t.Fatalf("after the resume x=%v, want %v", p.X, 100+Speed)
	}
}
