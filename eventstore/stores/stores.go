// Package stores opens the event store a URL names: the one place that
// knows every adapter, used by every command that opens a store (serve,
// rebuild, backtest, bench; verify checks the embedded store's file).
//
//   - "" or "bolt": the embedded bbolt store in Options.DataDir.
//   - "esdb://…" or "esdb+discover://…": EventStoreDB / KurrentDB, the URL
//     being the client's connection string.
//
// A new adapter adds one row to adapters.
package stores

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/eventstore/esdb"
)

// Options are what the adapters may need besides the URL.
type Options struct {
	// DataDir is the embedded store's directory.
	DataDir string
	// Logger receives the adapters' messages (the zero value discards
	// them).
	Logger zerolog.Logger
	// OnCommit, when set, is told the events and the sync duration of
	// each commit of the embedded store (for its metrics); other stores
	// ignore it.
	OnCommit func(events int, sync time.Duration)
	// IndexEvery is the embedded store's bolt.Options.IndexEvery (0: its
	// default); other stores ignore it.
	IndexEvery int
}

// adapter opens the stores whose URLs a prefix names.
type adapter struct {
	// prefixes start the URLs this adapter opens; "" matches only the
	// empty URL.
	prefixes []string
	open     func(ctx context.Context, url string, opts Options) (eventstore.Store, error)
}

// adapters are the stores Open knows, in the order they are tried.
var adapters = []adapter{
	{prefixes: []string{"", "bolt"}, open: openBolt},
	{prefixes: []string{"esdb://", "esdb+discover://"}, open: openESDB},
}

// ErrUnknown is the error (wrapped) of Open for a URL no adapter takes.
var ErrUnknown = errors.New("unknown store")

// Open opens the store url names. Its error names the store and, for a
// URL no adapter takes (ErrUnknown), lists the forms that are known.
func Open(ctx context.Context, url string, opts Options) (eventstore.Store, error) {
	for _, a := range adapters {
		for _, p := range a.prefixes {
			if url == p || (strings.HasSuffix(p, "://") && strings.HasPrefix(url, p)) {
				return a.open(ctx, url, opts)
			}
		}
	}
	return nil, fmt.Errorf("%w %q: must be bolt (the embedded store, default) or an esdb:// or esdb+discover:// URL", ErrUnknown, Redact(url))
}

// IsEmbedded reports whether url names the embedded store (whose files
// live in the data directory).
func IsEmbedded(url string) bool { return url == "" || url == "bolt" }

func openBolt(ctx context.Context, _ string, opts Options) (eventstore.Store, error) {
	s, err := bolt.Open(ctx, opts.DataDir, bolt.Options{OnCommit: opts.OnCommit, IndexEvery: opts.IndexEvery})
	if err != nil {
		return nil, fmt.Errorf("open the embedded store in %s: %w", opts.DataDir, err)
	}
	return s, nil
}

func openESDB(ctx context.Context, url string, opts Options) (eventstore.Store, error) {
	s, err := esdb.Open(ctx, url, esdb.Options{Logger: opts.Logger})
	if err != nil {
		return nil, fmt.Errorf("open EventStoreDB at %s: %w", Redact(url), err)
	}
	return s, nil
}

// Redact hides a password in a store URL.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
