package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/projections"
	"github.com/vitals-hq/vitals/scoring"
)

// DefaultMaxWait is how long a query waits for min_position by default.
const DefaultMaxWait = 5 * time.Second

// queryRoutes registers the read-model queries.
func (s *Server) queryRoutes() {
	s.mux.HandleFunc("GET /v1/accounts", s.query(s.listAccounts))
	s.mux.HandleFunc("GET /v1/accounts/{id}", s.query(s.getAccount))
	s.mux.HandleFunc("GET /v1/accounts/{id}/health", s.query(s.getHealth))
	s.mux.HandleFunc("GET /v1/accounts/{id}/health/history", s.query(s.getHistory))
	s.mux.HandleFunc("GET /v1/at-risk", s.query(func(r *http.Request, at time.Time) (any, error) {
		p, err := listPageParams(r)
		if err != nil {
			return nil, err
		}
		return s.cfg.Projector.AtRiskPage(r.Context(), at, p)
	}))
	s.mux.HandleFunc("GET /v1/upsell", s.query(func(r *http.Request, at time.Time) (any, error) {
		p, err := listPageParams(r)
		if err != nil {
			return nil, err
		}
		return s.cfg.Projector.UpsellPage(r.Context(), at, p)
	}))
	s.mux.HandleFunc("GET /v1/managers", s.query(func(r *http.Request, at time.Time) (any, error) {
		return s.cfg.Projector.Capacity(r.Context(), at)
	}))
	s.mux.HandleFunc("GET /v1/managers/{id}", s.query(func(r *http.Request, at time.Time) (any, error) {
		return s.cfg.Projector.Manager(r.Context(), r.PathValue("id"), at)
	}))
	s.mux.HandleFunc("GET /v1/backtest", s.getBacktest)
	s.mux.HandleFunc("GET /v1/portfolio", s.query(func(r *http.Request, at time.Time) (any, error) {
		return s.cfg.Projector.Portfolio(r.Context(), at)
	}))
}

// query wraps a read-model handler: it parses ?at=, waits for
// ?min_position=, and writes the answer or the error.
func (s *Server) query(fn func(r *http.Request, at time.Time) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var at time.Time // the zero time means now; an ?at= is never zero (see instantParam)
		if v := q.Get("at"); v != "" {
			t, err := instantParam("at", v)
			if err != nil {
				writeError(w, err)
				return
			}
			at = t
		}
		if v := q.Get("min_position"); v != "" {
			pos, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				writeError(w, badRequest("min_position: must be a log position (a non-negative integer)"))
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), s.cfg.MaxWait)
			err = s.cfg.Projector.WaitFor(ctx, eventstore.Position(pos))
			cancel()
			if err != nil {
				writeError(w, &apiError{status: http.StatusServiceUnavailable, code: "behind",
					msg: fmt.Sprintf("projections did not reach position %d within %s (they are at %d); retry later", pos, s.cfg.MaxWait, s.cfg.Projector.Position())})
				return
			}
		}
		out, err := fn(r, at)
		if err != nil {
			writeError(w, err)
			return
		}
		w.Header().Set(PositionHeader, strconv.FormatUint(uint64(s.cfg.Projector.Position()), 10))
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *Server) listAccounts(r *http.Request, at time.Time) (any, error) {
	q := r.URL.Query()
	limit, err := intParam(r, "limit", 100, 1, 1000)
	if err != nil {
		return nil, err
	}
	f := projections.AccountFilter{
		Status: domain.Status(q.Get("status")), Tier: scoring.Tier(q.Get("tier")), Band: scoring.Band(q.Get("band")),
		Manager: q.Get("manager"), After: q.Get("cursor"), Limit: limit,
	}
	if f.Status != "" && !f.Status.Valid() {
		return nil, badRequest("status: must be one of active, on_hold, churned")
	}
	if f.Tier != "" && !f.Tier.Valid() {
		return nil, badRequest("tier: must be one of platinum, gold, silver, bronze")
	}
	switch f.Band {
	case "", scoring.BandGreen, scoring.BandYellow, scoring.BandRed, scoring.BandUnknown:
	default:
		return nil, badRequest("band: must be one of green, yellow, red, unknown")
	}
	return s.cfg.Projector.Accounts(r.Context(), f, at)
}

// listPageParams reads ?limit= (1..1000; absent: the whole list) and
// ?cursor= (a next_cursor of the list) of /v1/at-risk and /v1/upsell.
func listPageParams(r *http.Request) (projections.ListPage, error) {
	limit, err := intParam(r, "limit", 0, 1, 1000)
	if err != nil {
		return projections.ListPage{}, err
	}
	p := projections.ListPage{Limit: limit}
	if v := r.URL.Query().Get("cursor"); v != "" {
		c, err := projections.ParseListCursor(v)
		if err != nil {
			return projections.ListPage{}, badRequest("cursor: not a cursor returned by this endpoint")
		}
		p.After = &c
	}
	return p, nil
}

