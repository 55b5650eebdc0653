package console

import (
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/scoring"
)

// pageNames are the page templates; each is parsed with layout.html.
var pageNames = []string{"dashboard", "accounts", "account", "list", "managers", "manager", "signin", "error"}

// parsePages parses every page with the layout and the functions.
func parsePages() (map[string]*template.Template, error) {
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// funcs are the templates' formatting helpers.
var funcs = template.FuncMap{
	"money":     money,
	"num":       num,
	"pct":       pct,
	"delta":     delta,
	"date":      func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
	"datetime":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"rfc3339":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"bandClass": bandClass,
	"bandMark":  bandMark,
	"reason":    func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	"href":      href,
	"path":      func(prefix, id string) string { return prefix + url.PathEscape(id) },
	"add":       func(a, b int) int { return a + b },
	"dict":      dict,
	"cents":     func(c int64) domain.Money { return domain.Money(c) },
	"ratio":     func(x float64) string { return strconv.FormatFloat(x*100, 'f', 0, 64) + " %" },
	"float":     func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) },
}

// money formats an amount with thousands separators ("12,500.50").
func money(m domain.Money) string {
	s := m.String()
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, ch := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	out := b.String()
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "−" + out
	}
	return out
}

// num formats a computed number as the JSON API writes it: rounded to 4
// decimals ("—" when missing).
func num(x *float64) string {
	if x == nil {
		return "—"
	}
	return strconv.FormatFloat(scoring.Round4(*x), 'f', -1, 64)
}

// pct formats a ratio as a percentage with one decimal ("—" when missing).
func pct(x *float64) string {
	if x == nil {
		return "—"
	}
	return strconv.FormatFloat(*x*100, 'f', 1, 64) + " %"
}

// delta formats a change with its sign ("—" when missing).
func delta(x *float64) string {
	switch {
	case x == nil:
		return "—"
	case *x > 0:
		return "+" + strconv.FormatFloat(*x, 'f', -1, 64)
	case *x < 0:
		return "−" + strconv.FormatFloat(-*x, 'f', -1, 64)
	}
	return "0"
}

// bandMark is a band's shape, shown next to its name: the band is never
// told by colour alone.
func bandMark(b scoring.Band) string {
	switch b {
	case scoring.BandGreen:
		return "●"
	case scoring.BandYellow:
		return "▲"
	case scoring.BandRed:
		return "■"
	}
	return "○"
}

// href is path with the page's ?at= and the given key/value pairs (empty
// values left out).
func href(path string, at instant, kv ...string) string {
	q := url.Values{}
	if at.Param != "" {
		q.Set("at", at.Param)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// dict builds a map from key/value pairs, to pass several values to a
// shared template.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}
