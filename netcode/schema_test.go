package netcode

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// arenaTestKinds is the arena schema of PROTOCOL §4.
func arenaTestKinds() []Kind {
	return []Kind{
		{Name: "player", Fields: []Field{
			{"id", FieldString}, {"name", FieldString},
			{"x", FieldInt}, {"y", FieldInt}, {"hp", FieldInt}, {"score", FieldInt},
		}},
		{Name: "pickup", Fields: []Field{{"x", FieldInt}, {"y", FieldInt}, {"value", FieldInt}}},
	}
}

func newArenaTestSchema(t testing.TB) *Schema {
	t.Helper()
	s, err := NewSchema(arenaTestKinds()...)
	if err != nil {
		t.Fatalf("NewSchema(arena): %v", err)
	}
	return s
}

func TestSchemaArenaWire(t *testing.T) {
	s := newArenaTestSchema(t)
	if got, want := s.MaskWidth(), 6; got != want {
		t.Errorf("MaskWidth() = %d, want %d", got, want)
	}
	b := NewBuffer(0)
	s.AppendMsgpack(b)
	// [["player", ["id",3, "name",3, "x",1, "y",1, "hp",1, "score",1]], ["pickup", ["x",1, "y",1, "value",1]]]
	want := []byte{0x92,
		0x92, 0xa6, 'p', 'l', 'a', 'y', 'e', 'r', 0x9c,
		0xa2, 'i', 'd', 3, 0xa4, 'n', 'a', 'm', 'e', 3, 0xa1, 'x', 1, 0xa1, 'y', 1,
		0xa2, 'h', 'p', 1, 0xa5, 's', 'c', 'o', 'r', 'e', 1,
		0x92, 0xa6, 'p', 'i', 'c', 'k', 'u', 'p', 0x96,
		0xa1, 'x', 1, 0xa1, 'y', 1, 0xa5, 'v', 'a', 'l', 'u', 'e', 1,
	}
	if !bytes.Equal(b.B, want) {
		t.Errorf("AppendMsgpack = % x\nwant            % x", b.B, want)
	}
}

