// Package crash holds the crash test of the Vitals server: it runs
// "vitals serve" as a subprocess on the embedded store, ingests from
// concurrent clients that record every acknowledged event, kills the
// process with SIGKILL at random moments, and checks after the last
// restart that no acknowledged event was lost or stored twice, that no
// batch is partly visible, and that the projections equal a rebuild from
// zero.
//
// # Notifications
//
// Every server delivers its derived events (docs/notifications.md) to a
// webhook receiver in the test process (--notify, --notify-debounce 0),
// which verifies each request's signature with the Standard Webhooks
// reference library and refuses every tenth one (503), so retries happen
// throughout. Besides the clients, a flipper turns four accounts red (a
// health.overridden) and green again (health.override_cleared), dated
// now, so each acknowledged flip is a band change that is news. The
// flipper opens its accounts on a server that stops gracefully before
// the first cycle, so every later snapshot holds their marks (a restart
// from no marks takes baselines and publishes nothing about them), and it
// moves an account on only once the previous flip's transitions are in
// the feed: a flip's transitions then still hold when a restarted server
// derives them again. What is checked, after the last restart and once
// the receiver has everything the feed holds:
//
//   - each acknowledged flip derived exactly its transitions into the
//     outbox: vitals.account.band_changed and at_risk_entered/at_risk_left,
//     at the flip's instant, with the ids the id rule gives (computed
//     again by the test) — nothing was lost before the outbox;
//   - the outbox holds every id once;
//   - every id in it was delivered at least once, and first deliveries
//     came in outbox order (so in order per subject); nothing was
//     delivered that the outbox lacks; every signature was valid;
//   - after "vitals rebuild" and a restart, nothing about an instant
//     before the rebuild is published.
//
// The clients' own events are dated before the accounts they touch were
// first seen, so they derive no news: all notifications come from flips.
// What is not asserted: transitions of a flip the flipper had not yet
// seen in the feed when the account moved on are not required (none
// happen: it waits), and redeliveries are allowed (at least once).
//
// # Running
//
//	go test -race ./test/crash/                       # 20 cycles
//	go test -short ./test/crash/                      # 5 cycles
//	go test ./test/crash/ -crash.cycles=100 -v        # more cycles, totals in the log
//	go test ./test/crash/ -crash.seed=7               # another deterministic schedule
//
// The package has no code of its own: everything is in the test files. The
// test builds ./cmd/vitals with the go command on PATH.
package crash
