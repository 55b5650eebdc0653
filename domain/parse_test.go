package domain

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestEnvelopeRules(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name  string
		set   map[string]any
		field string // "" means valid
		msg   string
	}{
		{"valid", nil, "", ""},
		{"specversion missing", map[string]any{"specversion": nil}, "specversion", "required"},
		{"specversion 0.3", map[string]any{"specversion": "0.3"}, "specversion", `must be "1.0"`},
		{"specversion number", map[string]any{"specversion": 1.0}, "specversion", `must be "1.0"`},
		{"specversion empty", map[string]any{"specversion": ""}, "specversion", `must be "1.0"`},
		{"id missing", map[string]any{"id": nil}, "id", "required"},
		{"id null", map[string]any{"id": json.RawMessage("null")}, "id", "required"},
		{"id empty", map[string]any{"id": ""}, "id", "must be 1–200 characters"},
		{"id 200", map[string]any{"id": long(200)}, "", ""},
		{"id 200 runes", map[string]any{"id": strings.Repeat("é", 200)}, "", ""},
		{"id 201", map[string]any{"id": long(201)}, "id", "must be 1–200 characters"},
		{"id control", map[string]any{"id": "a\nb"}, "id", "without control characters"},
		{"id number", map[string]any{"id": 5}, "id", "must be 1–200 characters"},
		{"id with spaces and slashes", map[string]any{"id": "import 2026/03 #1"}, "", ""},
		{"source missing", map[string]any{"source": nil}, "source", "required"},
		{"source empty", map[string]any{"source": ""}, "source", "must be 1–200 characters"},
		{"source 201", map[string]any{"source": long(201)}, "source", "must be 1–200 characters"},
		{"source uri", map[string]any{"source": "https://crm.example/hooks"}, "", ""},
		{"type missing", map[string]any{"type": nil}, "type", "required"},
		{"type unknown", map[string]any{"type": "foo.bar"}, "type", `unknown event type "foo.bar"; see docs/events.md`},
		{"type empty", map[string]any{"type": ""}, "type", `unknown event type ""`},
		{"type number", map[string]any{"type": 7}, "type", "must be a string naming an event type"},
		{"subject missing", map[string]any{"subject": nil}, "subject", "required"},
		{"subject space", map[string]any{"subject": "acme corp"}, "subject", "must be 1–100 characters of A–Z a–z 0–9 . _ : -"},
		{"subject 100", map[string]any{"subject": long(100)}, "", ""},
		{"subject 101", map[string]any{"subject": long(101)}, "subject", "must be 1–100 characters"},
		{"subject unicode", map[string]any{"subject": "müller"}, "subject", "must be 1–100 characters"},
		{"subject all chars", map[string]any{"subject": "AZaz09._:-"}, "", ""},
		{"time missing", map[string]any{"time": nil}, "time", "required"},
		{"time date only", map[string]any{"time": "2026-03-01"}, "time", "must be RFC 3339, e.g. 2026-03-01T09:30:00Z"},
		{"time no zone", map[string]any{"time": "2026-03-01T09:30:00"}, "time", "must be RFC 3339"},
		{"time space", map[string]any{"time": "2026-03-01 09:30:00Z"}, "time", "must be RFC 3339"},
		{"time comma", map[string]any{"time": "2026-03-01T09:30:00,5Z"}, "time", "must be RFC 3339"},
		{"time bad day", map[string]any{"time": "2026-02-30T09:30:00Z"}, "time", "must be RFC 3339"},
		{"time number", map[string]any{"time": 1772357400}, "time", "must be RFC 3339"},
		{"time offset", map[string]any{"time": "2026-03-01T10:30:00+01:00"}, "", ""},
		{"time old", map[string]any{"time": "2019-01-01T00:00:00Z"}, "", ""},
		{"time +5m", map[string]any{"time": "2026-03-01T12:05:00Z"}, "", ""},
		{"time +5m1ns", map[string]any{"time": "2026-03-01T12:05:00.000000001Z"}, "time", "is more than 5 minutes in the future"},
		{"time future by offset", map[string]any{"time": "2026-03-01T11:06:00-01:00"}, "time", "is more than 5 minutes in the future"},
		{"datacontenttype json", map[string]any{"datacontenttype": "application/json"}, "", ""},
		{"datacontenttype charset", map[string]any{"datacontenttype": "application/json; charset=utf-8"}, "", ""},
		{"datacontenttype upper", map[string]any{"datacontenttype": "Application/JSON"}, "", ""},
		{"datacontenttype null", map[string]any{"datacontenttype": json.RawMessage("null")}, "", ""},
		{"datacontenttype latin1", map[string]any{"datacontenttype": "application/json; charset=latin1"}, "datacontenttype", "must be application/json or absent"},
		{"datacontenttype text", map[string]any{"datacontenttype": "text/plain"}, "datacontenttype", "must be application/json or absent"},
		{"datacontenttype empty", map[string]any{"datacontenttype": ""}, "datacontenttype", "must be application/json or absent"},
		{"data missing", map[string]any{"data": nil}, "data", "required"},
		{"data null", map[string]any{"data": json.RawMessage("null")}, "data", "required"},
		{"data array", map[string]any{"data": json.RawMessage("[1]")}, "data", "must be a JSON object"},
		{"data string", map[string]any{"data": `{"score":9}`}, "data", "must be a JSON object"},
		{"data_base64", map[string]any{"data": nil, "data_base64": "eyJzY29yZSI6OX0="}, "data_base64", "binary data is not supported; send data as a JSON object"},
		{"data_base64 with data", map[string]any{"data_base64": ""}, "data_base64", "not supported"},
		{"extension", map[string]any{"traceparent": "00-abc-01", "partition1": 3, "sampled": true}, "", ""},
		{"extension null", map[string]any{"comexampleext": json.RawMessage("null")}, "", ""},
		{"extension dataschema", map[string]any{"dataschema": "https://vitals.example/schema"}, "", ""},
		{"extension upper", map[string]any{"Subject": "x"}, "Subject", "unknown attribute; extension attribute names must be 1–20 characters of a–z 0–9"},
		{"extension underscore", map[string]any{"trace_id": "x"}, "trace_id", "extension attribute names must be"},
		{"extension 20", map[string]any{long(20): "x"}, "", ""},
		{"extension 21", map[string]any{long(21): "x"}, long(21), "1–20 characters"},
		{"extension empty name", map[string]any{"": "x"}, "event", "empty name"},
		{"extension object", map[string]any{"ext": map[string]any{"a": 1}}, "ext", "must be a string, number or boolean"},
		{"extension array", map[string]any{"ext": []int{1}}, "ext", "must be a string, number or boolean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := envelopeWith(t, tt.set)
			e, err := Parse(raw, testNow)
			if tt.field != "" {
				checkFieldErr(t, err, tt.field, tt.msg)
				return
			}
			if err != nil {
				t.Fatalf("Parse(%s): %v", raw, err)
			}
			if e.Time.Location() != time.UTC {
				t.Errorf("Time not UTC: %v", e.Time)
			}
		})
	}
}

