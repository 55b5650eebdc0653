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
// package, so switching touches nothing else. Known v4 limitations this
// package works around: the client stops for good when a node discovery
// fails (the Store then makes a new client), a call that uses a client
// after its Close panics (Store.Close waits for the calls in flight), and
// its reads
// do not rediscover the leader after a leader change (they fail with
// eventstore.ErrUnavailable until the next call reconnects).
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
// Head reads $all backwards to the last Vitals record. Append returns the
// positions of the events it wrote by reading them back from the stream:
// one append is one write and one read.
//
// # Idempotency and duplicates
//
// An event's id is the UUID v5 of its idempotency key in KeyNamespace, so
// a retried append proposes the same ids and the server can recognise it.
// The server does so in two ways: with an expected version other than
// AnyVersion it compares the ids with the events after that version and
// always recognises an exact retry; with AnyVersion (and StreamExists) it
// consults a bounded in-memory cache of recent ids, so a retry after the
// cache forgot the ids, or after a server restart, is written again. It
// never compares ids across streams. When the server recognises a retry it
// answers success without a log position; Append then reports Duplicate
// with the original positions. When it rejects an append for its
// expected version, Append searches the stream's last
// Options.DedupeWindow events for the keys: all found is a duplicate, some
// is eventstore.ErrPartialDuplicate, none is eventstore.ErrWrongVersion.
//
// Deduplication is therefore best effort (Features.Dedupe is false): the
// same key can be stored twice, in two streams or in one stream with
// AnyVersion. Projections must not count such an event twice; the
// projector dedupes by key (projections.Config.DedupeKeys), which Vitals
// sets when it runs on this store.
//
// # AppendMany
//
// The v4 client has no atomic append to several streams, so AppendMany
// appends its requests one after the other, each atomically: durability is
// per request, not one commit. If the call fails as a whole, requests
// before the failure may be stored; a retry of the call finds them as
// duplicates where the server recognises them (see above).
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
// eventstore.ErrStreamNotFound; everything else, including unavailable,
// not leader and deadline exceeded → eventstore.ErrUnavailable, wrapping
// the cause. After a deadline an append may nevertheless have been
// committed; a retry with the same keys is recognised as above.
//
// # Tests
//
// The unit tests cover the mappings without a server. The conformance
// suite (eventstoretest) runs when VITALS_ESDB_URL names a server; see
// docs/deploy.md.
package esdb
