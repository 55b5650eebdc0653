package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/api"
	"github.com/vitals-hq/vitals/backtest"
	"github.com/vitals-hq/vitals/client"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/stores"
	"github.com/vitals-hq/vitals/scoring"
)

// backtestFlags are the flags of "vitals backtest".
type backtestFlags struct {
	dataDir, store           string
	server, token            string
	from, to, horizon, split string
	observedUntil            string
	scoringConfig            string
	configs                  listFlag
	fit                      bool
	fitHorizon               string
	l2                       float64
	bootstrap                int
	jsonOut                  bool
	plot, out                string
}

// backtestCmd: vitals backtest [flags] — how well the score predicted
// churn, from a data dir (server stopped) or a running server (--server).
func (a *App) backtestCmd(ctx context.Context, args []string) error {
	fs := a.newFlagSet("backtest", "backtest [flags]  (how well the health score predicted churn; docs/backtest.md)")
	var f backtestFlags
	fs.StringVar(&f.dataDir, "data-dir", "./vitals-data", "directory of the embedded store (the server must be stopped; or use --server)")
	fs.StringVar(&f.store, "store", "bolt", "event store: bolt (embedded, in --data-dir) or esdb://host:2113?tls=false (EventStoreDB/KurrentDB)")
	fs.StringVar(&f.server, "server", "", "ask this running server (GET /v1/backtest) instead of reading --data-dir")
	fs.StringVar(&f.token, "token", "", "API key with the read scope (with --server)")
	fs.StringVar(&f.from, "from", "", "first sample instant, RFC 3339 or a date (default: the earliest account opening)")
	fs.StringVar(&f.to, "to", "", "last sample instant, RFC 3339 or a date (default: now)")
	fs.StringVar(&f.observedUntil, "observed-until", "", "the end of observation: events and churns after it are ignored, RFC 3339 or a date (default: now; set it to the end of an imported history)")
	fs.StringVar(&f.horizon, "horizon", "30d,60d,90d", "churn horizons, comma-separated days")
	fs.StringVar(&f.scoringConfig, "scoring-config", "", "YAML file of the current scoring configuration, evaluated as \"current\" (default: built-in; with --data-dir)")
	fs.Var(&f.configs, "config", "another configuration to evaluate side by side: NAME=FILE (YAML) with --data-dir, NAME (a --shadow-config of the server) with --server; repeatable")
	fs.BoolVar(&f.fit, "fit", false, "fit the five component weights to predict churn (time-based hold-out)")
	fs.StringVar(&f.fitHorizon, "fit-horizon", "", "the horizon the fit predicts, one of --horizon (default 90d when given, else the longest)")
	fs.StringVar(&f.split, "split", "", "the fit learns from samples whose horizon ends by this instant and is measured from it on (default: two thirds through)")
	fs.Float64Var(&f.l2, "fit-l2", backtest.DefaultL2, "the fit's L2 penalty")
	fs.IntVar(&f.bootstrap, "bootstrap", backtest.DefaultBootstrap, "bootstrap draws behind each AUC interval (0: none)")
	fs.BoolVar(&f.jsonOut, "json", false, "print the report as JSON instead of tables")
	fs.StringVar(&f.plot, "plot", "", "draw the ROC curves and calibration deciles into this .svg file")
	fs.StringVar(&f.out, "out", "", "write the fitted scoring configuration (YAML) to this file (needs --fit)")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(a.Stderr, "vitals backtest: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	if err := f.check(fs); err != nil {
		return err
	}
	var rep *backtest.Report
	var err error
	if f.server != "" {
		rep, err = a.backtestRemote(ctx, f)
	} else {
		rep, err = a.backtestLocal(ctx, f)
	}
	if err != nil {
		return err
	}
	return a.writeBacktest(rep, f)
}

