package api

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vitals-hq/vitals/auth"
)

// RequiredScope is the scope a request needs: none for the health probes,
// ingest to post events, admin under /v1/admin/, read for the other
// queries and /metrics, admin for anything else.
func RequiredScope(r *http.Request) auth.Scope {
	p := r.URL.Path
	switch {
	case p == "/livez" || p == "/readyz":
		return ""
	case r.Method == http.MethodPost && p == "/v1/events":
		return auth.ScopeIngest
	case strings.HasPrefix(p, "/v1/admin/"):
		return auth.ScopeAdmin
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && (strings.HasPrefix(p, "/v1/") || p == "/metrics"):
		return auth.ScopeRead
	default:
		return auth.ScopeAdmin
	}
}

// authenticate checks the Bearer token against the keyring (when there is
// one) and the route's scope, then rate-limits by identity.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scope := RequiredScope(r)
		// id is who the request is, for rate limiting: the key's name, or
		// the client address when there are no keys.
		id := "addr:" + clientAddr(r)
		if s.cfg.Keys != nil && scope != "" {
			token, ok := bearer(r)
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="vitals"`)
				writeError(w, &apiError{status: http.StatusUnauthorized, code: "unauthorized",
					msg: "missing API key: send Authorization: Bearer <key> (create one with vitals keys add)"})
				return
			}
			key, ok := s.cfg.Keys.Authenticate(token)
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="vitals", error="invalid_token"`)
				writeError(w, &apiError{status: http.StatusUnauthorized, code: "unauthorized", msg: "unknown API key"})
				return
			}
			if !key.Allows(scope) {
				writeError(w, &apiError{status: http.StatusForbidden, code: "forbidden",
					msg: fmt.Sprintf("key %q lacks the %s scope this request needs", key.Name, scope)})
				return
			}
			id = "key:" + key.Name
		}
		if scope != "" && s.limiter != nil {
			if wait, ok := s.limiter.allow(id, time.Now()); !ok {
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
				writeError(w, &apiError{status: http.StatusTooManyRequests, code: "rate_limited",
					msg: fmt.Sprintf("rate limit of %g requests/s exceeded; retry after %s", s.cfg.RateLimit, wait.Round(time.Millisecond))})
				return
			}
		}
		// The same *http.Request goes on, so the mux's Pattern reaches the
		// metrics middleware outside.
		next.ServeHTTP(w, r)
	})
}

// bearer extracts a Bearer token.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	tok := strings.TrimSpace(h[len(prefix):])
	return tok, tok != ""
}

// clientAddr is the request's remote host (without the port).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limiter is a token bucket per identity: rate tokens per second, up to
// burst.
type limiter struct {
	rate  float64
	burst float64

	mu      sync.Mutex
	buckets map[string]*bucket
	sweep   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	if rate <= 0 {
		return nil
	}
	return &limiter{rate: rate, burst: float64(max(burst, 1)), buckets: make(map[string]*bucket)}
}

// allow takes a token for id; when there is none it returns how long until
// there will be.
func (l *limiter) allow(id string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.sweep) > time.Minute {
		// Forget buckets that have refilled: they are the same as new ones.
		for k, b := range l.buckets {
			if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
				delete(l.buckets, k)
			}
		}
		l.sweep = now
	}
	b := l.buckets[id]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[id] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) / l.rate * float64(time.Second)), false
}

// acquireIngest takes a slot of the concurrent-ingest cap, waiting up to
// IngestQueueWait; false means the server is saturated.
func (s *Server) acquireIngest(ctx context.Context) bool {
	select {
	case s.ingestSlots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(s.cfg.IngestQueueWait)
	defer t.Stop()
	select {
	case s.ingestSlots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func (s *Server) releaseIngest() { <-s.ingestSlots }

// Drain marks the server as shutting down: /readyz answers 503 so that
// load balancers stop sending traffic, while requests still complete.
func (s *Server) Drain() { s.draining.Store(true) }

// AuthEnabled reports whether requests need an API key.
func (s *Server) AuthEnabled() bool { return s.cfg.Keys != nil }
