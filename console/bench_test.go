package console_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/console"
	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/projections"
)

// benchFixture is a demo agency of 2,000 accounts, built once per run.
var benchFixture *fixture

// BenchmarkPages renders each page server-side at 2,000 accounts:
//
//	go test -run '^$' -bench BenchmarkPages -benchtime 10x ./console/
//
// The instants of the "-past" pages are within the projector's retention
// (30 days by default), answered from memory; an older instant replays
// the log (see docs/console.md).
func BenchmarkPages(b *testing.B) {
	if benchFixture == nil {
		benchFixture = newFixture(&keepAliveB{B: b}, 2000)
	}
	f := benchFixture
	c := f.console(b, console.Config{})
	ctx := context.Background()
	page, err := f.proj.Accounts(ctx, projections.AccountFilter{Limit: 1}, time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	capv, err := f.proj.Capacity(ctx, time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	id, mgr := page.Items[0].ID, capv.Managers[0].ID
	busiest := busiestAccount(b, f, 200)
	for _, p := range []struct{ name, path string }{
		{"dashboard", "/"}, {"accounts", "/accounts"}, {"accounts-sorted-filtered", "/accounts?band=yellow&sort=change"},
		{"account", "/accounts/" + id}, {"account-busiest", "/accounts/" + busiest}, {"at-risk", "/at-risk"}, {"upsell", "/upsell"},
		{"managers", "/managers"}, {"manager", "/managers/" + mgr},
		{"dashboard-past", "/?at=2026-06-05"}, {"accounts-past", "/accounts?at=2026-06-05"},
	} {
		b.Run(p.name, func(b *testing.B) {
			cpu := cpuTime(b)
			for b.Loop() {
				if w := get(c, p.path); w.Code != http.StatusOK {
					b.Fatalf("%s: %d", p.path, w.Code)
				}
			}
			cpu.report(b)
		})
	}
	// The clients list with an empty sparkline cache: a fresh console
	// each time (the first view of the day).
	b.Run("accounts-cold", func(b *testing.B) {
		cpu := cpuTime(b)
		for b.Loop() {
			if w := get(f.console(b, console.Config{}), "/accounts"); w.Code != http.StatusOK {
				b.Fatalf("/accounts: %d", w.Code)
			}
		}
		cpu.report(b)
	})
}

// busiestAccount is the account with the longest stream among the first
// n by id: its record page replays the most events for its 12-month chart.
func busiestAccount(b *testing.B, f *fixture, n int) string {
	ctx := context.Background()
	page, err := f.proj.Accounts(ctx, projections.AccountFilter{Limit: n}, time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	var best string
	var most eventstore.Version
	for _, av := range page.Items {
		v, err := f.store.StreamVersion(ctx, (domain.Event{Type: domain.TypeAccountOpened, Subject: av.ID}).Stream())
		if err != nil {
			b.Fatal(err)
		}
		if v > most {
			best, most = av.ID, v
		}
	}
	b.Logf("busiest account %s: %d events", best, most+1)
	return best
}

// processCPU is the CPU time the process used (user and system, all
// threads, the garbage collector's included) when a benchmark started.
type processCPU time.Duration

// cpuTime reads the process's CPU time so far.
func cpuTime(b *testing.B) processCPU {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return processCPU(time.Duration(ru.Utime.Nano() + ru.Stime.Nano()))
}

// report adds the CPU time per view, "cpu-ms/op": on a shared machine
// the wall time per op (ns/op) grows with the load; the CPU time a view
// costs does not.
func (start processCPU) report(b *testing.B) {
	used := time.Duration(cpuTime(b) - start)
	b.ReportMetric(float64(used)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// keepAliveB keeps the benchmark fixture's store for the whole run (the
// sub-benchmarks rerun the parent).
type keepAliveB struct{ *testing.B }

func (k *keepAliveB) Cleanup(func()) {}

func (k *keepAliveB) TempDir() string {
	d := filepath.Join(sharedDir, "bench")
	if err := os.MkdirAll(d, 0o750); err != nil {
		k.Fatal(err)
	}
	return d
}
