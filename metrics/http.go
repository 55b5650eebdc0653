package metrics

import (
	"net/http"
	"sync"
	"time"

	"github.com/vitals-hq/vitals/internal/httprec"
)

// MaxRoutes bounds the distinct route label values of
// vitals_http_request_duration_seconds; later new patterns are reported as
// "other".
const MaxRoutes = 100

// unmatchedRoute is the route label of requests no ServeMux pattern
// matched (including 405 answers).
const unmatchedRoute = "unmatched"

// InstrumentHTTP returns next timed by vitals_http_request_duration_seconds.
// The route label is the http.ServeMux pattern that served the request
// (Request.Pattern, e.g. "GET /v1/accounts/{id}/health"): next must be, or
// wrap, a ServeMux that receives the same *http.Request. Patterns are
// fixed in code, so the label is bounded; the code label is the status
// class (2xx, 3xx, 4xx, 5xx).
func (m *Metrics) InstrumentHTTP(next http.Handler) http.Handler {
	seen := newRouteSet(MaxRoutes)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := httprec.New(w)
		defer func() {
			route := r.Pattern
			if route == "" {
				route = unmatchedRoute
			}
			m.httpDur.WithLabelValues(seen.label(route), codeClass(rec.Status)).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(rec, r)
	})
}

// codeClass maps a status code to its class; 0 (nothing written) is 200.
func codeClass(code int) string {
	switch {
	case code == 0:
		return "2xx"
	case code < 200:
		return "1xx"
	case code < 300:
		return "2xx"
	case code < 400:
		return "3xx"
	case code < 500:
		return "4xx"
	default:
		return "5xx"
	}
}

// routeSet admits up to max distinct route labels; later new ones become
// "other", so a handler that sets unusual patterns cannot grow the series
// without bound.
type routeSet struct {
	mu   sync.Mutex
	max  int
	seen map[string]bool
}

func newRouteSet(max int) *routeSet { return &routeSet{max: max, seen: make(map[string]bool)} }

func (s *routeSet) label(route string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[route] {
		return route
	}
	if len(s.seen) >= s.max {
		return "other"
	}
	s.seen[route] = true
	return route
}
