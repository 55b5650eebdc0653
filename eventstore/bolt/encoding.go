package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/vitals-hq/vitals/eventstore"
)

// formatV1 is the first byte of every record and the value of meta's
// "format" key.
const formatV1 byte = 1

// Bucket names and meta keys (see the package doc).
const (
	bucketLog     = "log"
	bucketStreams = "streams"
	bucketKeys    = "keys"
	bucketHeads   = "heads"
	bucketMeta    = "meta"
	metaFormat    = "format"
)

// errCorrupt reports a record that cannot be decoded.
var errCorrupt = errors.New("corrupt record")

// u64 encodes n as 8 big-endian bytes.
func u64(n uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), n)
}

// streamPrefix is the common prefix of a stream's keys in the streams bucket.
func streamPrefix(stream string) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+len(stream)+8)
	b = binary.AppendUvarint(b, uint64(len(stream)))
	return append(b, stream...)
}

// streamKey is the key of version v of stream in the streams bucket.
func streamKey(stream string, v eventstore.Version) []byte {
	return binary.BigEndian.AppendUint64(streamPrefix(stream), uint64(v))
}

// encodeRecord encodes one record (everything but its position).
func encodeRecord(stream string, v eventstore.Version, at int64, ev eventstore.EventData) []byte {
	b := make([]byte, 0, 1+4*binary.MaxVarintLen64+len(stream)+len(ev.Key)+len(ev.Type)+len(ev.Data)+binary.MaxVarintLen64)
	b = append(b, formatV1)
	b = appendString(b, stream)
	b = binary.AppendUvarint(b, uint64(v))
	b = binary.AppendVarint(b, at)
	b = appendString(b, ev.Key)
	b = appendString(b, ev.Type)
	b = binary.AppendUvarint(b, uint64(len(ev.Data)))
	return append(b, ev.Data...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decodeRecord decodes the record stored at pos. It copies what it keeps,
// so the result stays valid after the transaction.
func decodeRecord(pos eventstore.Position, b []byte) (eventstore.Record, error) {
	d := decoder{b: b}
	if f := d.byte(); f != formatV1 {
		return eventstore.Record{}, fmt.Errorf("position %d: format %d: %w", pos, f, errCorrupt)
	}
	r := eventstore.Record{Position: pos}
	r.Stream = string(d.bytes())
	r.Version = eventstore.Version(d.uvarint())
	r.RecordedAt = time.Unix(0, d.varint()).UTC()
	r.Key = string(d.bytes())
	r.Type = string(d.bytes())
	if data := d.bytes(); len(data) > 0 {
		r.Data = append([]byte(nil), data...)
	}
	if d.bad || len(d.b) != 0 {
		return eventstore.Record{}, fmt.Errorf("position %d: %w", pos, errCorrupt)
	}
	return r, nil
}

// decoder reads the fields of a record; bad is set, and every later read
// returns zero values, once the input is too short.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) byte() byte {
	if d.bad || len(d.b) == 0 {
		d.bad = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.bad {
		return 0
	}
	n, k := binary.Uvarint(d.b)
	if k <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[k:]
	return n
}

func (d *decoder) varint() int64 {
	if d.bad {
		return 0
	}
	n, k := binary.Varint(d.b)
	if k <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[k:]
	return n
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.b)) {
		d.bad = true
		return nil
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}
