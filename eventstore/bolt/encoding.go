package bolt

import (
	"encoding/binary"
	"hash/crc32"
	"strconv"
	"time"

	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/internal/binread"
)

// Record formats: the first byte of every record. Format 1 records carry
// no checksum; format 2 records end with the CRC-32C (Castagnoli) of every
// byte before it. New records are written in format 2; format 1 records,
// written by earlier versions, are still read.
const (
	formatV1 byte = 1
	formatV2 byte = 2
)

// File formats: the value of meta's "format" key. File format 1 holds
// format 1 records only; file format 2 may hold both. File format 3 has the
// same records, whose data may be in forms that versions before it cannot
// decode (Vitals' compact event form). In files of formats 1 to 3 the
// indexes hold every record. File format 4 adds meta's "indexed" key: the
// indexes hold every record up to that position, and the records after it
// are indexed in memory (the tail, read from the log at Open). Open
// upgrades a file of format 1, 2 or 3 to 4 (with "indexed" at its head),
// so that an earlier version refuses it rather than misread what it holds.
const (
	fileFormatV1 byte = 1
	fileFormatV2 byte = 2
	fileFormatV3 byte = 3
	fileFormatV4 byte = 4
	fileFormat        = fileFormatV4
)

// crcTable is the CRC-32C table of record checksums.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// crcLen is the length of a format 2 record's checksum.
const crcLen = 4

// Bucket names and meta keys (see the package doc).
const (
	bucketLog     = "log"
	bucketStreams = "streams"
	bucketKeys    = "keys"
	bucketHeads   = "heads"
	bucketMeta    = "meta"
	metaFormat    = "format"
	metaIndexed   = "indexed"
)

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

// encodeRecord encodes one record (everything but its position) in format
// 2: the fields, then their CRC-32C.
func encodeRecord(stream string, v eventstore.Version, at int64, ev eventstore.EventData) []byte {
	return appendRecord(make([]byte, 0, recordCap(stream, ev)), stream, v, at, ev)
}

// recordCap is the most bytes a record of ev in stream takes.
func recordCap(stream string, ev eventstore.EventData) int {
	return 1 + 5*binary.MaxVarintLen64 + len(stream) + len(ev.Key) + len(ev.Type) + len(ev.Data) + crcLen
}

// appendRecord appends the record encodeRecord encodes to b.
func appendRecord(b []byte, stream string, v eventstore.Version, at int64, ev eventstore.EventData) []byte {
	start := len(b)
	b = append(b, formatV2)
	b = appendString(b, stream)
	b = binary.AppendUvarint(b, uint64(v))
	b = binary.AppendVarint(b, at)
	b = appendString(b, ev.Key)
	b = appendString(b, ev.Type)
	b = binary.AppendUvarint(b, uint64(len(ev.Data)))
	b = append(b, ev.Data...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b[start:], crcTable))
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// corrupt is the error of a record that fails verification.
func corrupt(pos eventstore.Position, reason string) error {
	return &eventstore.CorruptError{Positions: []eventstore.Position{pos}, Reason: reason}
}

// checkRecord verifies the stored bytes of the record at pos: its format,
// and for format 2 its checksum. It returns the record's format and its
// fields (without format byte and checksum).
func checkRecord(pos eventstore.Position, b []byte) (byte, []byte, error) {
	switch {
	case b == nil:
		return 0, nil, corrupt(pos, "missing from the log")
	case len(b) == 0:
		return 0, nil, corrupt(pos, "empty")
	}
	switch b[0] {
	case formatV1:
		return formatV1, b[1:], nil
	case formatV2:
		if len(b) < 1+crcLen {
			return 0, nil, corrupt(pos, "too short for its checksum")
		}
		body := b[:len(b)-crcLen]
		if crc32.Checksum(body, crcTable) != binary.BigEndian.Uint32(b[len(body):]) {
			return 0, nil, corrupt(pos, "checksum mismatch")
		}
		return formatV2, body[1:], nil
	default:
		return 0, nil, corrupt(pos, "unknown record format "+strconv.Itoa(int(b[0])))
	}
}

// decodeRecord verifies and decodes the record stored at pos; a damaged
// record is a *eventstore.CorruptError. It copies what it keeps, so the
// result stays valid after the transaction.
func decodeRecord(pos eventstore.Position, b []byte) (eventstore.Record, error) {
	_, fields, err := checkRecord(pos, b)
	if err != nil {
		return eventstore.Record{}, err
	}
	d := binread.New(fields)
	r := eventstore.Record{Position: pos}
	stream := d.Bytes()
	r.Version = eventstore.Version(d.Uvarint())
	r.RecordedAt = time.Unix(0, d.Varint()).UTC()
	key := d.Bytes()
	typ := d.Bytes()
	data := d.Bytes()
	if d.Bad() || d.Len() != 0 {
		return eventstore.Record{}, corrupt(pos, "undecodable fields")
	}
	// Stream, key and type are cut from one copy of the fields before the
	// data (one allocation rather than three).
	head := string(fields[:len(fields)-len(data)])
	r.Stream = head[offset(fields, stream):][:len(stream)]
	r.Key = head[offset(fields, key):][:len(key)]
	r.Type = head[offset(fields, typ):][:len(typ)]
	if len(data) > 0 {
		r.Data = append([]byte(nil), data...)
	}
	return r, nil
}

// offset is the index in b of sub, a slice of b's bytes that reaches, as
// b does, to the end of their array (as binread.Reader.Bytes cuts them).
func offset(b, sub []byte) int { return cap(b) - cap(sub) }
