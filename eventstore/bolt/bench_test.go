package bolt

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vitals-hq/vitals/eventstore"
)

// benchBatch is the number of events per append in BenchmarkAppend.
const benchBatch = 1000

// benchPayload is about the size of a CloudEvent Vitals stores.
var benchPayload = []byte(`{"specversion":"1.0","id":"evt-000000","source":"crm","type":"touchpoint.recorded",` +
	`"subject":"account-0000","time":"2025-11-23T18:00:00Z","datacontenttype":"application/json",` +
	`"data":{"channel":"email","direction":"outbound","manager_id":"am-1","summary":"weekly report sent"}}`)

// BenchmarkAppend measures append throughput with 1, 8 and 64 concurrent
// appenders; each benchmark iteration appends one batch of 1000 events,
// either as one Append to a stream ("stream") or as one AppendMany of 1000
// single-event requests to different streams ("many", as HTTP ingest does).
func BenchmarkAppend(b *testing.B) {
	for _, mode := range []string{"stream", "many"} {
		for _, appenders := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("%s/appenders=%d", mode, appenders), func(b *testing.B) {
				s := open(b, b.TempDir())
				var (
					batches atomic.Int64
					wg      sync.WaitGroup
				)
				b.ResetTimer()
				for g := range appenders {
					wg.Go(func() {
						stream := fmt.Sprintf("bench-%d", g)
						for {
							n := batches.Add(1)
							if n > int64(b.N) {
								return
							}
							var err error
							if mode == "stream" {
								_, err = s.Append(b.Context(), stream, eventstore.AnyVersion, benchEvents(g, n)...)
							} else {
								err = appendMany(b, s, benchRequests(g, n))
							}
							if err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "events/s")
				if st, err := s.Stats(); err == nil {
					b.ReportMetric(float64(st.Events)/float64(st.Commits), "events/commit")
				}
			})
		}
	}
}

func benchEvents(g int, n int64) []eventstore.EventData {
	evs := make([]eventstore.EventData, benchBatch)
	for i := range evs {
		evs[i] = eventstore.EventData{Key: fmt.Sprintf("crm/%d-%d-%d", g, n, i), Type: "touchpoint.recorded", Data: benchPayload}
	}
	return evs
}

func benchRequests(g int, n int64) []eventstore.AppendRequest {
	evs := benchEvents(g, n)
	reqs := make([]eventstore.AppendRequest, len(evs))
	for i := range reqs {
		reqs[i] = eventstore.AppendRequest{Stream: fmt.Sprintf("account-%d", i%500), Expected: eventstore.AnyVersion, Events: evs[i : i+1]}
	}
	return reqs
}

func appendMany(b *testing.B, s *Store, reqs []eventstore.AppendRequest) error {
	outs, err := s.AppendMany(b.Context(), reqs)
	if err != nil {
		return err
	}
	for _, o := range outs {
		if o.Err != nil {
			return o.Err
		}
	}
	return nil
}
