package netcode

import (
	"encoding/binary"

	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// The pre-scan walks msgpack headers without decoding anything. It exists
// because msgpack/v5 v5.4.1 allocates by a value's declared length (a
// 5-byte array32 header asks for 32 GiB and kills the process) and
// recurses without a depth limit: untrusted bytes are checked here before
// any msgpack decoding. The walk is iterative with a fixed-size stack, so
// it runs in O(len(b)) time, never recurses and never allocates.

// maxScanDepth is the deepest nesting any scan accepts; it sizes the
// fixed stack. Client values get MaxDepth, server messages (decoded by the
// SDK, where a hostile server must not crash the client) get this.
const maxScanDepth = 64

// Errors of the pre-scan. They are shared values: callers must not modify
// them. DecodeClient and DecodeServer wrap them into fresh ProtocolErrors
// that carry the message type.
var (
	errScanTruncated     = &ProtocolError{Code: CodeBadMessage, Message: "truncated msgpack value"}
	errScanLength        = &ProtocolError{Code: CodeBadMessage, Message: "declared length exceeds the remaining bytes"}
	errScanTooDeep       = &ProtocolError{Code: CodeBadMessage, Message: "nesting deeper than 8"}
	errScanTooDeepServer = &ProtocolError{Code: CodeBadMessage, Message: "nesting deeper than 64"}
	errScanTooMany       = &ProtocolError{Code: CodeBadMessage, Message: "array or map longer than 256 elements"}
	errScanTooLong       = &ProtocolError{Code: CodeBadMessage, Message: "string or binary longer than 4096 bytes"}
	errScanExt           = &ProtocolError{Code: CodeBadMessage, Message: "msgpack ext types are not allowed"}
	errScanBadCode       = &ProtocolError{Code: CodeBadMessage, Message: "invalid msgpack byte 0xc1"}
)

// scanLimits are the limits a scan enforces. Zero elements or strLen means
// bounded only by the bytes remaining.
type scanLimits struct {
	depth    int // ≤ maxScanDepth
	elements int
	strLen   int
	ext      bool           // accept ext values
	deep     *ProtocolError // returned when depth is exceeded
}

// clientLimits are the PROTOCOL §8 limits for a client value.
func clientLimits() scanLimits {
	return scanLimits{depth: MaxDepth, elements: MaxElements, strLen: MaxStringLen, deep: errScanTooDeep}
}

// serverLimits are the limits DecodeServer applies to server messages:
// every length must fit the bytes that follow and nesting stays within
// maxScanDepth; ext values are allowed (game events may carry them).
func serverLimits() scanLimits {
	return scanLimits{depth: maxScanDepth, ext: true, deep: errScanTooDeepServer}
}

// CheckValue validates that b starts with exactly one well-formed msgpack
// value within the client limits of PROTOCOL §8 and returns its length in
// bytes. It rejects nesting deeper than MaxDepth, arrays/maps of more than
// MaxElements elements (pairs for maps), str/bin longer than MaxStringLen,
// any declared length larger than the bytes remaining (an array needs at
// least one byte per element, a map two per pair), ext values, the unused
// byte 0xc1 and truncated values. Bytes after the value are not examined:
// callers that need b to be exactly one value compare n with len(b).
//
// CheckValue never recurses, runs in O(len(b)) and does not allocate. A
// non-nil error is a *ProtocolError with Code bad_message and Ref 0; it is
// shared and must not be modified.
func CheckValue(b []byte) (n int, err error) {
	return scanValue(b, clientLimits())
}

// scanValue is CheckValue with explicit limits.
func scanValue(b []byte, lim scanLimits) (int, error) {
	// stack[i] counts the values still expected by the container open at
	// depth i+1.
	var stack [maxScanDepth]int
	if lim.depth > maxScanDepth {
		lim.depth = maxScanDepth
	}
	depth := 0
	pos := 0
	for {
		if pos >= len(b) {
			return 0, errScanTruncated
		}
		c := b[pos]
		rest := len(b) - pos // bytes from c on
		size := 1            // bytes of the value (of the header for containers)
		kids := 0            // values inside a container
		container := false

		switch {
		case c <= msgpcode.PosFixedNumHigh || c >= msgpcode.NegFixedNumLow:
			// fixint
		case msgpcode.IsFixedMap(c):
			n := int(c & msgpcode.FixedMapMask)
			container, kids = true, 2*n
		case msgpcode.IsFixedArray(c):
			container, kids = true, int(c&msgpcode.FixedArrayMask)
		case msgpcode.IsFixedString(c):
			size += int(c & msgpcode.FixedStrMask)
		default:
			switch c {
			case msgpcode.Nil, msgpcode.False, msgpcode.True:
			case msgpcode.Uint8, msgpcode.Int8:
				size = 2
			case msgpcode.Uint16, msgpcode.Int16:
				size = 3
			case msgpcode.Uint32, msgpcode.Int32, msgpcode.Float:
				size = 5
			case msgpcode.Uint64, msgpcode.Int64, msgpcode.Double:
				size = 9
			case msgpcode.Str8, msgpcode.Str16, msgpcode.Str32,
				msgpcode.Bin8, msgpcode.Bin16, msgpcode.Bin32:
				w := scanLenWidth(c)
				l, ok := scanReadLen(b, pos, w)
				if !ok {
					return 0, errScanTruncated
				}
				if lim.strLen > 0 && l > uint64(lim.strLen) {
					return 0, errScanTooLong
				}
				if l > uint64(rest-1-w) {
					return 0, errScanLength
				}
				size = 1 + w + int(l)
			case msgpcode.Array16, msgpcode.Array32, msgpcode.Map16, msgpcode.Map32:
				w := scanLenWidth(c)
				l, ok := scanReadLen(b, pos, w)
				if !ok {
					return 0, errScanTruncated
				}
				if lim.elements > 0 && l > uint64(lim.elements) {
					return 0, errScanTooMany
				}
				per := uint64(1)
				if c == msgpcode.Map16 || c == msgpcode.Map32 {
					per = 2
				}
				// Each value needs at least one byte; l ≤ 2^32-1 so l*per
				// cannot overflow.
				if l*per > uint64(rest-1-w) {
					return 0, errScanLength
				}
				size = 1 + w
				container, kids = true, int(l*per)
			case msgpcode.FixExt1, msgpcode.FixExt2, msgpcode.FixExt4,
				msgpcode.FixExt8, msgpcode.FixExt16:
				if !lim.ext {
					return 0, errScanExt
				}
				size = 2 + 1<<(c-msgpcode.FixExt1)
			case msgpcode.Ext8, msgpcode.Ext16, msgpcode.Ext32:
				if !lim.ext {
					return 0, errScanExt
				}
				w := scanLenWidth(c)
				l, ok := scanReadLen(b, pos, w)
				if !ok {
					return 0, errScanTruncated
				}
				// The length counts the data only; a type byte follows it.
				if l+1 > uint64(rest-1-w) {
					return 0, errScanLength
				}
				size = 2 + w + int(l)
			default: // 0xc1, never used
				return 0, errScanBadCode
			}
		}

		if size > rest {
			return 0, errScanTruncated
		}
		pos += size
		if container {
			if depth >= lim.depth {
				return 0, lim.deep
			}
			if kids > 0 {
				stack[depth] = kids
				depth++
				continue
			}
		}
		// A value is complete: count it in its container and close every
		// container that is now full.
		for depth > 0 {
			stack[depth-1]--
			if stack[depth-1] > 0 {
				break
			}
			depth--
		}
		if depth == 0 {
			return pos, nil
		}
	}
}

// scanLenWidth is the size in bytes of the length field of a str/bin/ext/
// array/map header byte c (1, 2 or 4).
func scanLenWidth(c byte) int {
	switch c {
	case msgpcode.Str8, msgpcode.Bin8, msgpcode.Ext8:
		return 1
	case msgpcode.Str16, msgpcode.Bin16, msgpcode.Ext16, msgpcode.Array16, msgpcode.Map16:
		return 2
	}
	return 4
}

// scanReadLen reads the w-byte big-endian length that follows b[pos].
func scanReadLen(b []byte, pos, w int) (uint64, bool) {
	if len(b)-pos-1 < w {
		return 0, false
	}
	p := b[pos+1 : pos+1+w]
	switch w {
	case 1:
		return uint64(p[0]), true
	case 2:
		return uint64(binary.BigEndian.Uint16(p)), true
	}
	return uint64(binary.BigEndian.Uint32(p)), true
}
