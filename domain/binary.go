package domain

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/vitals-hq/vitals/internal/binread"
)

// The compact form of an event (MarshalBinary, read back by Decode) is what
// the embedded store keeps: the validated event, so that a replay decodes it
// without parsing or validating JSON again. Its layout, version 1:
//
//	byte     binaryV1 (0xB1; the JSON form starts with '{' or whitespace)
//	byte     the type's code (binaryTypes; 1-based, never reused)
//	byte     flags (flagContentType, flagExtensions, flagRawData, flagSorted, flagJSONContentType)
//	string   id, source, subject           (uvarint length, then the bytes)
//	varint   time, seconds since 1970 UTC; uvarint nanoseconds
//	string   datacontenttype               (with flagContentType; with flagJSONContentType
//	         it is "application/json" and not written)
//	uvarint  n, then n × (string name, string raw JSON value)  (with flagExtensions)
//	payload  the payload struct's fields in declaration order (appendField)
//	string   the data object as received     (with flagRawData)
//
// Without flagRawData the data object is exactly what renderData writes from
// the payload (members in declaration order, or sorted by name with
// flagSorted): MarshalBinary stores it that way only when the rendering
// equals the data as received, byte for byte, so that GET …/events serves
// the same bytes whichever form an event is stored in.
const binaryV1 byte = 0xB1

// Flags of the compact form.
const (
	flagContentType byte = 1 << iota
	flagExtensions
	flagRawData
	flagSorted
	flagJSONContentType
	flagsKnown = flagContentType | flagExtensions | flagRawData | flagSorted | flagJSONContentType
)

// jsonContentTypeName is the datacontenttype most events carry.
const jsonContentTypeName = "application/json"

// binaryTypes gives each event type its code in the compact form: its
// index + 1. The list only ever grows at the end; a code is never reused.
var binaryTypes = [...]Type{
	TypeAccountOpened, TypeAccountUpdated, TypeAccountStatusChanged,
	TypeAccountManagerAssigned, TypeTouchpointRecorded,
	TypeMessageReceived, TypeMessageReplied,
	TypeMeetingHeld, TypeMeetingMissed, TypeMeetingCanceled,
	TypeInvoiceIssued, TypePaymentReceived, TypeInvoiceVoided,
	TypeNPSResponded, TypeKPIReported, TypePortalLogin,
	TypeSignalRaised, TypeSignalResolved, TypeReferralMade,
	TypeTimeLogged, TypeHealthOverridden, TypeHealthOverrideCleared,
	TypeManagerJoined, TypeManagerUpdated, TypeManagerLeft,
}

// payloadTypes is the payload struct of each event type, by type code - 1.
var payloadTypes = [...]reflect.Type{
	reflect.TypeFor[AccountOpened](), reflect.TypeFor[AccountUpdated](), reflect.TypeFor[AccountStatusChanged](),
	reflect.TypeFor[ManagerAssigned](), reflect.TypeFor[TouchpointRecorded](),
	reflect.TypeFor[MessageReceived](), reflect.TypeFor[MessageReplied](),
	reflect.TypeFor[MeetingHeld](), reflect.TypeFor[MeetingMissed](), reflect.TypeFor[MeetingCanceled](),
	reflect.TypeFor[InvoiceIssued](), reflect.TypeFor[PaymentReceived](), reflect.TypeFor[InvoiceVoided](),
	reflect.TypeFor[NPSResponded](), reflect.TypeFor[KPIReported](), reflect.TypeFor[PortalLogin](),
	reflect.TypeFor[SignalRaised](), reflect.TypeFor[SignalResolved](), reflect.TypeFor[ReferralMade](),
	reflect.TypeFor[TimeLogged](), reflect.TypeFor[HealthOverridden](), reflect.TypeFor[HealthOverrideCleared](),
	reflect.TypeFor[ManagerJoined](), reflect.TypeFor[ManagerUpdated](), reflect.TypeFor[ManagerLeft](),
}

var (
	dateType = reflect.TypeFor[Date]()
	timeType = reflect.TypeFor[time.Time]()
)

// typeCode returns t's code in the compact form (0 for an unknown type).
func typeCode(t Type) byte {
	return byte(slices.Index(binaryTypes[:], t) + 1)
}

// IsBinary reports whether raw is an event in the compact form (rather
// than JSON).
func IsBinary(raw []byte) bool { return len(raw) > 0 && raw[0] == binaryV1 }