// check rejects flag combinations that cannot work, naming the flag.
func (f *backtestFlags) check(fs *flag.FlagSet) error {
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if !f.fit {
		for _, n := range []string{"fit-horizon", "split", "fit-l2", "out"} {
			if set[n] {
				return fmt.Errorf("--%s: only with --fit", n)
			}
		}
	}
	if f.plot != "" && !strings.EqualFold(filepath.Ext(f.plot), ".svg") {
		return fmt.Errorf("--plot %s: the plot is an SVG image; name a .svg file", f.plot)
	}
	if f.bootstrap < 0 || f.bootstrap > backtest.MaxBootstrap {
		return fmt.Errorf("--bootstrap: must be 0..%d", backtest.MaxBootstrap)
	}
	if f.server != "" && f.scoringConfig != "" {
		return errors.New("--scoring-config: with --server the server's own configuration is \"current\"")
	}
	return nil
}

// options turns the flags into backtest options (the configurations
// aside).
func (f *backtestFlags) options(now time.Time) (backtest.Options, error) {
	opts := backtest.Options{Now: now, Bootstrap: f.bootstrap}
	if f.bootstrap == 0 {
		opts.Bootstrap = -1
	}
	var err error
	if f.observedUntil != "" {
		t, err := backtest.ParseInstant("--observed-until", f.observedUntil)
		if err != nil {
			return opts, err
		}
		if t.After(now) {
			return opts, fmt.Errorf("--observed-until: %s is after now", t.Format(time.RFC3339))
		}
		opts.Now = t
	}
	if f.from != "" {
		if opts.From, err = backtest.ParseInstant("--from", f.from); err != nil {
			return opts, err
		}
	}
	if f.to != "" {
		if opts.To, err = backtest.ParseInstant("--to", f.to); err != nil {
			return opts, err
		}
	}
	if opts.Horizons, err = backtest.ParseHorizons(f.horizon); err != nil {
		return opts, fmt.Errorf("--horizon: %w", err)
	}
	if !f.fit {
		return opts, nil
	}
	opts.Fit = &backtest.FitOptions{L2: f.l2}
	if f.fitHorizon != "" {
		h, err := backtest.ParseHorizons(f.fitHorizon)
		if err != nil || len(h) != 1 {
			return opts, fmt.Errorf("--fit-horizon %s: one horizon such as 90d", f.fitHorizon)
		}
		opts.Fit.HorizonDays = h[0]
	}
	if f.split != "" {
		if opts.Fit.Split, err = backtest.ParseInstant("--split", f.split); err != nil {
			return opts, err
		}
	}
	return opts, nil
}

// backtestLocal runs the backtest on the embedded store of --data-dir.
func (a *App) backtestLocal(ctx context.Context, f backtestFlags) (*backtest.Report, error) {
	opts, err := f.options(time.Now().UTC())
	if err != nil {
		return nil, err
	}
	current := scoring.DefaultConfig()
	if f.scoringConfig != "" {
		if current, err = loadScoringConfig("--scoring-config", f.scoringConfig); err != nil {
			return nil, err
		}
	}
	opts.Configs = []backtest.Config{{Name: api.CurrentConfig, Config: current}}
	for _, nf := range f.configs {
		name, file, ok := strings.Cut(nf, "=")
		if !ok || file == "" {
			return nil, fmt.Errorf("--config %s: give NAME=FILE (a scoring configuration YAML)", nf)
		}
		c, err := loadScoringConfig("--config "+name, file)
		if err != nil {
			return nil, err
		}
		opts.Configs = append(opts.Configs, backtest.Config{Name: name, Config: c})
	}
	if stores.IsEmbedded(f.store) {
		// Opening would create an empty store: there is nothing to test.
		if _, err := os.Stat(f.dataDir); err != nil {
			return nil, fmt.Errorf("--data-dir %s: %w", f.dataDir, err)
		}
	}
	store, err := openExisting(ctx, f.store, f.dataDir, zerolog.Nop())
	if err != nil {
		return nil, fmt.Errorf("%w (or ask the running server with --server URL)", err)
	}
	defer store.Close()
	start := time.Now()
	last := start
	st, head, err := backtest.Load(ctx, store, opts.Now, func(pos, head eventstore.Position) {
		if time.Since(last) >= time.Second || pos == head {
			last = time.Now()
			fmt.Fprintf(a.Stderr, "  reading events: %d/%d\n", pos, head)
		}
	})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(a.Stderr, "read %d events in %s; sampling accounts\n", head, time.Since(start).Round(time.Millisecond))
	last = time.Now()
	opts.Progress = func(done, total int) {
		if time.Since(last) >= time.Second || done == total {
			last = time.Now()
			fmt.Fprintf(a.Stderr, "  sampled %d/%d accounts\n", done, total)
		}
	}
	rep, err := backtest.Run(ctx, st, opts)
	if err != nil {
		return nil, flagError(err)
	}
	rep.Position = head
	fmt.Fprintf(a.Stderr, "done in %s\n", time.Since(start).Round(time.Millisecond))
	return rep, nil
}

