package binread

import (
	"encoding/binary"
	"testing"
)

func TestReadsAndStickyFailure(t *testing.T) {
	var b []byte
	b = append(b, 7)
	b = binary.AppendUvarint(b, 300)
	b = binary.AppendVarint(b, -5)
	b = binary.AppendUvarint(b, 3)
	b = append(b, "abc"...)
	b = binary.AppendUvarint(b, 2)
	b = append(b, "xy"...)
	r := New(b)
	if c, u, v, s, str := r.Byte(), r.Uvarint(), r.Varint(), r.Bytes(), r.String(); c != 7 || u != 300 || v != -5 || string(s) != "abc" || str != "xy" || r.Bad() || r.Len() != 0 {
		t.Fatalf("read %d %d %d %q %q, bad %v, %d left", c, u, v, s, str, r.Bad(), r.Len())
	}
	r = New(b)
	r.Byte()
	r.Uvarint()
	r.Varint()
	if s := r.Bytes(); cap(b)-cap(s) != 5 || string(b[5:8]) != "abc" {
		t.Fatalf("a byte string's offset in the input is %d, want 5", cap(b)-cap(s))
	}
	r = New(b[:5]) // cut inside the byte string's length prefix and bytes
	r.Byte()
	r.Uvarint()
	r.Varint()
	if s := r.Bytes(); s != nil || !r.Bad() {
		t.Fatalf("short input: %q, bad %v", s, r.Bad())
	}
	if r.Byte() != 0 || r.Uvarint() != 0 || r.Varint() != 0 || r.String() != "" {
		t.Fatal("a read after a failure returned a value")
	}
	if r := New([]byte{0x80}); r.Uvarint() != 0 || !r.Bad() {
		t.Fatal("a truncated varint was read")
	}
	if r := New(nil); r.Byte() != 0 || !r.Bad() {
		t.Fatal("a byte was read from nothing")
	}
}

func TestFixed64AndFail(t *testing.T) {
	b := binary.LittleEndian.AppendUint64(nil, 0x0102030405060708)
	r := New(append(b, 1))
	if n := r.Fixed64(); n != 0x0102030405060708 || r.Bad() || r.Len() != 1 {
		t.Fatalf("Fixed64 = %x, bad %v, %d left", n, r.Bad(), r.Len())
	}
	if r.Fixed64() != 0 || !r.Bad() {
		t.Fatal("Fixed64 read 8 bytes from 1")
	}
	r = New(b)
	r.Fail()
	if r.Byte() != 0 || !r.Bad() {
		t.Fatal("a read after Fail returned a value")
	}
}
