package netcode

import (
	"encoding/binary"
	"strconv"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// DecodeClient validates and decodes one client → server message (PROTOCOL
// §2) from b into m. b must hold exactly one msgpack value: an array whose
// first element is a known client message type, followed by the fields of
// that type with the right count and types. Before anything is decoded, b
// is pre-scanned against the limits of PROTOCOL §8 (MaxClientMessage bytes;
// every field of the message, payloads included, within MaxDepth,
// MaxElements and MaxStringLen; no ext values; no declared length larger
// than the bytes that follow). Envelope strings (room_type, room_id, to)
// must be valid UTF-8.
//
// Any failure returns a *ProtocolError with Code bad_message or
// unknown_type, a Message naming the problem ("input: seq must be uint")
// and Ref set to the message type when it could be read (0 otherwise); m's
// contents are then unspecified. Payload aliases b; the strings are copies.
//
// DecodeClient does not allocate for input, ack, leave and ping; join and
// msg allocate their strings. It is safe for concurrent use with distinct m.
func DecodeClient(b []byte, m *ClientMessage) error {
	*m = ClientMessage{}
	if len(b) == 0 {
		return protoErr(0, "empty message")
	}
	if len(b) > MaxClientMessage {
		return protoErr(peekType(b), "message larger than 16384 bytes")
	}
	// The message array itself is not counted in the depth limit: each
	// field may nest MaxDepth levels.
	lim := clientLimits()
	lim.depth = MaxDepth + 1
	r, cnt, tv, err := openEnvelope(b, lim)
	if err != nil {
		return err
	}
	var ok bool
	var lo, hi int // field counts, type included
	switch MsgType(tv) {
	case MsgJoin:
		lo, hi = 2, 4
	case MsgInput:
		lo, hi = 3, 4
	case MsgAck:
		lo, hi = 2, 2
	case MsgLeave:
		lo, hi = 1, 1
	case MsgMsg:
		lo, hi = 3, 3
	case MsgPing:
		lo, hi = 1, 2
	case MsgResume:
		lo, hi = 4, 4
	}
	if hi == 0 || tv > 255 {
		return unknownType(tv)
	}
	t := MsgType(tv)
	if cnt < lo {
		return protoFieldErr(t, "too few fields")
	}
	if cnt > hi {
		return protoFieldErr(t, "too many fields")
	}
	m.Type = t

	switch t {
	case MsgJoin:
		s, err := r.clientStr(t, "room_type")
		if err != nil {
			return err
		}
		m.RoomType = s
		if cnt >= 3 {
			if m.RoomID, err = r.clientStr(t, "room_id"); err != nil {
				return err
			}
		}
		if cnt == 4 {
			if m.Token, err = r.clientStr(t, "seat_token"); err != nil {
				return err
			}
		}
	case MsgInput:
		if m.Seq, ok = r.uint(); !ok {
			return protoFieldErr(t, "seq must be uint")
		}
		if m.Payload, ok = r.raw(clientLimits()); !ok {
			return protoFieldErr(t, "bad payload")
		}
		if cnt == 4 {
			if m.Ack, ok = r.uint(); !ok {
				return protoFieldErr(t, "ack must be uint")
			}
		}
	case MsgAck:
		if m.Ack, ok = r.uint(); !ok {
			return protoFieldErr(t, "tick must be uint")
		}
	case MsgMsg:
		s, err := r.clientStr(t, "to")
		if err != nil {
			return err
		}
		m.To = s
		if m.Payload, ok = r.raw(clientLimits()); !ok {
			return protoFieldErr(t, "bad payload")
		}
	case MsgResume:
		s, err := r.clientStr(t, "resume_token")
		if err != nil {
			return err
		}
		m.Token = s
		if m.Ack, ok = r.uint(); !ok {
			return protoFieldErr(t, "last_tick must be uint")
		}
		if m.EventSeq, ok = r.uint(); !ok {
			return protoFieldErr(t, "last_event_seq must be uint")
		}
	case MsgPing:
		if cnt == 2 {
			if m.Payload, ok = r.raw(clientLimits()); !ok {
				return protoFieldErr(t, "bad data")
			}
		}
	}
	return nil
}

// clientStr reads a str field that must be valid UTF-8.
func (r *wireReader) clientStr(t MsgType, field string) (string, error) {
	s, ok := r.str()
	if !ok {
		return "", protoFieldErr(t, field+" must be str")
	}
	if !utf8.Valid(s) {
		return "", protoFieldErr(t, field+" must be valid UTF-8")
	}
	return string(s), nil
}

// peekType returns the type of the message in b as far as it can be read
// without validation: the first element of a leading array header when it
// is a uint ≤ 255, else 0. It never reads past b.
func peekType(b []byte) MsgType {
	r := wireReader{b: b}
	if n, ok := r.arrayLen(); !ok || n == 0 {
		return 0
	}
	t, ok := r.uint()
	if !ok || t > 255 {
		return 0
	}
	return MsgType(t)
}

// prefix is "input: " for a known type t, "" otherwise.
func prefix(t MsgType) string {
	if s := t.String(); s != "type" {
		return s + ": "
	}
	return ""
}

// wrapScanError turns a shared pre-scan error into a fresh error for a
// message of type t.
func wrapScanError(t MsgType, err error) error {
	msg := err.Error()
	if pe, ok := err.(*ProtocolError); ok {
		msg = pe.Message
	}
	return protoErr(t, prefix(t)+msg)
}

// unknownType is the unknown_type error for type value tv.
func unknownType(tv uint64) *ProtocolError {
	var ref MsgType
	if tv <= 255 {
		ref = MsgType(tv)
	}
	return &ProtocolError{
		Code:    CodeUnknownType,
		Message: "unknown message type " + strconv.FormatUint(tv, 10),
		Ref:     ref,
	}
}

// wireReader reads msgpack values from a byte slice. It is meant for bytes
// already pre-scanned, but every method still checks bounds and reports
// failure instead of panicking; a failed read leaves the position
// unspecified.
type wireReader struct {
	b   []byte
	pos int
}

// arrayLen reads an array header.
func (r *wireReader) arrayLen() (int, bool) {
	if r.pos >= len(r.b) {
		return 0, false
	}
	c := r.b[r.pos]
	if msgpcode.IsFixedArray(c) {
		r.pos++
		return int(c & msgpcode.FixedArrayMask), true
	}
	if c != msgpcode.Array16 && c != msgpcode.Array32 {
		return 0, false
	}
	w := scanLenWidth(c)
	l, ok := scanReadLen(r.b, r.pos, w)
	if !ok {
		return 0, false
	}
	r.pos += 1 + w
	return int(l), true
}

// isArray reports whether the next value is an array, without reading it.
func (r *wireReader) isArray() bool {
	if r.pos >= len(r.b) {
		return false
	}
	c := r.b[r.pos]
	return msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32
}

// uint reads a non-negative integer in any msgpack integer encoding.
func (r *wireReader) uint() (uint64, bool) {
	if r.pos >= len(r.b) {
		return 0, false
	}
	c := r.b[r.pos]
	if c <= msgpcode.PosFixedNumHigh {
		r.pos++
		return uint64(c), true
	}
	var w int
	signed := false
	switch c {
	case msgpcode.Uint8:
		w = 1
	case msgpcode.Uint16:
		w = 2
	case msgpcode.Uint32:
		w = 4
	case msgpcode.Uint64:
		w = 8
	case msgpcode.Int8:
		w, signed = 1, true
	case msgpcode.Int16:
		w, signed = 2, true
	case msgpcode.Int32:
		w, signed = 4, true
	case msgpcode.Int64:
		w, signed = 8, true
	default:
		return 0, false
	}
	if len(r.b)-r.pos-1 < w {
		return 0, false
	}
	p := r.b[r.pos+1 : r.pos+1+w]
	if signed && p[0]&0x80 != 0 {
		return 0, false // negative
	}
	var v uint64
	switch w {
	case 1:
		v = uint64(p[0])
	case 2:
		v = uint64(binary.BigEndian.Uint16(p))
	case 4:
		v = uint64(binary.BigEndian.Uint32(p))
	default:
		v = binary.BigEndian.Uint64(p)
	}
	r.pos += 1 + w
	return v, true
}

// str reads a str value and returns its bytes (aliasing the input).
func (r *wireReader) str() ([]byte, bool) {
	if r.pos >= len(r.b) {
		return nil, false
	}
	c := r.b[r.pos]
	var l uint64
	var w int
	if msgpcode.IsFixedString(c) {
		l = uint64(c & msgpcode.FixedStrMask)
	} else if c == msgpcode.Str8 || c == msgpcode.Str16 || c == msgpcode.Str32 {
		w = scanLenWidth(c)
		var ok bool
		if l, ok = scanReadLen(r.b, r.pos, w); !ok {
			return nil, false
		}
	} else {
		return nil, false
	}
	start := r.pos + 1 + w
	if l > uint64(len(r.b)-start) {
		return nil, false
	}
	r.pos = start + int(l)
	return r.b[start:r.pos:r.pos], true
}

// raw reads one value within lim and returns its bytes (aliasing the
// input, capacity clipped so appending to it cannot clobber the input).
func (r *wireReader) raw(lim scanLimits) ([]byte, bool) {
	if r.pos > len(r.b) {
		return nil, false
	}
	n, err := scanValue(r.b[r.pos:], lim)
	if err != nil {
		return nil, false
	}
	start := r.pos
	r.pos += n
	return r.b[start:r.pos:r.pos], true
}

// openEnvelope pre-scans b as exactly one value within lim, then opens the
// message array and reads its type. It returns a reader positioned at the
// first field, the array length (type included) and the type value.
func openEnvelope(b []byte, lim scanLimits) (r wireReader, cnt int, tv uint64, err error) {
	n, err := scanValue(b, lim)
	if err != nil {
		return r, 0, 0, wrapScanError(peekType(b), err)
	}
	if n != len(b) {
		t := peekType(b)
		return r, 0, 0, protoErr(t, prefix(t)+"trailing bytes after the message")
	}
	r = wireReader{b: b}
	cnt, ok := r.arrayLen()
	if !ok {
		return r, 0, 0, protoErr(0, "message must be an array")
	}
	if cnt == 0 {
		return r, 0, 0, protoErr(0, "message must not be an empty array")
	}
	if tv, ok = r.uint(); !ok {
		return r, 0, 0, protoErr(0, "message type must be uint")
	}
	return r, cnt, tv, nil
}

// bool reads a msgpack bool.
func (r *wireReader) bool() (bool, bool) {
	if r.pos >= len(r.b) {
		return false, false
	}
	switch r.b[r.pos] {
	case msgpcode.True:
		r.pos++
		return true, true
	case msgpcode.False:
		r.pos++
		return false, true
	}
	return false, false
}