// MarshalBinary encodes the event in the compact form that Decode reads
// back into an equal Event. The event must be one Parse, Build or Decode
// returned.
func (e Event) MarshalBinary() ([]byte, error) {
	code := typeCode(e.Type)
	if code == 0 {
		return nil, fmt.Errorf("domain: event %s: unknown type %q", e.Ref(), e.Type)
	}
	pt := payloadTypes[code-1]
	pv := reflect.ValueOf(e.Payload)
	if !pv.IsValid() || pv.Type() != pt {
		return nil, fmt.Errorf("domain: event %s: payload %T is not the payload of %s", e.Ref(), e.Payload, e.Type)
	}
	p := reflect.New(pt).Elem() // addressable, so Date and time fields are read in place
	p.Set(pv)

	var flags byte
	switch e.DataContentType {
	case "":
	case jsonContentTypeName:
		flags |= flagJSONContentType
	default:
		flags |= flagContentType
	}
	if e.Extensions != nil {
		flags |= flagExtensions
	}
	switch {
	case bytes.Equal(renderData(nil, p, false), e.Data):
	case bytes.Equal(renderData(nil, p, true), e.Data):
		flags |= flagSorted
	default:
		flags |= flagRawData
	}

	b := make([]byte, 0, 64+len(e.ID)+len(e.Source)+len(e.Subject)+len(e.Data))
	b = append(b, binaryV1, code, flags)
	b = appendString(b, e.ID)
	b = appendString(b, e.Source)
	b = appendString(b, e.Subject)
	b = binary.AppendVarint(b, e.Time.Unix())
	b = binary.AppendUvarint(b, uint64(e.Time.Nanosecond()))
	if flags&flagContentType != 0 {
		b = appendString(b, e.DataContentType)
	}
	if flags&flagExtensions != 0 {
		names := make([]string, 0, len(e.Extensions))
		for name := range e.Extensions {
			names = append(names, name)
		}
		slices.Sort(names)
		b = binary.AppendUvarint(b, uint64(len(names)))
		for _, name := range names {
			b = appendString(b, name)
			b = appendString(b, string(e.Extensions[name]))
		}
	}
	b = appendField(b, p)
	if flags&flagRawData != 0 {
		b = appendString(b, string(e.Data))
	}
	return b, nil
}

// errBinary is the cause of every failure to decode the compact form.
var errBinary = errors.New("not a valid compact event")

// decodeBinary decodes the compact form written by MarshalBinary; without
// withData, Data is left nil when it would be rendered from the payload.
func decodeBinary(raw []byte, withData bool) (Event, error) {
	r := binReader{binread.New(raw)}
	if r.Byte() != binaryV1 {
		return Event{}, errBinary
	}
	code := r.Byte()
	flags := r.Byte()
	if code == 0 || int(code) > len(binaryTypes) || flags&^flagsKnown != 0 || flags&flagContentType != 0 && flags&flagJSONContentType != 0 {
		return Event{}, errBinary
	}
	e := Event{SpecVersion: "1.0", Type: binaryTypes[code-1]}
	e.ID = r.String()
	e.Source = r.String()
	e.Subject = r.String()
	sec := r.Varint()
	nsec := r.Uvarint()
	if nsec >= 1e9 {
		return Event{}, errBinary
	}
	e.Time = time.Unix(sec, int64(nsec)).UTC()
	switch {
	case flags&flagContentType != 0:
		e.DataContentType = r.String()
	case flags&flagJSONContentType != 0:
		e.DataContentType = jsonContentTypeName
	}
	if flags&flagExtensions != 0 {
		n := r.Uvarint()
		if n > uint64(r.Len()) {
			return Event{}, errBinary
		}
		e.Extensions = make(map[string]json.RawMessage, n)
		for range n {
			name := r.String()
			e.Extensions[name] = json.RawMessage(r.String())
		}
	}
	p := reflect.New(payloadTypes[code-1]).Elem()
	r.field(p)
	switch {
	case flags&flagRawData != 0:
		e.Data = json.RawMessage(r.String())
	case withData:
		e.Data = renderData(make([]byte, 0, 128), p, flags&flagSorted != 0)
	}
	if r.Bad() || r.Len() != 0 {
		return Event{}, errBinary
	}
	e.Payload = p.Interface()
	return e, nil
}

