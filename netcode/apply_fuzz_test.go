package netcode

import (
	"math"
	"testing"
)

// fuzzDeltaBase is the fixed base state of FuzzApplyDelta: every field type,
// two kinds, sparse ids up to the largest.
func fuzzDeltaBase(t testing.TB) *Snapshot {
	t.Helper()
	s, err := NewSchema(
		Kind{Name: "k", Fields: []Field{{"a", FieldInt}, {"b", FieldFloat}, {"c", FieldString}}},
		Kind{Name: "p", Fields: []Field{{"v", FieldInt}}},
	)
	if err != nil {
		t.Fatal(err)
	}
	base := NewSnapshot(s)
	var w StateWriter
	w.Begin(base, 10)
	w.Entity(1, 0).Int(math.MaxInt64).Float(-0.5).String("one")
	w.Entity(2, 1).Int(-7)
	w.Entity(40, 0).Int(0).Float(math.Inf(1)).String("")
	w.Entity(math.MaxUint32, 1).Int(math.MinInt64)
	if err := w.End(); err != nil {
		t.Fatal(err)
	}
	return base
}

// FuzzApplyDelta feeds arbitrary bytes as changes, created and removed to
// ApplyDelta against a fixed base. It must never panic; when it accepts a
// delta, the result must be a well-formed state with a correct checksum,
// which EncodeDelta reproduces exactly.
func FuzzApplyDelta(f *testing.F) {
	base := fuzzDeltaBase(f)
	s := base.Schema()
	// Seeds: valid deltas from base to a few successors, plus a full snapshot.
	next := func(write func(w *StateWriter)) *Snapshot {
		cur := NewSnapshot(s)
		var w StateWriter
		w.Begin(cur, 11)
		write(&w)
		if err := w.End(); err != nil {
			f.Fatal(err)
		}
		return cur
	}
	curs := []*Snapshot{
		next(func(w *StateWriter) {
			w.Entity(1, 0).Int(math.MinInt64).Float(0.1).String("uno")
			w.Entity(2, 1).Int(-6)
			w.Entity(40, 0).Int(0).Float(math.Inf(1)).String("")
			w.Entity(math.MaxUint32, 1).Int(math.MaxInt64)
		}),
		next(func(w *StateWriter) {
			w.Entity(0, 1).Int(3)
			w.Entity(2, 0).Int(1).Float(math.Copysign(0, -1)).String("kind changed")
			w.Entity(40, 0).Int(5).Float(1.5).String("")
			w.Entity(41, 1).Int(1)
		}),
		next(func(w *StateWriter) {}),
	}
	b := NewBuffer(0)
	for _, cur := range curs {
		// The delta from base, and a full snapshot's values (which collide
		// with base's ids: a structurally valid input that must be refused).
		for _, from := range []*Snapshot{base, nil} {
			b.Reset()
			n := EncodeDelta(b, from, cur)
			c, cr, rm := splitDeltaValues(f, b.B, n)
			f.Add(c, cr, rm)
		}
	}
	f.Add([]byte(nil), []byte(nil), []byte(nil))
	f.Add([]byte{0x92, 0x21, 0xa1}, []byte{0xdd, 0xff}, []byte{0x91, 0xce, 0xff, 0xff, 0xff, 0xff})

	f.Fuzz(func(t *testing.T, changes, created, removed []byte) {
		dst := NewSnapshot(s)
		if err := ApplyDelta(dst, base, 11, changes, created, removed); err != nil {
			if dst.Len() != 0 || dst.Checksum() != EmptyChecksum {
				t.Fatalf("after error %v: dst not empty", err)
			}
			return
		}
		for i := 1; i < dst.Len(); i++ {
			if dst.At(i-1).ID >= dst.At(i).ID {
				t.Fatalf("ids not strictly ascending at %d: %v", i, dst)
			}
		}
		if got, want := dst.Checksum(), computeChecksum(dst); got != want {
			t.Fatalf("cached checksum %d, recomputed %d", got, want)
		}
		// The accepted state round-trips through EncodeDelta.
		out := NewBuffer(0)
		n := EncodeDelta(out, base, dst)
		c, cr, rm := splitDeltaValues(t, out.B, n)
		again := NewSnapshot(s)
		if err := ApplyDelta(again, base, 11, c, cr, rm); err != nil {
			t.Fatalf("re-encoded delta rejected: %v", err)
		}
		if !again.Equal(dst) || again.Checksum() != dst.Checksum() {
			t.Fatalf("re-encoded delta gives\n%v\nwant\n%v", again, dst)
		}
	})
}

// FuzzDecodeSchema feeds arbitrary bytes to DecodeSchema: it must never
// panic, and an accepted schema must re-encode to the same bytes.
func FuzzDecodeSchema(f *testing.F) {
	b := NewBuffer(0)
	newArenaTestSchema(f).AppendMsgpack(b)
	f.Add(b.B)
	f.Add([]byte{0x91, 0x92, 0xa1, 'a', 0x92, 0xa1, 'x', 1})
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := DecodeSchema(raw)
		if err != nil {
			return
		}
		out := NewBuffer(0)
		s.AppendMsgpack(out)
		again, err := DecodeSchema(out.B)
		if err != nil || !again.equal(s) {
			t.Fatalf("re-encoded schema % x: %v", out.B, err)
		}
	})
}
