package console_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/console"
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
	for _, p := range []struct{ name, path string }{
		{"dashboard", "/"}, {"accounts", "/accounts"}, {"accounts-sorted-filtered", "/accounts?band=yellow&sort=change"},
		{"account", "/accounts/" + id}, {"at-risk", "/at-risk"}, {"upsell", "/upsell"},
		{"managers", "/managers"}, {"manager", "/managers/" + mgr},
		{"dashboard-past", "/?at=2026-06-05"}, {"accounts-past", "/accounts?at=2026-06-05"},
	} {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				if w := get(c, p.path); w.Code != http.StatusOK {
					b.Fatalf("%s: %d", p.path, w.Code)
				}
			}
		})
	}
	// The clients list with an empty sparkline cache: a fresh console
	// each time (the first view of the day).
	b.Run("accounts-cold", func(b *testing.B) {
		for b.Loop() {
			if w := get(f.console(b, console.Config{}), "/accounts"); w.Code != http.StatusOK {
				b.Fatalf("/accounts: %d", w.Code)
			}
		}
	})
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
