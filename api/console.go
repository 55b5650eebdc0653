package api

import (
	"net/http"
	"strings"
)

// ConsoleRoutes are the routes of the web console (package console), which
// the server hands to Config.Console when it is set. They answer HTML, not
// JSON: they are not part of the JSON API, openapi.yaml does not describe
// them, and the authenticate middleware lets them through to the console's
// own session check (see RequiredScope). GET / is shared: browsers asking
// for text/html get the console's dashboard, other clients the index.
var ConsoleRoutes = []string{
	"GET /accounts",
	"GET /accounts/{id}",
	"GET /at-risk",
	"GET /upsell",
	"GET /managers",
	"GET /managers/{id}",
	"GET /console/",
	"POST /console/",
}

// consoleRoutes registers ConsoleRoutes when the console is configured.
func (s *Server) consoleRoutes() {
	if s.cfg.Console == nil {
		return
	}
	for _, p := range ConsoleRoutes {
		s.mux.Handle(p, s.cfg.Console)
	}
}

// isConsolePath reports whether path is one of the console's (see
// ConsoleRoutes); the API's own paths are all under /v1/ or named in
// isPublicPath, so none is mistaken for one.
func isConsolePath(path string) bool {
	switch path {
	case "/accounts", "/at-risk", "/upsell", "/managers":
		return true
	}
	for _, prefix := range []string{"/accounts/", "/managers/"} {
		if rest, ok := strings.CutPrefix(path, prefix); ok && rest != "" && !strings.Contains(rest, "/") {
			return true
		}
	}
	return strings.HasPrefix(path, "/console/")
}

// wantsHTML reports whether the request comes from a browser asking for a
// page: its Accept header names text/html.
func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}