// flagError turns an invalid-options error of package backtest into one
// naming the flag ("--horizon: …" for "horizon: …").
func flagError(err error) error {
	if !errors.Is(err, backtest.ErrInvalid) {
		return err
	}
	return errors.New("--" + strings.TrimPrefix(err.Error(), backtest.ErrInvalid.Error()+": "))
}

// loadScoringConfig reads a scoring configuration YAML file; errors name
// the flag and the file.
func loadScoringConfig(flagName, path string) (scoring.Config, error) {
	fh, err := os.Open(path)
	if err != nil {
		return scoring.Config{}, fmt.Errorf("%s: %w", flagName, err)
	}
	defer fh.Close()
	c, err := scoring.LoadConfig(fh)
	if err != nil {
		return scoring.Config{}, fmt.Errorf("%s %s: %w", flagName, path, err)
	}
	return c, nil
}

// backtestRemote asks a running server (GET /v1/backtest).
func (a *App) backtestRemote(ctx context.Context, f backtestFlags) (*backtest.Report, error) {
	q := url.Values{}
	if _, err := f.options(time.Now()); err != nil { // the same checks, before asking
		return nil, err
	}
	for k, v := range map[string]string{"from": f.from, "to": f.to, "observed_until": f.observedUntil, "horizon": f.horizon, "fit_horizon": f.fitHorizon, "split": f.split} {
		if v != "" {
			q.Set(k, v)
		}
	}
	q.Set("bootstrap", strconv.Itoa(f.bootstrap))
	if len(f.configs) > 0 {
		names := []string{api.CurrentConfig}
		for _, n := range f.configs {
			if strings.Contains(n, "=") {
				return nil, fmt.Errorf("--config %s: with --server, name a --shadow-config of the server (NAME, no file)", n)
			}
			names = append(names, n)
		}
		q.Set("config", strings.Join(names, ","))
	}
	if f.fit {
		q.Set("fit", "true")
		q.Set("l2", strconv.FormatFloat(f.l2, 'g', -1, 64))
	}
	u := strings.TrimRight(f.server, "/") + "/v1/backtest?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("--server: %w", err)
	}
	if f.token != "" {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	fmt.Fprintf(a.Stderr, "asking %s for a backtest\n", f.server)
	res, err := (&http.Client{Timeout: time.Hour}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("backtest: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("backtest: read the answer: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("backtest: %w", authError(client.ParseError(res.StatusCode, body), f.token != "", "the read scope", "read"))
	}
	var rep backtest.Report
	if err := json.Unmarshal(body, &rep); err != nil {
		return nil, fmt.Errorf("backtest: the server's answer: %w", err)
	}
	return &rep, nil
}

// writeBacktest prints the report and writes the plot and the fitted
// configuration.
func (a *App) writeBacktest(rep *backtest.Report, f backtestFlags) error {
	if f.jsonOut {
		enc := json.NewEncoder(a.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := backtest.WriteTable(a.Stdout, rep); err != nil {
		return err
	}
	if f.plot != "" {
		if err := writeFileAtomic(f.plot, func(w io.Writer) error { return backtest.WriteSVG(w, rep) }); err != nil {
			return fmt.Errorf("--plot: %w", err)
		}
		fmt.Fprintf(a.Stderr, "wrote %s\n", f.plot)
	}
	if f.out != "" && rep.Fit != nil {
		if err := writeFileAtomic(f.out, func(w io.Writer) error { _, err := io.WriteString(w, rep.Fit.ConfigYAML); return err }); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		fmt.Fprintf(a.Stderr, "wrote the fitted configuration to %s; try it with vitals serve --shadow-config fitted=%s\n", f.out, f.out)
	}
	return nil
}

// writeFileAtomic writes a file through a temporary file in the same
// directory, renamed into place once complete.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".vitals-tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
