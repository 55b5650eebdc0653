package notify

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/vitals-hq/vitals/ingest/broker"
)

// Kinds of delivery target.
const (
	KindWebhook = "webhook"
	KindNATS    = "nats"
)

// DefaultNATSSubject is the subject of a nats:// target without a subject
// parameter.
const DefaultNATSSubject = "vitals.notifications"

// Target is one place derived events are delivered to, parsed from a
// --notify URL by ParseTarget.
type Target struct {
	// Name labels the target in metrics, logs and its outbox checkpoint:
	// the URL's name parameter, or else its index. It never holds the URL.
	Name string
	// Kind is KindWebhook or KindNATS.
	Kind string
	// URL is where to deliver, without Vitals' own parameters (name, and
	// subject for NATS). It may hold secrets: log Redacted() only.
	URL *url.URL
	// Subject is the NATS subject events are published on (NATS only).
	Subject string
	// raw is the URL as configured; its fingerprint keys the disabled
	// record, so that a changed URL is a new receiver.
	raw string
}

// Redacted is what logs and errors show of the target's URL: its scheme
// and host only, since user, password, path and query may all hold
// secrets (a token in a query, a key in a chat tool's webhook path).
func (t Target) Redacted() string { return t.URL.Scheme + "://" + t.URL.Host }

// fingerprint is a non-zero number derived from the configured URL.
func (t Target) fingerprint() uint64 {
	sum := sha256.Sum256([]byte(t.raw))
	return binary.BigEndian.Uint64(sum[:8]) | 1
}

// ParseTarget parses one --notify URL; index is its position among the
// configured targets (counting from 0), its name unless the URL has a
// name parameter.
//
//   - http://… and https://… are webhooks: the URL, without the name
//     parameter, receives a POST of each event;
//   - nats://host:port?subject=S publishes each event on the JetStream
//     subject S (default DefaultNATSSubject), which must be literal (no
//     wildcards). User and password in the URL are used to connect.
//
// A name is 1 to 64 letters, digits, '.', '_' or '-'.
func ParseTarget(raw string, index int) (Target, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		// url's errors quote the URL, credentials included.
		return Target{}, fmt.Errorf("notify target %d: not a URL", index)
	}
	t := Target{Name: strconv.Itoa(index), URL: u, raw: strings.TrimSpace(raw)}
	q := u.Query()
	if q.Has("name") {
		t.Name = q.Get("name")
		if !validTargetName(t.Name) {
			return Target{}, fmt.Errorf("notify target %d: name %q: use 1 to 64 letters, digits, '.', '_' or '-'", index, t.Name)
		}
		q.Del("name")
	}
	switch u.Scheme {
	case "http", "https":
		t.Kind = KindWebhook
		if u.Host == "" {
			return Target{}, fmt.Errorf("notify target %s: %s has no host", t.Name, t.Redacted())
		}
	case "nats":
		t.Kind = KindNATS
		if u.Host == "" {
			return Target{}, fmt.Errorf("notify target %s: %s has no host", t.Name, t.Redacted())
		}
		t.Subject = DefaultNATSSubject
		if q.Has("subject") {
			t.Subject = q.Get("subject")
			q.Del("subject")
		}
		if !broker.LiteralSubject(t.Subject) {
			return Target{}, fmt.Errorf("notify target %s: subject %q is not a literal NATS subject", t.Name, t.Subject)
		}
		if len(q) > 0 {
			return Target{}, fmt.Errorf("notify target %s: unknown parameters in %s (nats:// takes subject and name)", t.Name, t.Redacted())
		}
		u.Path = ""
	default:
		return Target{}, fmt.Errorf("notify target %s: scheme %q: use http://, https:// or nats://", t.Name, u.Scheme)
	}
	if t.Kind == KindNATS {
		u.RawQuery = "" // only subject and name, both taken
	} else {
		u.RawQuery = dropParams(u.RawQuery, "name")
	}
	u.Fragment = ""
	return t, nil
}

// dropParams removes the parameters named keys from a raw query, leaving
// the others as they were (order and encoding included).
func dropParams(rawQuery string, keys ...string) string {
	var kept []string
	for _, part := range strings.Split(rawQuery, "&") {
		k, _, _ := strings.Cut(part, "=")
		if k, err := url.QueryUnescape(k); err == nil && slices.Contains(keys, k) || part == "" {
			continue
		}
		kept = append(kept, part)
	}
	return strings.Join(kept, "&")
}

// validTargetName reports whether s is usable as a target's name.
func validTargetName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
