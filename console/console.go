package console

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/auth"
	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/projections"
	"github.com/vitals-hq/vitals/scoring"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// StaticPrefix is where the console's assets (CSS, the optional script)
// are served.
const StaticPrefix = "/console/static/"

// Paths of the sign-in form and of sign-out.
const (
	SignInPath  = "/console/sign-in"
	SignOutPath = "/console/sign-out"
)

// DefaultSessionTTL is how long a session lasts after sign-in.
const DefaultSessionTTL = 12 * time.Hour

// Config wires a Console.
type Config struct {
	// Projector answers every number the pages show (required).
	Projector *projections.Projector
	// Store holds the events of the activity feeds (required).
	Store eventstore.Store
	// Keys, when enforced, requires a signed-in session with the read
	// scope on every page. Nil or never enforced: the console is open.
	Keys *auth.Keyring
	// Bands are the score bands the record page's chart draws (default
	// scoring.DefaultConfig().ScoreBands); pass the scorer's Bands().
	Bands *scoring.ScoreBands
	// Now is the clock (time.Now when nil); it must be the projector's.
	Now func() time.Time
	// SessionTTL is a session's lifetime (default DefaultSessionTTL).
	SessionTTL time.Duration
	// SecureCookies marks the session cookie Secure even on plain HTTP
	// (behind a TLS-terminating proxy). Under TLS it is always Secure.
	SecureCookies bool
	Logger        zerolog.Logger
}

// Console is the web console's http.Handler.
type Console struct {
	cfg      Config
	bands    scoring.ScoreBands
	pages    map[string]*template.Template
	mux      *http.ServeMux
	sessions *sessions
	sparks   sparkCache
	failures failures
}

// New returns a Console for cfg.
func New(cfg Config) (*Console, error) {
	if cfg.Projector == nil || cfg.Store == nil {
		return nil, errors.New("console: Config.Projector and Config.Store are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	c := &Console{cfg: cfg, bands: scoring.DefaultConfig().ScoreBands, mux: http.NewServeMux(), sessions: newSessions()}
	if cfg.Bands != nil {
		c.bands = *cfg.Bands
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	c.pages = pages
	c.routes()
	return c, nil
}

// routes registers the pages, the assets and the sign-in routes.
func (c *Console) routes() {
	c.mux.Handle("GET /{$}", c.page(c.dashboard))
	c.mux.Handle("GET /accounts", c.page(c.accounts))
	c.mux.Handle("GET /accounts/{id}", c.page(c.account))
	c.mux.Handle("GET /at-risk", c.page(c.atRisk))
	c.mux.Handle("GET /upsell", c.page(c.upsell))
	c.mux.Handle("GET /managers", c.page(c.managers))
	c.mux.Handle("GET /managers/{id}", c.page(c.manager))
	static, _ := fs.Sub(staticFS, "static") // the directory is embedded: no error
	c.mux.Handle("GET "+StaticPrefix, http.StripPrefix(StaticPrefix, assets(http.FileServerFS(static))))
	c.mux.HandleFunc("GET "+SignInPath, c.signInForm)
	c.mux.HandleFunc("POST "+SignInPath, c.signIn)
	c.mux.HandleFunc("POST "+SignOutPath, c.signOut)
}

// ServeHTTP implements http.Handler: the security headers, then the route.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header())
	c.mux.ServeHTTP(w, r)
}

// CSP is the Content-Security-Policy of every console answer: scripts,
// styles and images from the console itself only (no inline script or
// style), forms posted to it only, and no framing.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// securityHeaders sets the headers every console answer carries.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
}

// assets serves the static files with a short cache lifetime.
func assets(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		next.ServeHTTP(w, r)
	})
}

// pageFunc builds a page's data for a request as of at (zero: now); it
// returns the template's name and its data.
type pageFunc func(r *http.Request, at instant) (string, any, error)

