package netcode

import (
	"bytes"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/vmihailenco/msgpack/v5"
)

// splitDeltaValues splits EncodeDelta's output into its changes, created
// and removed values (created and removed nil when absent), checking that
// it holds exactly n values.
func splitDeltaValues(t testing.TB, out []byte, n int) (changes, created, removed []byte) {
	t.Helper()
	dec := msgpack.NewDecoder(bytes.NewReader(out))
	var vals [][]byte
	for {
		raw, err := dec.DecodeRaw()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("decoding EncodeDelta output % x: %v", out, err)
		}
		vals = append(vals, raw)
	}
	if len(vals) != n {
		t.Fatalf("EncodeDelta output holds %d values, it returned %d", len(vals), n)
	}
	switch n {
	case 1:
		return vals[0], nil, nil
	case 3:
		return vals[0], vals[1], vals[2]
	}
	t.Fatalf("EncodeDelta returned %d, want 1 or 3", n)
	return nil, nil, nil
}

// mpArray encodes vals as one msgpack array (ints in their smallest
// encoding).
func mpArray(t testing.TB, vals ...any) []byte {
	t.Helper()
	b, err := msgpack.Marshal(vals)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testPlayer is a player of the arena schema.
type testPlayer struct {
	id                uint32
	name              string
	x, y, hp, score   int64
	kindPickupInstead bool
}

func writeArena(t testing.TB, dst *Snapshot, tick uint64, players []testPlayer) {
	t.Helper()
	var w StateWriter
	w.Begin(dst, tick)
	for _, p := range players {
		if p.kindPickupInstead {
			w.Entity(p.id, 1).Int(p.x).Int(p.y).Int(p.hp)
			continue
		}
		w.Entity(p.id, 0).String(p.name).String(p.name).Int(p.x).Int(p.y).Int(p.hp).Int(p.score)
	}
	if err := w.End(); err != nil {
		t.Fatal(err)
	}
}

func TestEncodeDeltaProtocolExample(t *testing.T) {
	s := newArenaTestSchema(t)
	players := []testPlayer{
		{id: 10, name: "a", x: 100, y: 100, hp: 100},
		{id: 11, name: "b", x: 0, y: 0, hp: 100},
		{id: 12, name: "c", x: -7, y: 3, hp: 100},
		{id: 13, name: "d", x: 50, y: 60, hp: 100},
	}
	base, cur := NewSnapshot(s), NewSnapshot(s)
	writeArena(t, base, 1, players)
	players[0].x, players[0].y = 105, 98
	players[1].y = 5
	players[3].x, players[3].y = 46, 57
	writeArena(t, cur, 2, players)

	b := NewBuffer(0)
	n := EncodeDelta(b, base, cur)
	want := []byte{0x98, 12, 5, 0xfe, 8, 5, 76, 0xfc, 0xfd} // [12, 5, -2, 8, 5, 76, -4, -3]
	if n != 1 || !bytes.Equal(b.B, want) {
		t.Errorf("EncodeDelta = %d values % x, want 1 value % x", n, b.B, want)
	}
	if want := mpArray(t, 12, 5, -2, 8, 5, 76, -4, -3); !bytes.Equal(b.B, want) {
		t.Errorf("EncodeDelta = % x, want msgpack [12,5,-2,8,5,76,-4,-3] = % x", b.B, want)
	}
	dst := NewSnapshot(s)
	if err := ApplyDelta(dst, base, 2, b.B, nil, nil); err != nil {
		t.Fatal(err)
	}
	if !dst.Equal(cur) || dst.Checksum() != cur.Checksum() {
		t.Errorf("applied example:\n%v\nwant\n%v", dst, cur)
	}
}

func TestEncodeDeltaSizes(t *testing.T) {
	s := newArenaTestSchema(t)
	players := make([]testPlayer, 1000)
	for i := range players {
		players[i] = testPlayer{id: uint32(i*3 + 1), name: "p", x: int64(i), y: int64(-i), hp: 100}
	}
	base, cur := NewSnapshot(s), NewSnapshot(s)
	writeArena(t, base, 1, players)
	writeArena(t, cur, 2, players)
	b := NewBuffer(0)

	if n := EncodeDelta(b, base, cur); n != 1 || !bytes.Equal(b.B, []byte{0x90}) {
		t.Errorf("unchanged state: EncodeDelta = %d values % x, want 1 value 90", n, b.B)
	}

	players[537].score++
	writeArena(t, cur, 3, players)
	b.Reset()
	n := EncodeDelta(b, base, cur)
	// header, code (gap 537 << 6 | 1 << 5 fits uint16: 3 bytes), value 1.
	if n != 1 || len(b.B) != 5 {
		t.Errorf("one changed int in 1000 entities: EncodeDelta = %d values, %d bytes % x; want 1 value, 5 bytes", n, len(b.B), b.B)
	}
	if want := mpArray(t, 537<<6|1<<5, 1); !bytes.Equal(b.B, want) {
		t.Errorf("one changed int: % x, want % x", b.B, want)
	}

	// Ten players all moving: the frame of PROTOCOL §5.2.
	ten := players[:10]
	writeArena(t, base, 1, ten)
	for i := range ten {
		ten[i].x += int64(1 + i%3)
		ten[i].y -= 2
	}
	writeArena(t, cur, 2, ten)
	b.Reset()
	EncodeDelta(b, base, cur)
	if got, want := len(b.B), 33; got != want {
		t.Errorf("10 moving players: changes is %d bytes, want %d (3 per player + array16 header)", got, want)
	}
}

func TestEncodeDeltaFullAndKindChange(t *testing.T) {
	s := newArenaTestSchema(t)
	base, cur := NewSnapshot(s), NewSnapshot(s)
	writeArena(t, base, 1, []testPlayer{
		{id: 1, name: "a", x: 1}, {id: 2, name: "b", x: 2}, {id: 3, name: "c", x: 3},
	})
	writeArena(t, cur, 2, []testPlayer{
		{id: 1, name: "a", x: 1}, {id: 2, x: 7, y: 8, hp: 9, kindPickupInstead: true}, {id: 4, name: "d", x: 4},
	})
	b := NewBuffer(0)

	n := EncodeDelta(b, base, cur)
	changes, created, removed := splitDeltaValues(t, b.B, n)
	if want := []byte{0x90}; !bytes.Equal(changes, want) {
		t.Errorf("changes = % x, want % x", changes, want)
	}
	if want := mpArray(t, 2, 1, 7, 8, 9, 4, 0, "d", "d", 4, 0, 0, 0); !bytes.Equal(created, want) {
		t.Errorf("created = % x, want % x", created, want)
	}
	if want := mpArray(t, 2, 3); !bytes.Equal(removed, want) {
		t.Errorf("removed = % x, want % x", removed, want)
	}

	b.Reset()
	n = EncodeDelta(b, nil, base)
	changes, created, removed = splitDeltaValues(t, b.B, n)
	if !bytes.Equal(changes, []byte{0x90}) || !bytes.Equal(removed, []byte{0x90}) {
		t.Errorf("full snapshot: changes % x, removed % x; want both empty arrays", changes, removed)
	}
	if want := mpArray(t, 1, 0, "a", "a", 1, 0, 0, 0, 2, 0, "b", "b", 2, 0, 0, 0, 3, 0, "c", "c", 3, 0, 0, 0); !bytes.Equal(created, want) {
		t.Errorf("full snapshot created = % x, want % x", created, want)
	}

	b.Reset()
	if n := EncodeDelta(b, nil, NewSnapshot(s)); n != 1 || !bytes.Equal(b.B, []byte{0x90}) {
		t.Errorf("full snapshot of the empty state = %d values % x, want 1 value 90", n, b.B)
	}
}

func TestEncodeDeltaFloats(t *testing.T) {
	s, err := NewSchema(Kind{Name: "f", Fields: []Field{{"v", FieldFloat}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		old, now float64
		want     []byte // the whole changes value
	}{
		{"float32 exact", 0, 1.5, []byte{0x92, 1, 0xca, 0x3f, 0xc0, 0, 0}},
		{"negative zero", 0, math.Copysign(0, -1), []byte{0x92, 1, 0xca, 0x80, 0, 0, 0}},
		{"zero from negative zero", math.Copysign(0, -1), 0, []byte{0x92, 1, 0xca, 0, 0, 0, 0}},
		{"needs float64", 0, 0.1, []byte{0x92, 1, 0xcb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a}},
		{"infinity", 0, math.Inf(-1), []byte{0x92, 1, 0xca, 0xff, 0x80, 0, 0}},
		{"NaN as float64", 0, math.NaN(), append([]byte{0x92, 1, 0xcb}, bigEndian64(math.Float64bits(math.NaN()))...)},
		{"same NaN unchanged", math.NaN(), math.NaN(), []byte{0x90}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, cur, dst := NewSnapshot(s), NewSnapshot(s), NewSnapshot(s)
			var w StateWriter
			w.Begin(base, 1)
			w.Entity(1, 0).Float(tt.old)
			_ = w.End()
			w.Begin(cur, 2)
			w.Entity(1, 0).Float(tt.now)
			_ = w.End()
			b := NewBuffer(0)
			EncodeDelta(b, base, cur)
			if !bytes.Equal(b.B, tt.want) {
				t.Errorf("changes = % x, want % x", b.B, tt.want)
			}
			if err := ApplyDelta(dst, base, 2, b.B, nil, nil); err != nil {
				t.Fatal(err)
			}
			if got := dst.At(0).Float(0); math.Float64bits(got) != math.Float64bits(tt.now) {
				t.Errorf("applied value bits %#x, want %#x", math.Float64bits(got), math.Float64bits(tt.now))
			}
		})
	}
}

func bigEndian64(v uint64) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(v >> (56 - 8*i))
	}
	return b
}

