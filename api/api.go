// Package api serves Vitals over HTTP: event ingestion (CloudEvents over
// HTTP, README "Send events" and docs/events.md#http-requests), queries
// (README "Query"), and the health endpoints.
//
// # Errors
//
// Every error answer has the shape {"error": {"code": "…", "message": "…"}}.
// The mapping from Go errors to HTTP status lives in one place, statusFor.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/auth"
	"github.com/vitals-hq/vitals/backtest"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/ingest"
	"github.com/vitals-hq/vitals/notify"
	"github.com/vitals-hq/vitals/projections"
)

// Defaults for Config.
const (
	DefaultMaxBodyBytes   = 10 << 20 // 10 MiB (docs/events.md#http-requests)
	DefaultMaxBatchEvents = 5000     // docs/events.md#http-requests
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
	// BodyReadTimeout bounds the time to receive an ingest request's body
	// (default DefaultBodyReadTimeout); a slower body gets 408.
	BodyReadTimeout time.Duration
	// IngestObserver, when set, is told about every ingest request (for
	// metrics).
	IngestObserver interface {
		ObserveIngest([]ingest.Candidate, []ingest.Result)
	}
	// Projector answers the queries; nil serves ingestion only.
	Projector *projections.Projector
	// Notifications, when set, serves GET /v1/notifications from the
	// outbox of derived events.
	Notifications notify.Outbox
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
	// ScoringConfigs are the live scoring configuration (first, named
	// CurrentConfig; the one the Projector scores with) and the shadow
	// ones (serve --shadow-config): GET /v1/backtest evaluates them side
	// by side, GET /v1/accounts/{id}/health?config=NAME scores one account
	// with a shadow one. Nil: the default configuration alone.
	ScoringConfigs []backtest.Config
	// Console, when set, serves the web console: ConsoleRoutes, and GET /
	// for browsers (Accept: text/html). It checks its own sessions.
	Console http.Handler
}

// DefaultBodyReadTimeout is how long an ingest request's body may take to
// arrive by default: 10 MiB at about 350 KiB/s.
const DefaultBodyReadTimeout = 30 * time.Second

// DefaultMaxConcurrentIngest is the default cap on concurrent ingests.
const DefaultMaxConcurrentIngest = 64

// Server is the HTTP handler of Vitals.
type Server struct {
	cfg         Config
	mux         *router
	openapi     []byte // the OpenAPI document as JSON
	handler     http.Handler
	limiter     *limiter
	authFails   *limiter // failed authentications per client address
	ingestSlots chan struct{}
	// backtestSlot lets one backtest run at a time.
	backtestSlot chan struct{}
	shadows      shadows
	draining     atomic.Bool
	// storeFault is the last failed write, until a write succeeds (or
	// storeFaultHold passes without another failure).
	storeFault atomic.Pointer[storeFault]
}

// storeFault is a write the event store failed.
type storeFault struct {
	at        time.Time
	requestID string
}

// storeFaultHold is how long /readyz reports a failed write when no write
// succeeds after it: long enough to be seen, short enough that a server
// taken out of a load balancer's rotation for it gets traffic again to
// prove the store healthy.
const storeFaultHold = time.Minute

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
	if cfg.BodyReadTimeout <= 0 {
		cfg.BodyReadTimeout = DefaultBodyReadTimeout
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
	doc, err := openAPIJSON(openAPIYAML)
	if err != nil {
		return nil, err
	}
	sh, err := newShadows(cfg.ScoringConfigs)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, mux: newRouter(), openapi: doc, limiter: newLimiter(cfg.RateLimit, cfg.RateBurst),
		authFails: newLimiter(float64(cfg.AuthFailures)/60, cfg.AuthFailures), ingestSlots: make(chan struct{}, cfg.MaxConcurrentIngest),
		backtestSlot: make(chan struct{}, 1), shadows: sh}
	s.routes()
	s.handler = s.logRequests(s.authenticate(s.mux))
	return s, nil
}

