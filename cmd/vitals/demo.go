package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vitals-hq/vitals/client"
	"github.com/vitals-hq/vitals/demo"
	"github.com/vitals-hq/vitals/domain"
)

// demoFlags are the flags shared by "vitals demo" and "vitals serve --demo".
type demoFlags struct {
	prefix                     string // "" or "demo-": how the flags are named
	seed                       int64
	accounts, managers, months int
	end                        string
}

func (d *demoFlags) register(fs interface {
	Int64Var(*int64, string, int64, string)
	IntVar(*int, string, int, string)
	StringVar(*string, string, string, string)
}, prefix string) {
	d.prefix = prefix
	fs.Int64Var(&d.seed, prefix+"seed", 1, "demo: random seed (same seed, same agency)")
	fs.IntVar(&d.accounts, prefix+"accounts", 200, "demo: number of client accounts")
	fs.IntVar(&d.managers, prefix+"managers", 8, "demo: number of account managers")
	fs.IntVar(&d.months, prefix+"months", 24, "demo: months of history")
	fs.StringVar(&d.end, prefix+"end", "", "demo: the instant the history ends, RFC 3339 (default: now)")
}

func (d *demoFlags) config(now time.Time) (demo.Config, error) {
	end := now
	if d.end != "" {
		t, err := time.Parse(time.RFC3339, d.end)
		if err != nil {
			return demo.Config{}, fmt.Errorf("--%send: must be RFC 3339 (e.g. 2026-01-31T00:00:00Z): %w", d.prefix, err)
		}
		end = t
	}
	// demo.Config treats zero as "use the default"; on the command line
	// the defaults are explicit, so zero or less is a mistake.
	for _, f := range []struct {
		name string
		v    int
	}{{"accounts", d.accounts}, {"managers", d.managers}, {"months", d.months}} {
		if f.v < 1 {
			return demo.Config{}, fmt.Errorf("--%s%s: must be at least 1, got %d", d.prefix, f.name, f.v)
		}
	}
	cfg := demo.Config{Seed: d.seed, Accounts: d.accounts, Managers: d.managers, Months: d.months, End: end}
	if err := cfg.Validate(); err != nil {
		return demo.Config{}, err
	}
	return cfg, nil
}

// demo: vitals demo [flags] — JSON lines on stdout, or posted to --server.
func (a *App) demo(ctx context.Context, args []string) error {
	fs := a.newFlagSet("demo", "demo [flags]  (writes CloudEvents as JSON lines to stdout, or posts them to --server)")
	var d demoFlags
	d.register(fs, "")
	server := fs.String("server", "", "post the events to this Vitals server URL instead of printing them")
	alias(fs, "to", "server")
	batch := fs.Int("batch", 1000, "events per request with --server (1..5000)")
	token := fs.String("token", "", "API key sent as a Bearer token with --server (ingest and read scopes)")
	force := fs.Bool("force", false, "with --server, post even into a server that already holds accounts with the demo's ids (their facts get mixed)")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	cfg, err := d.config(time.Now())
	if err != nil {
		return err
	}
	if *server == "" {
		w := bufio.NewWriterSize(a.Stdout, 1<<16)
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		if err := demo.Generate(ctx, cfg, func(e demo.Event) error { return enc.Encode(e) }); err != nil {
			return err
		}
		return w.Flush()
	}
	if *batch < 1 || *batch > 5000 {
		return fmt.Errorf("--batch: must be 1..5000, got %d", *batch)
	}
	s, err := a.newSender(*server, *token, *batch)
	if err != nil {
		return err
	}
	if !*force {
		if err := checkDemoAccounts(ctx, s.c, cfg); err != nil {
			return authError(err, *token != "", "the ingest and read scopes", "ingest,read")
		}
	}
	err = demo.Generate(ctx, cfg, func(e demo.Event) error {
		raw, err := json.Marshal(e)
		if err != nil {
			return err
		}
		return s.add(ctx, raw)
	})
	if err == nil {
		err = s.flush(ctx)
	}
	if err != nil {
		s.summaryIfSent()
		return authError(err, *token != "", "the ingest and read scopes", "ingest,read")
	}
	s.summary()
	if s.rejected > 0 {
		return fmt.Errorf("%d of %d demo events were rejected", s.rejected, s.total())
	}
	return nil
}

// checkDemoAccounts refuses to post the demo agency cfg to a server that
// already holds an account with one of its ids, unless this very agency
// opened it (same event id, source and time): posting the same agency again
// is all duplicates and changes nothing, but any other agency would mix its
// facts into accounts it did not open.
func checkDemoAccounts(ctx context.Context, c *client.Client, cfg demo.Config) error {
	var opened []demo.Event
	err := demo.Generate(ctx, cfg, func(e demo.Event) error {
		if e.Type == string(domain.TypeAccountOpened) {
			opened = append(opened, e)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, e := range opened {
		got, found, err := c.FirstEvent(ctx, e.Subject)
		if err != nil {
			return fmt.Errorf("checking whether the server already holds the demo's accounts: %w", err)
		}
		if found && (got.ID != e.ID || got.Source != e.Source || !got.Time.Equal(e.Time)) {
			return fmt.Errorf("the server already holds an account %q (opened by event %q from %q at %s) and this demo agency would open one with the same id: "+
				"posting it would mix demo facts into that account; nothing was sent. Post the demo into an empty store, or pass --force to post anyway",
				e.Subject, got.ID, got.Source, got.Time.Format(time.RFC3339))
		}
	}
	return nil
}
