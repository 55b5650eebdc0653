// Package bolt is the embedded eventstore.Store of Vitals, on
// go.etcd.io/bbolt: one file in the data directory, nothing to install.
//
// # Files
//
// Open creates the data directory if needed and keeps everything in one
// file in it, events.db (FileName). bbolt locks the file while it is open:
// a second process opening the same directory fails with ErrLocked after
// Options.LockTimeout instead of waiting for ever.
//
// # Layout
//
// The file holds five buckets:
//
//	log      position (8 bytes, big-endian)          → record
//	streams  len(stream) (uvarint) stream version (8 bytes, big-endian) → segment
//	keys     idempotency key                          → position
//	heads    stream                                   → version of its last record (8 bytes, big-endian)
//	meta     "format"                                 → file format (1 byte: 4)
//	         "indexed"                                → position (8 bytes, big-endian)
//
// Big-endian keys make bbolt's byte order the numeric order, so the log
// and each stream are read with one cursor. The indexes (streams, keys,
// heads) hold every record up to meta's "indexed" position; the records
// after it are indexed in memory only (the tail, below). A segment of the
// streams index holds consecutive versions of a stream from the version in
// its key: the position of that version (8 bytes, big-endian), then for
// each next version the uvarint of its position minus the previous one.
// Files written before format 4 hold a segment per version (the position
// alone), which reads the same way. A record is encoded as
//
//	format byte (2)
//	uvarint len(stream), stream
//	uvarint version
//	varint  recorded-at, Unix nanoseconds (UTC)
//	uvarint len(key), key
//	uvarint len(type), type
//	uvarint len(data), data
//	CRC-32C (Castagnoli) of every byte above, 4 bytes big-endian
//
// The position is the record's key in the log bucket and is not repeated.
// Records of format 1, written by earlier versions, have the same fields
// without the checksum; they are still read, but damage that leaves them
// decodable cannot be detected (Verify counts them). Open upgrades a file
// of format 1, 2 or 3 to format 4 (the same records, whose data may be in
// Vitals' compact event form; "indexed" at the head, since those formats
// index every record), so that an earlier version refuses it instead of
// misreading its records or missing the ones not yet indexed.
//
// # The tail
//
// Every record holds its stream, version and key, so the log is its own
// write-ahead log for the indexes: the records after "indexed" are indexed
// in memory (their keys, and each stream's run of versions), which Open
// rebuilds by reading them from the log. Once the tail holds
// Options.IndexEvery records (DefaultIndexEvery), the next commit also
// merges it into the file's indexes — each index in key order, one segment
// and one head per stream, pages packed to 90% — and moves "indexed" to
// the head before that commit, in the same transaction. Close merges what
// is left, so a store closed cleanly opens without reading its log. A tail
// record that fails its checksum or whose version does not follow its
// stream's cannot be indexed: Open refuses the file (a *DamagedError
// naming its position).
//
// Readers of the indexes (ReadStream, StreamVersion, Verify) take their
// copy of a stream's tail run before their read transaction begins: a
// merge only adds to the file's indexes, so the transaction then holds
// every version before the run, and a version both in the run and in the
// file (merged since) is read once.
//
// # Damage
//
// Every read verifies each record it decodes; a record that fails its
// checksum or does not decode is an *eventstore.CorruptError naming its
// position, and none of it is returned (a subscription yields the records
// before it, then the error). Verify checks every record and the indexes.
//
// Open checks the file before use: that it holds every page its meta page
// counts (a truncated file does not) and that every page in use starts
// with a valid page header. bbolt panics, or faults reading past the end
// of a truncated file, when it meets damage; Open and every transaction
// turn that into a *DamagedError or ErrDamaged instead of a crash. After a
// write transaction met damage the store accepts no more appends.
//
// # Writes
//
// One writer goroutine owns every write. Append and AppendMany queue their
// requests; the writer takes everything queued (up to
// Options.MaxBatchEvents events), applies the requests in queue order in one
// read-write transaction, commits it (bbolt's commit writes and fsyncs the
// file) and only then answers every caller: group commit, one fsync for
// many concurrent appends. Records are put in the log as they are applied
// (positions only grow, so each put appends to the last page); their index
// entries go to the tail once the commit succeeded. A commit therefore
// writes the log's new pages and, once every IndexEvery records, the
// merge's: not one page of each index per key and per stream, as it did
// when every commit wrote its index entries (keys arrive in no order).
// Idempotency keys are looked up in the transaction's own, then in the
// tail, then in the file's index; expected versions likewise. Each request
// is checked (validity, idempotency keys, expected version) before
// anything of it is written, so a failing request leaves no trace while
// the others of the same transaction are applied. Positions are assigned
// by the writer, in commit order, so they are gap-free. When the commit
// fails, every request of the transaction fails with
// eventstore.ErrUnavailable, nothing is written and the tail is as before.
//
// # Subscriptions
//
// A subscription reads the log in pages, each in its own short read
// transaction, and yields the page after the transaction has ended. When
// it has caught up it waits for the commit notification: a channel that
// the writer closes and replaces after every commit. The subscription
// takes the head and the channel together under one lock, so a commit
// that lands between its last read and its wait is never missed.
//
// # Errors
//
// bbolt and operating system errors (disk full, I/O errors) are returned
// as eventstore.ErrUnavailable wrapping the cause; use of a closed store
// returns eventstore.ErrClosed.
package bolt
