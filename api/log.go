package api

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/vitals-hq/vitals/internal/httprec"
)

// RequestIDHeader carries the request id (taken from the request when the
// client sent one, generated otherwise).
const RequestIDHeader = "X-Request-Id"

// statusRecorder remembers the status and size of an answer, and the
// error behind it when its detail is logged rather than answered.
type statusRecorder struct {
	httprec.Recorder
	err error
}

// noteError records err for the request's log line (at error level). It
// reaches the statusRecorder through writers that wrap it; without one it
// does nothing.
func noteError(w http.ResponseWriter, err error) {
	for {
		switch x := w.(type) {
		case *statusRecorder:
			x.err = err
			return
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return
		}
	}
}

// logRequests writes one log line per request with its id, status and
// duration. Health probes are logged at debug level only; a request whose
// answer hides an error's detail (see writeError) is logged at error level
// with it.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(RequestIDHeader)
		if id == "" || len(id) > 100 {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		rec := &statusRecorder{Recorder: httprec.Recorder{ResponseWriter: w}}
		next.ServeHTTP(rec, r)
		ev := s.cfg.Logger.Info()
		if r.URL.Path == "/livez" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics" {
			ev = s.cfg.Logger.Debug()
		}
		if rec.err != nil {
			ev = s.cfg.Logger.Error().Err(rec.err)
		}
		ev.Str("req_id", id).Str("method", r.Method).Str("path", r.URL.Path).
			Int("status", rec.Status).Int("bytes", rec.Bytes).
			Float64("duration_seconds", time.Since(start).Seconds()).
			Msg("request")
	})
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
