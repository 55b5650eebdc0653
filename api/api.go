// Package api serves Vitals over HTTP: event ingestion (CloudEvents over
// HTTP, SPEC §4), queries, and the health endpoints.
//
// # Errors
//
// Every error answer has the shape {"error": {"code": "…", "message": "…"}}.
// The mapping from Go errors to HTTP status lives in one place, statusFor.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/auth"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/ingest"
	"github.com/vitals-hq/vitals/projections"
)

// Defaults for Config.
const (
	DefaultMaxBodyBytes   = 10 << 20 // 10 MiB (SPEC §4)
	DefaultMaxBatchEvents = 5000     // SPEC §4
)

// ReadyCheck reports whether one dependency can serve requests now.
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// Config wires a Server.
type Config struct {
	Store    eventstore.Store
	Ingester *ingest.Ingester
	Logger   zerolog.Logger
	// Now is the clock used for the future-time rule; time.Now when nil.
	Now func() time.Time
	// MaxBodyBytes bounds a request body (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// MaxBatchEvents bounds a batch (default DefaultMaxBatchEvents).
	MaxBatchEvents int
	// IngestObserver, when set, is told about every ingest request (for
	// metrics).
	IngestObserver interface {
		ObserveIngest([]ingest.Candidate, []ingest.Result)
	}
	// Projector answers the queries; nil serves ingestion only.
	Projector *projections.Projector
	// MaxWait bounds how long a query waits for ?min_position= (default
	// DefaultMaxWait).
	MaxWait time.Duration
	// Ready lists the checks behind /readyz besides the store's.
	Ready []ReadyCheck

	// Keys, when set, requires an API key with the route's scope on every
	// request but the health probes, as soon as the keyring is Enforced
	// (holds or has held a key). It is consulted on every request, so keys
	// reloaded into it apply at once.
	Keys *auth.Keyring
	// AuthFailures is how many failed authentications (401) one client
	// address may make per minute, as a burst refilling over the minute;
	// past it, that address gets 429 until the budget refills. 0 means
	// DefaultAuthFailures; negative disables the limit.
	AuthFailures int
	// RateLimit is the requests per second allowed per key (per client
	// address without keys); 0 disables it. RateBurst is the bucket size
	// (default 2 × RateLimit).
	RateLimit float64
	RateBurst int
	// MaxConcurrentIngest caps the ingest requests processed at once
	// (default DefaultMaxConcurrentIngest); a request waits up to
	// IngestQueueWait (default 1 s) for a slot, then gets 503.
	MaxConcurrentIngest int
	IngestQueueWait     time.Duration
	// Metrics, when set, is served at GET /metrics.
	Metrics http.Handler
	// Backup, when set, writes a consistent copy of the store for
	// GET /v1/admin/backup, announcing its size first.
	Backup func(ctx context.Context, w io.Writer, size func(int64)) (int64, error)
	// Stats, when set, answers GET /v1/admin/stats.
	Stats func(ctx context.Context) (any, error)
}

// DefaultMaxConcurrentIngest is the default cap on concurrent ingests.
const DefaultMaxConcurrentIngest = 64

// Server is the HTTP handler of Vitals.
type Server struct {
	cfg         Config
	mux         *http.ServeMux
	handler     http.Handler
	limiter     *limiter
	authFails   *limiter // failed authentications per client address
	ingestSlots chan struct{}
	draining    atomic.Bool
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Ingester == nil {
		return nil, errors.New("api: Config.Store and Config.Ingester are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = DefaultMaxWait
	}
	if cfg.MaxBatchEvents <= 0 {
		cfg.MaxBatchEvents = DefaultMaxBatchEvents
	}
	if cfg.MaxConcurrentIngest <= 0 {
		cfg.MaxConcurrentIngest = DefaultMaxConcurrentIngest
	}
	if cfg.IngestQueueWait <= 0 {
		cfg.IngestQueueWait = time.Second
	}
	if cfg.RateBurst <= 0 {
		cfg.RateBurst = int(math.Ceil(2 * cfg.RateLimit))
	}
	if cfg.AuthFailures == 0 {
		cfg.AuthFailures = DefaultAuthFailures
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), limiter: newLimiter(cfg.RateLimit, cfg.RateBurst),
		authFails: newLimiter(float64(cfg.AuthFailures)/60, cfg.AuthFailures), ingestSlots: make(chan struct{}, cfg.MaxConcurrentIngest)}
	s.routes()
	s.handler = s.logRequests(s.authenticate(s.mux))
	return s, nil
}

func (s *Server) routes() {
	s.mux.HandleFunc("POST /v1/events", s.postEvents)
	s.mux.HandleFunc("GET /v1/accounts/{id}/events", s.accountEvents)
	if s.cfg.Projector != nil {
		s.queryRoutes()
	}
	if s.cfg.Metrics != nil {
		s.mux.Handle("GET /metrics", s.cfg.Metrics)
	}
	s.adminRoutes()
	s.mux.HandleFunc("GET /livez", s.livez)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{status: http.StatusNotFound, code: "not_found", msg: fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path)})
	})
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

func (s *Server) livez(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "draining", "checks": map[string]string{}})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := append([]ReadyCheck{{Name: "store", Check: func(ctx context.Context) error {
		_, err := s.cfg.Store.Head(ctx)
		return err
	}}}, s.cfg.Ready...)
	status := http.StatusOK
	out := make(map[string]string, len(checks))
	for _, c := range checks {
		if err := c.Check(ctx); err != nil {
			status = http.StatusServiceUnavailable
			out[c.Name] = err.Error()
			continue
		}
		out[c.Name] = "ok"
	}
	state := "ready"
	if status != http.StatusOK {
		state = "not_ready"
	}
	writeJSON(w, status, map[string]any{"status": state, "checks": out})
}

// apiError is an error with its HTTP status and code.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

// statusFor maps an error to its HTTP status and error code. It is the one
// place where that mapping lives.
func statusFor(err error) (int, string) {
	var ae *apiError
	if status, code, ok := queryStatus(err); ok {
		return status, code
	}
	switch {
	case errors.As(err, &ae):
		return ae.status, ae.code
	case errors.Is(err, eventstore.ErrStreamNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, eventstore.ErrInvalid):
		return http.StatusBadRequest, "bad_request"
	case errors.Is(err, eventstore.ErrUnavailable), errors.Is(err, eventstore.ErrClosed):
		return http.StatusServiceUnavailable, "unavailable"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "unavailable"
	default:
		return http.StatusInternalServerError, "internal"
	}
}

// writeError writes err in the error shape with its status.
func writeError(w http.ResponseWriter, err error) {
	status, code := statusFor(err)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": err.Error()}})
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client may be gone; nothing to do about it
}