func TestMalformedEvent(t *testing.T) {
	tests := []struct {
		raw, msg string
	}{
		{``, "is not valid JSON"},
		{`   `, "is not valid JSON"},
		{`{`, "is not valid JSON"},
		{`{"id":}`, "is not valid JSON"},
		{`[]`, "must be a JSON object"},
		{`"event"`, "must be a JSON object"},
		{`null`, "must be a JSON object"},
		{string(event("nps.responded", `{"score":9}`)) + ` {}`, "unexpected data after the object"},
		{string(event("nps.responded", `{"score":9}`)) + `}`, "is not valid JSON"},
		{"{\"id\":\"\xff\"}", "must be valid UTF-8"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.raw), testNow)
		checkFieldErr(t, err, "event", tt.msg)
	}
	_, err := Parse([]byte(`{"id":"a","id":"b"}`), testNow)
	checkFieldErr(t, err, "id", "appears more than once")
}

func TestParseEnvelopeFields(t *testing.T) {
	raw := envelopeWith(t, map[string]any{
		"time":            "2026-03-01T10:30:00.25+01:00",
		"datacontenttype": "application/json; charset=utf-8",
		"traceparent":     "00-<x>-01",
		"priority":        json.RawMessage("5"),
	})
	e, err := Parse(raw, testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := Event{
		SpecVersion:     "1.0",
		ID:              "evt-1",
		Source:          "crm",
		Type:            TypeNPSResponded,
		Subject:         "acme",
		Time:            time.Date(2026, 3, 1, 9, 30, 0, 250e6, time.UTC),
		DataContentType: "application/json; charset=utf-8",
		Extensions:      map[string]json.RawMessage{"traceparent": json.RawMessage(`"00-\u003cx\u003e-01"`), "priority": json.RawMessage("5")}, // as envelopeWith encoded them
		Data:            json.RawMessage(`{"score":9}`),
		Payload:         NPSResponded{Score: 9},
	}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("Parse =\n%#v\nwant\n%#v", e, want)
	}
	if v, ok := e.Extension("traceparent"); !ok || v != "00-<x>-01" {
		t.Errorf("Extension(traceparent) = %q, %v", v, ok)
	}
	if v, ok := e.Extension("priority"); !ok || v != "5" {
		t.Errorf("Extension(priority) = %q, %v", v, ok)
	}
	if _, ok := e.Extension("missing"); ok {
		t.Errorf("Extension(missing) present")
	}
	out, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := `{"specversion":"1.0","id":"evt-1","source":"crm","type":"nps.responded","subject":"acme",` +
		`"time":"2026-03-01T09:30:00.25Z","datacontenttype":"application/json; charset=utf-8",` +
		`"priority":5,"traceparent":"00-\u003cx\u003e-01","data":{"score":9}}`
	if string(out) != wantJSON {
		t.Fatalf("json.Marshal =\n%s\nwant\n%s", out, wantJSON)
	}
}