// routes registers every route on s.mux, which records them (Routes):
// each one is described in openapi.yaml, and a test holds the two equal.
// A request no route matches gets 404, or 405 with Allow when its path
// exists with other methods (see router).
func (s *Server) routes() {
	s.mux.HandleFunc("GET /{$}", s.index)
	s.mux.HandleFunc("GET "+OpenAPIPath, s.openAPI)
	s.mux.HandleFunc("POST /v1/events", s.postEvents)
	s.mux.HandleFunc("GET /v1/accounts/{id}/events", s.accountEvents)
	if s.cfg.Projector != nil {
		s.queryRoutes()
	}
	if s.cfg.Notifications != nil {
		s.mux.HandleFunc("GET /v1/notifications", s.notifications)
	}
	if s.cfg.Metrics != nil {
		s.mux.Handle("GET /metrics", s.cfg.Metrics)
	}
	s.adminRoutes()
	s.consoleRoutes()
	s.mux.HandleFunc("GET /livez", s.livez)
	s.mux.HandleFunc("GET /readyz", s.readyz)
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
	checks := append([]ReadyCheck{{Name: "store", Check: s.checkStore}}, s.cfg.Ready...)
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

// checkStore is the store's readiness check: the store answers, and the
// last write did not fail (see noteWrite). Its messages name no files or
// hosts: /readyz needs no key.
func (s *Server) checkStore(ctx context.Context) error {
	if _, err := s.cfg.Store.Head(ctx); err != nil {
		s.cfg.Logger.Error().Err(err).Msg("readyz: the event store does not answer")
		return errors.New("the event store does not answer; see the server log")
	}
	if f := s.storeFault.Load(); f != nil && s.cfg.Now().Sub(f.at) < storeFaultHold {
		return fmt.Errorf("the last write failed at %s (request id %s) and none has succeeded since; see the server log",
			f.at.UTC().Format(time.RFC3339), f.requestID)
	}
	return nil
}

// noteWrite records the outcome of an append for checkStore: a store
// failure marks the store faulty, a write that stored something clears it.
func (s *Server) noteWrite(w http.ResponseWriter, err error, wrote bool) {
	switch {
	case err != nil && errors.Is(err, eventstore.ErrUnavailable):
		s.storeFault.Store(&storeFault{at: s.cfg.Now(), requestID: w.Header().Get(RequestIDHeader)})
	case err == nil && wrote:
		s.storeFault.Store(nil)
	}
}

// apiError is an error with its HTTP status and code. Its message is
// written for the client as it is.
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

// clientMessage is the message answered for err: an apiError's own message,
// a read model's error in the client's terms (no Go package prefix), or —
// for store and internal failures, whose text may name files, hosts or
// internals — a generic sentence with the request id under which the
// detail is logged. logged reports whether the detail must go to the log
// at error level (a server fault the answer does not explain).
func clientMessage(err error, status int, requestID string) (msg string, logged bool) {
	var ae *apiError
	var partial *ingest.PartialError
	switch {
	case errors.As(err, &ae):
		return ae.msg, false
	case errors.Is(err, projections.ErrNotFound):
		return notFoundMessage(err), false
	case errors.Is(err, projections.ErrFuture), errors.Is(err, projections.ErrBehind):
		return strings.TrimPrefix(err.Error(), "projections: "), false
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("the request was canceled or timed out before it completed; retry (request id %s)", requestID), false
	case errors.As(err, &partial):
		return fmt.Sprintf("the event store failed after storing the events at indexes %v of the request; the later events were not written; "+
			"retry the whole request later: the stored events come back as duplicates (details in the server log, request id %s)", partial.Stored, requestID), true
	case errors.Is(err, eventstore.ErrUnavailable), errors.Is(err, eventstore.ErrClosed):
		return fmt.Sprintf("the event store could not complete the request; nothing was written; retry later (details in the server log, request id %s)", requestID), true
	case status < http.StatusInternalServerError:
		return strings.ToLower(http.StatusText(status)), false
	default:
		return fmt.Sprintf("internal error; see the server log (request id %s)", requestID), true
	}
}

// notFoundMessage turns projections' "projections: not found: account "x""
// into "account "x" not found" (and keeps a reason such as "did not exist
// at …" as it is).
func notFoundMessage(err error) string {
	detail, ok := strings.CutPrefix(err.Error(), projections.ErrNotFound.Error()+": ")
	switch {
	case !ok || detail == "":
		return "not found"
	case strings.Contains(detail, " not ") || strings.Contains(detail, " did not "):
		return detail
	default:
		return detail + " not found"
	}
}

// writeError writes err in the error shape with its status. The detail of
// an error whose message is not answered (see clientMessage) goes to the
// request's log line at error level.
func writeError(w http.ResponseWriter, err error) {
	status, code := statusFor(err)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	msg, logged := clientMessage(err, status, w.Header().Get(RequestIDHeader))
	if logged {
		noteError(w, err)
	}
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// writeJSON writes v as JSON with status. v is encoded before anything is
// written, so a value that cannot be encoded (a NaN or an infinity) is
// answered as a logged 500, never as a success with an empty body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		noteError(w, fmt.Errorf("api: encode the answer: %w", err))
		status = http.StatusInternalServerError
		buf.Reset()
		msg, _ := json.Marshal(fmt.Sprintf("the answer could not be encoded; see the server log (request id %s)", w.Header().Get(RequestIDHeader)))
		fmt.Fprintf(&buf, `{"error":{"code":"internal","message":%s}}`+"\n", msg)
		w.Header().Del(PositionHeader)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // the client may be gone; nothing to do about it
}