func TestApplyDeltaErrors(t *testing.T) {
	s := newArenaTestSchema(t)
	base := NewSnapshot(s)
	// index 0: player 5, index 1: pickup 8, index 2: player 20
	writeArena(t, base, 1, []testPlayer{
		{id: 5, name: "a", x: 1, y: 2, hp: 3, score: 4},
		{id: 8, x: 1, y: 2, hp: 3, kindPickupInstead: true},
		{id: 20, name: "b", x: 1, y: 2, hp: 3, score: 4},
	})
	bigArray := []byte{0xdd, 0x7f, 0xff, 0xff, 0xff, 1}
	tests := []struct {
		name                      string
		changes, created, removed []byte
		want                      string // substring of the error; "" means success
	}{
		{"all empty", nil, nil, nil, ""},
		{"msgpack nil", []byte{0xc0}, []byte{0xc0}, []byte{0xc0}, ""},
		{"valid mix", mpArray(t, 1<<6|1<<2, 10), mpArray(t, 6, 1, 0, 0, 0), mpArray(t, 20), ""},
		{"kind change", nil, mpArray(t, 8, 0, "x", "y", 1, 2, 3, 4), mpArray(t, 8), ""},
		{"changes not array", []byte{0x01}, nil, nil, "netcode: changes: want array, got format 0x01"},
		{"changes huge length", bigArray, nil, nil, "netcode: changes: array of 2147483647 elements in 1 bytes"},
		{"changes array16 huge", []byte{0xdc, 0xff, 0xff}, nil, nil, "array of 65535 elements in 0 bytes"},
		{"changes trailing bytes", append(mpArray(t, 4, 1), 0xc0), nil, nil, "netcode: changes: 1 trailing bytes"},
		{"changes empty mask", mpArray(t, 1<<6), nil, nil, "empty field mask"},
		{"changes index out of range", mpArray(t, 3<<6|1), nil, nil, "beyond the base state"},
		{"changes second index out of range", mpArray(t, 4, 1, 2<<6|4, 1), nil, nil, "beyond the base state"},
		{"changes huge gap", mpArray(t, uint64(math.MaxUint64)), nil, nil, "beyond the base state"},
		{"changes mask beyond kind", mpArray(t, 1<<6|1<<4, 1), nil, nil, "netcode: changes: entity 8: mask 0x10 beyond its 3 fields"},
		{"changes missing value", mpArray(t, 4|8, 1), nil, nil, "netcode: changes: entity 5: 1 values for mask 0xc, want 2"},
		{"changes string for int", mpArray(t, 4, "x"), nil, nil, "netcode: changes: want int, got format 0xa1"},
		{"changes int for string", mpArray(t, 1, 1), nil, nil, "want str"},
		{"changes truncated value", []byte{0x92, 4, 0xcd, 1}, nil, nil, "netcode: changes: truncated"},
		{"changes removed entity", mpArray(t, 4, 1), nil, mpArray(t, 5), "netcode: changes: entity 5 (index 0) is also removed"},
		{"changes negative code", mpArray(t, -1), nil, nil, "want uint"},
		{"removed unknown id", nil, nil, mpArray(t, 6), "netcode: removed: entity 6 is not in the base state"},
		{"removed past end", nil, nil, mpArray(t, 21), "netcode: removed: entity 21 is not in the base state"},
		{"removed descending", nil, nil, mpArray(t, 20, 5), "netcode: removed: id 5 after 20"},
		{"removed twice", nil, nil, mpArray(t, 5, 5), "netcode: removed: id 5 after 5"},
		{"removed id too big", nil, nil, mpArray(t, uint64(1)<<32), "does not fit 32 bits"},
		{"removed not uint", nil, nil, mpArray(t, "5"), "want int"},
		{"created existing", nil, mpArray(t, 8, 1, 0, 0, 0), nil, "netcode: created: entity 8 already exists"},
		{"created unknown kind", nil, mpArray(t, 9, 2, 0), nil, "netcode: created: entity 9: unknown kind 2"},
		{"created descending", nil, mpArray(t, 9, 1, 0, 0, 0, 7, 1, 0, 0, 0), nil, "netcode: created: id 7 after 9"},
		{"created missing values", nil, mpArray(t, 9, 1, 0, 0), nil, "netcode: created: entity 9: 2 values, want 3"},
		{"created lone id", nil, mpArray(t, 9, 1, 0, 0, 0, 10), nil, "trailing element"},
		{"created wrong type", nil, mpArray(t, 9, 0, "a", "b", 1.5, 0, 0, 0), nil, "want int, got format 0xcb"},
		{"created int for string", nil, mpArray(t, 9, 0, 1, "b", 1, 0, 0, 0), nil, "want str"},
		{"created int overflow", nil, mpArray(t, 9, 1, uint64(math.MaxUint64), 0, 0), nil, "overflows int64"},
		{"created truncated str", nil, []byte{0x98, 9, 0, 0xd9, 200, 'a', 'b', 'c', 'd'}, nil, "str of 200 bytes, 4 left"},
		{"created huge str32", nil, []byte{0x98, 9, 0, 0xdb, 0xff, 0xff, 0xff, 0xff, 'a'}, nil, "str of 4294967295 bytes"},
		{"created trailing", nil, append(mpArray(t, 9, 1, 0, 0, 0), 0x01), nil, "netcode: created: 1 trailing bytes"},
		{"removed map", nil, nil, []byte{0x80}, "netcode: removed: want array, got format 0x80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := NewSnapshot(s)
			err := ApplyDelta(dst, base, 2, tt.changes, tt.created, tt.removed)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("ApplyDelta = %v, want success", err)
			case tt.want == "":
				// Re-encoding what was applied gives an equivalent delta.
				b := NewBuffer(0)
				n := EncodeDelta(b, base, dst)
				c, cr, rm := splitDeltaValues(t, b.B, n)
				again := NewSnapshot(s)
				if err := ApplyDelta(again, base, 2, c, cr, rm); err != nil || !again.Equal(dst) {
					t.Errorf("re-encoded delta: err %v, equal %v", err, again.Equal(dst))
				}
			case err == nil:
				t.Fatalf("ApplyDelta = nil, want error containing %q; dst:\n%v", tt.want, dst)
			case !strings.HasPrefix(err.Error(), "netcode: ") || !strings.Contains(err.Error(), tt.want):
				t.Errorf("ApplyDelta = %q, want it to start with \"netcode: \" and contain %q", err, tt.want)
			}
			if err != nil && (dst.Len() != 0 || dst.Checksum() != EmptyChecksum) {
				t.Errorf("after an error dst has %d entities, checksum %d; want the empty state", dst.Len(), dst.Checksum())
			}
		})
	}

	t.Run("dst is base", func(t *testing.T) {
		if err := ApplyDelta(base, base, 2, nil, nil, nil); err == nil {
			t.Error("ApplyDelta(base, base) = nil, want error")
		}
		if base.Len() != 3 {
			t.Errorf("base modified by a rejected ApplyDelta")
		}
	})
	t.Run("changes without base", func(t *testing.T) {
		if err := ApplyDelta(NewSnapshot(s), nil, 2, mpArray(t, 4, 1), nil, nil); err == nil {
			t.Error("changes against the empty state = nil error, want one")
		}
	})
	t.Run("nil dst", func(t *testing.T) {
		if err := ApplyDelta(nil, base, 2, nil, nil, nil); err == nil {
			t.Error("ApplyDelta(nil, ...) = nil, want error")
		}
	})
	t.Run("schemaless dst and nil base", func(t *testing.T) {
		if err := ApplyDelta(&Snapshot{}, nil, 2, nil, nil, nil); err == nil {
			t.Error("ApplyDelta(zero Snapshot, nil) = nil, want error")
		}
	})
}

