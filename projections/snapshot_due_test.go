package projections

import (
	"testing"
	"time"
)

// TestSnapshotsBoundTheirShareOfTime: a snapshot due by its event count
// waits until snapshotCostFactor times the last snapshot's duration has
// passed, so that under a heavy ingest (50,000 events in half a second)
// snapshots do not take a large share of the projector's time; the
// interval rule still holds, and a forced snapshot is never held back.
func TestSnapshotsBoundTheirShareOfTime(t *testing.T) {
	p, _ := flushWorld(t, 1)
	p.cfg.SnapshotPath = t.TempDir() + "/snapshot"
	p.cfg.SnapshotEvery, p.cfg.SnapshotInterval = 10, time.Hour
	p.lastSnap = time.Now().Add(-time.Second)
	p.lastSnapTook = 0
	p.sinceSnap = 9
	if p.snapshotDue(0) {
		t.Error("due at 9 of 10 events")
	}
	if !p.snapshotDue(1) {
		t.Error("not due at 10 of 10 events after a quick snapshot")
	}
	p.lastSnapTook = 100 * time.Millisecond // due 2 s after the last one
	if p.snapshotDue(1) {
		t.Error("due 1 s after a snapshot that took 100 ms")
	}
	p.lastSnap = time.Now().Add(-3 * time.Second)
	if !p.snapshotDue(1) {
		t.Error("not due 3 s after a snapshot that took 100 ms")
	}
	p.lastSnap, p.cfg.SnapshotInterval = time.Now().Add(-time.Second), time.Millisecond
	if !p.snapshotDue(1) {
		t.Error("the interval rule was held back")
	}
	p.sinceSnap = 0
	if p.snapshotDue(0) {
		t.Error("due by the interval with no event since")
	}
	p.cfg.SnapshotInterval, p.sinceSnap, p.lastSnapTook = time.Hour, 10, time.Hour
	if err := p.maybeSnapshot(true); err != nil {
		t.Fatal(err)
	}
	if p.sinceSnap != 0 {
		t.Error("a forced snapshot was not written")
	}
	if p.lastSnapTook <= 0 || p.lastSnapTook >= time.Hour {
		t.Errorf("lastSnapTook = %v after a snapshot", p.lastSnapTook)
	}
}
