package netcode

import (
	"fmt"
	"math"
	"slices"
)

// StateWriter captures game state into a Snapshot. Game code calls it from
// its Sync method, one chained line per entity:
//
//	w.Entity(p.ID, KindPlayer).String(p.Name).Int(p.X).Int(p.Y)
//
// Entities may be written in any order; End sorts them by id. Each entity
// must be followed by exactly one value per field of its kind, in field
// order and of the field's type. Misuse (unknown kind, wrong value type,
// too few or too many values, duplicate id, writing before Begin) never
// panics: the first problem is recorded, later calls are ignored, and End
// returns it.
//
// The zero StateWriter is ready for Begin. A StateWriter is reusable and
// does not allocate once the destination snapshot has grown to its working
// size. It is not safe for concurrent use.
type StateWriter struct {
	dst    *Snapshot
	oldLen int   // len(dst.vals) before Begin, for Snapshot.finish
	err    error // first misuse, sticky until the next Begin

	types  []FieldType // field types of the current entity's kind
	next   int         // index of the next field of the current entity
	cur    uint32      // id of the current entity
	inEnt  bool        // an entity is being written
	sorted bool        // entities so far arrived in ascending id order
}

// Begin starts capturing the state at tick into dst, discarding dst's
// previous contents (but keeping its storage). dst keeps its schema.
func (w *StateWriter) Begin(dst *Snapshot, tick uint64) {
	*w = StateWriter{dst: dst, sorted: true}
	if dst == nil {
		w.err = fmt.Errorf("netcode: StateWriter.Begin: nil snapshot")
		return
	}
	if dst.schema == nil {
		w.err = fmt.Errorf("netcode: StateWriter.Begin: snapshot has no schema")
		return
	}
	w.oldLen = dst.begin(tick)
}

// Entity starts entity id of the given kind. Its field values follow.
func (w *StateWriter) Entity(id uint32, kind uint8) *StateWriter {
	if w.err != nil {
		return w
	}
	if w.dst == nil {
		w.err = fmt.Errorf("netcode: StateWriter.Entity(%d) before Begin", id)
		return w
	}
	if !w.closeEntity() {
		return w
	}
	d := w.dst
	if int(kind) >= len(d.schema.kinds) {
		w.err = fmt.Errorf("netcode: entity %d: unknown kind %d (schema has %d kinds)", id, kind, len(d.schema.kinds))
		return w
	}
	if n := len(d.ents); n > 0 && w.sorted {
		if last := d.ents[n-1].id; id == last {
			w.err = fmt.Errorf("netcode: entity %d written twice", id)
			return w
		} else if id < last {
			w.sorted = false
		}
	}
	if len(d.vals) > math.MaxInt32-MaxFields {
		w.err = fmt.Errorf("netcode: entity %d: too many field values in one snapshot", id)
		return w
	}
	d.ents = append(d.ents, entityRec{id: id, kind: kind, off: int32(len(d.vals))})
	w.types = d.schema.kinds[kind].types
	w.next = 0
	w.cur = id
	w.inEnt = true
	return w
}

// closeEntity checks that the current entity, if any, got all its values.
func (w *StateWriter) closeEntity() bool {
	if w.inEnt && w.next < len(w.types) {
		k := w.dst.schema.kinds[w.dst.ents[len(w.dst.ents)-1].kind]
		w.err = fmt.Errorf("netcode: entity %d (kind %q): %d values, want %d (missing %q)",
			w.cur, k.name, w.next, len(w.types), k.fields[w.next].Name)
		return false
	}
	w.inEnt = false
	return true
}

// field checks that the next value may be of type t.
func (w *StateWriter) field(t FieldType) bool {
	if w.err != nil {
		return false
	}
	if !w.inEnt {
		if w.dst == nil {
			w.err = fmt.Errorf("netcode: StateWriter: %s value before Begin", t)
		} else {
			w.err = fmt.Errorf("netcode: StateWriter: %s value before Entity", t)
		}
		return false
	}
	if w.next >= len(w.types) {
		k := w.dst.schema.kinds[w.dst.ents[len(w.dst.ents)-1].kind]
		w.err = fmt.Errorf("netcode: entity %d (kind %q): more than %d values", w.cur, k.name, len(w.types))
		return false
	}
	if want := w.types[w.next]; want != t {
		k := w.dst.schema.kinds[w.dst.ents[len(w.dst.ents)-1].kind]
		w.err = fmt.Errorf("netcode: entity %d (kind %q): field %d %q is %s, got %s",
			w.cur, k.name, w.next, k.fields[w.next].Name, want, t)
		return false
	}
	w.next++
	return true
}

// Int writes the next field value, which must be an int field.
func (w *StateWriter) Int(v int64) *StateWriter {
	if w.field(FieldInt) {
		w.dst.vals = append(w.dst.vals, fieldVal{n: v})
	}
	return w
}

// Float writes the next field value, which must be a float field.
func (w *StateWriter) Float(v float64) *StateWriter {
	if w.field(FieldFloat) {
		w.dst.vals = append(w.dst.vals, fieldVal{n: int64(math.Float64bits(v))})
	}
	return w
}

// String writes the next field value, which must be a string field.
func (w *StateWriter) String(v string) *StateWriter {
	if w.field(FieldString) {
		w.dst.vals = append(w.dst.vals, fieldVal{s: v})
	}
	return w
}

// End completes the capture: it validates what was written, sorts the
// entities by id (unless they were written in order) and computes the
// checksum. On error the snapshot is left as the empty state at the tick
// given to Begin; the writer must be restarted with Begin either way.
func (w *StateWriter) End() error {
	if w.err == nil && w.dst == nil {
		w.err = fmt.Errorf("netcode: StateWriter.End before Begin")
	}
	if w.err == nil {
		w.closeEntity()
	}
	d := w.dst
	if w.err == nil && !w.sorted {
		slices.SortFunc(d.ents, func(a, b entityRec) int {
			switch {
			case a.id < b.id:
				return -1
			case a.id > b.id:
				return 1
			}
			return 0
		})
		for i := 1; i < len(d.ents); i++ {
			if d.ents[i].id == d.ents[i-1].id {
				w.err = fmt.Errorf("netcode: entity %d written twice", d.ents[i].id)
				break
			}
		}
	}
	err := w.err
	if d != nil && d.schema != nil {
		if err != nil {
			d.fail()
		} else {
			d.finish(w.oldLen)
		}
	}
	*w = StateWriter{}
	return err
}
