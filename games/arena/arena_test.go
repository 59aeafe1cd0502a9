package arena

import (
	"math"
	"testing"

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
