package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// Messages shared by several fields.
const (
	msgRequired  = "required"
	msgID        = "must be 1–100 characters of A–Z a–z 0–9 . _ : -"
	msgString    = "must be a string"
	msgText      = "must be a non-empty string"
	msgBool      = "must be true or false"
	msgDate      = "must be a date YYYY-MM-DD, e.g. 2026-03-31"
	msgTimestamp = "must be RFC 3339, e.g. 2026-03-01T09:30:00Z"
	msgNotNull   = "may not be null; leave the field out to keep the current value"
	msgMoneyMax  = "is too large; the largest amount is " + maxMoneyText
	msgSurrogate = `must not contain a lone UTF-16 surrogate escape (\ud800–\udfff outside a high–low pair); send the character itself or a valid pair`
	msgUTF8      = "must be valid UTF-8"
)

// loneSurrogate reports whether the JSON text raw holds a \u escape of a
// UTF-16 surrogate (U+D800–U+DFFF) that is not part of a high–low pair.
// encoding/json decodes such an escape as U+FFFD, so "\ud800", "\udc00"
// and "\ufffd" would read as one string; Vitals rejects them instead. raw
// must be valid JSON text (a member name, a value, or punctuation around
// them), where a backslash occurs only inside a string and starts an
// escape.
func loneSurrogate(raw []byte) bool {
	wantLow := false // the previous escape was a high surrogate
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' || i+1 == len(raw) || raw[i+1] != 'u' {
			if wantLow {
				return true
			}
			if raw[i] == '\\' {
				i++ // skip the escaped character (it may be a backslash)
			}
			continue
		}
		r, ok := hex4(raw[i+2:])
		if !ok {
			return true // not valid JSON; never the case after decoding
		}
		i += 5
		switch {
		case r >= 0xD800 && r < 0xDC00:
			if wantLow {
				return true
			}
			wantLow = true
		case r >= 0xDC00 && r < 0xE000:
			if !wantLow {
				return true
			}
			wantLow = false
		case wantLow:
			return true
		}
	}
	return wantLow
}

// hex4 reads four hexadecimal digits at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b[:4]), 16, 16)
	return rune(v), err == nil
}

// object is a JSON object whose members are kept as raw JSON text, in the
// order received (events have a dozen members at most, so a linear search
// beats a map).
type object struct {
	prefix  string // prepended to member names in errors: "data." or ""
	members []member
}

// member is one member of an object: its name (unescaped) and its value
// as raw JSON text.
type member struct {
	name  string
	value json.RawMessage
}

// decodeObject reads raw as exactly one JSON object with unique member
// names. field names the whole value in errors ("event", "data"); prefix is
// prepended to member names. When ingest is set (a new event, not a stored
// one), a member name or value holding a lone surrogate escape is rejected
// (see loneSurrogate): string values at every level, and nested objects and
// arrays below "data." (the event's own data member is checked when it is
// decoded in turn).
//
// It reads raw in one pass with the strict jsontext decoder
// (decodeObjectFast); only when that finds anything wrong — a syntax error,
// a duplicate name, an invalid surrogate escape — does it read raw again
// with encoding/json (decodeObjectSlow), which decides the outcome and
// words the error exactly as it always has.
//
// dec, when not nil, is a decoder to reuse (it is reset to read raw).
func decodeObject(dec *jsontext.Decoder, raw []byte, field, prefix string, ingest bool) (object, *FieldError) {
	if dec == nil {
		dec = new(jsontext.Decoder)
	}
	if o, ok := decodeObjectFast(dec, raw, prefix); ok {
		return o, nil
	}
	return decodeObjectSlow(raw, field, prefix, ingest)
}

// decodeObjectFast reads raw as one JSON object with jsontext's default,
// strict rules: valid UTF-8, no invalid surrogate escape anywhere (so no
// lone one), unique member names, nothing but whitespace after the
// object. It reports false for anything else; what it accepts,
// decodeObjectSlow accepts with the same members.
func decodeObjectFast(dec *jsontext.Decoder, raw []byte, prefix string) (object, bool) {
	o := object{prefix: prefix}
	// Duplicate names are checked below, among the members of this object
	// only (encoding/json does not look for them in nested values either),
	// which spares jsontext's allocations for the check.
	dec.Reset(bytes.NewBuffer(raw), jsontext.AllowDuplicateNames(true))
	if dec.PeekKind() != '{' {
		return o, false
	}
	if _, err := dec.ReadToken(); err != nil {
		return o, false
	}
	o.members = make([]member, 0, 8)
	for dec.PeekKind() == '"' {
		q, err := dec.ReadValue() // the name, quoted
		if err != nil {
			return o, false
		}
		name, ok := memberName(q)
		if !ok {
			return o, false
		}
		for _, m := range o.members {
			if m.name == name {
				return o, false
			}
		}
		v, err := dec.ReadValue()
		if err != nil {
			return o, false
		}
		end := int(dec.InputOffset())
		o.members = append(o.members, member{name: name, value: raw[end-len(v) : end : end]})
	}
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '}' {
		return o, false
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return o, false
	}
	return o, true
}

