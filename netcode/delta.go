package netcode

import (
	"math"
	"math/bits"
)

// EncodeDelta appends to b the delta from base to cur (PROTOCOL §5.1) as
// consecutive msgpack values: changes, then created and removed only if at
// least one of them is non-empty. It returns how many values it wrote: 1
// (changes only) or 3.
//
// base == nil means the empty state, which yields a full snapshot: every
// entity of cur in created. base and cur must have the same schema (the
// same *Schema, or equal ones); EncodeDelta panics otherwise, as that is a
// programming error, not an input error.
//
// Entities present in both with the same kind go to changes, which costs
// nothing for an unchanged entity; an id whose kind changed is removed and
// created. EncodeDelta does not allocate once b has grown to its working
// size. It only reads base and cur, so concurrent calls sharing them (each
// with its own b) are safe.
func EncodeDelta(b *Buffer, base, cur *Snapshot) int {
	var bents []entityRec
	if base != nil {
		if !base.schema.equal(cur.schema) {
			panic("netcode: EncodeDelta: base and cur have different schemas")
		}
		bents = base.ents
	}
	kinds := cur.schema.kindsOrNil()
	w := uint(cur.schema.maskWidth())
	enc := b.Enc()

	// changes: its element count is only known at the end, so reserve the
	// largest array header (5 bytes) and move the body back afterwards.
	start := len(b.B)
	b.B = append(b.B, 0, 0, 0, 0, 0)
	nChanges := 0
	nCreated := 0 // elements of created
	nRemoved := 0
	prev := -1 // base index of the previous changed entity
	i, j := 0, 0
	for i < len(bents) && j < len(cur.ents) {
		be, ce := bents[i], cur.ents[j]
		switch {
		case be.id < ce.id:
			nRemoved++
			i++
			continue
		case be.id > ce.id:
			nCreated += 2 + len(kinds[ce.kind].types)
			j++
			continue
		case be.kind != ce.kind:
			nRemoved++
			nCreated += 2 + len(kinds[ce.kind].types)
		default:
			types := kinds[ce.kind].types
			old := base.vals[be.off:][:len(types)]
			now := cur.vals[ce.off:][:len(types)]
			var mask uint64
			for f, t := range types {
				// Only string fields have a non-empty s.
				if old[f].n != now[f].n || (t == FieldString && old[f].s != now[f].s) {
					mask |= 1 << uint(f)
				}
			}
			if mask != 0 {
				_ = enc.EncodeUint(uint64(i-prev-1)<<w | mask)
				nChanges += 1 + bits.OnesCount64(mask)
				for m := mask; m != 0; m &= m - 1 {
					f := bits.TrailingZeros64(m)
					switch types[f] {
					case FieldInt:
						_ = enc.EncodeInt(now[f].n - old[f].n) // wraps modulo 2^64
					case FieldFloat:
						encodeFloat(b, now[f].n)
					default:
						_ = enc.EncodeString(now[f].s)
					}
				}
				prev = i
			}
		}
		i++
		j++
	}
	nRemoved += len(bents) - i
	for _, ce := range cur.ents[j:] {
		nCreated += 2 + len(kinds[ce.kind].types)
	}
	closeArray(b, start, nChanges)
	if nCreated == 0 && nRemoved == 0 {
		return 1
	}

	// created: entities of cur that are new or changed kind.
	_ = enc.EncodeArrayLen(nCreated)
	i = 0
	for _, ce := range cur.ents {
		for i < len(bents) && bents[i].id < ce.id {
			i++
		}
		if i < len(bents) && bents[i].id == ce.id && bents[i].kind == ce.kind {
			continue
		}
		_ = enc.EncodeUint(uint64(ce.id))
		_ = enc.EncodeUint(uint64(ce.kind))
		for f, t := range kinds[ce.kind].types {
			v := cur.vals[int(ce.off)+f]
			switch t {
			case FieldInt:
				_ = enc.EncodeInt(v.n)
			case FieldFloat:
				encodeFloat(b, v.n)
			default:
				_ = enc.EncodeString(v.s)
			}
		}
	}

	// removed: ids of base that are gone or changed kind.
	_ = enc.EncodeArrayLen(nRemoved)
	j = 0
	for _, be := range bents {
		for j < len(cur.ents) && cur.ents[j].id < be.id {
			j++
		}
		if j < len(cur.ents) && cur.ents[j].id == be.id && cur.ents[j].kind == be.kind {
			continue
		}
		_ = enc.EncodeUint(uint64(be.id))
	}
	return 3
}

// maskWidth is MaskWidth that tolerates a nil schema (the zero Snapshot).
func (s *Schema) maskWidth() int {
	if s == nil {
		return 0
	}
	return s.w
}

// encodeFloat appends the float with IEEE-754 bits v: as a msgpack float32
// when that is exact, else as a float64. NaNs are always float64, which
// keeps their bits.
func encodeFloat(b *Buffer, v int64) {
	f := math.Float64frombits(uint64(v))
	if f32 := float32(f); float64(f32) == f {
		_ = b.Enc().EncodeFloat32(f32)
		return
	}
	_ = b.Enc().EncodeFloat64(f)
}

// closeArray turns the 5 bytes reserved at b.B[start:] followed by the
// encoded elements into an array of n elements with the smallest header,
// moving the elements back over the unused header bytes.
func closeArray(b *Buffer, start, n int) {
	body := len(b.B) - start - 5
	b.B = b.B[:start]
	_ = b.Enc().EncodeArrayLen(n) // overwrites part of the reservation
	h := len(b.B) - start
	b.B = b.B[:start+h+body]
	copy(b.B[start+h:], b.B[start+5:start+5+body])
}
