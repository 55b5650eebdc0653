package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vitals-hq/vitals/backtest"
	"github.com/vitals-hq/vitals/scoring"
)

// CurrentConfig names the live scoring configuration in a backtest and in
// GET /v1/accounts/{id}/health?config=.
const CurrentConfig = "current"

// shadows holds the scorers of the shadow configurations by name.
type shadows map[string]*scoring.Scorer

// newShadows builds the scorers of cfg.ScoringConfigs after the first.
func newShadows(cfgs []backtest.Config) (shadows, error) {
	out := shadows{}
	for i, c := range cfgs {
		if err := backtest.ValidName(c.Name); err != nil {
			return nil, fmt.Errorf("api: scoring config %d: %w", i, err)
		}
		if i == 0 {
			continue
		}
		if _, dup := out[c.Name]; dup || c.Name == CurrentConfig {
			return nil, fmt.Errorf("api: shadow config %q: the name is used twice", c.Name)
		}
		sc, err := scoring.New(c.Config)
		if err != nil {
			return nil, fmt.Errorf("api: shadow config %q: %w", c.Name, err)
		}
		out[c.Name] = sc
	}
	return out, nil
}

// names lists the shadow names, sorted.
func (sh shadows) names() []string {
	out := make([]string, 0, len(sh))
	for n := range sh {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// scoringConfigs returns cfg.ScoringConfigs, or the default configuration
// as "current" when none is given.
func (s *Server) scoringConfigs() []backtest.Config {
	if len(s.cfg.ScoringConfigs) > 0 {
		return s.cfg.ScoringConfigs
	}
	return []backtest.Config{{Name: CurrentConfig, Config: scoring.DefaultConfig()}}
}

// getBacktest handles GET /v1/backtest: the backtest of the live
// configuration and the shadow ones (docs/backtest.md), computed from the
// whole log. One runs at a time; another waits for it.
func (s *Server) getBacktest(w http.ResponseWriter, r *http.Request) {
	opts, err := s.backtestOptions(r)
	if err != nil {
		writeError(w, err)
		return
	}
	select {
	case s.backtestSlot <- struct{}{}:
		defer func() { <-s.backtestSlot }()
	case <-r.Context().Done():
		writeError(w, r.Context().Err())
		return
	}
	st, head, err := backtest.Load(r.Context(), s.cfg.Store, opts.Now, nil)
	if err != nil {
		writeError(w, err)
		return
	}
	rep, err := backtest.Run(r.Context(), st, opts)
	if errors.Is(err, backtest.ErrInvalid) {
		err = badRequest("%s", strings.TrimPrefix(err.Error(), backtest.ErrInvalid.Error()+": "))
	}
	if err != nil {
		writeError(w, err)
		return
	}
	rep.Position = head
	writeJSON(w, http.StatusOK, rep)
}

// backtestOptions reads the query of GET /v1/backtest: from, to,
// observed_until, horizon
// (30d,60d,90d), config (names, repeatable or comma-separated; default
// every one), bootstrap, and fit, fit_horizon, split, l2.
func (s *Server) backtestOptions(r *http.Request) (backtest.Options, error) {
	q := r.URL.Query()
	opts := backtest.Options{Now: s.cfg.Now().UTC()}
	var err error
	if v := q.Get("from"); v != "" {
		if opts.From, err = backtest.ParseInstant("from", v); err != nil {
			return opts, badRequest("%v", err)
		}
	}
	if v := q.Get("to"); v != "" {
		if opts.To, err = backtest.ParseInstant("to", v); err != nil {
			return opts, badRequest("%v", err)
		}
	}
	if v := q.Get("observed_until"); v != "" {
		t, err := backtest.ParseInstant("observed_until", v)
		if err != nil {
			return opts, badRequest("%v", err)
		}
		if t.After(opts.Now) {
			return opts, badRequest("observed_until: %s is after now", t.Format(time.RFC3339))
		}
		opts.Now = t
	}
	if v := q.Get("horizon"); v != "" {
		if opts.Horizons, err = backtest.ParseHorizons(v); err != nil {
			return opts, badRequest("horizon: %v", err)
		}
	}
	all := s.scoringConfigs()
	if names := splitList(q["config"]); len(names) > 0 {
		for _, n := range names {
			i := slices.IndexFunc(all, func(c backtest.Config) bool { return c.Name == n })
			if i < 0 {
				known := make([]string, 0, len(all))
				for _, c := range all {
					known = append(known, c.Name)
				}
				return opts, badRequest("config: unknown configuration %q; this server has %s (serve --shadow-config NAME=FILE adds one)", n, strings.Join(known, ", "))
			}
			opts.Configs = append(opts.Configs, all[i])
		}
	} else {
		opts.Configs = all
	}
	if v := q.Get("bootstrap"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > backtest.MaxBootstrap {
			return opts, badRequest("bootstrap: must be an integer 0..%d (0: no intervals)", backtest.MaxBootstrap)
		}
		opts.Bootstrap = n
		if n == 0 {
			opts.Bootstrap = -1
		}
	}
	fit, err := boolParam(q.Get("fit"))
	if err != nil {
		return opts, err
	}
	fitOnly := []string{"fit_horizon", "split", "l2"}
	if !fit {
		for _, n := range fitOnly {
			if q.Has(n) {
				return opts, badRequest("%s: only with fit=true", n)
			}
		}
		return opts, nil
	}
	opts.Fit = &backtest.FitOptions{}
	if v := q.Get("fit_horizon"); v != "" {
		h, err := backtest.ParseHorizons(v)
		if err != nil || len(h) != 1 {
			return opts, badRequest("fit_horizon: one horizon such as 90d")
		}
		opts.Fit.HorizonDays = h[0]
	}
	if v := q.Get("split"); v != "" {
		if opts.Fit.Split, err = backtest.ParseInstant("split", v); err != nil {
			return opts, badRequest("%v", err)
		}
	}
	if v := q.Get("l2"); v != "" {
		if opts.Fit.L2, err = strconv.ParseFloat(v, 64); err != nil || opts.Fit.L2 <= 0 {
			return opts, badRequest("l2: must be a number above 0 and at most 100")
		}
	}
	return opts, nil
}

// splitList splits repeated, comma-separated values, dropping empty ones.
func splitList(vs []string) []string {
	var out []string
	for _, v := range vs {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// boolParam reads fit: "", "false" or "true".
func boolParam(v string) (bool, error) {
	switch v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, badRequest("fit: must be true or false")
}

// healthScorer is the scorer of ?config= on GET /v1/accounts/{id}/health:
// nil for the live one.
func (s *Server) healthScorer(r *http.Request) (*scoring.Scorer, error) {
	name := r.URL.Query().Get("config")
	if name == "" || name == CurrentConfig {
		return nil, nil
	}
	sc, ok := s.shadows[name]
	if !ok {
		known := "none"
		if len(s.shadows) > 0 {
			known = strings.Join(s.shadows.names(), ", ")
		}
		return nil, badRequest("config: unknown shadow configuration %q (this server has: %s; load one with serve --shadow-config NAME=FILE)", name, known)
	}
	return sc, nil
}