// internName returns the member name b as a string without allocating
// when it is one of the envelope's or the data objects' names (a switch on
// constant strings compiles to a search without allocation).
func internName(b []byte) string {
	switch string(b) {
	case "specversion":
		return "specversion"
	case "id":
		return "id"
	case "source":
		return "source"
	case "type":
		return "type"
	case "subject":
		return "subject"
	case "time":
		return "time"
	case "datacontenttype":
		return "datacontenttype"
	case "data":
		return "data"
	case "data_base64":
		return "data_base64"
	case "actual":
		return "actual"
	case "amount":
		return "amount"
	case "author":
		return "author"
	case "band":
		return "band"
	case "billable":
		return "billable"
	case "by":
		return "by"
	case "capacity_points":
		return "capacity_points"
	case "channel":
		return "channel"
	case "comment":
		return "comment"
	case "contact":
		return "contact"
	case "direction":
		return "direction"
	case "due_date":
		return "due_date"
	case "expires_at":
		return "expires_at"
	case "higher_is_better":
		return "higher_is_better"
	case "hours":
		return "hours"
	case "industry":
		return "industry"
	case "invoice_id":
		return "invoice_id"
	case "kind":
		return "kind"
	case "kpi":
		return "kpi"
	case "manager_id":
		return "manager_id"
	case "meeting_id":
		return "meeting_id"
	case "message_id":
		return "message_id"
	case "mrr":
		return "mrr"
	case "name":
		return "name"
	case "note":
		return "note"
	case "period":
		return "period"
	case "reason":
		return "reason"
	case "referred":
		return "referred"
	case "renewal_date":
		return "renewal_date"
	case "respondent":
		return "respondent"
	case "score":
		return "score"
	case "signal_id":
		return "signal_id"
	case "sla_response_hours":
		return "sla_response_hours"
	case "status":
		return "status"
	case "summary":
		return "summary"
	case "target":
		return "target"
	case "tier":
		return "tier"
	case "website":
		return "website"
	case "weekly_hours":
		return "weekly_hours"
	}
	return string(b)
}

// memberName unquotes the member name q, a valid JSON string. It reports
// false for a name with escapes, which the slow path reads instead. Names
// that events use are returned without allocating.
func memberName(q []byte) (string, bool) {
	b := q[1 : len(q)-1]
	if bytes.IndexByte(b, '\\') >= 0 {
		return "", false
	}
	return internName(b), true
}

// decodeObjectSlow is decodeObject with encoding/json's streaming decoder:
// the reference for what is accepted and for the wording of every error.
func decodeObjectSlow(raw []byte, field, prefix string, ingest bool) (object, *FieldError) {
	o := object{prefix: prefix}
	seen := map[string]bool{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return o, syntaxErr(field, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return o, fieldErr(field, "must be a JSON object")
	}
	for dec.More() {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return o, syntaxErr(field, err)
		}
		name, _ := tok.(string) // inside an object the decoder only yields string keys
		key := raw[start:dec.InputOffset()]
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return o, syntaxErr(field, err)
		}
		if ingest && (loneSurrogate(key) || (v[0] == '"' || prefix != "") && loneSurrogate(v)) {
			if name == "" {
				// An empty member name cannot name the field; name the object.
				return o, fieldErr(field, `has a member "" whose value %s`, msgSurrogate)
			}
			return o, fieldErr(prefix+name, msgSurrogate)
		}
		if seen[name] {
			if name == "" {
				// An empty member name cannot name the field; name the object.
				return o, fieldErr(field, `has the member "" more than once`)
			}
			return o, fieldErr(prefix+name, "appears more than once")
		}
		seen[name] = true
		o.members = append(o.members, member{name: name, value: v})
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return o, syntaxErr(field, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return o, fieldErr(field, "is not valid JSON: unexpected data after the object")
	}
	return o, nil
}

