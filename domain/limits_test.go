package domain

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestNumericRanges: every number of every payload has a finite range that
// keeps the arithmetic of scoring and the read models finite (issue 9,
// item 3). Values just outside are rejected naming the field; the bounds
// themselves are accepted.
func TestNumericRanges(t *testing.T) {
	tests := []struct {
		typ   Type
		data  string
		field string // "" means valid
	}{
		// kpi.reported: target 0.000001..1e12, actual 0..1e12.
		{TypeKPIReported, `{"kpi":"k","target":1e-300,"actual":1e9}`, "data.target"},
		{TypeKPIReported, `{"kpi":"k","target":5e-324,"actual":1}`, "data.target"},
		{TypeKPIReported, `{"kpi":"k","target":0.00000099,"actual":1}`, "data.target"},
		{TypeKPIReported, `{"kpi":"k","target":1.0000001e12,"actual":1}`, "data.target"},
		{TypeKPIReported, `{"kpi":"k","target":1e308,"actual":1}`, "data.target"},
		{TypeKPIReported, `{"kpi":"k","target":5,"actual":1.0000001e12}`, "data.actual"},
		{TypeKPIReported, `{"kpi":"k","target":5,"actual":1e308}`, "data.actual"},
		{TypeKPIReported, `{"kpi":"k","target":0.000001,"actual":1e12}`, ""},
		{TypeKPIReported, `{"kpi":"k","target":1e12,"actual":0,"higher_is_better":false}`, ""},
		// sla_response_hours: 0.01..87840.
		{TypeAccountOpened, `{"name":"A","mrr":1,"sla_response_hours":1e-300}`, "data.sla_response_hours"},
		{TypeAccountOpened, `{"name":"A","mrr":1,"sla_response_hours":0.0099}`, "data.sla_response_hours"},
		{TypeAccountOpened, `{"name":"A","mrr":1,"sla_response_hours":87840.5}`, "data.sla_response_hours"},
		{TypeAccountOpened, `{"name":"A","mrr":1,"sla_response_hours":1e300}`, "data.sla_response_hours"},
		{TypeAccountOpened, `{"name":"A","mrr":1,"sla_response_hours":0.01}`, ""},
		{TypeAccountOpened, `{"name":"A","mrr":1,"sla_response_hours":87840}`, ""},
		{TypeAccountUpdated, `{"sla_response_hours":1e300}`, "data.sla_response_hours"},
		// capacity_points: 0.01..1000000.
		{TypeManagerJoined, `{"name":"Ann","capacity_points":5e-324}`, "data.capacity_points"},
		{TypeManagerJoined, `{"name":"Ann","capacity_points":1000000.5}`, "data.capacity_points"},
		{TypeManagerJoined, `{"name":"Ann","capacity_points":0.01}`, ""},
		{TypeManagerJoined, `{"name":"Ann","capacity_points":1000000}`, ""},
		{TypeManagerUpdated, `{"capacity_points":1e-300}`, "data.capacity_points"},
		// weekly_hours: 0.01..168.
		{TypeManagerJoined, `{"name":"Ann","weekly_hours":5e-324}`, "data.weekly_hours"},
		{TypeManagerJoined, `{"name":"Ann","weekly_hours":0.0099}`, "data.weekly_hours"},
		{TypeManagerJoined, `{"name":"Ann","weekly_hours":0.01}`, ""},
		{TypeManagerUpdated, `{"weekly_hours":1e-300}`, "data.weekly_hours"},
		// time.logged hours: 0 < h ≤ 24 (sums of them stay finite).
		{TypeTimeLogged, `{"manager_id":"am-1","hours":24.000001}`, "data.hours"},
		{TypeTimeLogged, `{"manager_id":"am-1","hours":24}`, ""},
	}
	for _, tt := range tests {
		_, err := Parse(event(string(tt.typ), tt.data), testNow)
		if tt.field == "" {
			if err != nil {
				t.Errorf("%s %s: %v", tt.typ, tt.data, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s %s: accepted, want a rejection of %s", tt.typ, tt.data, tt.field)
			continue
		}
		checkFieldErr(t, err, tt.field, "must be a number")
	}
}

// TestNumericRangesMessagesNameTheBounds: each message states the range,
// the same one docs/events.md documents.
func TestNumericRangesMessagesNameTheBounds(t *testing.T) {
	for _, tt := range []struct{ data, field, msg string }{
		{`{"kpi":"k","target":1e-300,"actual":1}`, "data.target", "0.000001 ≤ target ≤ 1000000000000"},
		{`{"kpi":"k","target":1,"actual":1e13}`, "data.actual", "0 ≤ actual ≤ 1000000000000"},
	} {
		_, err := Parse(event(string(TypeKPIReported), tt.data), testNow)
		checkFieldErr(t, err, tt.field, tt.msg)
	}
}

// TestNumericBoundsKeepArithmeticFinite: the products scoring and the read
// models compute from the extreme accepted values stay finite: the KPI
// shortfall (target − actual) ÷ target scaled by 1e9, a manager's load ÷
// capacity and billable hours ÷ (weekly hours × 4), both scaled by 1e4
// (round4), for a million platinum accounts and a year of 24-hour days.
func TestNumericBoundsKeepArithmeticFinite(t *testing.T) {
	for _, f := range []float64{
		(MaxKPIValue - 0) / MinKPITarget * 1e9,
		(0 - MaxKPIValue) / MinKPITarget * 1e9,
		25 * 1e6 / MinCapacityPoints * 1e4,
		24 * 366 * 1e6 / (MinHours * 4) * 1e4,
		MaxSLAHours * float64(time.Hour),
	} {
		if math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) > math.MaxFloat64/1e6 {
			t.Errorf("product %g is not safely finite", f)
		}
	}
	if MaxSLAHours*float64(time.Hour) >= math.MaxInt64/2 {
		t.Errorf("MaxSLAHours %g does not fit a time.Duration with room", MaxSLAHours)
	}
}

// TestInstantRange: event times, date fields and expires_at lie within
// [1970-01-01T00:00:00Z, 2200-01-01T00:00:00Z), so that any two instants
// differ by less than a time.Duration can hold (item 7).
func TestInstantRange(t *testing.T) {
	for _, tt := range []struct {
		name  string
		raw   []byte
		field string
	}{
		{"time year 1", envelopeWith(t, map[string]any{"time": "0001-01-01T00:00:00Z"}), "time"},
		{"time 1969", envelopeWith(t, map[string]any{"time": "1969-12-31T23:59:59.999999999Z"}), "time"},
		{"time 1970 by offset", envelopeWith(t, map[string]any{"time": "1970-01-01T00:30:00+01:00"}), "time"},
		{"time 1970", envelopeWith(t, map[string]any{"time": "1970-01-01T00:00:00Z"}), ""},
		{"due_date 1969", event("invoice.issued", `{"invoice_id":"i","amount":1,"due_date":"1969-12-31"}`), "data.due_date"},
		{"due_date 2200", event("invoice.issued", `{"invoice_id":"i","amount":1,"due_date":"2200-01-01"}`), "data.due_date"},
		{"due_date 1970", event("invoice.issued", `{"invoice_id":"i","amount":1,"due_date":"1970-01-01"}`), ""},
		{"renewal 2199", event("account.opened", `{"name":"A","mrr":1,"renewal_date":"2199-12-31"}`), ""},
		{"renewal 9999", event("account.opened", `{"name":"A","mrr":1,"renewal_date":"9999-12-31"}`), "data.renewal_date"},
		{"expires 2200", event("health.overridden", `{"band":"red","reason":"r","author":"a","expires_at":"2200-01-01T00:00:00Z"}`), "data.expires_at"},
		{"expires 2199", event("health.overridden", `{"band":"red","reason":"r","author":"a","expires_at":"2199-12-31T23:59:59.999999999Z"}`), ""},
	} {
		_, err := Parse(tt.raw, testNow)
		if tt.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		checkFieldErr(t, err, tt.field, "1970")
	}
	// The message states the range.
	_, err := Parse(envelopeWith(t, map[string]any{"time": "1969-12-31T23:59:59Z"}), testNow)
	checkFieldErr(t, err, "time", "must be from 1970-01-01T00:00:00Z up to (not including) 2200-01-01T00:00:00Z")
	// A stored event from before the range applied still decodes.
	old := envelopeWith(t, map[string]any{"time": "1969-12-31T23:59:59Z"})
	if _, err := Decode(old); err != nil {
		t.Errorf("Decode of a stored 1969 event: %v", err)
	}
}

// TestParseInstant: the one strict parser of event times and ?at=.
func TestParseInstant(t *testing.T) {
	for _, s := range []string{
		"2026-03-01T09:30:00Z", "2026-03-01T09:30:00.25+01:00", "2026-03-01T09:30:00+23:59",
		"2026-03-01T09:30:00-23:59", "1970-01-01T00:00:00Z", "2199-12-31T23:59:59.999999999Z",
	} {
		if _, err := ParseInstant(s); err != nil {
			t.Errorf("ParseInstant(%q): %v", s, err)
		}
	}
	for _, s := range []string{
		"2026-03-01T09:30:00+24:00", "2026-03-01T09:30:00-24:00", "2026-03-01T09:30:00+23:60",
		"2026-03-01T09:30:00+99:00", "2026-03-01T09:30:00,5Z", "2026-03-01", "0001-01-01T00:00:00Z",
		"2200-01-01T00:00:00Z", "2026-03-01T09:30:00", "",
	} {
		if _, err := ParseInstant(s); err == nil {
			t.Errorf("ParseInstant(%q) accepted", s)
		}
	}
	got, err := ParseInstant("2026-03-01T10:30:00+01:00")
	if want := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC); err != nil || !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("ParseInstant: %v %v, want %v", got, err, want)
	}
}

