package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// contract is api/openapi.yaml loaded and validated with kin-openapi: it
// checks real requests and answers against the document.
type contract struct {
	doc    *openapi3.T
	router routers.Router

	mu   sync.Mutex
	seen map[string]bool // "GET /v1/portfolio 200": answers validated
}

// loadContract loads and validates the OpenAPI document from data (YAML
// or JSON).
func loadContract(data []byte) (*contract, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		return nil, fmt.Errorf("document is OpenAPI %s, want 3.1", doc.OpenAPI)
	}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	return &contract{doc: doc, router: r, seen: map[string]bool{}}, nil
}

// theContract is openapi.yaml, loaded once for the test binary.
var theContract = sync.OnceValues(func() (*contract, error) {
	data, err := os.ReadFile("openapi.yaml")
	if err != nil {
		return nil, err
	}
	return loadContract(data)
})

func mustContract(t *testing.T) *contract {
	t.Helper()
	c, err := theContract()
	if err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	return c
}

// exchange is one request and its answer as they crossed the server.
type exchange struct {
	method, target string // target: path and query, as received
	reqHeader      http.Header
	reqBody        []byte
	status         int
	header         http.Header // as written with the status
	body           []byte
}

// check validates x against the document. registered tells whether the
// request matches a route the server registered (the mux decides); an
// unmatched request must be answered in the error shape (404, 405 with
// Allow, or an authentication answer given before routing).
func (c *contract) check(x exchange, registered bool) error {
	req, err := http.NewRequest(x.method, x.target, bytes.NewReader(x.reqBody))
	if err != nil {
		return err
	}
	req.Header = x.reqHeader.Clone()
	if !registered {
		return c.checkUnmatched(x)
	}
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		return fmt.Errorf("a registered route is not in the document: %w", err)
	}
	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            true,
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	if x.status == http.StatusOK {
		// What the server accepts, the document must allow.
		if err := c.checkRequest(in, x); err != nil {
			return fmt.Errorf("request accepted by the server but not allowed by the document: %w", err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: x.status, Header: x.header, Options: opts}
	out.SetBodyBytes(x.body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return err
	}
	c.note(route.Method + " " + route.Path + " " + fmt.Sprint(x.status))
	return nil
}

// checkRequest validates the request of x, its body decompressed when it
// was sent with gzip.
func (c *contract) checkRequest(in *openapi3filter.RequestValidationInput, x exchange) error {
	body := x.reqBody
	if enc := strings.ToLower(strings.Join(x.reqHeader.Values("Content-Encoding"), ",")); strings.Contains(enc, "gzip") {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return err
		}
		if body, err = io.ReadAll(zr); err != nil {
			return err
		}
	}
	in.Request.Body = io.NopCloser(bytes.NewReader(body))
	in.Request.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	in.Request.ContentLength = int64(len(body))
	return openapi3filter.ValidateRequest(context.Background(), in)
}

// checkUnmatched validates the answer to a request no route matches.
func (c *contract) checkUnmatched(x exchange) error {
	switch x.status {
	case http.StatusNotFound, http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
	case http.StatusMethodNotAllowed:
		if x.header.Get("Allow") == "" {
			return errors.New("405 without Allow")
		}
	default:
		return fmt.Errorf("status %d for a request no route matches, want 404 or 405", x.status)
	}
	if x.method == http.MethodHead {
		return nil
	}
	if err := c.validateSchema("Error", x.header, x.body); err != nil {
		return err
	}
	c.note(fmt.Sprint("unmatched ", x.status))
	return nil
}

// validateSchema validates a JSON body against a component schema.
func (c *contract) validateSchema(name string, header http.Header, body []byte) error {
	if ct := header.Get("Content-Type"); ct != "application/json" {
		return fmt.Errorf("Content-Type %q, want application/json", ct)
	}
	ref := c.doc.Components.Schemas[name]
	if ref == nil {
		return fmt.Errorf("no schema %s", name)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("body %q: %w", body, err)
	}
	return ref.Value.VisitJSON(v, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors())
}

func (c *contract) note(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen[key] = true
}

// validated reports whether an answer with key ("GET /v1/portfolio 200")
// was validated.
func (c *contract) validated(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[key]
}

// validating wraps h so that every request it serves and every answer is
// checked against the document; a mismatch fails t. When h can list its
// routes (an *api.Server), requests are matched against those, so a route
// the document lists but this server lacks (no projector, no metrics) is
// expected to answer 404.
func validating(t *testing.T, h http.Handler) http.Handler {
	t.Helper()
	c := mustContract(t)
	var mux *http.ServeMux
	if rs, ok := h.(interface{ Routes() []string }); ok {
		mux = http.NewServeMux()
		for _, p := range rs.Routes() {
			mux.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := exchange{method: r.Method, target: r.URL.RequestURI(), reqHeader: r.Header.Clone()}
		registered := true
		if mux != nil {
			_, pattern := mux.Handler(r)
			registered = pattern != ""
		}
		var reqBody bytes.Buffer
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.TeeReader(r.Body, &reqBody), r.Body}
		rec := &teeWriter{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		x.reqBody, x.status, x.header, x.body = reqBody.Bytes(), rec.status, rec.header, rec.body.Bytes()
		if x.status == 0 {
			x.status, x.header = http.StatusOK, w.Header().Clone()
		}
		if err := c.check(x, registered); err != nil {
			t.Errorf("%s %s → %d does not match openapi.yaml: %.3000s\nbody: %.400s", x.method, x.target, x.status, err.Error(), x.body)
		}
	})
}

// teeWriter passes an answer through and keeps a copy of it.
type teeWriter struct {
	http.ResponseWriter
	status int
	header http.Header
	body   bytes.Buffer
}

func (w *teeWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status, w.header = status, w.ResponseWriter.Header().Clone()
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *teeWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *teeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// documentedRoutes lists the document's operations as mux patterns
// ("GET /v1/accounts/{id}"; the root as "GET /{$}").
func (c *contract) documentedRoutes() []string {
	var out []string
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			p := path
			if p == "/" {
				p = "/{$}"
			}
			out = append(out, method+" "+p)
		}
	}
	slices.Sort(out)
	return out
}
