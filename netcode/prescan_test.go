package netcode

import (
	"bytes"
	"encoding/hex"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

// codecHex decodes hex with optional spaces ("dd ff ff ff ff").
func codecHex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

// codecCat concatenates byte slices.
func codecCat(parts ...[]byte) []byte {
	return bytes.Join(parts, nil)
}

// codecRepeat is n copies of byte c.
func codecRepeat(c byte, n int) []byte {
	return bytes.Repeat([]byte{c}, n)
}

// codecPrescanRow is one CheckValue case.
type codecPrescanRow struct {
	name string
	in   []byte
	n    int    // wanted length for a good value
	err  string // substring of the wanted error; "" for a good value
}

// codecHostileRows are values CheckValue must reject. Each is also used
// nested inside a message field and as a fuzz seed.
func codecHostileRows() []codecPrescanRow {
	return []codecPrescanRow{
		{name: "array32 4G", in: codecHex("dd ff ff ff ff"), err: "longer than 256"},
		{name: "map32 4G", in: codecHex("df ff ff ff ff"), err: "longer than 256"},
		{name: "str32 4G", in: codecHex("db ff ff ff ff"), err: "longer than 4096"},
		{name: "bin32 4G", in: codecHex("c6 ff ff ff ff"), err: "longer than 4096"},
		{name: "array16 64K", in: codecHex("dc ff ff"), err: "longer than 256"},
		{name: "map16 64K", in: codecHex("de ff ff"), err: "longer than 256"},
		{name: "str16 64K", in: codecHex("da ff ff"), err: "longer than 4096"},
		{name: "bin16 64K", in: codecHex("c5 ff ff"), err: "longer than 4096"},
		{name: "str8 past end", in: codecHex("d9 ff 61"), err: "exceeds the remaining"},
		{name: "bin8 past end", in: codecHex("c4 10 00"), err: "exceeds the remaining"},
		{name: "array16 past end", in: codecHex("dc 00 05 01 02"), err: "exceeds the remaining"},
		{name: "array32 past end", in: codecHex("dd 00 00 00 03 01 02"), err: "exceeds the remaining"},
		{name: "map16 past end", in: codecHex("de 00 02 01 02 03"), err: "exceeds the remaining"},
		{name: "map32 past end", in: codecHex("df 00 00 00 02 01 02 03"), err: "exceeds the remaining"},
		{name: "ext8", in: codecHex("c7 01 05 00"), err: "ext"},
		{name: "ext16", in: codecHex("c8 00 01 05 00"), err: "ext"},
		{name: "ext32", in: codecHex("c9 00 00 00 01 05 00"), err: "ext"},
		{name: "ext32 4G", in: codecHex("c9 ff ff ff ff 05"), err: "ext"},
		{name: "fixext1", in: codecHex("d4 05 00"), err: "ext"},
		{name: "fixext2", in: codecHex("d5 05 00 00"), err: "ext"},
		{name: "fixext4", in: codecHex("d6 ff 00 00 00 00"), err: "ext"},
		{name: "fixext8", in: codecHex("d7 ff" + strings.Repeat(" 00", 8)), err: "ext"},
		{name: "fixext16", in: codecHex("d8 05" + strings.Repeat(" 00", 16)), err: "ext"},
		{name: "never used 0xc1", in: codecHex("c1"), err: "0xc1"},
		{name: "depth 9", in: codecCat(codecRepeat(0x91, 9), []byte{1}), err: "deeper than 8"},
		{name: "depth 9 empty innermost", in: codecCat(codecRepeat(0x91, 8), []byte{0x90}), err: "deeper than 8"},
		{name: "depth 9 maps", in: codecCat(bytes.Repeat([]byte{0x81, 0x01}, 9), []byte{1}), err: "deeper than 8"},
		{name: "64x 0x91", in: codecRepeat(0x91, 64), err: "deeper than 8"},
		{name: "1000000x 0x91", in: codecRepeat(0x91, 1_000_000), err: "deeper than 8"},
		{name: "array16 300 elements", in: codecCat(codecHex("dc 01 2c"), codecRepeat(0, 300)), err: "longer than 256"},
		{name: "array16 257 elements", in: codecCat(codecHex("dc 01 01"), codecRepeat(0, 257)), err: "longer than 256"},
		{name: "map16 257 pairs", in: codecCat(codecHex("de 01 01"), codecRepeat(0, 514)), err: "longer than 256"},
		{name: "str16 4097", in: codecCat(codecHex("da 10 01"), codecRepeat('a', 4097)), err: "longer than 4096"},
		{name: "bin16 4097", in: codecCat(codecHex("c5 10 01"), codecRepeat(0, 4097)), err: "longer than 4096"},
		{name: "ext nested in array", in: codecHex("92 01 d4 05 00"), err: "ext"},
		{name: "ext as map key", in: codecHex("81 d4 05 00 01"), err: "ext"},
		// Truncated values of each format.
		{name: "empty", in: nil, err: "truncated"},
		{name: "uint8 truncated", in: codecHex("cc"), err: "truncated"},
		{name: "uint16 truncated", in: codecHex("cd 01"), err: "truncated"},
		{name: "uint32 truncated", in: codecHex("ce 01 02 03"), err: "truncated"},
		{name: "uint64 truncated", in: codecHex("cf 01 02 03 04 05 06 07"), err: "truncated"},
		{name: "int8 truncated", in: codecHex("d0"), err: "truncated"},
		{name: "int16 truncated", in: codecHex("d1 ff"), err: "truncated"},
		{name: "int32 truncated", in: codecHex("d2 ff ff ff"), err: "truncated"},
		{name: "int64 truncated", in: codecHex("d3 ff ff ff ff ff ff ff"), err: "truncated"},
		{name: "float32 truncated", in: codecHex("ca 3f 80 00"), err: "truncated"},
		{name: "float64 truncated", in: codecHex("cb 3f f0 00 00 00 00 00"), err: "truncated"},
		{name: "fixstr truncated", in: codecHex("a3 61 62"), err: "truncated"},
		{name: "str8 no length", in: codecHex("d9"), err: "truncated"},
		{name: "str8 truncated", in: codecHex("d9 03 61 62"), err: "exceeds the remaining"},
		{name: "str16 no length", in: codecHex("da 00"), err: "truncated"},
		{name: "str32 no length", in: codecHex("db 00 00 00"), err: "truncated"},
		{name: "bin8 truncated", in: codecHex("c4 02 00"), err: "exceeds the remaining"},
		{name: "bin16 no length", in: codecHex("c5 00"), err: "truncated"},
		{name: "bin32 no length", in: codecHex("c6 00 00"), err: "truncated"},
		{name: "fixarray truncated", in: codecHex("92 01"), err: "truncated"},
		{name: "fixmap truncated", in: codecHex("81 01"), err: "truncated"},
		{name: "fixmap no value", in: codecHex("82 01 02 03"), err: "truncated"},
		{name: "array16 no length", in: codecHex("dc 00"), err: "truncated"},
		{name: "array32 no length", in: codecHex("dd 00 00 00"), err: "truncated"},
		{name: "map16 no length", in: codecHex("de 00"), err: "truncated"},
		{name: "map32 no length", in: codecHex("df 00 00"), err: "truncated"},
		{name: "nested truncated", in: codecHex("92 92 01"), err: "truncated"},
		{name: "nested str truncated", in: codecHex("92 01 a5 61"), err: "truncated"},
	}
}

func TestCheckValueGood(t *testing.T) {
	str := func(n int) []byte { return codecRepeat('x', n) }
	rows := []codecPrescanRow{
		{name: "nil", in: codecHex("c0"), n: 1},
		{name: "false", in: codecHex("c2"), n: 1},
		{name: "true", in: codecHex("c3"), n: 1},
		{name: "positive fixint 0", in: codecHex("00"), n: 1},
		{name: "positive fixint 127", in: codecHex("7f"), n: 1},
		{name: "negative fixint -32", in: codecHex("e0"), n: 1},
		{name: "negative fixint -1", in: codecHex("ff"), n: 1},
		{name: "uint8", in: codecHex("cc ff"), n: 2},
		{name: "uint16", in: codecHex("cd ff ff"), n: 3},
		{name: "uint32", in: codecHex("ce ff ff ff ff"), n: 5},
		{name: "uint64", in: codecHex("cf ff ff ff ff ff ff ff ff"), n: 9},
		{name: "int8", in: codecHex("d0 80"), n: 2},
		{name: "int16", in: codecHex("d1 80 00"), n: 3},
		{name: "int32", in: codecHex("d2 80 00 00 00"), n: 5},
		{name: "int64", in: codecHex("d3 80 00 00 00 00 00 00 00"), n: 9},
		{name: "float32", in: codecHex("ca 3f 80 00 00"), n: 5},
		{name: "float64", in: codecHex("cb 3f f0 00 00 00 00 00 00"), n: 9},
		{name: "fixstr empty", in: codecHex("a0"), n: 1},
		{name: "fixstr", in: codecHex("a3 61 62 63"), n: 4},
		{name: "fixstr 31", in: codecCat([]byte{0xbf}, str(31)), n: 32},
		{name: "str8", in: codecHex("d9 03 61 62 63"), n: 5},
		{name: "str16", in: codecHex("da 00 03 61 62 63"), n: 6},
		{name: "str32", in: codecHex("db 00 00 00 03 61 62 63"), n: 8},
		{name: "str16 4096", in: codecCat(codecHex("da 10 00"), str(4096)), n: 4099},
		{name: "bin8", in: codecHex("c4 02 01 02"), n: 4},
		{name: "bin8 empty", in: codecHex("c4 00"), n: 2},
		{name: "bin16", in: codecHex("c5 00 02 01 02"), n: 5},
		{name: "bin32", in: codecHex("c6 00 00 00 02 01 02"), n: 7},
		{name: "bin32 4096", in: codecCat(codecHex("c6 00 00 10 00"), str(4096)), n: 4101},
		{name: "fixarray empty", in: codecHex("90"), n: 1},
		{name: "fixarray", in: codecHex("93 01 a1 61 c0"), n: 5},
		{name: "array16", in: codecHex("dc 00 02 01 02"), n: 5},
		{name: "array32", in: codecHex("dd 00 00 00 01 c0"), n: 6},
		{name: "array16 256", in: codecCat(codecHex("dc 01 00"), codecRepeat(0, 256)), n: 259},
		{name: "fixmap empty", in: codecHex("80"), n: 1},
		{name: "fixmap", in: codecHex("82 a1 6b 01 02 92 01 02"), n: 8},
		{name: "map16", in: codecHex("de 00 01 01 02"), n: 5},
		{name: "map32", in: codecHex("df 00 00 00 01 01 02"), n: 7},
		{name: "map16 256 pairs", in: codecCat(codecHex("de 01 00"), codecRepeat(0, 512)), n: 515},
		{name: "depth 8", in: codecCat(codecRepeat(0x91, 8), []byte{1}), n: 9},
		{name: "depth 8 empty innermost", in: codecCat(codecRepeat(0x91, 7), []byte{0x90}), n: 8},
		{name: "depth 8 maps", in: codecCat(bytes.Repeat([]byte{0x81, 0xa0}, 8), []byte{1}), n: 17},
		{name: "siblings at depth 8", in: codecCat(codecRepeat(0x91, 7), codecHex("92 01 02")), n: 10},
		{name: "wide then deep", in: codecHex("93 91 91 01 92 90 80 a1 61"), n: 9},
		{name: "arena input", in: codecHex("92 ca 3f 00 00 00 ca bf 80 00 00"), n: 11},
		// Bytes after the value are not examined: n is the first value's length.
		{name: "trailing nil", in: codecHex("c0 c0"), n: 1},
		{name: "trailing garbage", in: codecHex("92 01 02 dd ff ff ff ff"), n: 3},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			n, err := CheckValue(r.in)
			if err != nil || n != r.n {
				t.Fatalf("CheckValue(% x) = %d, %v; want %d, nil", codecShort(r.in), n, err, r.n)
			}
		})
	}
}

