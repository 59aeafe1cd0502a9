package arena

import (
	"testing"

	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/room"
)

// The arena's capture, as a room runs it (a 64-tick history, players
// joining over time), allocates nothing once warm.
func TestSyncAllocs(t *testing.T) {
	g := New(false)
	snaps := make([]*netcode.Snapshot, 64)
	for i := range snaps {
		snaps[i] = netcode.NewSnapshot(Schema)
	}
	var w netcode.StateWriter
	tick := uint64(0)
	capture := func() {
		tick++
		w.Begin(snaps[tick%64], tick)
		g.Sync(&w)
		if err := w.End(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 { // players join one every few ticks
		g.players[new(room.Seat)] = &Player{Entity: uint32(i + 1), ID: "p", Name: "n"}
		for range 5 {
			capture()
		}
	}
	for range 300 {
		capture()
	}
	if n := testing.AllocsPerRun(200, capture); n != 0 {
		t.Fatalf("%v allocs per capture", n)
	}
}
