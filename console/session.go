package console

import (
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/vitals-hq/vitals/auth"
)

// CookieName is the session cookie's name.
const CookieName = "vitals_session"

// session is a signed-in browser: the key it signed in with (by its hash,
// never the token) and when it expires.
type session struct {
	keyName string
	keyHash string
	expires time.Time
}

// sessions is the server-side session table, safe for concurrent use.
type sessions struct {
	mu   sync.Mutex
	byID map[string]session
}

func newSessions() *sessions { return &sessions{byID: make(map[string]session)} }

// create stores a new session and returns its random id (256 bits).
func (s *sessions) create(k auth.Key, expires, now time.Time) string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	id := base64.RawURLEncoding.EncodeToString(b[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	for sid, old := range s.byID { // forget expired sessions
		if !now.Before(old.expires) {
			delete(s.byID, sid)
		}
	}
	s.byID[id] = session{keyName: k.Name, keyHash: k.SHA256, expires: expires}
	return id
}

// get returns the session id, if it exists and has not expired.
func (s *sessions) get(id string, now time.Time) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.byID[id]
	if ok && !now.Before(ss.expires) {
		delete(s.byID, id)
		return session{}, false
	}
	return ss, ok
}

// end forgets session id.
func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// enforced reports whether the console needs a session.
func (c *Console) enforced() bool { return c.cfg.Keys != nil && c.cfg.Keys.Enforced() }

// authorized reports whether r may see the pages: the keyring is not
// enforced, or r carries a live session whose key is still in the keyring
// with the read scope (so removing a key, or its read scope, ends its
// sessions at once).
func (c *Console) authorized(r *http.Request) bool {
	if !c.enforced() {
		return true
	}
	ck, err := r.Cookie(CookieName)
	if err != nil {
		return false
	}
	ss, ok := c.sessions.get(ck.Value, c.cfg.Now())
	if !ok {
		return false
	}
	for _, k := range c.cfg.Keys.Keys() {
		if k.Name == ss.keyName && k.SHA256 == ss.keyHash {
			return k.Allows(auth.ScopeRead)
		}
	}
	c.sessions.end(ck.Value)
	return false
}

// signInPage is the data of the sign-in form.
type signInPage struct {
	Next    string
	Message string
	Open    bool // no keys configured: nothing to sign in to
}

// signInForm answers the sign-in form.
func (c *Console) signInForm(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "signin", signInPage{Next: safeNext(r.URL.Query().Get("next")), Open: !c.enforced()})
}

// signIn exchanges a key with the read scope for a session and redirects
// to the page asked for; a wrong key gets the form again with 401.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		c.renderError(w, r, http.StatusForbidden, "sign-in must be posted from this server's own form")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		c.renderError(w, r, http.StatusBadRequest, "the form could not be read")
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	if !c.enforced() {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	addr := clientAddr(r)
	if c.failures.blocked(addr, c.cfg.Now()) {
		w.Header().Set("Retry-After", "60")
		c.render(w, r, http.StatusTooManyRequests, "signin", signInPage{Next: next, Message: "Too many failed sign-ins from this address; wait a minute."})
		return
	}
	key, ok := c.cfg.Keys.Authenticate(strings.TrimSpace(r.PostForm.Get("key")))
	switch {
	case !ok:
		c.failures.fail(addr, c.cfg.Now())
		c.render(w, r, http.StatusUnauthorized, "signin", signInPage{Next: next, Message: "Unknown key."})
		return
	case !key.Allows(auth.ScopeRead):
		c.render(w, r, http.StatusForbidden, "signin", signInPage{Next: next, Message: "This key lacks the read scope."})
		return
	}
	now := c.cfg.Now()
	expires := now.Add(c.cfg.SessionTTL)
	id := c.sessions.create(key, expires, now)
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: id, Path: "/", Expires: expires, MaxAge: int(c.cfg.SessionTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil || c.cfg.SecureCookies})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signOut ends the session and clears the cookie.
func (c *Console) signOut(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		c.renderError(w, r, http.StatusForbidden, "sign-out must be posted from this server's own pages")
		return
	}
	if ck, err := r.Cookie(CookieName); err == nil {
		c.sessions.end(ck.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil || c.cfg.SecureCookies})
	http.Redirect(w, r, SignInPath, http.StatusSeeOther)
}

// sameOrigin reports whether a POST comes from this server's pages: its
// Origin header, when sent, names this host.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// safeNext is a local path to go to after sign-in: a path on this server
// ("/…", never "//host" or a URL), else "/".
func safeNext(v string) string {
	if !strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//") || strings.HasPrefix(v, "/\\") || strings.ContainsAny(v, "\r\n") {
		return "/"
	}
	return v
}

// MaxSignInFailures is how many failed sign-ins one client address may
// make per minute; past it, the form answers 429 until the minute ends.
const MaxSignInFailures = 10

// failures counts failed sign-ins per client address, per minute.
type failures struct {
	mu     sync.Mutex
	window time.Time // the start of the current minute
	counts map[string]int
}

// roll starts a new minute when now is past the current one; f.mu held.
func (f *failures) roll(now time.Time) {
	if now.Sub(f.window) >= time.Minute || f.counts == nil {
		f.window, f.counts = now, make(map[string]int)
	}
}

// blocked reports whether addr has used up its failures this minute.
func (f *failures) blocked(addr string, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roll(now)
	return f.counts[addr] >= MaxSignInFailures
}

// fail counts a failed sign-in of addr.
func (f *failures) fail(addr string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roll(now)
	f.counts[addr]++
}

// clientAddr is the request's remote host, without the port.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// urlQueryEscape escapes s for a query value.
func urlQueryEscape(s string) string { return url.QueryEscape(s) }
