package netcode

import (
	"fmt"
	"math"
	"strings"
)

// entityRec is one entity of a Snapshot: its id, kind and the offset of its
// first field value in Snapshot.vals. The values of an entity are
// contiguous; entities need not be laid out in vals in id order.
type entityRec struct {
	id   uint32
	kind uint8
	off  int32
}

// fieldVal holds one field value. Ints are stored in n, floats as their
// IEEE-754 bits in n, strings in s; the unused part is always zero, so two
// fieldVals of the same field are equal exactly when the values are (floats
// compare by bits: -0 differs from 0, a NaN equals itself).
type fieldVal struct {
	n int64
	s string
}

// Snapshot is the state of a room at a tick (PROTOCOL §5): entities sorted
// by ascending id, each with one value per field of its kind.
//
// A Snapshot is filled by a StateWriter, by ApplyDelta or by CopyFrom. It is
// not safe for concurrent mutation; once End, ApplyDelta or CopyFrom has
// returned it is not modified until it is filled again, so readers may
// share it meanwhile.
type Snapshot struct {
	schema *Schema
	tick   uint64
	sum    uint32
	ents   []entityRec // sorted by id
	vals   []fieldVal
}

// NewSnapshot returns an empty snapshot of schema s at tick 0.
func NewSnapshot(s *Schema) *Snapshot {
	return &Snapshot{schema: s, sum: fnvOffset32}
}

// begin empties s for refilling at tick, keeping its storage. It returns
// the previous number of values, for finish.
func (s *Snapshot) begin(tick uint64) (oldVals int) {
	oldVals = len(s.vals)
	s.tick = tick
	s.ents = s.ents[:0]
	s.vals = s.vals[:0]
	s.sum = fnvOffset32
	return oldVals
}

// finish completes a refill started by begin: it zeroes the stale values
// past the new length (so that s keeps no dropped strings alive) and
// computes the checksum.
func (s *Snapshot) finish(oldVals int) {
	if oldVals > len(s.vals) {
		clear(s.vals[len(s.vals):oldVals])
	}
	s.sum = computeChecksum(s)
}

// fail makes s the empty state after a failed refill started by begin.
func (s *Snapshot) fail() {
	s.ents = s.ents[:0]
	clear(s.vals[:cap(s.vals)])
	s.vals = s.vals[:0]
	s.sum = fnvOffset32
}

// Schema returns the snapshot's schema.
func (s *Snapshot) Schema() *Schema { return s.schema }

// Tick returns the tick the snapshot holds the state of.
func (s *Snapshot) Tick() uint64 { return s.tick }

// Checksum returns the checksum of the state (PROTOCOL §5.3), computed when
// the snapshot was filled.
func (s *Snapshot) Checksum() uint32 { return s.sum }

// Len returns the number of entities.
func (s *Snapshot) Len() int { return len(s.ents) }

// At returns the i-th entity in ascending id order. It panics if i is out
// of range, like a slice index.
func (s *Snapshot) At(i int) Entity {
	e := s.ents[i]
	return Entity{ID: e.id, Kind: e.kind, snap: s, off: e.off}
}

// Find returns the entity with the given id, by binary search.
func (s *Snapshot) Find(id uint32) (Entity, bool) {
	lo, hi := 0, len(s.ents)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.ents[m].id < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(s.ents) && s.ents[lo].id == id {
		return s.At(lo), true
	}
	return Entity{}, false
}

// fields returns the values of entity e of s.
func (s *Snapshot) fields(e entityRec) []fieldVal {
	n := len(s.schema.kinds[e.kind].types)
	return s.vals[e.off : int(e.off)+n : int(e.off)+n]
}

// Equal reports whether s and o hold the same entities with the same kinds
// and values under equal schemas. Ticks are ignored; floats compare by
// bits.
func (s *Snapshot) Equal(o *Snapshot) bool {
	if len(s.ents) != len(o.ents) || !s.schema.equal(o.schema) {
		return false
	}
	for i, e := range s.ents {
		oe := o.ents[i]
		if e.id != oe.id || e.kind != oe.kind {
			return false
		}
		a, b := s.fields(e), o.fields(oe)
		for j := range a {
			if a[j] != b[j] {
				return false
			}
		}
	}
	return true
}

// CopyFrom makes s a deep copy of o (schema, tick, entities, checksum),
// reusing s's storage: it does not allocate once s has grown to o's size.
func (s *Snapshot) CopyFrom(o *Snapshot) {
	s.schema = o.schema
	s.tick = o.tick
	s.sum = o.sum
	s.ents = append(s.ents[:0], o.ents...)
	old := len(s.vals)
	s.vals = append(s.vals[:0], o.vals...)
	if old > len(s.vals) {
		clear(s.vals[len(s.vals):old])
	}
}

// String returns a multi-line dump of the snapshot for debugging.
func (s *Snapshot) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "snapshot tick %d, %d entities, checksum %#08x", s.tick, len(s.ents), s.sum)
	for _, e := range s.ents {
		k := s.schema.kinds[e.kind]
		fmt.Fprintf(&sb, "\n  %d %s{", e.id, k.name)
		for i, v := range s.fields(e) {
			if i > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(k.fields[i].Name)
			sb.WriteByte(':')
			switch k.types[i] {
			case FieldInt:
				fmt.Fprintf(&sb, "%d", v.n)
			case FieldFloat:
				fmt.Fprintf(&sb, "%g", math.Float64frombits(uint64(v.n)))
			case FieldString:
				fmt.Fprintf(&sb, "%q", v.s)
			}
		}
		sb.WriteByte('}')
	}
	return sb.String()
}

// Entity is a read-only view of one entity of a Snapshot. It is valid as
// long as the snapshot is not refilled.
type Entity struct {
	ID   uint32
	Kind uint8

	snap *Snapshot
	off  int32
}

// val returns the value of field if it is a field of type t of e's kind.
func (e Entity) val(field int, t FieldType) (fieldVal, bool) {
	if e.snap == nil {
		return fieldVal{}, false
	}
	types := e.snap.schema.kinds[e.Kind].types
	if uint(field) >= uint(len(types)) || types[field] != t {
		return fieldVal{}, false
	}
	return e.snap.vals[int(e.off)+field], true
}

// Int returns the value of int field number field (0-based), or 0 if the
// entity's kind has no int field with that index.
func (e Entity) Int(field int) int64 {
	v, _ := e.val(field, FieldInt)
	return v.n
}

// Float returns the value of float field number field (0-based), or 0 if
// the entity's kind has no float field with that index.
func (e Entity) Float(field int) float64 {
	v, _ := e.val(field, FieldFloat)
	return math.Float64frombits(uint64(v.n))
}

// Str returns the value of string field number field (0-based), or "" if
// the entity's kind has no string field with that index.
func (e Entity) Str(field int) string {
	v, _ := e.val(field, FieldString)
	return v.s
}