// TestRoundTrip checks Parse → MarshalJSON → Decode gives an equal Event
// for every valid payload, with and without extensions.
func TestRoundTrip(t *testing.T) {
	for _, tt := range validPayloads {
		t.Run(tt.name, func(t *testing.T) {
			raw := event(string(tt.typ), tt.data)
			raw = []byte(strings.Replace(string(raw), `"time"`, `"traceparent":"00-1","n":1.5,"b":false,"time"`, 1))
			e, err := Parse(raw, testNow)
			if err != nil {
				t.Fatal(err)
			}
			out, err := e.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			back, err := Decode(out)
			if err != nil {
				t.Fatalf("Decode(%s): %v", out, err)
			}
			if !reflect.DeepEqual(back, e) {
				t.Fatalf("round trip changed the event:\n%#v\n%#v", e, back)
			}
			again, err := back.MarshalJSON()
			if err != nil || string(again) != string(out) {
				t.Fatalf("second MarshalJSON differs:\n%s\n%s", out, again)
			}
		})
	}
}

func TestDecodeSkipsFutureRule(t *testing.T) {
	raw := envelopeWith(t, map[string]any{"time": "2100-01-01T00:00:00Z"})
	if _, err := Parse(raw, testNow); err == nil {
		t.Fatal("Parse accepted a future event")
	}
	e, err := Decode(raw)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if e.Time.Year() != 2100 {
		t.Fatalf("Time = %v", e.Time)
	}
	// Every other rule still holds.
	_, err = Decode(envelopeWith(t, map[string]any{"data": json.RawMessage(`{"score":11}`)}))
	checkFieldErr(t, err, "data.score", "must be an integer 0..10")
}

func TestBuild(t *testing.T) {
	valid := Attributes{
		SpecVersion: "1.0", ID: "evt-1", Source: "crm", Type: "nps.responded", Subject: "acme",
		Time: "2026-03-01T09:30:00Z", DataContentType: "application/json",
		Extensions: map[string]string{"traceparent": "00-<x>-01"},
	}
	e, err := Build(valid, []byte(" {\"score\": 9, \"x\": 1}\n"), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if e.Payload != (NPSResponded{Score: 9}) || string(e.Data) != `{"score":9,"x":1}` ||
		string(e.Extensions["traceparent"]) != `"00-<x>-01"` || e.Type != TypeNPSResponded {
		t.Fatalf("Build = %#v", e)
	}
	out, err := e.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(out)
	if err != nil || !reflect.DeepEqual(back, e) {
		t.Fatalf("Decode(Build) = %#v, %v", back, err)
	}

	tests := []struct {
		name  string
		edit  func(a *Attributes)
		data  string
		field string
		msg   string
	}{
		{"no specversion", func(a *Attributes) { a.SpecVersion = "" }, `{"score":9}`, "specversion", "required"},
		{"no id", func(a *Attributes) { a.ID = "" }, `{"score":9}`, "id", "required"},
		{"id invalid UTF-8", func(a *Attributes) { a.ID = "\xff" }, `{"score":9}`, "id", "must be valid UTF-8"},
		{"no source", func(a *Attributes) { a.Source = "" }, `{"score":9}`, "source", "required"},
		{"no type", func(a *Attributes) { a.Type = "" }, `{"score":9}`, "type", "required"},
		{"bad type", func(a *Attributes) { a.Type = "foo.bar" }, `{"score":9}`, "type", `unknown event type "foo.bar"`},
		{"no subject", func(a *Attributes) { a.Subject = "" }, `{"score":9}`, "subject", "required"},
		{"no time", func(a *Attributes) { a.Time = "" }, `{"score":9}`, "time", "required"},
		{"future", func(a *Attributes) { a.Time = "2026-03-01T13:00:00Z" }, `{"score":9}`, "time", "in the future"},
		{"content type", func(a *Attributes) { a.DataContentType = "text/plain" }, `{"score":9}`, "datacontenttype", "application/json"},
		{"no content type", func(a *Attributes) { a.DataContentType = "" }, `{"score":9}`, "", ""},
		{"reserved extension", func(a *Attributes) { a.Extensions = map[string]string{"id": "x"} }, `{"score":9}`, "id", "is a core attribute, not an extension"},
		{"bad extension", func(a *Attributes) { a.Extensions = map[string]string{"Trace-Id": "x"} }, `{"score":9}`, "Trace-Id", "extension attribute names"},
		{"extension invalid UTF-8", func(a *Attributes) { a.Extensions = map[string]string{"x": "\xff"} }, `{"score":9}`, "x", "valid UTF-8"},
		{"empty body", nil, ``, "data", "required"},
		{"blank body", nil, " \n", "data", "required"},
		{"array body", nil, `[]`, "data", "must be a JSON object"},
		{"bad JSON", nil, `{"score":`, "data", "is not valid JSON"},
		{"two objects", nil, `{"score":9}{}`, "data", "unexpected data after the object"},
		{"invalid UTF-8 body", nil, "{\"score\":9,\"c\":\"\xff\"}", "data", "valid UTF-8"},
		{"bad payload", nil, `{"score":"9"}`, "data.score", "must be an integer 0..10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := valid
			a.Extensions = nil
			if tt.edit != nil {
				tt.edit(&a)
			}
			_, err := Build(a, []byte(tt.data), testNow)
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			checkFieldErr(t, err, tt.field, tt.msg)
		})
	}
}

