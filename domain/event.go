// Package domain is the Vitals event catalog: the CloudEvents envelope, one
// typed payload per event type, and the validation rules of the product
// contract (docs/events.md). It uses the standard library and the jsontext
// decoder of github.com/go-json-experiment/json only, and knows nothing of
// HTTP, storage or metrics.
//
// # Forms
//
// An Event is written as CloudEvent JSON (MarshalJSON, AppendJSON) or in a
// compact, versioned binary form (MarshalBinary) that the embedded store
// keeps; Decode reads both.
//
// # Parsing
//
// Parse (structured mode), Build (HTTP binary mode) and Decode (stored
// events) return an Event whose Payload is one of the payload structs of
// this package, chosen by the event's Type. Every rejection is a
// *FieldError naming the offending field ("data.score", "subject", "time")
// and saying what is allowed; a body that is not one JSON object has Field
// "event". docs/events.md is the catalog for integrators and matches the
// rules here.
//
// # Referential rules
//
// Whether an account or manager exists depends on the store, so the ingest
// layer checks it with Stream, OpensStream and ManagerRefs.
package domain

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// MaxFutureSkew is how far in the future an event's time may lie.
const MaxFutureSkew = 5 * time.Minute

// Event is a validated CloudEvent with its typed payload.
type Event struct {
	SpecVersion string
	ID          string
	Source      string
	Type        Type
	Subject     string
	Time        time.Time // UTC
	// DataContentType is "" or an application/json media type as received
	// (parameters such as charset=utf-8 are kept).
	DataContentType string
	// Extensions are the CloudEvents extension attributes (names of 1–20
	// characters a–z 0–9), each value the raw JSON string, number or
	// boolean as received; nil when there are none. Vitals keeps and
	// returns them but does not interpret them.
	Extensions map[string]json.RawMessage
	// Data is the data object as received, with insignificant whitespace
	// removed; unknown fields are kept here and ignored by Payload.
	Data json.RawMessage
	// Payload is the typed, validated data: one of the payload structs of
	// this package (AccountOpened, NPSResponded, …), chosen by Type.
	Payload any
}

// FieldError is a validation failure of one field of an event. Field is a
// dotted path such as "data.score", "subject" or "time"; "event" means the
// event as a whole (not valid JSON, not an object).
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// fieldErr builds a *FieldError with a formatted message.
func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Key is the idempotency key of the event: (source, id), encoded without
// ambiguity.
func (e Event) Key() string { return EventKey(e.Source, e.ID) }

// EventKey encodes (source, id) as an idempotency key.
func EventKey(source, id string) string {
	return strconv.Itoa(len(source)) + ":" + source + "/" + id
}

// Ref is the human-readable reference "source/id" used as evidence in
// explanations.
func (e Event) Ref() string { return e.Source + "/" + e.ID }

// Extension returns the value of extension attribute name as a string (a
// JSON string unquoted, a number or boolean as written) and whether it is
// present.
func (e Event) Extension(name string) (string, bool) {
	raw, ok := e.Extensions[name]
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	return string(raw), true
}

// MarshalJSON encodes the event in CloudEvents structured JSON form:
// specversion, id, source, type, subject, time (RFC 3339, UTC),
// datacontenttype (when set), the extension attributes sorted by name, and
// the data object as received. Decode reads it back into an equal Event.
func (e Event) MarshalJSON() ([]byte, error) {
	size := 160 + len(e.ID) + len(e.Source) + len(e.Subject) + len(e.DataContentType) + len(e.Data)
	for name, v := range e.Extensions {
		size += len(name) + len(v) + 4
	}
	return e.AppendJSON(make([]byte, 0, size))
}

// AppendJSON appends what MarshalJSON returns to b.
func (e Event) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"specversion":`...)
	b = appendQuoted(b, e.SpecVersion)
	b = append(b, `,"id":`...)
	b = appendQuoted(b, e.ID)
	b = append(b, `,"source":`...)
	b = appendQuoted(b, e.Source)
	b = append(b, `,"type":`...)
	b = appendQuoted(b, string(e.Type))
	b = append(b, `,"subject":`...)
	b = appendQuoted(b, e.Subject)
	b = append(b, `,"time":"`...)
	b = append(e.Time.UTC().AppendFormat(b, time.RFC3339Nano), '"')
	if e.DataContentType != "" {
		b = append(b, `,"datacontenttype":`...)
		b = appendQuoted(b, e.DataContentType)
	}
	if len(e.Extensions) > 0 {
		names := make([]string, 0, len(e.Extensions))
		for name := range e.Extensions {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if !validJSON(e.Extensions[name]) {
				return nil, fmt.Errorf("domain: extension %q is not valid JSON", name)
			}
			b = append(b, ',')
			b = appendQuoted(b, name)
			b = append(b, ':')
			b = append(b, e.Extensions[name]...)
		}
	}
	if !validJSON(e.Data) {
		return nil, fmt.Errorf("domain: event %s: data is not valid JSON", e.Ref())
	}
	b = append(b, `,"data":`...)
	b = append(b, e.Data...)
	return append(b, '}'), nil
}

// appendQuotedBytes is appendQuoted of a string held in b.
func appendQuotedBytes(b, s []byte) []byte {
	for _, c := range s {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return append(b, quote(string(s))...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendQuoted appends s as a JSON string exactly as quote writes it: a
// string of printable ASCII without quote or backslash as it is, any
// other through quote.
func appendQuoted(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return append(b, quote(s)...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// validJSON is json.Valid, answered by jsontext's faster check when that
// accepts (it is stricter: it refuses invalid UTF-8, invalid escapes and
// duplicate names, which encoding/json accepts).
func validJSON(v []byte) bool {
	return jsontext.Value(v).IsValid() || json.Valid(v)
}