// compact reports whether the JSON text raw, which is valid, holds no
// insignificant whitespace (whitespace outside strings).
func compact(raw []byte) bool {
	inString := false
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case inString && c == '\\':
			i++ // the escaped character
		case c == '"':
			inString = !inString
		case !inString && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return false
		}
	}
	return true
}

// syntaxErr describes a JSON decoding failure of field.
func syntaxErr(field string, err error) *FieldError {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return fieldErr(field, "is not valid JSON: unexpected end of input")
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fieldErr(field, "is not valid JSON: %s (at byte %d)", se.Error(), se.Offset)
	}
	return fieldErr(field, "is not valid JSON: %s", err.Error())
}

// presence is how a member appears in an object.
type presence int

const (
	absent presence = iota
	null
	present
)

// get returns the member name and how it is present.
func (o object) get(name string) (json.RawMessage, presence) {
	for _, m := range o.members {
		if m.name == name {
			if string(m.value) == "null" {
				return m.value, null
			}
			return m.value, present
		}
	}
	return nil, absent
}

// reader reads typed fields from an object, keeping the first error.
// ingest is set for a new event: the ranges of numbers, dates and
// timestamps (see number, date and timestamp) apply to new events only, so
// that events stored before a range was introduced still decode.
type reader struct {
	obj    object
	ingest bool
	err    *FieldError
}

// number returns the parser of a number field: a finite number in
// [lo, hi] for a new event; for a stored event, one for which stored holds
// (the rule it was accepted under).
func (r *reader) number(lo, hi float64, stored func(float64) bool, msg string) parser[float64] {
	if r.ingest {
		return pNumber(func(f float64) bool { return lo <= f && f <= hi }, msg)
	}
	return pNumber(stored, msg)
}

// date returns the parser of a date field: within the date range for a new
// event, any valid date for a stored one.
func (r *reader) date() parser[Date] {
	if !r.ingest {
		return pDate
	}
	return func(raw json.RawMessage) (Date, string) {
		d, msg := pDate(raw)
		if msg == "" && !inDateRange(d) {
			return Date{}, msgDateRange
		}
		return d, msg
	}
}

// timestamp returns the parser of a timestamp field: ParseInstant for a new
// event, the RFC 3339 rule alone for a stored one.
func (r *reader) timestamp() parser[time.Time] {
	if !r.ingest {
		return pTimestamp
	}
	return func(raw json.RawMessage) (time.Time, string) {
		s, msg := pString(raw)
		if msg != "" {
			return time.Time{}, msgTimestamp
		}
		t, err := ParseInstant(s)
		if err != nil {
			return time.Time{}, err.Error()
		}
		return t, ""
	}
}

// fail records msg for field name unless an error is already recorded.
func (r *reader) fail(name, msg string) {
	if r.err == nil {
		r.err = &FieldError{Field: r.obj.prefix + name, Message: msg}
	}
}

// parser turns a non-null raw JSON value into a T, or returns a message
// saying what the field must be.
type parser[T any] func(raw json.RawMessage) (T, string)

// required reads a field that must be present and not null.
func required[T any](r *reader, name string, p parser[T]) T {
	raw, pr := r.obj.get(name)
	if pr != present {
		r.fail(name, msgRequired)
		var zero T
		return zero
	}
	return apply(r, name, raw, p)
}

// optional reads a field that may be absent; null counts as absent.
func optional[T any](r *reader, name string, p parser[T]) T {
	raw, pr := r.obj.get(name)
	if pr != present {
		var zero T
		return zero
	}
	return apply(r, name, raw, p)
}

// tri reads a tri-state field of an update event. A null is accepted only
// when nullable.
func tri[T any](r *reader, name string, nullable bool, p parser[T]) Opt[T] {
	raw, pr := r.obj.get(name)
	switch pr {
	case absent:
		return Opt[T]{}
	case null:
		if !nullable {
			r.fail(name, msgNotNull)
		}
		return Opt[T]{Set: true, Null: true}
	}
	return Opt[T]{Set: true, Value: apply(r, name, raw, p)}
}

func apply[T any](r *reader, name string, raw json.RawMessage, p parser[T]) T {
	v, msg := p(raw)
	if msg != "" {
		r.fail(name, msg)
	}
	return v
}

// pString accepts any JSON string. raw is a value of a decoded object, so
// a string without escapes is its bytes between the quotes.
func pString(raw json.RawMessage) (string, string) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", msgString
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", msgString
	}
	return s, ""
}