func TestStreamsAndRefs(t *testing.T) {
	tests := []struct {
		typ    Type
		data   string
		stream string
		opens  bool
		refs   []Ref
	}{
		{TypeAccountOpened, `{"name":"A","mrr":1}`, "account-acme", true, nil},
		{TypeAccountOpened, `{"name":"A","mrr":1,"manager_id":"am-7"}`, "account-acme", true, []Ref{{"data.manager_id", "am-7"}}},
		{TypeAccountManagerAssigned, `{"manager_id":"am-7"}`, "account-acme", false, []Ref{{"data.manager_id", "am-7"}}},
		{TypeAccountManagerAssigned, `{"manager_id":null}`, "account-acme", false, nil},
		{TypeTouchpointRecorded, `{"channel":"call","direction":"inbound","manager_id":"am-7"}`, "account-acme", false, []Ref{{"data.manager_id", "am-7"}}},
		{TypeTouchpointRecorded, `{"channel":"call","direction":"inbound"}`, "account-acme", false, nil},
		{TypeTimeLogged, `{"manager_id":"am-7","hours":2}`, "account-acme", false, []Ref{{"data.manager_id", "am-7"}}},
		{TypeNPSResponded, `{"score":3}`, "account-acme", false, nil},
		{TypeManagerJoined, `{"name":"Ann"}`, "manager-am-1", true, nil},
		{TypeManagerUpdated, `{"name":"Ann"}`, "manager-am-1", false, nil},
		{TypeManagerLeft, `{}`, "manager-am-1", false, nil},
	}
	for _, tt := range tests {
		e, err := Parse(event(string(tt.typ), tt.data), testNow)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Stream(); got != tt.stream {
			t.Errorf("%s Stream = %q, want %q", tt.typ, got, tt.stream)
		}
		if got := e.OpensStream(); got != tt.opens {
			t.Errorf("%s OpensStream = %v", tt.typ, got)
		}
		if got := e.ManagerRefs(); !reflect.DeepEqual(got, tt.refs) {
			t.Errorf("%s %s ManagerRefs = %v, want %v", tt.typ, tt.data, got, tt.refs)
		}
	}
	e, _ := Parse(event("nps.responded", `{"score":3}`), testNow)
	if e.Key() != "3:crm/evt-1" || e.Ref() != "crm/evt-1" {
		t.Errorf("Key = %q, Ref = %q", e.Key(), e.Ref())
	}
}

func BenchmarkParse(b *testing.B) {
	raw := event("account.opened", `{"name":"Acme Corp","mrr":12500.50,"tier":"gold","manager_id":"am-1","renewal_date":"2026-12-31","industry":"retail"}`)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := Parse(raw, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalDecode(b *testing.B) {
	e, err := Parse(event("invoice.issued", `{"invoice_id":"INV-1","amount":1200,"due_date":"2026-03-31"}`), testNow)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		out, err := e.MarshalJSON()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Decode(out); err != nil {
			b.Fatal(err)
		}
	}
}