// TestTimeOffsetHours: RFC 3339 offsets have hours 00–23 and minutes
// 00–59; Go's time.Parse accepts +24:00 and +23:60 (item 10).
func TestTimeOffsetHours(t *testing.T) {
	for _, off := range []string{"+24:00", "-24:00", "+23:60"} {
		_, err := Parse(envelopeWith(t, map[string]any{"time": "2026-03-01T09:30:00" + off}), testNow)
		checkFieldErr(t, err, "time", "offset")
		_, err = Parse(event("health.overridden", `{"band":"red","reason":"r","author":"a","expires_at":"2026-04-01T09:30:00`+off+`"}`), testNow)
		checkFieldErr(t, err, "data.expires_at", "offset")
		_, err = Build(Attributes{SpecVersion: "1.0", ID: "e", Source: "s", Type: "nps.responded", Subject: "acme",
			Time: "2026-03-01T09:30:00" + off}, []byte(`{"score":9}`), testNow)
		checkFieldErr(t, err, "time", "offset")
	}
	if _, err := Parse(envelopeWith(t, map[string]any{"time": "2026-03-01T00:30:00-09:59"}), testNow); err != nil {
		t.Errorf("offset -09:59: %v", err)
	}
}

// TestExtensionNumbersFinite: an extension number must be a finite float64
// (1e999 would read as +Inf) (item 10).
func TestExtensionNumbersFinite(t *testing.T) {
	for _, v := range []string{"1e999", "-1e999", "1e400"} {
		raw := []byte(strings.Replace(string(event("nps.responded", `{"score":9}`)), `"data"`, `"ext":`+v+`,"data"`, 1))
		_, err := Parse(raw, testNow)
		checkFieldErr(t, err, "ext", "finite")
		if _, err := Decode(raw); err != nil { // stored before the rule: still decodes
			t.Errorf("Decode %s: %v", v, err)
		}
	}
	raw := []byte(strings.Replace(string(event("nps.responded", `{"score":9}`)), `"data"`, `"ext":1.7e308,"data"`, 1))
	if _, err := Parse(raw, testNow); err != nil {
		t.Errorf("1.7e308: %v", err)
	}
}