func TestCheckValueHostile(t *testing.T) {
	for _, r := range codecHostileRows() {
		t.Run(r.name, func(t *testing.T) {
			n, err := CheckValue(r.in)
			if err == nil {
				t.Fatalf("CheckValue(% x) = %d, nil; want error %q", codecShort(r.in), n, r.err)
			}
			if !strings.Contains(err.Error(), r.err) {
				t.Errorf("CheckValue(% x) error = %q; want it to contain %q", codecShort(r.in), err, r.err)
			}
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Code != CodeBadMessage || pe.Ref != 0 {
				t.Errorf("error = %#v; want *ProtocolError bad_message ref 0", err)
			}
			if n != 0 {
				t.Errorf("n = %d on error; want 0", n)
			}
		})
		// The same value inside another value: [1, x] and {"k": [x]}.
		t.Run(r.name+"/nested", func(t *testing.T) {
			for _, in := range [][]byte{
				codecCat(codecHex("92 01"), r.in),
				codecCat(codecHex("81 a1 6b 91"), r.in),
			} {
				if n, err := CheckValue(in); err == nil {
					t.Errorf("CheckValue(% x) = %d, nil; want error", codecShort(in), n)
				}
			}
		})
		// Inside every payload-carrying field of a client message.
		t.Run(r.name+"/in message", func(t *testing.T) {
			for _, c := range []struct {
				in  []byte
				ref MsgType
			}{
				{codecCat(codecHex("93 02 01"), r.in), MsgInput},
				{codecCat(codecHex("94 02 01"), r.in, []byte{0}), MsgInput},
				{codecCat(codecHex("93 05 a1 62"), r.in), MsgMsg},
				{codecCat(codecHex("92 06"), r.in), MsgPing},
				{codecCat(codecHex("92 03"), r.in), MsgAck},
				{codecCat(codecHex("92 01"), r.in), MsgJoin},
			} {
				var m ClientMessage
				err := DecodeClient(c.in, &m)
				var pe *ProtocolError
				if !errors.As(err, &pe) || pe.Code != CodeBadMessage || pe.Ref != c.ref {
					t.Errorf("DecodeClient(% x) = %v; want bad_message with ref %d", codecShort(c.in), err, c.ref)
				}
			}
		})
	}
}