// AppendJSONOfBinary appends to b the CloudEvent JSON of the event whose
// compact form (MarshalBinary) is raw: the bytes Decode(raw) then
// MarshalJSON would give, written without building the Event.
func AppendJSONOfBinary(b, raw []byte) ([]byte, error) {
	r := binReader{binread.New(raw)}
	magic, code, flags := r.Byte(), r.Byte(), r.Byte()
	if magic != binaryV1 || code == 0 || int(code) > len(binaryTypes) || flags&^flagsKnown != 0 ||
		flags&flagContentType != 0 && flags&flagJSONContentType != 0 {
		return nil, errBinary
	}
	id, source, subject := r.bytes(), r.bytes(), r.bytes()
	sec, nsec := r.Varint(), r.Uvarint()
	var contentType []byte
	switch {
	case flags&flagContentType != 0:
		contentType = r.bytes()
	case flags&flagJSONContentType != 0:
		contentType = []byte(jsonContentTypeName)
	}
	var exts [][2][]byte
	if flags&flagExtensions != 0 {
		n := r.Uvarint()
		if n > uint64(r.Len()) {
			return nil, errBinary
		}
		exts = make([][2][]byte, n)
		for i := range exts {
			exts[i] = [2][]byte{r.bytes(), r.bytes()}
		}
	}
	p := reflect.New(payloadTypes[code-1]).Elem()
	r.field(p)
	var data []byte
	if flags&flagRawData != 0 {
		data = r.bytes()
	}
	if r.Bad() || r.Len() != 0 || nsec >= 1e9 {
		return nil, errBinary
	}
	b = append(b, `{"specversion":"1.0","id":`...)
	b = appendQuotedBytes(b, id)
	b = append(b, `,"source":`...)
	b = appendQuotedBytes(b, source)
	b = append(b, `,"type":`...)
	b = appendQuoted(b, string(binaryTypes[code-1]))
	b = append(b, `,"subject":`...)
	b = appendQuotedBytes(b, subject)
	b = append(b, `,"time":"`...)
	b = append(time.Unix(sec, int64(nsec)).UTC().AppendFormat(b, time.RFC3339Nano), '"')
	if len(contentType) > 0 {
		b = append(b, `,"datacontenttype":`...)
		b = appendQuotedBytes(b, contentType)
	}
	slices.SortFunc(exts, func(x, y [2][]byte) int { return bytes.Compare(x[0], y[0]) })
	for _, x := range exts {
		if !validJSON(x[1]) {
			return nil, fmt.Errorf("domain: extension %q is not valid JSON", x[0])
		}
		b = append(b, ',')
		b = appendQuotedBytes(b, x[0])
		b = append(b, ':')
		b = append(b, x[1]...)
	}
	b = append(b, `,"data":`...)
	if flags&flagRawData != 0 {
		if !validJSON(data) {
			return nil, fmt.Errorf("domain: event %s/%s: data is not valid JSON", source, id)
		}
		b = append(b, data...)
	} else {
		b = renderData(b, p, flags&flagSorted != 0)
	}
	return append(b, '}'), nil
}

// appendString appends s with its length.
func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendField appends the value v of a payload field (or the payload
// struct itself): strings with their length, integers (Money, int) as
// varints, float64 as its 8 IEEE bits, bool as a byte, a Date as its day
// number + 1 (0 for none), a time.Time as a presence byte then seconds and
// nanoseconds, a struct (the payload, Opt[T]) field by field.
func appendField(b []byte, v reflect.Value) []byte {
	switch v.Type() {
	case dateType:
		d := v.Addr().Interface().(*Date)
		if d.IsZero() {
			return append(b, 0)
		}
		return binary.AppendVarint(append(b, 1), d.t.Unix()/86400)
	case timeType:
		t := v.Addr().Interface().(*time.Time)
		if t.IsZero() {
			return append(b, 0)
		}
		b = binary.AppendVarint(append(b, 1), t.Unix())
		return binary.AppendUvarint(b, uint64(t.Nanosecond()))
	}
	switch v.Kind() {
	case reflect.String:
		return appendString(b, v.String())
	case reflect.Int, reflect.Int64:
		return binary.AppendVarint(b, v.Int())
	case reflect.Float64:
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Float()))
	case reflect.Bool:
		if v.Bool() {
			return append(b, 1)
		}
		return append(b, 0)
	case reflect.Struct:
		for i := range v.NumField() {
			b = appendField(b, v.Field(i))
		}
		return b
	}
	panic("domain: no compact form for a payload field of kind " + v.Kind().String()) // a test covers every payload
}

// binReader reads the compact form (see binread.Reader: the first failure
// sticks); field reads payload fields.
type binReader struct{ binread.Reader }

// bytes reads a string as a slice of the input, capped at its length.
func (r *binReader) bytes() []byte {
	b := r.Bytes()
	return b[:len(b):len(b)]
}