func TestSchemaRoundTrip(t *testing.T) {
	many := make([]Field, MaxFields)
	for i := range many {
		many[i] = Field{Name: strings.Repeat("f", i+1), Type: FieldType(i%3 + 1)}
	}
	kinds255 := make([]Kind, MaxKinds)
	for i := range kinds255 {
		kinds255[i] = Kind{Name: strings.Repeat("k", i+1), Fields: []Field{{"v", FieldFloat}}}
	}
	tests := []struct {
		name  string
		kinds []Kind
	}{
		{"arena", arenaTestKinds()},
		{"one field", []Kind{{Name: "a", Fields: []Field{{"b", FieldFloat}}}}},
		{"32 fields", []Kind{{Name: "wide", Fields: many}, {Name: "narrow", Fields: many[:1]}}},
		{"255 kinds", kinds255},
		{"unicode names", []Kind{{Name: "čaj", Fields: []Field{{"ünï", FieldString}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSchema(tt.kinds...)
			if err != nil {
				t.Fatalf("NewSchema: %v", err)
			}
			b := NewBuffer(0)
			b.B = append(b.B, 0xee) // AppendMsgpack must append
			s.AppendMsgpack(b)
			got, err := DecodeSchema(b.B[1:])
			if err != nil {
				t.Fatalf("DecodeSchema: %v", err)
			}
			if !reflect.DeepEqual(got.Kinds(), tt.kinds) {
				t.Errorf("round trip kinds = %v, want %v", got.Kinds(), tt.kinds)
			}
			if got.MaskWidth() != s.MaskWidth() {
				t.Errorf("round trip MaskWidth = %d, want %d", got.MaskWidth(), s.MaskWidth())
			}
			if !got.equal(s) {
				t.Errorf("decoded schema not equal to the original")
			}
		})
	}
}

func TestSchemaKindsIsACopy(t *testing.T) {
	kinds := arenaTestKinds()
	s, err := NewSchema(kinds...)
	if err != nil {
		t.Fatal(err)
	}
	kinds[0].Fields[0].Name = "changed"
	got := s.Kinds()
	got[0].Fields[1].Type = FieldFloat
	if want := arenaTestKinds(); !reflect.DeepEqual(s.Kinds(), want) {
		t.Errorf("Kinds() = %v after mutating inputs and outputs, want %v", s.Kinds(), want)
	}
}

func TestNewSchemaValidation(t *testing.T) {
	f := []Field{{"x", FieldInt}}
	tooMany := make([]Kind, MaxKinds+1)
	for i := range tooMany {
		tooMany[i] = Kind{Name: strings.Repeat("k", i+1), Fields: f}
	}
	wide := make([]Field, MaxFields+1)
	for i := range wide {
		wide[i] = Field{Name: strings.Repeat("f", i+1), Type: FieldInt}
	}
	tests := []struct {
		name  string
		kinds []Kind
		want  string // error text; "" means valid
	}{
		{"valid", []Kind{{"a", f}}, ""},
		{"no kinds", nil, "netcode: schema has no kinds"},
		{"256 kinds", tooMany, "netcode: schema has 256 kinds, more than 255"},
		{"empty kind name", []Kind{{"a", f}, {"", f}}, "netcode: kind 1: name is empty"},
		{"bad utf8 kind name", []Kind{{"\xff", f}}, "netcode: kind 0: name is not valid UTF-8"},
		{"duplicate kind", []Kind{{"a", f}, {"b", f}, {"a", f}}, `netcode: kind 2 "a": name already used by kind 0`},
		{"no fields", []Kind{{"a", nil}}, `netcode: kind 0 "a": no fields`},
		{"33 fields", []Kind{{"a", wide}}, `netcode: kind 0 "a": 33 fields, more than 32`},
		{"empty field name", []Kind{{"a", []Field{{"x", FieldInt}, {"", FieldInt}}}}, `netcode: kind 0 "a": field 1: name is empty`},
		{"duplicate field", []Kind{{"a", []Field{{"x", FieldInt}, {"y", FieldInt}, {"x", FieldFloat}}}}, `netcode: kind 0 "a": field 2 "x": name already used by field 0`},
		{"type 0", []Kind{{"a", []Field{{"x", 0}}}}, `netcode: kind 0 "a": field 0 "x": invalid type 0`},
		{"type 4", []Kind{{"a", []Field{{"x", 4}}}}, `netcode: kind 0 "a": field 0 "x": invalid type 4`},
		{"same field name in two kinds", []Kind{{"a", f}, {"b", f}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSchema(tt.kinds...)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("NewSchema error = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecodeSchemaErrors(t *testing.T) {
	tests := []struct {
		name string
		raw  []byte
		want string
	}{
		{"empty", nil, "netcode: schema: truncated at byte 0"},
		{"not array", []byte{0xa1, 'a'}, "netcode: schema: want array, got format 0xa1 at byte 0"},
		{"no kinds", []byte{0x90}, "netcode: schema has no kinds"},
		{"huge declared length", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, "netcode: schema: array of 4294967295 elements in 0 bytes"},
		{"kind not pair", []byte{0x91, 0x91, 0xa1, 'a'}, "netcode: schema: kind 0: array of 1 elements, want 2"},
		{"odd fields", []byte{0x91, 0x92, 0xa1, 'a', 0x91, 0xa1, 'x'}, "netcode: schema: kind 0: fields array has odd length 1"},
		{"bad type", []byte{0x91, 0x92, 0xa1, 'a', 0x92, 0xa1, 'x', 9}, "netcode: schema: kind 0: field 0: invalid type 9"},
		{"negative type", []byte{0x91, 0x92, 0xa1, 'a', 0x92, 0xa1, 'x', 0xff}, "netcode: schema: want uint, got -1 at byte 7"},
		{"name not str", []byte{0x91, 0x92, 0x01, 0x92, 0xa1, 'x', 1}, "netcode: schema: want str, got format 0x01 at byte 2"},
		{"truncated str", []byte{0x91, 0x92, 0xa5, 'a'}, "netcode: schema: str of 5 bytes, 1 left"},
		{"trailing", []byte{0x91, 0x92, 0xa1, 'a', 0x92, 0xa1, 'x', 1, 0xc0}, "netcode: schema: 1 trailing bytes after the array"},
		{"duplicate field", []byte{0x91, 0x92, 0xa1, 'a', 0x94, 0xa1, 'x', 1, 0xa1, 'x', 2}, `netcode: kind 0 "a": field 1 "x": name already used by field 0`},
		{"valid uint16 type", []byte{0x91, 0x92, 0xa1, 'a', 0x92, 0xa1, 'x', 0xcd, 0, 2}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeSchema(tt.raw)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("DecodeSchema(% x) error = %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
}

func TestFieldTypeString(t *testing.T) {
	for _, tt := range []struct {
		t    FieldType
		want string
	}{{FieldInt, "int"}, {FieldFloat, "float"}, {FieldString, "string"}, {7, "type(7)"}} {
		if got := tt.t.String(); got != tt.want {
			t.Errorf("FieldType(%d).String() = %q, want %q", uint8(tt.t), got, tt.want)
		}
	}
}