// codecShort truncates long inputs for messages.
func codecShort(b []byte) []byte {
	if len(b) > 24 {
		return b[:24]
	}
	return b
}

// TestCheckValueTrailing checks that a value followed by bytes is not a
// whole message: CheckValue reports the first value's length and
// DecodeClient rejects the buffer.
func TestCheckValueTrailing(t *testing.T) {
	for _, in := range [][]byte{
		codecHex("91 04 c0"),
		codecHex("92 03 05 00"),
		codecHex("91 04 dd ff ff ff ff"),
		codecHex("93 02 01 c0 c0"),
	} {
		n, err := CheckValue(in)
		if err != nil || n >= len(in) {
			t.Errorf("CheckValue(% x) = %d, %v; want a length < %d", in, n, err, len(in))
		}
		var m ClientMessage
		err = DecodeClient(in, &m)
		var pe *ProtocolError
		if !errors.As(err, &pe) || pe.Code != CodeBadMessage || !strings.Contains(pe.Message, "trailing") {
			t.Errorf("DecodeClient(% x) = %v; want bad_message about trailing bytes", in, err)
		}
	}
}

func TestCheckValueAllocs(t *testing.T) {
	good := codecHex("93 01 82 a1 6b 92 ca 3f 00 00 00 cb 3f f0 00 00 00 00 00 00 a1 6c dc 00 03 c3 c2 c0 c4 02 01 02")
	if n, err := CheckValue(good); err != nil || n != len(good) {
		t.Fatalf("CheckValue(good) = %d, %v; want %d, nil", n, err, len(good))
	}
	if a := testing.AllocsPerRun(100, func() { _, _ = CheckValue(good) }); a != 0 {
		t.Errorf("CheckValue(good): %v allocs per run; want 0", a)
	}
	for _, r := range codecHostileRows() {
		if a := testing.AllocsPerRun(10, func() { _, _ = CheckValue(r.in) }); a != 0 {
			t.Errorf("CheckValue(%s): %v allocs per run; want 0", r.name, a)
		}
	}
}