func TestApplyDeltaAcceptsAnyIntEncoding(t *testing.T) {
	s := newArenaTestSchema(t)
	base := NewSnapshot(s)
	writeArena(t, base, 1, []testPlayer{{id: 5, name: "a", x: 1, y: 2, hp: 3, score: 4}})
	// code 4 as int8, delta +3 as uint64, created id 7 as int32, kind as uint16.
	changes := []byte{0x92, 0xd0, 4, 0xcf, 0, 0, 0, 0, 0, 0, 0, 3}
	created := []byte{0x95, 0xd2, 0, 0, 0, 7, 0xcd, 0, 1, 0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xd1, 0x80, 0, 0xcc, 200}
	dst := NewSnapshot(s)
	if err := ApplyDelta(dst, base, 2, changes, created, nil); err != nil {
		t.Fatal(err)
	}
	want := NewSnapshot(s)
	var w StateWriter
	w.Begin(want, 2)
	w.Entity(5, 0).String("a").String("a").Int(4).Int(2).Int(3).Int(4)
	w.Entity(7, 1).Int(-2).Int(-32768).Int(200)
	_ = w.End()
	if !dst.Equal(want) {
		t.Errorf("got\n%v\nwant\n%v", dst, want)
	}
}

func TestApplyDeltaReusesEqualStrings(t *testing.T) {
	s := newArenaTestSchema(t)
	base := NewSnapshot(s)
	name := strings.Repeat("n", 40)
	writeArena(t, base, 1, []testPlayer{{id: 5, name: name}})
	changes := mpArray(t, 3, name, name) // id and name "changed" to the same value
	dst := NewSnapshot(s)
	apply := func() {
		if err := ApplyDelta(dst, base, 2, changes, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	apply()
	if allocs := testing.AllocsPerRun(100, apply); allocs != 0 {
		t.Errorf("ApplyDelta with unchanged strings allocs = %v, want 0", allocs)
	}
	if got := dst.At(0).Str(1); unsafe.StringData(got) != unsafe.StringData(name) {
		t.Error("equal decoded string does not reuse the base string")
	}
}

func TestEncodeApplyDoNotAllocate(t *testing.T) {
	s := newArenaTestSchema(t)
	players := make([]testPlayer, 100)
	for i := range players {
		players[i] = testPlayer{id: uint32(i + 1), name: "player", x: int64(i), hp: 100}
	}
	base, cur, dst := NewSnapshot(s), NewSnapshot(s), NewSnapshot(s)
	writeArena(t, base, 1, players)
	for i := range players {
		players[i].x += 3
		players[i].y -= 1000
	}
	players = append(players[:10], players[12:]...) // two removed
	players = append(players, testPlayer{id: 500, name: "new"})
	writeArena(t, cur, 2, players)
	b := NewBuffer(0)
	var changes, created, removed []byte
	encode := func() {
		b.Reset()
		n := EncodeDelta(b, base, cur)
		if n != 3 {
			t.Fatalf("EncodeDelta = %d values, want 3", n)
		}
	}
	encode()
	changes, created, removed = splitDeltaValues(t, b.B, 3)
	if allocs := testing.AllocsPerRun(100, encode); allocs != 0 {
		t.Errorf("EncodeDelta allocs = %v, want 0", allocs)
	}
	// created carries new strings, so measure apply without it.
	cur2 := NewSnapshot(s)
	if err := ApplyDelta(cur2, base, 2, changes, nil, removed); err != nil {
		t.Fatal(err)
	}
	apply := func() {
		if err := ApplyDelta(dst, base, 2, changes, nil, removed); err != nil {
			t.Fatal(err)
		}
	}
	apply()
	if allocs := testing.AllocsPerRun(100, apply); allocs != 0 {
		t.Errorf("ApplyDelta allocs = %v, want 0", allocs)
	}
	if err := ApplyDelta(dst, base, 2, changes, created, removed); err != nil {
		t.Fatal(err)
	}
	if !dst.Equal(cur) || dst.Checksum() != cur.Checksum() {
		t.Error("applied delta differs from cur")
	}
}

// randomDeltaState is a generator's view of a state: entities by id.
type randomDeltaState map[uint32]randomDeltaEntity

type randomDeltaEntity struct {
	kind uint8
	vals []fieldVal
}

func randomTestSchema(r *rand.Rand) *Schema {
	kinds := make([]Kind, 1+r.IntN(4))
	for k := range kinds {
		n := 1 + r.IntN(7)
		if r.IntN(8) == 0 {
			n = 1 + r.IntN(MaxFields)
		}
		fields := make([]Field, n)
		for i := range fields {
			fields[i] = Field{Name: "f" + string(rune('a'+i)), Type: FieldType(1 + r.IntN(3))}
		}
		kinds[k] = Kind{Name: "k" + string(rune('a'+k)), Fields: fields}
	}
	s, err := NewSchema(kinds...)
	if err != nil {
		panic(err)
	}
	return s
}

var randomTestStrings = []string{"", "a", "ab", "hello", strings.Repeat("x", 31), strings.Repeat("y", 32), strings.Repeat("z", 300), "ünï", "\x00\xff"}

func randomTestValue(r *rand.Rand, t FieldType, old fieldVal) fieldVal {
	switch t {
	case FieldInt:
		switch r.IntN(8) {
		case 0:
			return fieldVal{n: math.MinInt64 + r.Int64N(3)}
		case 1:
			return fieldVal{n: math.MaxInt64 - r.Int64N(3)}
		case 2:
			return fieldVal{n: int64(r.Uint64())}
		case 3:
			return fieldVal{n: old.n + r.Int64N(5) - 2} // small move, may wrap
		case 4:
			return fieldVal{n: old.n ^ math.MinInt64} // huge move
		}
		return fieldVal{n: r.Int64N(2000) - 1000}
	case FieldFloat:
		var f float64
		switch r.IntN(9) {
		case 0:
			f = math.Copysign(0, -1)
		case 1:
			f = 0
		case 2:
			f = math.Inf(1 - 2*r.IntN(2))
		case 3:
			return fieldVal{n: int64(0x7ff8000000000000 | r.Uint64N(1<<51))} // NaN with a payload
		case 4:
			f = float64(float32(r.NormFloat64())) // float32-exact
		case 5:
			f = math.SmallestNonzeroFloat64
		case 6:
			f = -math.MaxFloat64
		default:
			f = r.NormFloat64() * 1e3
		}
		return fieldVal{n: int64(math.Float64bits(f))}
	}
	if r.IntN(4) == 0 {
		b := make([]byte, r.IntN(70))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return fieldVal{s: string(b)}
	}
	return fieldVal{s: randomTestStrings[r.IntN(len(randomTestStrings))]}
}

func randomTestEntity(r *rand.Rand, s *Schema) randomDeltaEntity {
	k := uint8(r.IntN(len(s.kinds)))
	types := s.kinds[k].types
	e := randomDeltaEntity{kind: k, vals: make([]fieldVal, len(types))}
	for i, t := range types {
		e.vals[i] = randomTestValue(r, t, fieldVal{})
	}
	return e
}

func randomTestID(r *rand.Rand, st randomDeltaState) uint32 {
	switch r.IntN(4) {
	case 0:
		return r.Uint32() // sparse
	case 1:
		return math.MaxUint32 - r.Uint32N(4)
	}
	return r.Uint32N(uint32(2*len(st) + 8)) // dense
}

// evolve returns the next state: entities removed, kind-changed, changed,
// unchanged and created.
func (st randomDeltaState) evolve(r *rand.Rand, s *Schema) randomDeltaState {
	next := make(randomDeltaState, len(st))
	churn := r.IntN(4) // 0: quiet, 3: chaotic
	ids := make([]uint32, 0, len(st))
	for id := range st {
		ids = append(ids, id)
	}
	slices.Sort(ids) // map order would make the seeds irreproducible
	for _, id := range ids {
		e := st[id]
		switch p := r.IntN(20); {
		case p < churn:
			// removed
		case p < 2*churn:
			next[id] = randomTestEntity(r, s) // possibly another kind
		case p < 10:
			ne := randomDeltaEntity{kind: e.kind, vals: slices.Clone(e.vals)}
			for i, t := range s.kinds[e.kind].types {
				if r.IntN(3) == 0 {
					ne.vals[i] = randomTestValue(r, t, e.vals[i])
				}
			}
			next[id] = ne
		default:
			next[id] = e
		}
	}
	for range r.IntN(2 + 3*churn) {
		next[randomTestID(r, next)] = randomTestEntity(r, s)
	}
	return next
}

// snapshot writes st into a new Snapshot, in random order.
func (st randomDeltaState) snapshot(t testing.TB, r *rand.Rand, s *Schema, tick uint64) *Snapshot {
	ids := make([]uint32, 0, len(st))
	for id := range st {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if r.IntN(2) == 0 {
		r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	}
	snap := NewSnapshot(s)
	var w StateWriter
	w.Begin(snap, tick)
	for _, id := range ids {
		e := st[id]
		w.Entity(id, e.kind)
		for i, t := range s.kinds[e.kind].types {
			switch t {
			case FieldInt:
				w.Int(e.vals[i].n)
			case FieldFloat:
				w.Float(math.Float64frombits(uint64(e.vals[i].n)))
			default:
				w.String(e.vals[i].s)
			}
		}
	}
	if err := w.End(); err != nil {
		t.Fatal(err)
	}
	if snap.Len() != len(st) {
		t.Fatalf("snapshot has %d entities, want %d", snap.Len(), len(st))
	}
	return snap
}

// TestDeltaRoundTripProperty checks, over random schemas and random state
// sequences, that applying EncodeDelta(base, cur) to a client replica of
// base (or to the empty state) reproduces cur and its checksum.
func TestDeltaRoundTripProperty(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 30
	}
	b := NewBuffer(0)
	applies := 0
	for seed := range uint64(seeds) {
		r := rand.New(rand.NewPCG(seed, 0x7469636b726f6f6d))
		server := randomTestSchema(r)
		wire := NewBuffer(0)
		server.AppendMsgpack(wire)
		client, err := DecodeSchema(wire.B)
		if err != nil {
			t.Fatal(err)
		}

		st := make(randomDeltaState)
		for range r.IntN(40) {
			st[randomTestID(r, st)] = randomTestEntity(r, server)
		}
		states := make([]*Snapshot, 8)
		for i := range states {
			states[i] = st.snapshot(t, r, server, uint64(i+1))
			st = st.evolve(r, server)
		}

		// Client replicas of every state, each built from a full snapshot.
		replicas := make([]*Snapshot, len(states))
		for i, cur := range states {
			b.Reset()
			n := EncodeDelta(b, nil, cur)
			changes, created, removed := splitDeltaValues(t, b.B, n)
			replicas[i] = NewSnapshot(client)
			if err := ApplyDelta(replicas[i], nil, cur.Tick(), changes, created, removed); err != nil {
				t.Fatalf("seed %d: full snapshot of state %d: %v", seed, i, err)
			}
		}

		dst := NewSnapshot(client)
		for i := -1; i < len(states); i++ {
			for j, cur := range states {
				var base, replica *Snapshot
				if i >= 0 {
					base, replica = states[i], replicas[i]
				}
				b.Reset()
				n := EncodeDelta(b, base, cur)
				changes, created, removed := splitDeltaValues(t, b.B, n)
				if i == j && (n != 1 || !bytes.Equal(changes, []byte{0x90})) {
					t.Fatalf("seed %d: delta of state %d to itself = % x, want 90", seed, i, b.B)
				}
				if err := ApplyDelta(dst, replica, cur.Tick(), changes, created, removed); err != nil {
					t.Fatalf("seed %d: base %d → cur %d: ApplyDelta: %v\nbase %v\ncur %v", seed, i, j, err, base, cur)
				}
				applies++
				if !dst.Equal(cur) || dst.Checksum() != cur.Checksum() || dst.Tick() != cur.Tick() {
					t.Fatalf("seed %d: base %d → cur %d: got\n%v\nwant\n%v", seed, i, j, dst, cur)
				}
			}
		}
	}
	t.Logf("%d deltas applied", applies)
}

func TestEncodeDeltaSchemaMismatchPanics(t *testing.T) {
	a, b := NewSnapshot(newArenaTestSchema(t)), NewSnapshot(mixedTestSchema(t))
	defer func() {
		if r := recover(); r == nil {
			t.Error("EncodeDelta with different schemas did not panic")
		}
	}()
	EncodeDelta(NewBuffer(0), a, b)
}

func TestEncodeDeltaEqualSchemas(t *testing.T) {
	// Distinct but equal schemas (server and a decoded copy) are accepted.
	a, b := NewSnapshot(newArenaTestSchema(t)), NewSnapshot(newArenaTestSchema(t))
	if n := EncodeDelta(NewBuffer(0), a, b); n != 1 {
		t.Errorf("EncodeDelta(empty, empty) = %d values, want 1", n)
	}
}
