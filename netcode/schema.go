package netcode

import (
	"fmt"
	"unicode/utf8"
)

// FieldType is the type of an entity field (PROTOCOL §4).
type FieldType uint8

// Field types. The values are the wire codes of PROTOCOL §4.
const (
	FieldInt    FieldType = 1 // int64
	FieldFloat  FieldType = 2 // float64
	FieldString FieldType = 3
)

// String returns "int", "float" or "string", or "type(N)" for an invalid
// type.
func (t FieldType) String() string {
	switch t {
	case FieldInt:
		return "int"
	case FieldFloat:
		return "float"
	case FieldString:
		return "string"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

func (t FieldType) valid() bool { return t >= FieldInt && t <= FieldString }

// Field is one typed, named field of a Kind.
type Field struct {
	Name string
	Type FieldType
}

// Kind is an entity kind: a name and an ordered list of fields. A kind's
// id is its index in the schema.
type Kind struct {
	Name   string
	Fields []Field
}

// Schema limits (PROTOCOL §8).
const (
	// MaxKinds is the largest number of kinds in a schema; kind ids are
	// 0..MaxKinds-1.
	MaxKinds = 255
	// MaxFields is the largest number of fields of a kind.
	MaxFields = 32
)

// kindSpec is a validated kind with its field types laid out for the hot
// loops of encoding, decoding and checksumming.
type kindSpec struct {
	name   string
	fields []Field
	types  []FieldType
}

// Schema is a room type's state model (PROTOCOL §4): the kinds of its
// entities. It is immutable after NewSchema and safe for concurrent use.
type Schema struct {
	kinds []kindSpec
	w     int    // mask width: the largest number of fields of any kind
	wire  []byte // the msgpack encoding of the schema, computed once
}

// NewSchema validates kinds and returns the schema made of them, kind i
// having id i. There must be 1..255 kinds with non-empty, unique, UTF-8
// names, each with 1..32 fields with non-empty names unique within the
// kind and valid types. The kinds are copied: later changes to the
// arguments do not affect the schema.
func NewSchema(kinds ...Kind) (*Schema, error) {
	if len(kinds) == 0 {
		return nil, fmt.Errorf("netcode: schema has no kinds")
	}
	if len(kinds) > MaxKinds {
		return nil, fmt.Errorf("netcode: schema has %d kinds, more than %d", len(kinds), MaxKinds)
	}
	s := &Schema{kinds: make([]kindSpec, len(kinds))}
	names := make(map[string]int, len(kinds))
	for k, kind := range kinds {
		if err := validName(kind.Name); err != "" {
			return nil, fmt.Errorf("netcode: kind %d: name %s", k, err)
		}
		if prev, dup := names[kind.Name]; dup {
			return nil, fmt.Errorf("netcode: kind %d %q: name already used by kind %d", k, kind.Name, prev)
		}
		names[kind.Name] = k
		if len(kind.Fields) == 0 {
			return nil, fmt.Errorf("netcode: kind %d %q: no fields", k, kind.Name)
		}
		if len(kind.Fields) > MaxFields {
			return nil, fmt.Errorf("netcode: kind %d %q: %d fields, more than %d", k, kind.Name, len(kind.Fields), MaxFields)
		}
		spec := kindSpec{
			name:   kind.Name,
			fields: make([]Field, len(kind.Fields)),
			types:  make([]FieldType, len(kind.Fields)),
		}
		for i, f := range kind.Fields {
			if err := validName(f.Name); err != "" {
				return nil, fmt.Errorf("netcode: kind %d %q: field %d: name %s", k, kind.Name, i, err)
			}
			for j := range i {
				if kind.Fields[j].Name == f.Name {
					return nil, fmt.Errorf("netcode: kind %d %q: field %d %q: name already used by field %d", k, kind.Name, i, f.Name, j)
				}
			}
			if !f.Type.valid() {
				return nil, fmt.Errorf("netcode: kind %d %q: field %d %q: invalid type %d", k, kind.Name, i, f.Name, uint8(f.Type))
			}
			spec.fields[i] = f
			spec.types[i] = f.Type
		}
		s.kinds[k] = spec
		s.w = max(s.w, len(spec.types))
	}
	s.wire = s.encode()
	return s, nil
}

// validName returns "" if name is a valid kind or field name, else what is
// wrong with it.
func validName(name string) string {
	switch {
	case name == "":
		return "is empty"
	case !utf8.ValidString(name):
		return "is not valid UTF-8"
	}
	return ""
}

// Kinds returns a copy of the schema's kinds, in id order.
func (s *Schema) Kinds() []Kind {
	out := make([]Kind, len(s.kinds))
	for i, k := range s.kinds {
		out[i] = Kind{Name: k.name, Fields: append([]Field(nil), k.fields...)}
	}
	return out
}

// MaskWidth returns W of PROTOCOL §4: the largest number of fields of any
// kind, which is the width of the field mask of a delta's changes.
func (s *Schema) MaskWidth() int { return s.w }

// AppendMsgpack appends the schema value of PROTOCOL §4 to b:
// [[name, [field_name, field_type, ...]], ...].
func (s *Schema) AppendMsgpack(b *Buffer) { b.B = append(b.B, s.wire...) }

func (s *Schema) encode() []byte {
	b := NewBuffer(64)
	enc := b.Enc()
	_ = enc.EncodeArrayLen(len(s.kinds))
	for _, k := range s.kinds {
		_ = enc.EncodeArrayLen(2)
		_ = enc.EncodeString(k.name)
		_ = enc.EncodeArrayLen(2 * len(k.fields))
		for _, f := range k.fields {
			_ = enc.EncodeString(f.Name)
			_ = enc.EncodeUint(uint64(f.Type))
		}
	}
	return b.B
}

// equal reports whether s and o describe the same kinds.
func (s *Schema) equal(o *Schema) bool {
	if s == o {
		return true
	}
	if s == nil || o == nil {
		return false
	}
	return string(s.wire) == string(o.wire)
}

// DecodeSchema parses the schema value of PROTOCOL §4 (as sent in joined)
// and validates it like NewSchema. raw must hold exactly one msgpack
// value. It never panics on malformed input.
func DecodeSchema(raw []byte) (*Schema, error) {
	r := stateReader{b: raw, what: "schema"}
	nk, err := r.arrayLen()
	if err != nil {
		return nil, err
	}
	if nk > MaxKinds {
		return nil, fmt.Errorf("netcode: schema: %d kinds, more than %d", nk, MaxKinds)
	}
	kinds := make([]Kind, nk)
	for k := range kinds {
		n, err := r.arrayLen()
		if err != nil {
			return nil, err
		}
		if n != 2 {
			return nil, fmt.Errorf("netcode: schema: kind %d: array of %d elements, want 2", k, n)
		}
		name, err := r.str()
		if err != nil {
			return nil, err
		}
		nf, err := r.arrayLen()
		if err != nil {
			return nil, err
		}
		if nf%2 != 0 {
			return nil, fmt.Errorf("netcode: schema: kind %d: fields array has odd length %d", k, nf)
		}
		if nf/2 > MaxFields {
			return nil, fmt.Errorf("netcode: schema: kind %d: %d fields, more than %d", k, nf/2, MaxFields)
		}
		fields := make([]Field, nf/2)
		for i := range fields {
			fname, err := r.str()
			if err != nil {
				return nil, err
			}
			t, err := r.uint()
			if err != nil {
				return nil, err
			}
			if t == 0 || t > uint64(FieldString) {
				return nil, fmt.Errorf("netcode: schema: kind %d: field %d: invalid type %d", k, i, t)
			}
			fields[i] = Field{Name: string(fname), Type: FieldType(t)}
		}
		kinds[k] = Kind{Name: string(name), Fields: fields}
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	return NewSchema(kinds...)
}