// pText accepts a string with at least one non-space character.
func pText(raw json.RawMessage) (string, string) {
	s, msg := pString(raw)
	if msg != "" || strings.TrimSpace(s) == "" {
		return "", msgText
	}
	return s, ""
}

// pID accepts an id: 1–100 characters of [A-Za-z0-9._:-].
func pID(raw json.RawMessage) (string, string) {
	s, msg := pString(raw)
	if msg != "" || !ValidID(s) {
		return "", msgID
	}
	return s, ""
}

// pEnum accepts the strings for which valid holds.
func pEnum[T ~string](valid func(T) bool, msg string) parser[T] {
	return func(raw json.RawMessage) (T, string) {
		s, m := pString(raw)
		if m != "" || !valid(T(s)) {
			return "", msg
		}
		return T(s), ""
	}
}

// money returns the parser of an amount: > 0 (positive) or ≥ 0, and at
// most MaxMoney for a new event; a stored event may hold up to
// maxStoredMoney, the limit of earlier versions, so that it still decodes.
func (r *reader) money(positive bool) parser[Money] {
	limit := MaxMoney
	if !r.ingest {
		limit = maxStoredMoney
	}
	return pMoney(positive, limit)
}

// pMoney accepts an exact amount > 0 (positive) or ≥ 0, of magnitude at
// most limit.
func pMoney(positive bool, limit Money) parser[Money] {
	msg := "must be a number ≥ 0 with at most 2 decimals"
	if positive {
		msg = "must be a number > 0 with at most 2 decimals"
	}
	return func(raw json.RawMessage) (Money, string) {
		m, err := parseMoney(string(raw), limit)
		switch {
		case errors.Is(err, errRange) && (len(raw) == 0 || raw[0] != '-'):
			return 0, msgMoneyMax
		case err != nil, m < 0, positive && m == 0:
			return 0, msg
		}
		return m, ""
	}
}

// pDate accepts "YYYY-MM-DD".
func pDate(raw json.RawMessage) (Date, string) {
	s, msg := pString(raw)
	if msg != "" {
		return Date{}, msgDate
	}
	d, err := ParseDate(s)
	if err != nil {
		return Date{}, msgDate
	}
	return d, ""
}

// pTimestamp accepts an RFC 3339 timestamp with a time zone, normalised to
// UTC.
func pTimestamp(raw json.RawMessage) (time.Time, string) {
	s, msg := pString(raw)
	if msg != "" {
		return time.Time{}, msgTimestamp
	}
	t, ok := parseTimestamp(s)
	if !ok {
		return time.Time{}, msgTimestamp
	}
	return t, ""
}

// pNumber accepts a JSON number for which ok holds.
func pNumber(ok func(float64) bool, msg string) parser[float64] {
	return func(raw json.RawMessage) (float64, string) {
		if len(raw) == 0 || (raw[0] != '-' && !isDigit(raw[0])) {
			return 0, msg
		}
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || !ok(f) {
			return 0, msg
		}
		return f, ""
	}
}

// pIntRange accepts a JSON number that is an integer in [lo, hi]; 7.0 and
// 7e0 are integers, 7.5 and "7" are not.
func pIntRange(lo, hi int64, msg string) parser[int] {
	return func(raw json.RawMessage) (int, string) {
		v, err := parseScaled(string(raw), 0, math.MaxInt64)
		if err != nil || v < lo || v > hi {
			return 0, msg
		}
		return int(v), ""
	}
}

// pBool accepts true or false.
func pBool(raw json.RawMessage) (bool, string) {
	switch string(raw) {
	case "true":
		return true, ""
	case "false":
		return false, ""
	}
	return false, msgBool
}

// ValidID reports whether s follows the id rule of subjects and of the
// *_id data fields: 1–100 characters of A–Z a–z 0–9 . _ : -.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || isDigit(c) || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// validAttrText reports whether s is 1–max characters without control
// characters (the rule for the id and source attributes).
func validAttrText(s string, max int) bool {
	if !utf8.ValidString(s) {
		return false
	}
	n := 0
	for _, c := range s {
		if unicode.IsControl(c) {
			return false
		}
		n++
	}
	return n >= 1 && n <= max
}

// parseTimestamp parses an RFC 3339 timestamp with a time zone and returns
// it in UTC.
func parseTimestamp(s string) (time.Time, bool) {
	if strings.ContainsRune(s, ',') { // time.Parse accepts a decimal comma; RFC 3339 does not
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 { // an offset can push the UTC year out of RFC 3339's range
		return time.Time{}, false
	}
	return t, true
}
