package netcode

import (
	"math"
	"strings"
	"testing"
)

// mixedTestSchema has one kind of each shape used by the snapshot tests:
// kind 0 "k" {a int, b float, c string}, kind 1 "p" {v int}.
func mixedTestSchema(t testing.TB) *Schema {
	t.Helper()
	s, err := NewSchema(
		Kind{Name: "k", Fields: []Field{{"a", FieldInt}, {"b", FieldFloat}, {"c", FieldString}}},
		Kind{Name: "p", Fields: []Field{{"v", FieldInt}}},
	)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestChecksumEmpty(t *testing.T) {
	s := NewSnapshot(mixedTestSchema(t))
	if got, want := s.Checksum(), uint32(2166136261); got != want {
		t.Errorf("NewSnapshot checksum = %d, want %d", got, want)
	}
	var w StateWriter
	w.Begin(s, 3)
	if err := w.End(); err != nil {
		t.Fatal(err)
	}
	if got, want := s.Checksum(), EmptyChecksum; got != want {
		t.Errorf("empty captured checksum = %d, want %d", got, want)
	}
	if got := computeChecksum(&Snapshot{}); got != EmptyChecksum {
		t.Errorf("zero Snapshot checksum = %d, want %d", got, EmptyChecksum)
	}
}

func TestChecksumHandComputed(t *testing.T) {
	s := NewSnapshot(mixedTestSchema(t))
	var w StateWriter
	w.Begin(s, 1)
	w.Entity(300, 1).Int(7)
	w.Entity(1, 0).Int(-1).Float(0.5).String("hi")
	if err := w.End(); err != nil {
		t.Fatal(err)
	}
	// FNV-1a 32 of the bytes
	// 01000000 00 ffffffffffffffff 000000000000e03f 02000000 6869   (id 1, kind 0, -1, 0.5, "hi")
	// 2c010000 01 0700000000000000                                  (id 300, kind 1, 7)
	// computed independently.
	if got, want := s.Checksum(), uint32(4282556325); got != want {
		t.Errorf("Checksum() = %d, want %d", got, want)
	}
}

func TestStateWriterSortsAndReads(t *testing.T) {
	s := NewSnapshot(mixedTestSchema(t))
	var w StateWriter
	w.Begin(s, 42)
	w.Entity(9, 1).Int(math.MinInt64)
	w.Entity(2, 0).Int(5).Float(math.Copysign(0, -1)).String("two")
	w.Entity(5, 1).Int(-5)
	if err := w.End(); err != nil {
		t.Fatal(err)
	}
	if got, want := s.Tick(), uint64(42); got != want {
		t.Errorf("Tick() = %d, want %d", got, want)
	}
	if got, want := s.Len(), 3; got != want {
		t.Fatalf("Len() = %d, want %d", got, want)
	}
	for i, want := range []uint32{2, 5, 9} {
		if got := s.At(i).ID; got != want {
			t.Errorf("At(%d).ID = %d, want %d", i, got, want)
		}
	}
	e, ok := s.Find(2)
	if !ok {
		t.Fatal("Find(2) not found")
	}
	if e.Kind != 0 || e.Int(0) != 5 || !math.Signbit(e.Float(1)) || e.Float(1) != 0 || e.Str(2) != "two" {
		t.Errorf("entity 2 = kind %d {%d %g %q}, want kind 0 {5 -0 \"two\"}", e.Kind, e.Int(0), e.Float(1), e.Str(2))
	}
	// Wrong-typed or out-of-range accessors return zero values.
	if e.Int(1) != 0 || e.Float(0) != 0 || e.Str(0) != "" || e.Int(-1) != 0 || e.Int(3) != 0 {
		t.Errorf("mistyped accessors on entity 2 returned non-zero values")
	}
	if e, _ := s.Find(9); e.Int(0) != math.MinInt64 {
		t.Errorf("entity 9 v = %d, want %d", e.Int(0), int64(math.MinInt64))
	}
	for _, id := range []uint32{0, 1, 3, 6, 10, math.MaxUint32} {
		if _, ok := s.Find(id); ok {
			t.Errorf("Find(%d) found an entity, want none", id)
		}
	}
	if got := (Entity{}).Str(0); got != "" {
		t.Errorf("zero Entity Str = %q, want empty", got)
	}
	dump := s.String()
	for _, want := range []string{"tick 42", "3 entities", `2 k{a:5 b:-0 c:"two"}`, "5 p{v:-5}"} {
		if !strings.Contains(dump, want) {
			t.Errorf("String() = %q, want it to contain %q", dump, want)
		}
	}
}

func TestStateWriterMisuse(t *testing.T) {
	sch := mixedTestSchema(t)
	tests := []struct {
		name  string
		fresh bool // no valid entity written before write
		write func(w *StateWriter)
		want  string
	}{
		{"valid", false, func(w *StateWriter) {
			w.Entity(1, 0).Int(1).Float(2).String("3")
			w.Entity(2, 1).Int(1)
		}, ""},
		{"unknown kind", false, func(w *StateWriter) { w.Entity(1, 2).Int(1) },
			"netcode: entity 1: unknown kind 2 (schema has 2 kinds)"},
		{"too few values", false, func(w *StateWriter) { w.Entity(1, 0).Int(1).Float(2); w.Entity(2, 1).Int(1) },
			`netcode: entity 1 (kind "k"): 2 values, want 3 (missing "c")`},
		{"too few values at End", false, func(w *StateWriter) { w.Entity(7, 1) },
			`netcode: entity 7 (kind "p"): 0 values, want 1 (missing "v")`},
		{"too many values", false, func(w *StateWriter) { w.Entity(1, 1).Int(1).Int(2) },
			`netcode: entity 1 (kind "p"): more than 1 values`},
		{"wrong type", false, func(w *StateWriter) { w.Entity(4, 0).Int(1).String("x").String("y") },
			`netcode: entity 4 (kind "k"): field 1 "b" is float, got string`},
		{"int for string", false, func(w *StateWriter) { w.Entity(4, 0).Int(1).Float(1).Int(3) },
			`netcode: entity 4 (kind "k"): field 2 "c" is string, got int`},
		{"value before entity", true, func(w *StateWriter) { w.Int(3) },
			"netcode: StateWriter: int value before Entity"},
		{"duplicate id in order", false, func(w *StateWriter) { w.Entity(1, 1).Int(1); w.Entity(1, 1).Int(2) },
			"netcode: entity 1 written twice"},
		{"duplicate id out of order", false, func(w *StateWriter) {
			w.Entity(5, 1).Int(1)
			w.Entity(3, 1).Int(1)
			w.Entity(5, 1).Int(2)
		}, "netcode: entity 5 written twice"},
		{"first error wins", false, func(w *StateWriter) { w.Entity(1, 9); w.Entity(1, 0).String("") },
			"netcode: entity 1: unknown kind 9 (schema has 2 kinds)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSnapshot(sch)
			var w StateWriter
			w.Begin(s, 1)
			if !tt.fresh {
				w.Entity(100, 1).Int(5) // content that an error must discard
			}
			tt.write(&w)
			err := w.End()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("End() = %q, want %q", got, tt.want)
			}
			if err != nil && (s.Len() != 0 || s.Checksum() != EmptyChecksum) {
				t.Errorf("after a failed End: Len() = %d, Checksum() = %d; want the empty state", s.Len(), s.Checksum())
			}
		})
	}
}