// TestLoneSurrogates: encoding/json decodes a lone surrogate escape as
// U+FFFD, which would merge "\ud800", "\udc00" and "\ufffd" into one id.
// Such escapes are rejected wherever they occur, naming the field; a proper
// pair and U+FFFD itself are accepted (item 8).
func TestLoneSurrogates(t *testing.T) {
	base := string(envelopeWith(t, nil))
	with := func(old, new string) []byte {
		if !strings.Contains(base, old) {
			t.Fatalf("%q not in %s", old, base)
		}
		return []byte(strings.Replace(base, old, new, 1))
	}
	for _, tt := range []struct {
		name  string
		raw   []byte
		field string // "" means valid
	}{
		{"id high", with(`"id":"evt-1"`, `"id":"\ud800"`), "id"},
		{"id low", with(`"id":"evt-1"`, `"id":"\udc00"`), "id"},
		{"id upper-case escape", with(`"id":"evt-1"`, `"id":"a\uDBFFb"`), "id"},
		{"id high then non-low", with(`"id":"evt-1"`, `"id":"\ud800\u0041"`), "id"},
		{"id two highs", with(`"id":"evt-1"`, `"id":"\ud800\ud800\udc00"`), "id"},
		{"id high at end", with(`"id":"evt-1"`, `"id":"x\ud83d"`), "id"},
		{"id pair", with(`"id":"evt-1"`, `"id":"\ud83d\ude00"`), ""},
		{"id fffd", with(`"id":"evt-1"`, `"id":"\ufffd"`), ""},
		{"id escaped backslash then u", with(`"id":"evt-1"`, `"id":"\\ud800"`), ""},
		{"source", with(`"source":"crm"`, `"source":"c\udfffrm"`), "source"},
		{"subject", with(`"subject":"acme"`, `"subject":"\udc00"`), "subject"},
		{"type", with(`"type":"nps.responded"`, `"type":"\ud800"`), "type"},
		{"time", with(`"time":"2026-03-01T09:30:00Z"`, `"time":"\ud800"`), "time"},
		{"extension", with(`"id":"evt-1"`, `"id":"evt-1","ext":"\ud800"`), "ext"},
		{"data string", with(`{"score":9}`, `{"score":9,"comment":"\ud800"}`), "data.comment"},
		{"data unknown nested", with(`{"score":9}`, `{"score":9,"mine":{"a":["\udc00"]}}`), "data.mine"},
		{"data member name", with(`{"score":9}`, `{"score":9,"x\ud800":1}`), "data.x\ufffd"},
		{"member name", with(`"id":"evt-1"`, `"id":"evt-1","\ud800":1`), "\ufffd"},
	} {
		_, err := Parse(tt.raw, testNow)
		if tt.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: accepted %s", tt.name, tt.raw)
			continue
		}
		checkFieldErr(t, err, tt.field, "surrogate")
	}
}

