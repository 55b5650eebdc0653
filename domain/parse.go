package domain

import (
	"bytes"
	"encoding/json"
	"math"
	"mime"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// Attributes are the CloudEvents context attributes of an event received in
// HTTP binary mode: the API maps the ce-* headers (and Content-Type, as
// DataContentType) into them. An empty string means the attribute is
// absent.
type Attributes struct {
	SpecVersion     string
	ID              string
	Source          string
	Type            string
	Subject         string
	Time            string
	DataContentType string
	// Extensions are the other attributes by lower-case name (ce-traceparent
	// → "traceparent").
	Extensions map[string]string
}

// Set assigns the attribute called name (lower case, without a "ce-"
// prefix): one of the core attributes, or else an extension.
func (a *Attributes) Set(name, value string) {
	switch name {
	case "specversion":
		a.SpecVersion = value
	case "id":
		a.ID = value
	case "source":
		a.Source = value
	case "type":
		a.Type = value
	case "subject":
		a.Subject = value
	case "time":
		a.Time = value
	case "datacontenttype":
		a.DataContentType = value
	default:
		if a.Extensions == nil {
			a.Extensions = make(map[string]string)
		}
		a.Extensions[name] = value
	}
}

// Messages of the envelope rules.
const (
	msgSpecVersion = `must be "1.0"`
	msgAttrID      = "must be 1–200 characters without control characters"
	msgSource      = "must be 1–200 characters without control characters, e.g. hubspot"
	msgTypeString  = "must be a string naming an event type; see docs/events.md"
	msgContentType = "must be application/json or absent"
	msgExtName     = "unknown attribute; extension attribute names must be 1–20 characters of a–z 0–9"
	msgExtValue    = "must be a string, number or boolean"
	msgDataBase64  = "binary data is not supported; send data as a JSON object"
	msgExtNumber   = "must be a finite number (at most ±1.7976931348623157e308)"
)

// coreAttributes are the attributes Vitals interprets (plus data and
// data_base64); every other top-level member is an extension attribute.
func isCoreAttribute(name string) bool {
	switch name {
	case "specversion", "id", "source", "type", "subject", "time", "datacontenttype", "data", "data_base64":
		return true
	}
	return false
}

// Parse validates a CloudEvent in structured mode (one JSON object) received
// at now, and returns it with its typed payload. Every error is a
// *FieldError; a body that is not a JSON object at all has Field "event".
func Parse(raw []byte, now time.Time) (Event, error) {
	e, ferr := parseStructured(raw, now, true)
	if ferr != nil {
		return Event{}, ferr
	}
	return e, nil
}

// Decode decodes a stored event, the JSON written by Event.MarshalJSON. It
// applies the rules of Parse except those that bound what a new event may
// hold, which were checked when the event was accepted and may have been
// added since: the limit on future times, the instant and number ranges,
// the strict time zone offset, lone surrogate escapes and finite extension
// numbers. An event stored by an earlier version therefore still decodes.
//
// raw may also be the compact form MarshalBinary writes (see IsBinary),
// which holds an event validated when it was accepted: it is decoded
// without parsing JSON.
func Decode(raw []byte) (Event, error) {
	if IsBinary(raw) {
		e, err := decodeBinary(raw, true)
		if err != nil {
			return Event{}, fieldErr("event", "%s", err.Error())
		}
		return e, nil
	}
	e, ferr := parseStructured(raw, time.Time{}, false)
	if ferr != nil {
		return Event{}, ferr
	}
	return e, nil
}

// DecodePayload is Decode for consumers that use the event's envelope and
// Payload but not its Data (the projections): an event in the compact form
// comes back with Data nil unless its data object was stored as such,
// which spares rendering it from the payload. Its other fields are those
// Decode returns.
func DecodePayload(raw []byte) (Event, error) {
	if IsBinary(raw) {
		e, err := decodeBinary(raw, false)
		if err != nil {
			return Event{}, fieldErr("event", "%s", err.Error())
		}
		return e, nil
	}
	return Decode(raw)
}

// Build validates a CloudEvent received in HTTP binary mode at now: the
// context attributes and the body, data, which must be a JSON object. Every
// error is a *FieldError.
func Build(a Attributes, data []byte, now time.Time) (Event, error) {
	e, ferr := build(a, data, now)
	if ferr != nil {
		return Event{}, ferr
	}
	return e, nil
}

func build(a Attributes, data []byte, now time.Time) (Event, *FieldError) {
	e, ferr := envelopeOf(a, now, true)
	if ferr != nil {
		return Event{}, ferr
	}
	names := make([]string, 0, len(a.Extensions))
	for name := range a.Extensions {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if isCoreAttribute(name) {
			return Event{}, fieldErr(name, "is a core attribute, not an extension")
		}
		if !validExtName(name) {
			return Event{}, extNameErr(name)
		}
		if !utf8.ValidString(a.Extensions[name]) {
			return Event{}, fieldErr(name, msgUTF8)
		}
		if e.Extensions == nil {
			e.Extensions = make(map[string]json.RawMessage, len(names))
		}
		e.Extensions[name] = quote(a.Extensions[name])
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return Event{}, fieldErr("data", msgRequired)
	}
	if ferr := e.setData(nil, data, true); ferr != nil {
		return Event{}, ferr
	}
	return e, nil
}

// parseStructured parses a structured-mode event. ingest is set for a new
// event received at now (Parse), unset for a stored one (Decode).
func parseStructured(raw []byte, now time.Time, ingest bool) (Event, *FieldError) {
	if !utf8.Valid(raw) {
		return Event{}, fieldErr("event", msgUTF8)
	}
	dec := new(jsontext.Decoder) // read the event, then its data
	obj, ferr := decodeObject(dec, raw, "event", "", ingest)
	if ferr != nil {
		return Event{}, ferr
	}
	var a Attributes
	for _, f := range []struct {
		name, empty, wrong string
		dst                *string
	}{
		{"specversion", msgSpecVersion, msgSpecVersion, &a.SpecVersion},
		{"id", msgAttrID, msgAttrID, &a.ID},
		{"source", msgSource, msgSource, &a.Source},
		{"type", `unknown event type ""; see docs/events.md`, msgTypeString, &a.Type},
		{"subject", msgID, msgID, &a.Subject},
		{"time", msgTimestamp, msgTimestamp, &a.Time},
		{"datacontenttype", msgContentType, msgContentType, &a.DataContentType},
	} {
		v, pr := obj.get(f.name)
		if pr != present {
			continue // absent; null counts as absent
		}
		s, msg := pString(v)
		switch {
		case msg != "":
			return Event{}, fieldErr(f.name, "%s", f.wrong)
		case s == "":
			return Event{}, fieldErr(f.name, "%s", f.empty)
		}
		*f.dst = s
	}
	e, ferr := envelopeOf(a, now, ingest)
	if ferr != nil {
		return Event{}, ferr
	}
	var names []string
	for _, m := range obj.members {
		if !isCoreAttribute(m.name) {
			names = append(names, m.name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if !validExtName(name) {
			return Event{}, extNameErr(name)
		}
		v, pr := obj.get(name)
		if pr == null {
			continue // a null attribute is an absent one
		}
		if c := v[0]; c == '{' || c == '[' {
			return Event{}, fieldErr(name, msgExtValue)
		}
		if ingest && !finiteNumber(v) {
			return Event{}, fieldErr(name, msgExtNumber)
		}
		if e.Extensions == nil {
			e.Extensions = map[string]json.RawMessage{}
		}
		e.Extensions[name] = v
	}
	if _, pr := obj.get("data_base64"); pr != absent {
		return Event{}, fieldErr("data_base64", msgDataBase64)
	}
	data, pr := obj.get("data")
	if pr != present {
		return Event{}, fieldErr("data", msgRequired)
	}
	if ferr := e.setData(dec, data, ingest); ferr != nil {
		return Event{}, ferr
	}
	return e, nil
}

// finiteNumber reports whether v, a JSON value, is not a number or is one
// that float64 holds as a finite value (1e999 would read as +Inf).
func finiteNumber(v json.RawMessage) bool {
	if c := v[0]; c != '-' && !isDigit(c) {
		return true
	}
	f, err := strconv.ParseFloat(string(v), 64)
	return err == nil && !math.IsInf(f, 0)
}

// envelopeOf validates the context attributes and returns an Event without
// data. ingest is set for a new event received at now: its time must then
// pass ParseInstant and the limit on future times.
func envelopeOf(a Attributes, now time.Time, ingest bool) (Event, *FieldError) {
	if ferr := attributesUTF8(a); ferr != nil {
		return Event{}, ferr
	}
	switch {
	case a.SpecVersion == "":
		return Event{}, fieldErr("specversion", msgRequired)
	case a.SpecVersion != "1.0":
		return Event{}, fieldErr("specversion", msgSpecVersion)
	case a.ID == "":
		return Event{}, fieldErr("id", msgRequired)
	case !validAttrText(a.ID, 200):
		return Event{}, fieldErr("id", msgAttrID)
	case a.Source == "":
		return Event{}, fieldErr("source", msgRequired)
	case !validAttrText(a.Source, 200):
		return Event{}, fieldErr("source", msgSource)
	case a.Type == "":
		return Event{}, fieldErr("type", msgRequired)
	case !Type(a.Type).Known():
		return Event{}, fieldErr("type", "unknown event type %q; see docs/events.md", a.Type)
	case a.Subject == "":
		return Event{}, fieldErr("subject", msgRequired)
	case !ValidID(a.Subject):
		return Event{}, fieldErr("subject", msgID)
	case a.Time == "":
		return Event{}, fieldErr("time", msgRequired)
	}
	t, ok := parseTimestamp(a.Time)
	if ingest {
		var err error
		t, err = ParseInstant(a.Time)
		if err != nil {
			return Event{}, fieldErr("time", "%s", err.Error())
		}
	} else if !ok {
		return Event{}, fieldErr("time", msgTimestamp)
	}
	if ingest && t.After(now.Add(MaxFutureSkew)) {
		return Event{}, fieldErr("time", "is more than %d minutes in the future", int(MaxFutureSkew/time.Minute))
	}
	if a.DataContentType != "" && !jsonContentType(a.DataContentType) {
		return Event{}, fieldErr("datacontenttype", msgContentType)
	}
	return Event{
		SpecVersion:     a.SpecVersion,
		ID:              a.ID,
		Source:          a.Source,
		Type:            Type(a.Type),
		Subject:         a.Subject,
		Time:            t,
		DataContentType: a.DataContentType,
	}, nil
}

// attributesUTF8 checks that every attribute is valid UTF-8. Structured
// events are checked as a whole; in binary mode the attributes are
// percent-decoded headers, which may hold any bytes.
func attributesUTF8(a Attributes) *FieldError {
	for _, f := range []struct{ name, value string }{
		{"specversion", a.SpecVersion}, {"id", a.ID}, {"source", a.Source}, {"type", a.Type},
		{"subject", a.Subject}, {"time", a.Time}, {"datacontenttype", a.DataContentType},
	} {
		if !utf8.ValidString(f.value) {
			return fieldErr(f.name, msgUTF8)
		}
	}
	return nil
}

// setData validates raw as the data object of e's type and stores it
// (compacted) with its payload; ingest is set for a new event.
//
// dec, when not nil, is a decoder to reuse.
func (e *Event) setData(dec *jsontext.Decoder, raw []byte, ingest bool) *FieldError {
	if !utf8.Valid(raw) {
		return fieldErr("data", msgUTF8)
	}
	obj, ferr := decodeObject(dec, raw, "data", "data.", ingest)
	if ferr != nil {
		return ferr
	}
	p, ferr := decodePayload(e.Type, obj, e.Time, ingest)
	if ferr != nil {
		return ferr
	}
	if compact(raw) {
		e.Data = append(json.RawMessage(nil), raw...)
	} else {
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil { // cannot fail: raw was decoded above
			return fieldErr("data", "is not valid JSON: %v", err)
		}
		e.Data = buf.Bytes()
	}
	e.Payload = p
	return nil
}

// jsonContentType reports whether s is application/json, with any
// parameters, and a UTF-8 charset if one is named.
func jsonContentType(s string) bool {
	if s == "application/json" {
		return true
	}
	mt, params, err := mime.ParseMediaType(s)
	if err != nil || mt != "application/json" {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8")
}

// validExtName reports whether name is a valid CloudEvents extension
// attribute name: 1–20 characters of a–z 0–9.
func validExtName(name string) bool {
	if len(name) == 0 || len(name) > 20 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !('a' <= c && c <= 'z' || isDigit(c)) {
			return false
		}
	}
	return true
}

func extNameErr(name string) *FieldError {
	if name == "" {
		return fieldErr("event", "has an attribute with an empty name")
	}
	return fieldErr(name, msgExtName)
}

// quote encodes s as a JSON string without HTML escaping.
func quote(s string) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // encoding a string into a bytes.Buffer cannot fail
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
