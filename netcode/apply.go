package netcode

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
)

// ApplyDelta sets dst to the state at tick: base (nil = the empty state)
// plus the delta of PROTOCOL §5.1 given as the raw msgpack values changes,
// created and removed. An empty (or nil) value, or a msgpack nil, means an
// empty array. On success dst's checksum is computed (compare it with the
// frame's); dst takes base's schema, or keeps its own when base is nil.
//
// The input comes from the network and is fully validated: every declared
// length must fit in the bytes that follow, ints must be ints, floats
// floats (float32 or float64) and strings str; each value must be exactly
// one array with no trailing bytes; changes must address existing base
// entities with a non-zero mask within the entity's fields, and not one
// that is removed; removed must list base ids in ascending order; created
// must list ids in ascending order that do not collide with a surviving
// base entity, with known kinds and all their values. On error, which is
// prefixed "netcode: ", dst is left as the empty state at tick. ApplyDelta
// never panics and never allocates by a declared length.
//
// dst must not be base. ApplyDelta does not allocate once dst has grown to
// its working size, except for new string values (a changed string equal
// to the base value reuses the base string).
func ApplyDelta(dst, base *Snapshot, tick uint64, changes, created, removed []byte) error {
	if dst == nil {
		return fmt.Errorf("netcode: ApplyDelta: nil dst")
	}
	if dst == base {
		return fmt.Errorf("netcode: ApplyDelta: dst is base")
	}
	if base != nil {
		dst.schema = base.schema
	}
	if dst.schema == nil {
		return fmt.Errorf("netcode: ApplyDelta: dst has no schema")
	}
	old := dst.begin(tick)
	a := deltaApplier{dst: dst, base: base, kinds: dst.schema.kinds, w: uint(dst.schema.w)}
	if err := a.run(changes, created, removed); err != nil {
		dst.fail()
		return err
	}
	dst.finish(old)
	return nil
}

// deltaApplier holds the state of one ApplyDelta: three readers walked in
// step with the base entities.
type deltaApplier struct {
	dst, base *Snapshot
	kinds     []kindSpec
	w         uint

	ch, cr, rm             stateReader
	chLeft, crLeft, rmLeft int // elements not yet read

	chIdx  int    // base index of the next changed entity, -1 if none
	chMask uint64 // its field mask

	rmID  uint32 // next removed id, valid if rmOK
	rmOK  bool
	crID  uint32 // next created id and kind, valid if crOK
	crKnd uint8
	crOK  bool
	crAny bool // a created entity was read (crID then holds the last one)
	rmAny bool
}

func (a *deltaApplier) run(changes, created, removed []byte) error {
	var err error
	if a.ch, a.chLeft, err = openDeltaArray(changes, "changes"); err != nil {
		return err
	}
	if a.cr, a.crLeft, err = openDeltaArray(created, "created"); err != nil {
		return err
	}
	if a.rm, a.rmLeft, err = openDeltaArray(removed, "removed"); err != nil {
		return err
	}
	var bents []entityRec
	if a.base != nil {
		bents = a.base.ents
	}
	if err := a.nextChange(-1, len(bents)); err != nil {
		return err
	}
	if err := a.nextRemoved(); err != nil {
		return err
	}
	if err := a.nextCreated(); err != nil {
		return err
	}
	for i, be := range bents {
		for a.crOK && a.crID < be.id {
			if err := a.emitCreated(); err != nil {
				return err
			}
		}
		if a.rmOK && a.rmID < be.id {
			return fmt.Errorf("netcode: removed: entity %d is not in the base state", a.rmID)
		}
		gone := a.rmOK && a.rmID == be.id
		if gone {
			if err := a.nextRemoved(); err != nil {
				return err
			}
		}
		switch {
		case a.chIdx == i && gone:
			return fmt.Errorf("netcode: changes: entity %d (index %d) is also removed", be.id, i)
		case a.chIdx == i:
			if err := a.emitChanged(be); err != nil {
				return err
			}
			if err := a.nextChange(i, len(bents)); err != nil {
				return err
			}
		case !gone:
			a.dst.ents = append(a.dst.ents, entityRec{id: be.id, kind: be.kind, off: int32(len(a.dst.vals))})
			a.dst.vals = append(a.dst.vals, a.base.fields(be)...)
		}
		if a.crOK && a.crID == be.id {
			if !gone {
				return fmt.Errorf("netcode: created: entity %d already exists and is not removed", be.id)
			}
			if err := a.emitCreated(); err != nil {
				return err
			}
		}
	}
	for a.crOK {
		if err := a.emitCreated(); err != nil {
			return err
		}
	}
	if a.rmOK {
		return fmt.Errorf("netcode: removed: entity %d is not in the base state", a.rmID)
	}
	if err := a.ch.end(); err != nil {
		return err
	}
	if err := a.cr.end(); err != nil {
		return err
	}
	return a.rm.end()
}

