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
// the index (/), the OpenAPI document (/openapi.json) and the console's
// routes (ConsoleRoutes, which check their own sessions), ingest to post
// events, admin under /v1/admin/, read for the other queries and /metrics,
// admin for anything else.
func RequiredScope(r *http.Request) auth.Scope {
	p := r.URL.Path
	switch {
	case isPublicPath(p), isConsolePath(p):
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

// DefaultAuthFailures is the default of Config.AuthFailures: failed
// authentications allowed per client address per minute.
const DefaultAuthFailures = 10

// authenticate checks the Bearer token against the keyring (when it is
// enforced) and the route's scope, then rate-limits by identity. A client
// address with too many failed authentications gets 429 before its key is
// even looked at, so that a guess cannot be confirmed.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scope := RequiredScope(r)
		// id is who the request is, for rate limiting: the key's name, or
		// the client address when there are no keys.
		id := "addr:" + clientAddr(r)
		if s.AuthEnabled() && scope != "" {
			if wait, blocked := s.authFails.blocked(id, time.Now()); blocked {
				tooMany(w, wait, "too many failed authentications from this address")
				return
			}
			key, err := s.checkKey(w, r, scope)
			if err != nil {
				if err.status == http.StatusUnauthorized && s.authFails != nil {
					s.authFails.allow(id, time.Now())
				}
				writeError(w, err)
				return
			}
			id = "key:" + key.Name
		}
		if scope != "" && s.limiter != nil {
			if wait, ok := s.limiter.allow(id, time.Now()); !ok {
				tooMany(w, wait, fmt.Sprintf("rate limit of %g requests/s exceeded", s.cfg.RateLimit))
				return
			}
		}
		// The same *http.Request goes on, so the mux's Pattern reaches the
		// metrics middleware outside.
		next.ServeHTTP(w, r)
	})
}

// checkKey returns the request's key if it is known and carries scope;
// otherwise the 401 (with its WWW-Authenticate challenge set on w) or 403
// to answer.
func (s *Server) checkKey(w http.ResponseWriter, r *http.Request, scope auth.Scope) (auth.Key, *apiError) {
	token, ok := bearer(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vitals"`)
		return auth.Key{}, &apiError{status: http.StatusUnauthorized, code: "unauthorized",
			msg: "missing API key: send Authorization: Bearer <key> (create one with vitals keys add)"}
	}
	key, ok := s.cfg.Keys.Authenticate(token)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vitals", error="invalid_token"`)
		return auth.Key{}, &apiError{status: http.StatusUnauthorized, code: "unauthorized", msg: "unknown API key"}
	}
	if !key.Allows(scope) {
		return auth.Key{}, &apiError{status: http.StatusForbidden, code: "forbidden",
			msg: fmt.Sprintf("key %q lacks the %s scope this request needs", key.Name, scope)}
	}
	return key, nil
}

// tooMany answers 429 with Retry-After (whole seconds, at least 1).
func tooMany(w http.ResponseWriter, wait time.Duration, why string) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
	writeError(w, &apiError{status: http.StatusTooManyRequests, code: "rate_limited",
		msg: fmt.Sprintf("%s; retry after %s", why, wait.Round(time.Millisecond))})
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

// blocked reports whether id has no token left, and how long until it
// will have one, without taking one. A nil limiter blocks nobody.
func (l *limiter) blocked(id string, now time.Time) (time.Duration, bool) {
	if l == nil {
		return 0, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[id]
	if b == nil {
		return 0, false
	}
	tokens := min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	if tokens >= 1 {
		return 0, false
	}
	return time.Duration((1 - tokens) / l.rate * float64(time.Second)), true
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
func (s *Server) AuthEnabled() bool { return s.cfg.Keys != nil && s.cfg.Keys.Enforced() }