// field reads into v what appendField wrote from it.
func (r *binReader) field(v reflect.Value) {
	switch v.Type() {
	case dateType:
		if r.Byte() == 1 {
			*v.Addr().Interface().(*Date) = Date{t: time.Unix(r.Varint()*86400, 0).UTC()}
		}
		return
	case timeType:
		if r.Byte() == 1 {
			sec, nsec := r.Varint(), r.Uvarint()
			if nsec >= 1e9 {
				r.Fail()
				return
			}
			*v.Addr().Interface().(*time.Time) = time.Unix(sec, int64(nsec)).UTC()
		}
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(r.String())
	case reflect.Int, reflect.Int64:
		v.SetInt(r.Varint())
	case reflect.Float64:
		f := math.Float64frombits(r.Fixed64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			r.Fail() // no accepted event holds one, and JSON has none
			return
		}
		v.SetFloat(f)
	case reflect.Bool:
		v.SetBool(r.Byte() == 1)
	case reflect.Struct:
		for i := range v.NumField() {
			r.field(v.Field(i))
		}
	}
}

// renderData writes the data object of payload p (an addressable payload
// struct): each field under its JSON name, in declaration order or sorted
// by name, leaving out fields tagged omitzero that are zero (an Opt that is
// not set); strings quoted without HTML escapes, Money and Date as their
// MarshalJSON writes them, float64 as encoding/json writes it, a time in
// RFC 3339 with nanoseconds, a null Opt as null.
func renderData(b []byte, p reflect.Value, sorted bool) json.RawMessage {
	plan := renderPlans[slices.Index(payloadTypes[:], p.Type())]
	fields := plan.declared
	if sorted {
		fields = plan.sorted
	}
	b = append(b, '{')
	first := true
	for _, f := range fields {
		v := p.Field(f.index)
		if f.omitZero && v.IsZero() {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.member...)
		b = appendJSONValue(b, v)
	}
	return append(b, '}')
}

// renderField is a payload field as renderData writes it.
type renderField struct {
	index    int
	member   string // the quoted JSON name and the colon
	omitZero bool
}

// renderPlan lists a payload struct's fields in declaration order and
// sorted by JSON name.
type renderPlan struct {
	declared, sorted []renderField
}

// renderPlans holds the plan of each payload struct, by type code - 1 (a
// constant table, computed once from the struct tags).
var renderPlans = func() (plans [len(payloadTypes)]renderPlan) {
	for i, t := range payloadTypes {
		for j := range t.NumField() {
			f := t.Field(j)
			tag := f.Tag.Get("json")
			name, opts, _ := strings.Cut(tag, ",")
			q, _ := jsontext.AppendQuote(nil, name)
			plans[i].declared = append(plans[i].declared, renderField{index: j, member: string(q) + ":", omitZero: strings.Contains(opts, "omitzero")})
		}
		plans[i].sorted = slices.Clone(plans[i].declared)
		slices.SortFunc(plans[i].sorted, func(a, b renderField) int { return strings.Compare(a.member, b.member) })
	}
	return plans
}()

// appendJSONValue writes the value of a payload field as renderData does.
func appendJSONValue(b []byte, v reflect.Value) []byte {
	switch v.Type() {
	case dateType:
		d := v.Addr().Interface().(*Date)
		if d.IsZero() {
			return append(b, "null"...)
		}
		return append(d.t.AppendFormat(append(b, '"'), time.DateOnly), '"')
	case timeType:
		t := v.Addr().Interface().(*time.Time)
		return append(t.UTC().AppendFormat(append(b, '"'), time.RFC3339Nano), '"')
	case moneyType:
		return append(b, Money(v.Int()).String()...)
	}
	switch v.Kind() {
	case reflect.String:
		b, _ = jsontext.AppendQuote(b, v.String()) // a payload string is valid UTF-8
		return b
	case reflect.Int, reflect.Int64:
		return strconv.AppendInt(b, v.Int(), 10)
	case reflect.Float64:
		return appendFloat(b, v.Float())
	case reflect.Bool:
		return strconv.AppendBool(b, v.Bool())
	case reflect.Struct: // Opt[T]: Set, Null, Value
		if v.Field(1).Bool() {
			return append(b, "null"...)
		}
		return appendJSONValue(b, v.Field(2))
	}
	panic("domain: no JSON form for a payload field of kind " + v.Kind().String()) // a test covers every payload
}

var moneyType = reflect.TypeFor[Money]()

// appendFloat writes f as encoding/json does: the shortest decimal that
// reads back as f, in exponent form below 1e-6 and from 1e21 on.
func appendFloat(b []byte, f float64) []byte {
	abs, format := math.Abs(f), byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // e-09 → e-9, as encoding/json writes it
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