// nextChange reads the code of the next changes group, after the one at
// base index prev, in a base of n entities.
func (a *deltaApplier) nextChange(prev, n int) error {
	a.chIdx = -1
	if a.chLeft == 0 {
		return nil
	}
	code, err := a.ch.uint()
	if err != nil {
		return err
	}
	a.chLeft--
	gap := code >> a.w
	a.chMask = code & (1<<a.w - 1)
	if a.chMask == 0 {
		return fmt.Errorf("netcode: changes: code %d has an empty field mask", code)
	}
	if gap >= uint64(n-prev-1) {
		return fmt.Errorf("netcode: changes: entity index %d+1+%d beyond the base state (%d entities)", prev, gap, n)
	}
	a.chIdx = prev + 1 + int(gap)
	return nil
}

// emitChanged appends base entity be to dst with the changes of the
// current group applied.
func (a *deltaApplier) emitChanged(be entityRec) error {
	types := a.kinds[be.kind].types
	if a.chMask>>uint(len(types)) != 0 {
		return fmt.Errorf("netcode: changes: entity %d: mask %#x beyond its %d fields", be.id, a.chMask, len(types))
	}
	n := bits.OnesCount64(a.chMask)
	if a.chLeft < n {
		return fmt.Errorf("netcode: changes: entity %d: %d values for mask %#x, want %d", be.id, a.chLeft, a.chMask, n)
	}
	a.chLeft -= n
	d := a.dst
	off := len(d.vals)
	d.ents = append(d.ents, entityRec{id: be.id, kind: be.kind, off: int32(off)})
	d.vals = append(d.vals, a.base.fields(be)...)
	vals := d.vals[off:]
	for m := a.chMask; m != 0; m &= m - 1 {
		f := bits.TrailingZeros64(m)
		switch types[f] {
		case FieldInt:
			v, _, err := a.ch.int()
			if err != nil {
				return err
			}
			vals[f].n += int64(v) // the difference, modulo 2^64
		case FieldFloat:
			v, err := a.ch.float()
			if err != nil {
				return err
			}
			vals[f].n = int64(v)
		default:
			v, err := a.ch.str()
			if err != nil {
				return err
			}
			if string(v) != vals[f].s {
				vals[f].s = string(v)
			}
		}
	}
	return nil
}

// nextRemoved reads the next removed id.
func (a *deltaApplier) nextRemoved() error {
	a.rmOK = false
	if a.rmLeft == 0 {
		return nil
	}
	id, err := a.rm.id()
	if err != nil {
		return err
	}
	a.rmLeft--
	if a.rmAny && id <= a.rmID {
		return fmt.Errorf("netcode: removed: id %d after %d, want ascending ids", id, a.rmID)
	}
	a.rmID, a.rmOK, a.rmAny = id, true, true
	return nil
}