// page wraps a pageFunc: the session check, ?at=, rendering and errors.
func (c *Console) page(fn pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !c.authorized(r) {
			http.Redirect(w, r, SignInPath+"?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		at, err := c.parseAt(r.URL.Query().Get("at"))
		if err != nil {
			c.renderError(w, r, http.StatusBadRequest, err.Error())
			return
		}
		name, data, err := fn(r, at)
		if err != nil {
			c.renderFailure(w, r, err)
			return
		}
		c.render(w, r, http.StatusOK, name, data)
	})
}

// instant is the instant a page shows: At (the zero time for now) and how
// it was asked for.
type instant struct {
	At time.Time
	// Now is the instant shown when At is zero.
	Now time.Time
	// Param is the ?at= value to carry in links ("" for now); Date is the
	// date picker's value.
	Param, Date string
}

// Past reports whether the page shows an instant before now.
func (i instant) Past() bool { return !i.At.IsZero() }

// Shown is the instant shown.
func (i instant) Shown() time.Time {
	if i.At.IsZero() {
		return i.Now
	}
	return i.At
}

// parseAt reads ?at=: empty for now, a date (the date picker's
// YYYY-MM-DD, meaning the end of that UTC day, or now when that is later
// than now), or an RFC 3339 instant. An instant after now is an error.
func (c *Console) parseAt(v string) (instant, error) {
	now := c.cfg.Now().UTC()
	if v == "" {
		return instant{Now: now, Date: now.Format(time.DateOnly)}, nil
	}
	var t time.Time
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		t = d.Add(24*time.Hour - time.Second)
		if !t.Before(now) && !d.After(now) { // today
			return instant{Now: now, Date: now.Format(time.DateOnly)}, nil
		}
	} else if t, err = domain.ParseInstant(v); err != nil {
		return instant{}, fmt.Errorf("at: must be a date (YYYY-MM-DD) or an RFC 3339 instant: %v", err)
	}
	if t.After(now) {
		return instant{}, fmt.Errorf("at: %s is after now (%s)", t.UTC().Format(time.RFC3339), now.Format(time.RFC3339))
	}
	return instant{At: t.UTC(), Now: now, Param: v, Date: t.UTC().Format(time.DateOnly)}, nil
}

// renderFailure answers a projections error: not found, a future instant,
// or a server fault (logged, not shown).
func (c *Console) renderFailure(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, projections.ErrNotFound):
		c.renderError(w, r, http.StatusNotFound, strings.TrimPrefix(err.Error(), "projections: "))
	case errors.Is(err, projections.ErrFuture):
		c.renderError(w, r, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "projections: "))
	case errors.Is(err, errBadParam):
		c.renderError(w, r, http.StatusBadRequest, err.Error())
	default:
		c.cfg.Logger.Error().Err(err).Str("path", r.URL.Path).Msg("console: page failed")
		c.renderError(w, r, http.StatusInternalServerError, "the page could not be built; see the server log")
	}
}

// errBadParam marks a bad query parameter.
var errBadParam = errors.New("bad parameter")

// badParam is a bad-parameter error naming the parameter.
func badParam(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadParam, fmt.Sprintf(format, args...))
}

// errorPage is the data of the error page.
type errorPage struct {
	Status  int
	Title   string
	Message string
}

// renderError answers status with a page saying msg.
func (c *Console) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	c.render(w, r, status, "error", errorPage{Status: status, Title: http.StatusText(status), Message: msg})
}

// frame is what the layout needs besides the page's data.
type frame struct {
	Page    string
	At      instant
	Path    string
	Query   string
	SignOut bool
	Data    any
}

// render executes the page template name into a buffer, then writes it:
// a template error is a logged 500, never half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	t := c.pages[name]
	at, _ := c.parseAt(r.URL.Query().Get("at"))
	f := frame{Page: name, At: at, Path: r.URL.Path, SignOut: c.enforced() && c.authorized(r), Data: data}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", f); err != nil {
		c.cfg.Logger.Error().Err(err).Str("page", name).Msg("console: render")
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("<!doctype html><title>Error</title><p>The page could not be rendered; see the server log.</p>")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
