package client

import (
	"fmt"
	"testing"
)

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