// nextCreated reads the id and kind of the next created entity.
func (a *deltaApplier) nextCreated() error {
	a.crOK = false
	if a.crLeft == 0 {
		return nil
	}
	if a.crLeft < 2 {
		return fmt.Errorf("netcode: created: %d trailing element, want id and kind", a.crLeft)
	}
	id, err := a.cr.id()
	if err != nil {
		return err
	}
	if a.crAny && id <= a.crID {
		return fmt.Errorf("netcode: created: id %d after %d, want ascending ids", id, a.crID)
	}
	k, err := a.cr.uint()
	if err != nil {
		return err
	}
	if k >= uint64(len(a.kinds)) {
		return fmt.Errorf("netcode: created: entity %d: unknown kind %d (schema has %d kinds)", id, k, len(a.kinds))
	}
	nf := len(a.kinds[k].types)
	if a.crLeft-2 < nf {
		return fmt.Errorf("netcode: created: entity %d: %d values, want %d", id, a.crLeft-2, nf)
	}
	a.crLeft -= 2 + nf
	a.crID, a.crKnd, a.crOK, a.crAny = id, uint8(k), true, true
	return nil
}

// emitCreated appends the current created entity to dst, reading its
// values, then reads the next one's header.
func (a *deltaApplier) emitCreated() error {
	d := a.dst
	if len(d.vals) > math.MaxInt32-MaxFields {
		return fmt.Errorf("netcode: created: too many field values")
	}
	off := len(d.vals)
	d.ents = append(d.ents, entityRec{id: a.crID, kind: a.crKnd, off: int32(off)})
	for f, t := range a.kinds[a.crKnd].types {
		var v fieldVal
		switch t {
		case FieldInt:
			n, big, err := a.cr.int()
			if err != nil {
				return err
			}
			if big {
				return fmt.Errorf("netcode: created: entity %d: field %d: %d overflows int64", a.crID, f, n)
			}
			v.n = int64(n)
		case FieldFloat:
			n, err := a.cr.float()
			if err != nil {
				return err
			}
			v.n = int64(n)
		default:
			s, err := a.cr.str()
			if err != nil {
				return err
			}
			v.s = string(s)
		}
		d.vals = append(d.vals, v)
	}
	return a.nextCreated()
}

// openDeltaArray returns a reader positioned after the header of the array
// raw holds, and its element count. Empty raw and msgpack nil are an empty
// array.
func openDeltaArray(raw []byte, what string) (stateReader, int, error) {
	r := stateReader{b: raw, what: what}
	if len(raw) == 0 || (len(raw) == 1 && raw[0] == 0xc0) {
		return stateReader{what: what}, 0, nil
	}
	n, err := r.arrayLen()
	return r, n, err
}

// stateReader reads msgpack primitives from untrusted bytes, checking
// every length against the bytes left. Errors name what is being read.
type stateReader struct {
	b    []byte
	off  int
	what string // "changes", "created", "removed", "schema"
}

func (r *stateReader) errf(format string, args ...any) error {
	return fmt.Errorf("netcode: "+r.what+": "+format, args...)
}

func (r *stateReader) truncated() error {
	return r.errf("truncated at byte %d", r.off)
}

