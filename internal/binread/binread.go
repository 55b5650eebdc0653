// Package binread reads the varint-framed binary forms Vitals stores (the
// compact form of an event, the embedded store's records): a Reader whose
// first failure sticks, so a decoder reads every field and checks once, at
// the end, whether the input was whole.
package binread

import "encoding/binary"

// Reader reads b from the front. Once a read finds the input too short or
// malformed, Bad reports true and every later read returns a zero value.
type Reader struct {
	b   []byte
	bad bool
}

// New returns a Reader of b.
func New(b []byte) Reader { return Reader{b: b} }

// Bad reports whether a read failed.
func (r *Reader) Bad() bool { return r.bad }

// Len is the number of bytes not read yet.
func (r *Reader) Len() int { return len(r.b) }

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if r.bad || len(r.b) == 0 {
		r.bad = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 {
	if r.bad {
		return 0
	}
	n, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[k:]
	return n
}

// Varint reads a signed (zig-zag) varint.
func (r *Reader) Varint() int64 {
	if r.bad {
		return 0
	}
	n, k := binary.Varint(r.b)
	if k <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[k:]
	return n
}

// Bytes reads a length-prefixed byte string as a slice of the input; the
// slice's capacity reaches to the end of the input's array, so that
// cap(input) − cap(slice) is its offset in the input.
func (r *Reader) Bytes() []byte {
	n := r.Uvarint()
	if r.bad || n > uint64(len(r.b)) {
		r.bad = true
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}

// String reads a length-prefixed string (a copy).
func (r *Reader) String() string { return string(r.Bytes()) }

// Fixed64 reads 8 bytes, little-endian.
func (r *Reader) Fixed64() uint64 {
	if r.bad || len(r.b) < 8 {
		r.bad = true
		return 0
	}
	n := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return n
}

// Fail marks the input as malformed (a value read whole but out of range).
func (r *Reader) Fail() { r.bad = true }