// codecTotalAlloc runs f and returns the bytes it allocated on the heap.
func codecTotalAlloc(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHostileAllocation decodes the inputs that make msgpack v5.4.1
// allocate gigabytes and checks that they cost almost nothing here.
func TestHostileAllocation(t *testing.T) {
	const limit = 64 << 10
	for _, in := range [][]byte{
		codecHex("dd ff ff ff ff"),
		codecHex("df ff ff ff ff"),
		codecHex("93 02 01 dd ff ff ff ff"),
		codecHex("93 05 a1 62 df ff ff ff ff"),
	} {
		var m ClientMessage
		var err error
		got := codecTotalAlloc(func() { err = DecodeClient(in, &m) })
		if err == nil {
			t.Errorf("DecodeClient(% x) succeeded", in)
		}
		if got >= limit {
			t.Errorf("DecodeClient(% x) allocated %d bytes; want < %d", in, got, limit)
		}
		var sm ServerMessage
		got = codecTotalAlloc(func() { err = DecodeServer(in, &sm) })
		if err == nil {
			t.Errorf("DecodeServer(% x) succeeded", in)
		}
		if got >= limit {
			t.Errorf("DecodeServer(% x) allocated %d bytes; want < %d", in, got, limit)
		}
	}

	deep := codecRepeat(0x91, 1_000_000)
	start := time.Now()
	var n int
	var err error
	got := codecTotalAlloc(func() { n, err = CheckValue(deep) })
	if took := time.Since(start); took > time.Second {
		t.Errorf("CheckValue(1000000x 0x91) took %v", took)
	}
	if err == nil {
		t.Errorf("CheckValue(1000000x 0x91) = %d, nil; want error", n)
	}
	if got >= limit {
		t.Errorf("CheckValue(1000000x 0x91) allocated %d bytes; want < %d", got, limit)
	}
	// A hostile server: the same nest as a frame's changes. The server
	// limit is 64 levels, so this also stops early.
	var sm ServerMessage
	frame := codecCat(codecHex("96 67 01 01 01 01"), deep)
	got = codecTotalAlloc(func() { err = DecodeServer(frame, &sm) })
	if err == nil || !strings.Contains(err.Error(), "deeper than 64") {
		t.Errorf("DecodeServer(deep frame) = %v; want nesting error", err)
	}
	if got >= limit {
		t.Errorf("DecodeServer(deep frame) allocated %d bytes; want < %d", got, limit)
	}
}
