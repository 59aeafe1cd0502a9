package netcode

import "github.com/vmihailenco/msgpack/v5"

// Buffer is a reusable msgpack output buffer: a byte slice with a
// msgpack.Encoder bound to it. Encoding through Enc appends to B without
// allocating once B has grown to its working size.
//
// A Buffer is not safe for concurrent use.
type Buffer struct {
	B   []byte
	enc *msgpack.Encoder
}

// NewBuffer returns an empty Buffer with capacity for n bytes.
func NewBuffer(n int) *Buffer {
	b := &Buffer{B: make([]byte, 0, n)}
	b.enc = msgpack.NewEncoder(b)
	return b
}

// Enc returns the encoder that appends to b.B. Only its primitive methods
// (EncodeUint, EncodeInt, EncodeString, EncodeArrayLen, ...) are meant to
// be used; they produce the smallest encodings.
func (b *Buffer) Enc() *msgpack.Encoder { return b.enc }

// Reset empties the buffer, keeping its storage.
func (b *Buffer) Reset() { b.B = b.B[:0] }

// Len returns the number of bytes written.
func (b *Buffer) Len() int { return len(b.B) }

// Write appends p. It never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.B = append(b.B, p...)
	return len(p), nil
}

// WriteByte appends c. It never fails.
func (b *Buffer) WriteByte(c byte) error {
	b.B = append(b.B, c)
	return nil
}

// WriteString appends s. It never fails.
func (b *Buffer) WriteString(s string) (int, error) {
	b.B = append(b.B, s...)
	return len(s), nil
}