// take returns the next n bytes.
func (r *stateReader) take(n int) ([]byte, bool) {
	if n < 0 || n > len(r.b)-r.off {
		return nil, false
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p, true
}

// code returns the next format byte.
func (r *stateReader) code() (byte, error) {
	if r.off >= len(r.b) {
		return 0, r.truncated()
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

// fixed reads the n-byte big-endian payload of a numeric format.
func (r *stateReader) fixed(n int) (uint64, error) {
	p, ok := r.take(n)
	if !ok {
		return 0, r.truncated()
	}
	switch n {
	case 1:
		return uint64(p[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(p)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(p)), nil
	}
	return binary.BigEndian.Uint64(p), nil
}

// arrayLen reads an array header. The count must not exceed the bytes
// left, as every element takes at least one byte.
func (r *stateReader) arrayLen() (int, error) {
	c, err := r.code()
	if err != nil {
		return 0, err
	}
	var n uint64
	switch {
	case c >= 0x90 && c <= 0x9f:
		n = uint64(c & 0x0f)
	case c == 0xdc:
		n, err = r.fixed(2)
	case c == 0xdd:
		n, err = r.fixed(4)
	default:
		return 0, r.errf("want array, got format %#02x at byte %d", c, r.off-1)
	}
	if err != nil {
		return 0, err
	}
	if n > uint64(len(r.b)-r.off) {
		return 0, r.errf("array of %d elements in %d bytes", n, len(r.b)-r.off)
	}
	return int(n), nil
}

// int reads any msgpack integer and returns its two's complement bits;
// big reports a uint64 above math.MaxInt64 (whose bits read as negative).
func (r *stateReader) int() (v uint64, big bool, err error) {
	c, err := r.code()
	if err != nil {
		return 0, false, err
	}
	switch {
	case c <= 0x7f:
		return uint64(c), false, nil
	case c >= 0xe0:
		return uint64(int64(int8(c))), false, nil
	case c >= 0xcc && c <= 0xcf:
		v, err = r.fixed(1 << (c - 0xcc))
		return v, v > math.MaxInt64, err
	case c >= 0xd0 && c <= 0xd3:
		n := 1 << (c - 0xd0)
		v, err = r.fixed(n)
		if shift := 64 - 8*uint(n); shift > 0 {
			v = uint64(int64(v<<shift) >> shift) // sign-extend
		}
		return v, false, err
	}
	return 0, false, r.errf("want int, got format %#02x at byte %d", c, r.off-1)
}

// uint reads a non-negative integer in any integer format.
func (r *stateReader) uint() (uint64, error) {
	start := r.off
	v, big, err := r.int()
	if err != nil {
		return 0, err
	}
	if !big && int64(v) < 0 {
		return 0, r.errf("want uint, got %d at byte %d", int64(v), start)
	}
	return v, nil
}

// id reads an entity id: a uint below 2^32.
func (r *stateReader) id() (uint32, error) {
	start := r.off
	v, err := r.uint()
	if err != nil {
		return 0, err
	}
	if v > math.MaxUint32 {
		return 0, r.errf("entity id %d at byte %d does not fit 32 bits", v, start)
	}
	return uint32(v), nil
}

// float reads a float32 or float64 and returns its float64 bits.
func (r *stateReader) float() (uint64, error) {
	c, err := r.code()
	if err != nil {
		return 0, err
	}
	switch c {
	case 0xca:
		v, err := r.fixed(4)
		return math.Float64bits(float64(math.Float32frombits(uint32(v)))), err
	case 0xcb:
		return r.fixed(8)
	}
	return 0, r.errf("want float, got format %#02x at byte %d", c, r.off-1)
}

// str reads a str and returns its bytes, aliasing the input.
func (r *stateReader) str() ([]byte, error) {
	c, err := r.code()
	if err != nil {
		return nil, err
	}
	var n uint64
	switch {
	case c >= 0xa0 && c <= 0xbf:
		n = uint64(c & 0x1f)
	case c == 0xd9:
		n, err = r.fixed(1)
	case c == 0xda:
		n, err = r.fixed(2)
	case c == 0xdb:
		n, err = r.fixed(4)
	default:
		return nil, r.errf("want str, got format %#02x at byte %d", c, r.off-1)
	}
	if err != nil {
		return nil, err
	}
	p, ok := r.take(int(n))
	if !ok {
		return nil, r.errf("str of %d bytes, %d left", n, len(r.b)-r.off)
	}
	return p, nil
}

// end checks that the whole input was read.
func (r *stateReader) end() error {
	if r.off != len(r.b) {
		return r.errf("%d trailing bytes after the array", len(r.b)-r.off)
	}
	return nil
}
