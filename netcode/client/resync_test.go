package client

import (
	"fmt"
	"testing"

	"github.com/tickroom/tickroom/netcode"
)

// TestReplicaUnchangedResync covers the resync frame of a client that
// already holds the room's current tick: the server encodes the delta from
// that tick to itself with age 0 (an empty "snapshot"). The replica keeps
// its state instead of clearing it, while a real full snapshot of that tick
// still applies normally.
func TestReplicaUnchangedResync(t *testing.T) {
	s5 := state(t, 5, 3)

	// The server's frame: EncodeDelta(base = cur) with age 0.
	delta := netcode.NewBuffer(64)
	nd := netcode.EncodeDelta(delta, s5, s5)
	b := netcode.NewBuffer(64)
	netcode.AppendFrameHead(b, 5+nd, 5, 0, 0, s5.Checksum())
	_, _ = b.Write(delta.B)
	var empty netcode.ServerMessage
	if err := netcode.DecodeServer(b.B, &empty); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		frame    *netcode.ServerMessage
		wantKept bool
	}{
		{"empty age-0 frame of the held tick", &empty, true},
		{"full snapshot of the held tick", frame(t, nil, s5, s5.Checksum()), false},
		{"empty age-0 frame with another checksum", func() *netcode.ServerMessage { m := empty; m.Checksum++; return &m }(), false},
		{"empty age-0 frame of a tick not held", func() *netcode.ServerMessage { m := empty; m.Tick = 6; return &m }(), false},
	}
	for _, tc := range tests {
		r := newReplica(4)
		r.reset(testSchema)
		if _, err := r.apply(frame(t, nil, s5, s5.Checksum())); err != nil {
			t.Fatal(err)
		}
		snap, kept := r.unchanged(tc.frame)
		if kept != tc.wantKept {
			t.Errorf("%s: kept %v, want %v", tc.name, kept, tc.wantKept)
			continue
		}
		if kept {
			if !snap.Equal(s5) || r.lastTick() != 5 {
				t.Errorf("%s: kept state differs or last tick %d", tc.name, r.lastTick())
			}
			continue
		}
		if tc.name == "full snapshot of the held tick" {
			if got, err := r.apply(tc.frame); err != nil || !got.Equal(s5) {
				t.Errorf("%s: apply: %v", tc.name, err)
			}
		}
	}
}

func TestPendingKeepsTheLatestInOrder(t *testing.T) {
	p := newPending(3)
	seqs := func() string {
		var s []uint64
		for i := range p.n {
			in := p.at(i)
			if string(in.raw) != fmt.Sprint(in.seq) {
				t.Fatalf("input %d holds %q", in.seq, in.raw)
			}
			s = append(s, in.seq)
		}
		return fmt.Sprint(s)
	}
	var dropped int
	for seq := uint64(1); seq <= 5; seq++ {
		if p.push(seq, []byte(fmt.Sprint(seq))) {
			dropped++
		}
	}
	if got := seqs(); got != "[3 4 5]" || dropped != 2 {
		t.Fatalf("after 5 pushes into 3: got %s (%d dropped), want [3 4 5] (2 dropped)", got, dropped)
	}
	p.trim(3)
	if got := seqs(); got != "[4 5]" {
		t.Fatalf("after trim(3): got %s, want [4 5]", got)
	}
	p.push(6, []byte("6"))
	p.push(7, []byte("7"))
	if got := seqs(); got != "[5 6 7]" {
		t.Fatalf("after pushing 6 and 7: got %s, want [5 6 7]", got)
	}
	p.trim(10)
	if got := seqs(); got != "[]" {
		t.Fatalf("after trim(10): got %s, want []", got)
	}
	p.push(11, []byte("11"))
	p.reset()
	if p.n != 0 {
		t.Fatalf("after reset: %d inputs", p.n)
	}
}