func TestStateWriterWithoutBegin(t *testing.T) {
	var w StateWriter
	w.Entity(1, 0).Int(1)
	if err := w.End(); err == nil {
		t.Error("End without Begin = nil, want an error")
	}
	w.Begin(nil, 1)
	if err := w.End(); err == nil {
		t.Error("End after Begin(nil) = nil, want an error")
	}
	w.Begin(&Snapshot{}, 1)
	if err := w.End(); err == nil {
		t.Error("End after Begin(schemaless snapshot) = nil, want an error")
	}
}

func TestSnapshotCopyFromAndEqual(t *testing.T) {
	sch := mixedTestSchema(t)
	a, b := NewSnapshot(sch), NewSnapshot(sch)
	var w StateWriter
	w.Begin(a, 7)
	w.Entity(1, 0).Int(1).Float(math.NaN()).String("x")
	w.Entity(2, 1).Int(2)
	if err := w.End(); err != nil {
		t.Fatal(err)
	}
	w.Begin(b, 8)
	for id := range uint32(20) {
		w.Entity(id+10, 1).Int(int64(id))
	}
	if err := w.End(); err != nil {
		t.Fatal(err)
	}
	if a.Equal(b) {
		t.Error("different snapshots compare equal")
	}
	b.CopyFrom(a)
	if !b.Equal(a) || !a.Equal(b) {
		t.Errorf("after CopyFrom: not Equal\n%v\n%v", a, b)
	}
	if b.Tick() != 7 || b.Checksum() != a.Checksum() {
		t.Errorf("after CopyFrom: tick %d checksum %d, want 7 and %d", b.Tick(), b.Checksum(), a.Checksum())
	}
	if tail := b.vals[len(b.vals):cap(b.vals)]; len(tail) > 0 && tail[0] != (fieldVal{}) {
		t.Errorf("CopyFrom left stale values past the end: %v", tail[0])
	}
	allocs := testing.AllocsPerRun(100, func() { b.CopyFrom(a) })
	if allocs != 0 {
		t.Errorf("CopyFrom allocs = %v, want 0", allocs)
	}

	// Equal compares floats by bits and ignores the tick.
	w.Begin(b, 99)
	w.Entity(1, 0).Int(1).Float(math.NaN()).String("x")
	w.Entity(2, 1).Int(2)
	_ = w.End()
	if !a.Equal(b) {
		t.Error("same state at another tick (with NaN) not Equal")
	}
	w.Begin(b, 7)
	w.Entity(1, 0).Int(1).Float(0).String("x")
	w.Entity(2, 1).Int(2)
	_ = w.End()
	c := NewSnapshot(sch)
	w.Begin(c, 7)
	w.Entity(1, 0).Int(1).Float(math.Copysign(0, -1)).String("x")
	w.Entity(2, 1).Int(2)
	_ = w.End()
	if b.Equal(c) {
		t.Error("0 and -0 compare equal, want different")
	}
	if b.Checksum() == c.Checksum() {
		t.Error("0 and -0 have the same checksum")
	}
}

func TestCaptureDoesNotAllocate(t *testing.T) {
	s := newArenaTestSchema(t)
	dst := NewSnapshot(s)
	var w StateWriter
	names := []string{"ada", "bob", "cy", "dee"}
	tick := uint64(0)
	capture := func() {
		tick++
		w.Begin(dst, tick)
		for i := len(names) - 1; i >= 0; i-- { // reverse order: End sorts
			w.Entity(uint32(i), 0).String(names[i]).String(names[i]).Int(int64(tick)).Int(2).Int(3).Int(4)
		}
		w.Entity(100, 1).Int(1).Int(2).Int(3)
		if err := w.End(); err != nil {
			t.Fatal(err)
		}
	}
	capture()
	if allocs := testing.AllocsPerRun(100, capture); allocs != 0 {
		t.Errorf("capture allocs = %v, want 0", allocs)
	}
}
