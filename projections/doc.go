// Package projections keeps Vitals' read models current from the event log.
//
// # Flow
//
// A Projector subscribes to the store from its checkpoint and applies each
// record, in position order, to a State: per account and per manager, the
// facts with the time they happened. An account touched by an event is
// re-scored at the current instant (while the projector replays the log up
// to the head found at start: once a second, after every 64 of its events
// and at the end); every account is also re-scored at the next instant its
// score can change with no new event (a min-heap ordered by
// scoring.Scorer.NextChange), so cached scores are always current without
// scanning. Lists, capacity and the portfolio are evaluated from the state
// at query time, as of now or of any instant T.
//
// # Time
//
// Everything is bitemporal: a read model as of T depends only on events
// with time ≤ T, whatever order they arrived in. Facts that can no longer
// matter at instants after the retention horizon are pruned; questions
// about earlier instants are answered by replaying the log.
//
// # Durability
//
// The state and its checkpoint (the last applied position) are written
// together to one snapshot file, every N events or seconds and on shutdown,
// so a restart replays only what came after the snapshot.
package projections
