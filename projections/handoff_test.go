package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/ingest"
	"github.com/vitals-hq/vitals/projections"
)

// TestHandoffLivePath: on the live path the projector applies the events
// the ingester decoded instead of decoding the records again, and the
// result is the same as a rebuild from the log.
func TestHandoffLivePath(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	store := openStore(t)
	p := runProjector(t, projections.Config{Store: store, Scorer: newScorer(t), Now: func() time.Time { return now }})
	in := ingest.NewWithEncoding(store, ingest.EncodeCompact)
	in.SetHandoff(p)
	raws := demoEvents(t, 5, 3, now)
	var pos eventstore.Position
	for i := 0; i < len(raws); i += 100 {
		var cands []ingest.Candidate
		for _, raw := range raws[i:min(i+100, len(raws))] {
			ev, err := domain.Parse(raw, now)
			cands = append(cands, ingest.Candidate{Event: ev, Err: err})
		}
		// Every other batch twice: the duplicates are withdrawn.
		for range 1 + i/100%2 {
			_, reached, err := in.Ingest(context.Background(), cands)
			if err != nil {
				t.Fatal(err)
			}
			pos = max(pos, reached)
		}
	}
	waitFor(t, p, pos)
	if st := p.Stats(); st.HandedOff != int64(len(raws)) || st.Replayed != int64(len(raws)) || st.HandoffPending != 0 {
		t.Fatalf("handed off %d of %d records (replayed %d, %d still held), want all", st.HandedOff, len(raws), st.Replayed, st.HandoffPending)
	}
	rebuilt := runProjector(t, projections.Config{Store: store, Scorer: newScorer(t), Now: func() time.Time { return now }})
	waitFor(t, rebuilt, pos)
	if rebuilt.Stats().HandedOff != 0 {
		t.Fatal("a rebuild was handed events")
	}
	equalJSON(t, "live with handoff vs rebuild", collect(t, p, now), collect(t, rebuilt, now))
}

// TestHandoffNeverOverridesTheLog: an offered event is applied only for a
// record with exactly its bytes; otherwise the projector applies what the
// log holds.
func TestHandoffNeverOverridesTheLog(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	store := openStore(t)
	p := runProjector(t, projections.Config{Store: store, Scorer: newScorer(t), Now: func() time.Time { return now }})
	parse := func(name string) domain.Event {
		ev, err := domain.Parse([]byte(`{"specversion":"1.0","id":"a1","source":"crm","type":"account.opened","subject":"acme",`+
			`"time":"2026-02-01T00:00:00Z","data":{"name":"`+name+`","mrr":100}}`), now)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	stored, offered := parse("Stored"), parse("Offered")
	offeredData, err := offered.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	p.Offer(stored.Key(), offeredData, offered)
	data, err := stored.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	res, err := store.Append(context.Background(), stored.Stream(), eventstore.NoStream,
		eventstore.EventData{Key: stored.Key(), Type: string(stored.Type), Data: data})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, p, res.Last)
	v, _, err := p.Account(context.Background(), "acme", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Name != "Stored" || p.Stats().HandedOff != 0 {
		t.Fatalf("account name %q, handed off %d: the projector applied the offered event, not the log's", v.Name, p.Stats().HandedOff)
	}
}
