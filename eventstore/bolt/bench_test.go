package bolt

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

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

// BenchmarkAppendAccounts is the writer under HTTP ingest's load at the
// scale of `vitals bench --accounts 2000`: a store already holding
// benchPrefill events over 2000 streams, then 8 appenders each sending
// AppendMany calls of 1000 single-event requests to random streams (as 8
// HTTP clients posting 1000-event batches do). Keys are either the demo's
// ("seq": a counter, as vitals-demo's ids) or random ("random": as UUIDs).
// Besides ns/op it reports the process's CPU time per event (user +
// system, getrusage), which depends far less on a shared machine's load,
// and the bytes the file grew per event.
func BenchmarkAppendAccounts(b *testing.B) {
	for _, keys := range []string{"seq", "random"} {
		b.Run("keys="+keys, func(b *testing.B) {
			const streams, appenders = 2000, 8
			s := open(b, b.TempDir())
			rng := rand.New(rand.NewPCG(1, 2))
			var seq int
			key := func() string {
				seq++
				if keys == "seq" {
					return "11:vitals-demo/demo-1-" + strconv.Itoa(seq)
				}
				return fmt.Sprintf("9:crm-sync/%016x%016x", rng.Uint64(), rng.Uint64())
			}
			batch := func() []eventstore.AppendRequest {
				reqs := make([]eventstore.AppendRequest, benchBatch)
				for i := range reqs {
					reqs[i] = eventstore.AppendRequest{
						Stream: "account-" + strconv.Itoa(rng.IntN(streams)), Expected: eventstore.AnyVersion,
						Events: []eventstore.EventData{{Key: key(), Type: "touchpoint.recorded", Data: benchPayload[:250]}},
					}
				}
				return reqs
			}
			for range benchPrefill / benchBatch {
				if err := appendMany(b, s, batch()); err != nil {
					b.Fatal(err)
				}
			}
			batches := make([][]eventstore.AppendRequest, b.N)
			for i := range batches {
				batches[i] = batch()
			}
			st0, _ := s.Stats()
			cpu0 := cpuTime(b)
			b.ResetTimer()
			var (
				next atomic.Int64
				wg   sync.WaitGroup
			)
			for range appenders {
				wg.Go(func() {
					for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
						if err := appendMany(b, s, batches[n-1]); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			events := float64(b.N * benchBatch)
			st1, _ := s.Stats()
			b.ReportMetric(float64(cpuTime(b)-cpu0)/1e3/events, "cpu-µs/event")
			b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(st1.Events-st0.Events)/float64(st1.Commits-st0.Commits), "events/commit")
			b.ReportMetric(float64(st1.SizeBytes)/float64(st1.Events), "file-B/event")
		})
	}
}

// benchPrefill is how many events BenchmarkAppendAccounts stores before it
// starts timing.
const benchPrefill = 400_000

// cpuTime is the process's user + system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
