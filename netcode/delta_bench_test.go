package netcode

import (
	"fmt"
	"testing"
)

// benchArenaPlayer is the game-side state of an arena player.
type benchArenaPlayer struct {
	ID, Name        string
	X, Y, HP, Score int64
	dx, dy          int64
}

func benchArenaPlayers(n int) []benchArenaPlayer {
	ps := make([]benchArenaPlayer, n)
	for i := range ps {
		ps[i] = benchArenaPlayer{
			ID:   fmt.Sprintf("player-%04d", i),
			Name: fmt.Sprintf("Player %d", i),
			X:    int64(i * 37 % 800), Y: int64(i * 91 % 600), HP: 100,
			dx: int64(i%5 - 2), dy: int64(i%3 + 1),
		}
	}
	return ps
}

// benchCapture writes ps as the arena's game Sync would: entity ids are
// the players' indexes plus one.
func benchCapture(w *StateWriter, dst *Snapshot, tick uint64, ps []benchArenaPlayer) error {
	w.Begin(dst, tick)
	for i := range ps {
		p := &ps[i]
		w.Entity(uint32(i+1), 0).String(p.ID).String(p.Name).Int(p.X).Int(p.Y).Int(p.HP).Int(p.Score)
	}
	return w.End()
}

// benchMove moves every player.
func benchMove(ps []benchArenaPlayer) {
	for i := range ps {
		ps[i].X += ps[i].dx
		ps[i].Y += ps[i].dy
	}
}

func BenchmarkCapture(b *testing.B) {
	s := newArenaTestSchema(b)
	ps := benchArenaPlayers(10)
	dst := NewSnapshot(s)
	var w StateWriter
	tick := uint64(0)
	b.ReportAllocs()
	for b.Loop() {
		tick++
		benchMove(ps)
		if err := benchCapture(&w, dst, tick, ps); err != nil {
			b.Fatal(err)
		}
	}
}

// benchDeltaPair returns the states of n moving players at ticks 1 and 2.
func benchDeltaPair(b *testing.B, n int) (base, cur *Snapshot) {
	s := newArenaTestSchema(b)
	ps := benchArenaPlayers(n)
	base, cur = NewSnapshot(s), NewSnapshot(s)
	var w StateWriter
	if err := benchCapture(&w, base, 1, ps); err != nil {
		b.Fatal(err)
	}
	benchMove(ps)
	if err := benchCapture(&w, cur, 2, ps); err != nil {
		b.Fatal(err)
	}
	return base, cur
}

func BenchmarkEncodeDelta(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("entities=%d", n), func(b *testing.B) {
			base, cur := benchDeltaPair(b, n)
			buf := NewBuffer(16 << 10)
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				EncodeDelta(buf, base, cur)
			}
			b.ReportMetric(float64(buf.Len()), "wire-bytes")
		})
	}
}

func BenchmarkApplyDelta(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("entities=%d", n), func(b *testing.B) {
			base, cur := benchDeltaPair(b, n)
			buf := NewBuffer(16 << 10)
			nv := EncodeDelta(buf, base, cur)
			changes, created, removed := splitDeltaValues(b, buf.B, nv)
			dst := NewSnapshot(base.Schema())
			if err := ApplyDelta(dst, base, 2, changes, created, removed); err != nil { // grow dst
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := ApplyDelta(dst, base, 2, changes, created, removed); err != nil {
					b.Fatal(err)
				}
			}
			if !dst.Equal(cur) {
				b.Fatal("applied delta differs from cur")
			}
		})
	}
}

func BenchmarkChecksum(b *testing.B) {
	for _, n := range []int{1000} {
		b.Run(fmt.Sprintf("entities=%d", n), func(b *testing.B) {
			_, cur := benchDeltaPair(b, n)
			b.ReportAllocs()
			var sum uint32
			for b.Loop() {
				sum = computeChecksum(cur)
			}
			if sum != cur.Checksum() {
				b.Fatal("checksum mismatch")
			}
		})
	}
}