// TestBinaryInvalidUTF8: in binary mode the attributes come from
// percent-decoded headers, which may hold any bytes; each attribute must be
// valid UTF-8 (a surrogate encoded in UTF-8 form is not) (item 8).
func TestBinaryInvalidUTF8(t *testing.T) {
	valid := Attributes{SpecVersion: "1.0", ID: "e", Source: "s", Type: "nps.responded", Subject: "acme", Time: "2026-03-01T09:30:00Z"}
	const bad = "\xed\xa0\x80" // U+D800 in UTF-8 form: invalid UTF-8
	for _, tt := range []struct {
		field string
		set   func(a *Attributes)
	}{
		{"specversion", func(a *Attributes) { a.SpecVersion = bad }},
		{"id", func(a *Attributes) { a.ID = "e" + bad }},
		{"source", func(a *Attributes) { a.Source = bad }},
		{"type", func(a *Attributes) { a.Type = bad }},
		{"subject", func(a *Attributes) { a.Subject = bad }},
		{"time", func(a *Attributes) { a.Time = bad }},
		{"datacontenttype", func(a *Attributes) { a.DataContentType = "application/json; x=" + bad }},
		{"ext", func(a *Attributes) { a.Extensions = map[string]string{"ext": "\xff"} }},
	} {
		a := valid
		tt.set(&a)
		_, err := Build(a, []byte(`{"score":9}`), testNow)
		checkFieldErr(t, err, tt.field, "must be valid UTF-8")
	}
	if _, err := Build(valid, []byte(`{"score":9}`), testNow); err != nil {
		t.Fatalf("valid: %v", err)
	}
}

// TestDecodeKeepsStoredEvents: the rules that bound new events apply at
// ingest only; an event an earlier version accepted and stored still
// decodes, so no stored event drops out of the read models.
func TestDecodeKeepsStoredEvents(t *testing.T) {
	for _, raw := range [][]byte{
		event("kpi.reported", `{"kpi":"k","target":1e-300,"actual":1e9}`),
		event("manager.joined", `{"name":"Ann","capacity_points":5e-324,"weekly_hours":1e-300}`),
		event("account.opened", `{"name":"A","mrr":1,"sla_response_hours":1e300,"renewal_date":"9999-12-31"}`),
		event("health.overridden", `{"band":"red","reason":"r","author":"a","expires_at":"2026-04-01T00:00:00+24:00"}`),
		envelopeWith(t, map[string]any{"time": "2026-03-01T09:30:00+23:60"}),
		[]byte(strings.Replace(string(envelopeWith(t, nil)), `"id":"evt-1"`, `"id":"\ud800"`, 1)),
	} {
		if _, err := Parse(raw, testNow); err == nil {
			t.Errorf("Parse accepted %s", raw)
		}
		if _, err := Decode(raw); err != nil {
			t.Errorf("Decode(%s): %v", raw, err)
		}
	}
}
