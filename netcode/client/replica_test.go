package client

import (
	"errors"
	"testing"

	"github.com/tickroom/tickroom/netcode"
)

var testSchema = func() *netcode.Schema {
	s, err := netcode.NewSchema(netcode.Kind{Name: "dot", Fields: []netcode.Field{
		{Name: "x", Type: netcode.FieldInt},
		{Name: "tag", Type: netcode.FieldString},
	}})
	if err != nil {
		panic(err)
	}
	return s
}()

// state returns the server-side state at tick: n dots whose x depends on
// the tick.
func state(t *testing.T, tick uint64, n int) *netcode.Snapshot {
	t.Helper()
	s := netcode.NewSnapshot(testSchema)
	var w netcode.StateWriter
	w.Begin(s, tick)
	for i := range n {
		w.Entity(uint32(i+1), 0).Int(int64(tick) * int64(i+1)).String("d")
	}
	if err := w.End(); err != nil {
		t.Fatal(err)
	}
	return s
}

// frame encodes and decodes the frame that brings a client from base (nil:
// full snapshot) to cur, like the server's fan-out.
func frame(t *testing.T, base, cur *netcode.Snapshot, sum uint32) *netcode.ServerMessage {
	t.Helper()
	delta := netcode.NewBuffer(256)
	nd := netcode.EncodeDelta(delta, base, cur)
	b := netcode.NewBuffer(256)
	age := uint64(0)
	if base != nil {
		age = cur.Tick() - base.Tick()
	}
	netcode.AppendFrameHead(b, 5+nd, cur.Tick(), age, 0, sum)
	_, _ = b.Write(delta.B)
	var m netcode.ServerMessage
	if err := netcode.DecodeServer(b.B, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func TestReplica(t *testing.T) {
	type step struct {
		base, tick uint64 // base 0: full frame
		badSum     bool
		want       string // "ok", "skip" or "desync"
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"full then deltas", []step{{0, 1, false, "ok"}, {1, 2, false, "ok"}, {2, 3, false, "ok"}}},
		{"deltas against an older acked base", []step{{0, 1, false, "ok"}, {1, 2, false, "ok"}, {1, 3, false, "ok"}, {2, 4, false, "ok"}, {4, 6, false, "ok"}}},
		{"base dropped once a newer base was used", []step{{0, 1, false, "ok"}, {1, 2, false, "ok"}, {2, 3, false, "ok"}, {1, 4, false, "desync"}}},
		{"missing base then skip until full", []step{{0, 5, false, "ok"}, {4, 6, false, "desync"}, {5, 7, false, "skip"}, {0, 8, false, "ok"}, {8, 9, false, "ok"}}},
		{"checksum mismatch", []step{{0, 1, false, "ok"}, {1, 2, true, "desync"}, {1, 3, false, "skip"}, {0, 4, false, "ok"}}},
		{"full frames while the ack travels, then a delta on an older ack", []step{{0, 1, false, "ok"}, {0, 2, false, "ok"}, {0, 3, false, "ok"}, {1, 4, false, "ok"}, {3, 5, false, "ok"}, {1, 6, false, "desync"}}},
		{"bad full frame", []step{{0, 1, true, "desync"}, {0, 2, false, "ok"}}},
		{"ring full: many states ahead of the base", []step{
			{0, 1, false, "ok"}, {1, 2, false, "ok"}, {1, 3, false, "ok"}, {1, 4, false, "ok"},
			{1, 5, false, "ok"}, {1, 6, false, "ok"}, {5, 7, false, "ok"}, {7, 8, false, "ok"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newReplica(4)
			r.reset(testSchema)
			for i, st := range tc.steps {
				cur := state(t, st.tick, 3+int(st.tick%3))
				var base *netcode.Snapshot
				if st.base != 0 {
					base = state(t, st.base, 3+int(st.base%3))
				}
				sum := cur.Checksum()
				if st.badSum {
					sum++
				}
				got, err := r.apply(frame(t, base, cur, sum))
				var outcome string
				var ds *desync
				switch {
				case err == nil:
					outcome = "ok"
					if !got.Equal(cur) || got.Tick() != cur.Tick() || got.Checksum() != cur.Checksum() {
						t.Fatalf("step %d: replica\n%s\nwant\n%s", i, got, cur)
					}
				case errors.Is(err, errSkipped):
					outcome = "skip"
				case errors.As(err, &ds):
					outcome = "desync"
				default:
					t.Fatalf("step %d: unexpected error %v", i, err)
				}
				if outcome != st.want {
					t.Fatalf("step %d (base %d → tick %d): got %s (%v), want %s", i, st.base, st.tick, outcome, err, st.want)
				}
			}
		})
	}
}

func TestReplicaFrameBeforeJoined(t *testing.T) {
	r := newReplica(4)
	var ds *desync
	if _, err := r.apply(frame(t, nil, state(t, 1, 1), 0)); !errors.As(err, &ds) {
		t.Fatalf("got %v, want a desync", err)
	}
}
