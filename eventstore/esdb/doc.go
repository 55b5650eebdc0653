// Package esdb is the eventstore.Store of Vitals on EventStoreDB or its
// successor KurrentDB, for deployments that outgrow the embedded store:
// a three-node cluster replicates the log, and several Vitals instances
// can follow it.
//
//	s, err := esdb.Open(ctx, "esdb://localhost:2113?tls=false", esdb.Options{Logger: log})
//
// # Client
//
// The package uses github.com/EventStore/EventStore-Client-Go/v4 (package
// esdb, v4.2.0). That repository is archived: EventStore was renamed
// Kurrent, and github.com/kurrent-io/KurrentDB-Client-Go (package
// kurrentdb) is its successor with nearly the same API (ExpectedRevision
// became StreamState, the error codes were renumbered, connection
// strings also accept kurrentdb://). Every use of the client is in this
// package, so switching touches nothing else. Known v4 defects and what
// this package does about them:
//
//   - Its requires-leader option builds the header as incoming metadata,
//     which a client never sends, so a follower would serve reads from its
//     lagging replica. Every call here carries the header itself
//     (metadata.AppendToOutgoingContext); a follower then answers "not
//     leader" with the leader's address, the client reconnects there,
//     and the call is retried once. Connection strings that prefer other
//     nodes (nodePreference=follower, random, readonlyreplica) are
//     refused with eventstore.ErrInvalid.
//   - It stops for good when a node discovery fails; the Store then makes
//     a new client. The old client's gRPC connection is not closed by
//     the v4 client and stays open.
//   - After a failed rediscovery, a call that fails reports the failure
//     on an unbuffered channel nothing reads any more and blocks for
//     good. Every call therefore runs in its own goroutine, bounded by
//     Options.CallTimeout: a call still inside the client half a second
//     after its deadline is abandoned (eventstore.ErrUnavailable) and its
//     client replaced. Such a client is never closed, because closing
//     its channel would crash the blocked goroutine; it and the
//     goroutine stay until the process exits. Close waits at most
//     Options.CloseTimeout.
//   - A call that uses a client after its Close panics, so Close waits
//     for the calls in flight before it closes the client.
//
// # Streams
//
// Vitals stream "account-acme" is the server's stream
// "vitals-account-acme" (Options.StreamPrefix). Stream revisions are
// versions. Each event carries the Vitals event type as its event type,
// the data as it was given (content type JSON when it is a JSON
// document), and user metadata {"vitals":1,"key":"<idempotency key>"}.
// Reads skip every event that is not a Vitals record: system streams
// ($…), streams without the prefix, and events without that metadata.
//
// # Positions
//
// The server's positions are byte offsets in its transaction log: they
// grow but are not consecutive, so Features.GapFreePositions does not
// hold. A read or subscription must start at an offset where a record
// begins, and callers use p-1 for "just before p", so a record at offset c
// has Vitals position 2c+1 (position/2 is the offset the server shows),
// and 2c means "just before the record at c". ReadAll and Subscribe
// accept 0, a position this store returned, or one less than such a
// position; the server rejects other values. Events appended over gRPC
// commit themselves, so their commit and prepare positions are the same;
// those are the only events Vitals writes. Stream reads must report each
// event's log position, which current KurrentDB releases do for such
// events; an event read without one fails with eventstore.ErrUnavailable.
//
// Head reads $all backwards from its end, but only down to the newest
// log offset an earlier Head looked at (and no further than the newest
// Vitals record that an append, read or subscription of this Store saw):
// the first call reads back to the last Vitals record, later ones read
// one event when nothing was written since. Append returns the positions
// of the events it wrote by reading them back from the stream: one append
// is one write and one read.
//
// Positions are not dense, so the difference of two positions is a
// distance in the log, not a number of records
// (eventstore.Guarantees.DensePositions is false).
//
// # Idempotency and duplicates
//
// An event's id is the UUID v5 of its idempotency key in KeyNamespace, so
// a retried append proposes the same ids and the server can recognise it.
// The server does so in two ways: with an expected version other than
// AnyVersion and StreamExists it compares the ids with the events after
// that version and always recognises an exact retry; with AnyVersion and
// StreamExists it consults a bounded in-memory cache of recent ids, so a
// retry after the cache forgot the ids, or after a server restart, is
// written again. It never compares ids across streams.
//
// A recognised retry writes nothing and is answered with success: current
// servers report the log position of the original events, older ones
// none, so the answer cannot tell a retry from a write. Every append call
// therefore puts a random attempt token into the metadata of its events
// ({"vitals":1,"key":…,"attempt":…}) and reads the events back: this
// call's token means it wrote them; another token (or none, for events
// written before tokens) means the server recognised a retry, and Append
// reports Duplicate with the original positions. When the server rejects
// an append for its expected version, Append searches the stream's last
// Options.DedupeWindow events for the keys: all found is a duplicate,
// some is eventstore.ErrPartialDuplicate, none is
// eventstore.ErrWrongVersion.
//
// Deduplication is therefore best effort (Features.Dedupe is false): the
// same key can be stored twice, in two streams or in one stream with
// AnyVersion. Projections must not count such an event twice; the
// projector dedupes by key (projections.Config.DedupeKeys), which Vitals
// sets when it runs on this store.
//
// # AppendMany
//
// The v4 client has no atomic append to several streams (KurrentDB 25.1
// has one, in its v2 protocol, which only the successor client speaks),
// so AppendMany appends its requests one after the other, each
// atomically: durability is per request, not one commit
// (eventstore.Guarantees.AtomicBatch is false). If the call fails as a
// whole after some requests were written, the error is an
// *eventstore.PartialBatchError with their outcomes; a retry of the call
// finds them as duplicates where the server recognises them (see above).
//
// # Subscriptions
//
// Subscribe catches up with ReadAll and then follows a catch-up
// subscription to $all filtered by the stream prefix. When the server
// drops it, it starts again from the last delivered record after an
// exponential backoff (Options.RetryMin … Options.RetryMax) until its
// context ends or the store closes.
//
// # Errors
//
// Client errors are matched with errors.As (the client wraps them, so
// esdb.FromError, a plain type assertion whose bool is true only when the
// error is nil, would miss them) and translated: wrong expected version
// → eventstore.ErrWrongVersion; stream not found (which the client
// reports on the first Recv of a read, not on the call) or deleted →
// eventstore.ErrStreamNotFound for reads; errors retrying cannot cure –
// access denied, unauthenticated, the server's InvalidArgument answers
// (maximum append size or event size exceeded, an invalid $all position)
// and, for an append, a deleted stream → eventstore.ErrInvalid, which
// fails one request of AppendMany, not the batch; everything else,
// including unavailable, not leader and deadline exceeded →
// eventstore.ErrUnavailable, wrapping the cause. Sizes are checked before
// sending (Options.MaxAppendSize, Options.MaxAppendEventSize, measured as
// the server does). After a timeout, a commit timeout or a lost
// connection an append may nevertheless have been committed: Append looks
// its keys up before answering and reports the write when it is there.
//
// # Tests
//
// The unit tests cover the mappings without a server. The package
// esdbtest is a protocol-level test server (gRPC, from the client's own
// generated protos) that reproduces the server behaviours this package
// depends on; the conformance suite (eventstoretest) and a regression
// test per behaviour run against it in every test run. The suite also
// runs against a real server when VITALS_ESDB_URL names one; see
// docs/deploy.md for what is verified how.
package esdb
