package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"gopkg.in/yaml.v3"
)

// openAPIYAML is the OpenAPI 3.1 description of the API, api/openapi.yaml.
// The server answers it as JSON at GET /openapi.json.
//
//go:embed openapi.yaml
var openAPIYAML []byte

// OpenAPIPath is where the server answers its OpenAPI document.
const OpenAPIPath = "/openapi.json"

// router is the server's ServeMux. It remembers every pattern registered
// on it (Routes, the OpenAPI route test), and answers a request that no
// pattern matches in the error shape: 405 with Allow when the path exists
// with other methods, 404 otherwise.
type router struct {
	*http.ServeMux
	patterns []string
}

func newRouter() *router { return &router{ServeMux: http.NewServeMux()} }

// Handle registers h for pattern.
func (m *router) Handle(pattern string, h http.Handler) {
	m.ServeMux.Handle(pattern, h)
	m.patterns = append(m.patterns, pattern)
}

// HandleFunc registers h for pattern.
func (m *router) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(h))
}

// ServeHTTP dispatches r to its pattern's handler. The same *http.Request
// reaches the ServeMux, so its Pattern is seen by middleware outside.
func (m *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, pattern := m.ServeMux.Handler(r); pattern == "" {
		unmatched(w, r, h)
		return
	}
	m.ServeMux.ServeHTTP(w, r)
}

// unmatched answers a request no pattern matches, given the handler the
// ServeMux chose for it. That handler decides between 404 and 405 (and
// computes Allow); its plain-text answer is replaced by the error shape.
func unmatched(w http.ResponseWriter, r *http.Request, h http.Handler) {
	probe := &headerProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		allow := probe.header.Get("Allow")
		w.Header().Set("Allow", allow)
		writeError(w, &apiError{status: http.StatusMethodNotAllowed, code: "method_not_allowed",
			msg: fmt.Sprintf("%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, allow)})
		return
	}
	writeError(w, &apiError{status: http.StatusNotFound, code: "not_found",
		msg: fmt.Sprintf("no route for %s %s; the routes are listed at %s", r.Method, r.URL.Path, OpenAPIPath)})
}

// headerProbe is a ResponseWriter that keeps the status and headers of an
// answer and drops its body.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header { return p.header }

func (p *headerProbe) WriteHeader(status int) {
	if p.status == 0 {
		p.status = status
	}
}

func (p *headerProbe) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return len(b), nil
}

// Routes returns the patterns registered on the server's mux, in the order
// they were registered (e.g. "GET /v1/accounts/{id}").
func (s *Server) Routes() []string { return slices.Clone(s.mux.patterns) }

// openAPIJSON converts the OpenAPI document from YAML to JSON. Mapping
// keys must be strings (quote response codes: '200').
func openAPIJSON(src []byte) ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("api: openapi.yaml: %w", err)
	}
	if err := checkKeys(doc, ""); err != nil {
		return nil, fmt.Errorf("api: openapi.yaml: %w", err)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("api: openapi.yaml to JSON: %w", err)
	}
	return out, nil
}

// checkKeys reports a mapping under path whose keys are not all strings
// (yaml.v3 decodes such a mapping as map[any]any, which JSON cannot hold).
func checkKeys(v any, path string) error {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if err := checkKeys(e, path+"/"+k); err != nil {
				return err
			}
		}
	case map[any]any:
		for k := range x {
			if _, ok := k.(string); !ok {
				return fmt.Errorf("%s: key %v is not a string; quote it", path, k)
			}
		}
	case []any:
		for i, e := range x {
			if err := checkKeys(e, fmt.Sprintf("%s/%d", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// openAPI answers the OpenAPI document.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(s.openapi)
}

// Link is one entry of the index answered at GET /.
type Link struct {
	Rel   string `json:"rel"`
	Href  string `json:"href"`
	Title string `json:"title"`
}

// Index is the answer to GET /: what this server is and where to go.
type Index struct {
	Service string `json:"service"`
	Links   []Link `json:"links"`
}

// indexLinks are the entries of the index, each listed when its route is
// registered (the query routes need a projector, /metrics a registry).
var indexLinks = []Link{
	{"describedby", OpenAPIPath, "OpenAPI 3.1 description of every route, parameter, answer and error"},
	{"portfolio", "/v1/portfolio", "the agency at a glance"},
	{"at-risk", "/v1/at-risk", "active accounts at risk, with their reasons, MRR descending"},
	{"upsell", "/v1/upsell", "green accounts with an open opportunity signal"},
	{"accounts", "/v1/accounts", "accounts by id, paged; filters status, tier, band, manager"},
	{"managers", "/v1/managers", "account managers' load vs capacity"},
	{"metrics", "/metrics", "Prometheus metrics"},
	{"livez", "/livez", "liveness probe"},
	{"readyz", "/readyz", "readiness probe"},
}

// index answers GET / with links to the document and the main routes; a
// browser (Accept: text/html) gets the console's dashboard instead when
// the console is configured.
func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Console != nil && wantsHTML(r) {
		w.Header().Add("Vary", "Accept")
		s.cfg.Console.ServeHTTP(w, r)
		return
	}
	links := make([]Link, 0, len(indexLinks))
	for _, l := range indexLinks {
		if slices.Contains(s.mux.patterns, "GET "+l.Href) {
			links = append(links, l)
		}
	}
	if s.cfg.Console != nil {
		w.Header().Add("Vary", "Accept")
	}
	writeJSON(w, http.StatusOK, Index{Service: "vitals", Links: links})
}

// isPublicPath reports whether path is answered without an API key: the
// health probes, the index and the OpenAPI document.
func isPublicPath(path string) bool {
	switch path {
	case "/livez", "/readyz", "/", OpenAPIPath:
		return true
	}
	return false
}
