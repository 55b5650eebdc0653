package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/demo"
	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore/stores"
	"github.com/vitals-hq/vitals/ingest"
)

// maxLagEvents bounds the events kept for the lag run (copies of the
// agency's first ones).
const maxLagEvents = 200_000

// directBatch is how many events one ingester call (one commit) holds when
// --load direct fills the store.
const directBatch = 5000

// benchEvents is what bench keeps of the demo agency: for --load http the
// events pre-encoded as CloudEvent JSON (the opening events, account.opened
// and manager.joined, which must be stored before the rest, and the rest,
// which may arrive in any order); for both loads the events the lag run
// sends again under new ids and the ids the queries ask about.
type benchEvents struct {
	openers, rest [][]byte
	// lag are copies of the agency's first account events: the lag run
	// sends them again under new ids, dated when they are sent.
	lag      []demo.Event
	events   int
	accounts []string // every account id, in opening order
	churned  map[string]bool
	// firstAccount (the first account opened that never churns, so that
	// it exists at every instant after its opening) and firstManager are
	// the ids the one-subject queries ask about.
	firstAccount, firstManager string
}

// note records what bench keeps of every event: ids and lag copies.
func (be *benchEvents) note(e demo.Event) {
	be.events++
	switch domain.Type(e.Type) {
	case domain.TypeAccountOpened:
		be.accounts = append(be.accounts, e.Subject)
		return
	case domain.TypeManagerJoined:
		if be.firstManager == "" {
			be.firstManager = e.Subject
		}
		return
	case domain.TypeAccountStatusChanged:
		if e.Data["status"] == string(domain.StatusChurned) {
			be.churned[e.Subject] = true
		}
	}
	if !domain.Type(e.Type).IsManagerEvent() && len(be.lag) < maxLagEvents {
		be.lag = append(be.lag, e)
	}
}

// finish picks the accounts the queries ask about once every event is seen.
func (be *benchEvents) finish() {
	for _, id := range be.accounts {
		if !be.churned[id] {
			be.firstAccount = id
			break
		}
	}
	if be.firstAccount == "" && len(be.accounts) > 0 {
		be.firstAccount = be.accounts[0]
	}
	be.churned = nil
}

// release drops the encoded events once the store holds them, so that
// they neither weigh on the replay nor count in its memory.
func (be *benchEvents) release() { be.openers, be.rest = nil, nil }

// generateBenchEvents encodes the demo agency as CloudEvent JSON, for the
// HTTP ingest runs.
func generateBenchEvents(ctx context.Context, cfg demo.Config) (*benchEvents, error) {
	be := &benchEvents{churned: map[string]bool{}}
	err := demo.Generate(ctx, cfg, func(e demo.Event) error {
		be.note(e)
		raw, err := json.Marshal(e)
		if err != nil {
			return err
		}
		switch domain.Type(e.Type) {
		case domain.TypeAccountOpened, domain.TypeManagerJoined:
			be.openers = append(be.openers, raw)
		default:
			be.rest = append(be.rest, raw)
		}
		return nil
	})
	be.finish()
	return be, err
}

// benchLoadDirect generates the demo agency and appends it to the store
// through the ingester, as `serve --demo` does, without HTTP: generating,
// encoding and parsing run in one goroutine while the ingester appends the
// previous batch of directBatch events in another. Every event must be
// accepted. It keeps nothing of the agency but what benchEvents keeps.
func benchLoadDirect(ctx context.Context, progress io.Writer, cfg demo.Config, storeURL, dir string) (*benchEvents, benchBuild, error) {
	store, err := openExisting(ctx, storeURL, dir, zerolog.Nop())
	if err != nil {
		return nil, benchBuild{}, err
	}
	defer store.Close()
	enc := ingest.EncodeJSON
	if stores.IsEmbedded(storeURL) {
		enc = ingest.EncodeCompact // as serve stores it
	}
	ing := ingest.NewWithEncoding(store, enc)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	be := &benchEvents{churned: map[string]bool{}}
	batches := make(chan []ingest.Candidate, 4)
	genErr := make(chan error, 1)
	start := time.Now()
	go func() {
		defer close(batches)
		now := time.Now()
		batch := make([]ingest.Candidate, 0, directBatch)
		send := func() error {
			select {
			case batches <- batch:
				batch = make([]ingest.Candidate, 0, directBatch)
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		err := demo.Generate(ctx, cfg, func(e demo.Event) error {
			be.note(e)
			raw, err := json.Marshal(e)
			if err != nil {
				return err
			}
			ev, err := domain.Parse(raw, now)
			if err != nil {
				return fmt.Errorf("bench: demo event %s is invalid: %w", e.ID, err)
			}
			batch = append(batch, ingest.Candidate{Event: ev})
			if len(batch) == directBatch {
				return send()
			}
			return nil
		})
		if err == nil && len(batch) > 0 {
			err = send()
		}
		genErr <- err
	}()
	stored, last := 0, time.Now()
	var appendErr error
	for b := range batches {
		if appendErr != nil {
			continue // drain, so that the generator ends
		}
		if appendErr = ingestAll(ctx, ing, b); appendErr != nil {
			cancel()
			continue
		}
		stored += len(b)
		if time.Since(last) >= 2*time.Second {
			last = time.Now()
			fmt.Fprintf(progress, "  loading directly: %d events, %.0f events/s…\n", stored, float64(stored)/time.Since(start).Seconds())
		}
	}
	if err := <-genErr; appendErr == nil && err != nil {
		appendErr = err
	}
	if appendErr != nil {
		return nil, benchBuild{}, appendErr
	}
	be.finish()
	d := time.Since(start)
	return be, benchBuild{Load: "direct", Seconds: d.Seconds(), EventsPerS: float64(stored) / d.Seconds()}, nil
}

// ingestAll appends one batch and fails unless every event is accepted.
func ingestAll(ctx context.Context, ing *ingest.Ingester, b []ingest.Candidate) error {
	results, _, err := ing.Ingest(ctx, b)
	if err != nil {
		return fmt.Errorf("bench: direct load: %w", err)
	}
	for _, r := range results {
		if r.Status != ingest.Accepted {
			msg := string(r.Status)
			if r.Error != nil {
				msg = r.Error.Error()
			}
			return fmt.Errorf("bench: direct load: event %s not accepted: %s", r.ID, msg)
		}
	}
	return nil
}

// generateBenchIDs generates the demo agency for what benchEvents keeps
// only (ids, lag copies): for a store that already holds it.
func generateBenchIDs(ctx context.Context, cfg demo.Config) (*benchEvents, error) {
	be := &benchEvents{churned: map[string]bool{}}
	err := demo.Generate(ctx, cfg, func(e demo.Event) error {
		be.note(e)
		return nil
	})
	be.finish()
	return be, err
}