func (s *Server) getAccount(r *http.Request, at time.Time) (any, error) {
	av, pos, err := s.cfg.Projector.Account(r.Context(), r.PathValue("id"), at)
	if err != nil {
		return nil, err
	}
	return struct {
		projections.AccountView
		Position eventstore.Position `json:"position"`
	}{av, pos}, nil
}

func (s *Server) getHealth(r *http.Request, at time.Time) (any, error) {
	sc, err := s.healthScorer(r)
	if err != nil {
		return nil, err
	}
	if sc != nil {
		return s.cfg.Projector.HealthWith(r.Context(), r.PathValue("id"), at, sc)
	}
	return s.cfg.Projector.Health(r.Context(), r.PathValue("id"), at)
}

// instantParam parses the query parameter name with domain.ParseInstant,
// the parser of event times: RFC 3339, an offset within ±23:59, and the
// instant range 1970-01-01T00:00:00Z..2200-01-01T00:00:00Z (exclusive), so
// that no instant is the zero time.Time (which means now) and any two
// differ by less than a time.Duration holds.
func instantParam(name, v string) (time.Time, error) {
	t, err := domain.ParseInstant(v)
	if err != nil {
		return time.Time{}, badRequest("%s: %v", name, err)
	}
	return t, nil
}

// getHistory: ?from=&to=&step= (step as a Go duration or in days: 1d, 7d;
// default from = to − 90 d, but not before the earliest instant, to = now,
// step = 1d).
func (s *Server) getHistory(r *http.Request, _ time.Time) (any, error) {
	q := r.URL.Query()
	to := s.cfg.Now().UTC()
	if v := q.Get("to"); v != "" {
		t, err := instantParam("to", v)
		if err != nil {
			return nil, err
		}
		to = t
	}
	from := to.AddDate(0, 0, -90)
	if from.Before(domain.MinInstant()) {
		from = domain.MinInstant()
	}
	if v := q.Get("from"); v != "" {
		t, err := instantParam("from", v)
		if err != nil {
			return nil, err
		}
		from = t
	}
	step := 24 * time.Hour
	if v := q.Get("step"); v != "" {
		d, err := parseStep(v)
		if err != nil {
			return nil, err
		}
		step = d
	}
	if to.Before(from) {
		return nil, badRequest("from: must not be after to")
	}
	if n := projections.HistoryLen(from, to, step); n > projections.MaxHistoryPoints {
		return nil, badRequest("step: %d points requested, at most %d; use a larger step", n, projections.MaxHistoryPoints)
	}
	id := r.PathValue("id")
	points, pos, err := s.cfg.Projector.History(r.Context(), id, from, to, step)
	if err != nil {
		return nil, err
	}
	return map[string]any{"account_id": id, "from": from, "to": to, "step": step.String(), "points": points, "position": pos}, nil
}

// maxStepDays bounds a history step: 100000 days (about 274 years) fits a
// time.Duration (at most 106751 days) and exceeds the whole instant range,
// so a longer step could only ever give one point.
const maxStepDays = 100000

// parseStep reads a step such as "1d", "7d" or a Go duration ("6h"),
// from 1m to maxStepDays days. The number of days is checked before it is
// multiplied, so no step overflows.
func parseStep(v string) (time.Duration, error) {
	const day = 24 * time.Hour
	tooLong := badRequest("step: must be at most %dd", maxStepDays)
	var d time.Duration
	if n, err := strconv.ParseInt(v[:max(len(v)-1, 0)], 10, 64); len(v) > 1 && v[len(v)-1] == 'd' && (err == nil || errors.Is(err, strconv.ErrRange)) {
		if err != nil || n > maxStepDays {
			return 0, tooLong
		}
		d = time.Duration(n) * day
	} else if pd, err := time.ParseDuration(v); err == nil {
		d = pd
	} else {
		return 0, badRequest("step: must be a number of days (1d) or a duration (6h), at most %dd", maxStepDays)
	}
	switch {
	case d < time.Minute:
		return 0, badRequest("step: must be at least 1m")
	case d > maxStepDays*day:
		return 0, tooLong
	}
	return d, nil
}

// queryStatus maps projection errors; used by statusFor.
func queryStatus(err error) (int, string, bool) {
	switch {
	case errors.Is(err, projections.ErrNotFound):
		return http.StatusNotFound, "not_found", true
	case errors.Is(err, projections.ErrFuture):
		return http.StatusBadRequest, "bad_request", true
	case errors.Is(err, projections.ErrBehind):
		return http.StatusServiceUnavailable, "behind", true
	}
	return 0, "", false
}
