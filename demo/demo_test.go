package demo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// testEnd is a fixed End with sub-second precision, as time.Now() has.
var testEnd = time.Date(2026, 11, 23, 18, 4, 3, 123456789, time.UTC)

// run generates cfg and returns the events with their JSON lines.
func run(t testing.TB, cfg Config) ([]Event, [][]byte) {
	t.Helper()
	var evs []Event
	var lines [][]byte
	err := Generate(context.Background(), cfg, func(e Event) error {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		evs = append(evs, e)
		lines = append(lines, b)
		return nil
	})
	if err != nil {
		t.Fatalf("Generate(%+v): %v", cfg, err)
	}
	return evs, lines
}

// digest hashes JSON lines.
func digest(lines [][]byte) string {
	h := sha256.New()
	for _, l := range lines {
		h.Write(l)
		h.Write([]byte{'\n'})
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestGenerateDeterministic(t *testing.T) {
	cfg := Config{Seed: 42, Accounts: 40, Managers: 4, Months: 9, End: testEnd}
	_, a := run(t, cfg)
	_, b := run(t, cfg)
	if digest(a) != digest(b) {
		t.Fatalf("two runs of %+v differ", cfg)
	}
	other := cfg
	other.Seed = 43
	_, c := run(t, other)
	if digest(a) == digest(c) {
		t.Fatalf("seeds 42 and 43 give the same output")
	}
	if len(a) < 1000 {
		t.Fatalf("only %d events", len(a))
	}
}

func TestGenerateValid(t *testing.T) {
	tests := []Config{
		{Seed: 1, Accounts: 1, Managers: 1, Months: 1, End: testEnd},
		{Seed: -7, Accounts: 30, Managers: 3, Months: 4, End: testEnd, Source: "demo:test"},
		{Seed: 2, Accounts: 120, Managers: 0, Months: 0, End: testEnd},
		{Seed: 3, Accounts: 25, Managers: 2, Months: 60, End: time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC)},
		{Seed: 4, Accounts: 10, Managers: 20, Months: 13, End: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, cfg := range tests {
		t.Run(fmt.Sprintf("seed%d-%dx%dx%d", cfg.Seed, cfg.Accounts, cfg.Managers, cfg.Months), func(t *testing.T) {
			evs, lines := run(t, cfg)
			for _, err := range checkStream(cfg.withDefaults(), evs, lines) {
				t.Error(err)
			}
		})
	}
}

// TestGenerateMix checks the shape of a 500-account agency within loose
// bounds.
func TestGenerateMix(t *testing.T) {
	cfg := Config{Seed: 7, Accounts: 500, Managers: 8, Months: 24, End: testEnd}
	evs, _ := run(t, cfg)
	types := map[string]int{}
	tiers := map[string]int{}
	kinds := map[string]int{}
	var churnedN, holdN, promoters, npsN, lateN, paidN int
	invoiceDue := map[string]time.Time{}
	for _, e := range evs {
		types[e.Type]++
		switch e.Type {
		case "account.opened":
			tiers[tierFor(int64(math.Round(e.Data["mrr"].(float64)*100)))]++
		case "account.status_changed":
			switch e.Data["status"] {
			case "churned":
				churnedN++
			case "on_hold":
				holdN++
			}
		case "signal.raised":
			kinds[e.Data["kind"].(string)]++
		case "nps.responded":
			npsN++
			if e.Data["score"].(int) >= 9 {
				promoters++
			}
		case "invoice.issued":
			due, _ := time.Parse(time.DateOnly, e.Data["due_date"].(string))
			invoiceDue[e.Data["invoice_id"].(string)] = due
		case "payment.received":
			paidN++
			if e.Time.After(invoiceDue[e.Data["invoice_id"].(string)].Add(24 * time.Hour)) {
				lateN++
			}
		}
	}
	share := func(n int) float64 { return float64(n) / float64(cfg.Accounts) }
	within := func(name string, got, lo, hi float64) {
		t.Helper()
		t.Logf("%s = %.3f", name, got)
		if got < lo || got > hi {
			t.Errorf("%s = %.3f, want %.2f..%.2f", name, got, lo, hi)
		}
	}
	within("platinum share", share(tiers[tierPlatinum]), 0.02, 0.09)
	within("gold share", share(tiers[tierGold]), 0.10, 0.21)
	within("silver share", share(tiers[tierSilver]), 0.32, 0.48)
	within("bronze share", share(tiers[tierBronze]), 0.32, 0.48)
	within("churned share", share(churnedN), 0.02, 0.09)
	within("on_hold share", share(holdN), 0.02, 0.09)
	within("promoter share of NPS answers", float64(promoters)/float64(npsN), 0.6, 0.95)
	within("late share of payments", float64(lateN)/float64(paidN), 0.01, 0.2)
	perAccountMonth := float64(len(evs)) / float64(cfg.Accounts*cfg.Months)
	within("events per account-month", perAccountMonth, 15, 25)
	for _, typ := range catalogTypes {
		if types[typ] == 0 {
			t.Errorf("no %s event", typ)
		}
	}
	risks, opps := 0, 0
	for _, k := range riskKinds {
		risks += kinds[k]
	}
	for _, k := range opportunityKinds {
		opps += kinds[k]
	}
	if risks < 20 || opps < 20 {
		t.Errorf("risk signals %d, opportunity signals %d, want at least 20 of each", risks, opps)
	}
	if types["account.updated"] < 50 {
		t.Errorf("only %d account.updated", types["account.updated"])
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error; none for valid
	}{
		{"defaults", Config{End: testEnd}, nil},
		{"limits", Config{Accounts: MaxAccounts, Managers: MaxManagers, Months: MaxMonths, End: testEnd, Seed: -1}, nil},
		{"no end", Config{}, []string{"end: required"}},
		{"negative accounts", Config{Accounts: -1, End: testEnd}, []string{"accounts: must be 1..100000"}},
		{"too many accounts", Config{Accounts: MaxAccounts + 1, End: testEnd}, []string{"accounts: must be 1..100000"}},
		{"managers", Config{Managers: -3, End: testEnd}, []string{"managers: must be 1..1000"}},
		{"months", Config{Months: 121, End: testEnd}, []string{"months: must be 1..120"}},
		{"end year", Config{End: time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)}, []string{"end: year must be 1980..9999"}},
		{"source", Config{Source: strings.Repeat("s", 201), End: testEnd}, []string{"source: must be"}},
		{"several", Config{Accounts: -1, Months: -1}, []string{"accounts:", "months:", "end: required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
			gerr := Generate(context.Background(), tt.cfg, func(Event) error {
				t.Fatal("emit called for an invalid config")
				return nil
			})
			if gerr == nil || !strings.Contains(gerr.Error(), tt.want[0]) {
				t.Errorf("Generate() = %v, want an error containing %q", gerr, tt.want[0])
			}
		})
	}
}

func TestGenerateStopsAtEmitError(t *testing.T) {
	boom := errors.New("disk full")
	calls := 0
	err := Generate(context.Background(), Config{Seed: 1, Accounts: 20, Months: 3, End: testEnd}, func(Event) error {
		calls++
		if calls == 100 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Generate() = %v, want it to wrap %v", err, boom)
	}
	if calls != 100 {
		t.Fatalf("emit called %d times, want 100", calls)
	}
}

func TestGenerateCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := Generate(ctx, Config{Seed: 1, Accounts: 20, Months: 6, End: testEnd}, func(Event) error {
		calls++
		if calls == 50 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Generate() = %v, want context.Canceled", err)
	}
}

func TestEventMarshalJSON(t *testing.T) {
	tests := []struct {
		name string
		ev   Event
		want string
	}{
		{
			"payment",
			Event{SpecVersion: "1.0", ID: "demo-1-9", Source: "vitals-demo", Type: "payment.received", Subject: "acme",
				Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)),
				Data: map[string]any{"invoice_id": "acme-inv-1", "amount": money(1250050)}},
			`{"specversion":"1.0","id":"demo-1-9","source":"vitals-demo","type":"payment.received","subject":"acme",` +
				`"time":"2026-01-02T02:04:05Z","datacontenttype":"application/json","data":{"amount":12500.5,"invoice_id":"acme-inv-1"}}`,
		},
		{
			"no data",
			Event{SpecVersion: "1.0", ID: "x", Source: "s", Type: "manager.left", Subject: "am-1", Time: time.Unix(0, 0)},
			`{"specversion":"1.0","id":"x","source":"s","type":"manager.left","subject":"am-1",` +
				`"time":"1970-01-01T00:00:00Z","datacontenttype":"application/json","data":{}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// catalogTypes are the event types of docs/events.md (its sections
// "Account events" and "Manager events").
var catalogTypes = []string{
	"account.opened", "account.updated", "account.status_changed", "account.manager_assigned",
	"touchpoint.recorded", "message.received", "message.replied", "meeting.held", "meeting.missed",
	"meeting.canceled", "invoice.issued", "payment.received", "invoice.voided", "nps.responded",
	"kpi.reported", "portal.login", "signal.raised", "signal.resolved", "referral.made", "time.logged",
	"health.overridden", "health.override_cleared", "manager.joined", "manager.updated", "manager.left",
}

var (
	idRE     = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,100}$`)
	moneyRE  = regexp.MustCompile(`^[0-9]+(\.[0-9]{1,2})?$`)
	intRE    = regexp.MustCompile(`^-?[0-9]+$`)
	periodRE = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}$`)
)

// check validates one data value; it returns "" when v is fine.
type check func(v any) string

func str(v any) string {
	if s, ok := v.(string); !ok || s == "" {
		return "must be a non-empty string"
	}
	return ""
}

func ident(v any) string {
	if s, ok := v.(string); !ok || !idRE.MatchString(s) {
		return "must be an id"
	}
	return ""
}

func oneOf(values ...string) check {
	return func(v any) string {
		if s, ok := v.(string); !ok || !slices.Contains(values, s) {
			return fmt.Sprintf("must be one of %v", values)
		}
		return ""
	}
}

func day(v any) string {
	s, ok := v.(string)
	if !ok {
		return "must be a date"
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return "must be a YYYY-MM-DD date"
	}
	return ""
}

func instant(v any) string {
	s, ok := v.(string)
	if !ok {
		return "must be an RFC 3339 time"
	}
	if _, err := time.Parse(time.RFC3339, s); err != nil {
		return "must be an RFC 3339 time"
	}
	return ""
}

func boolean(v any) string {
	if _, ok := v.(bool); !ok {
		return "must be a boolean"
	}
	return ""
}

// num checks a JSON number (json.Number) against lo < or ≤ v ≤ hi.
func num(lo float64, loOpen bool, hi float64) check {
	return func(v any) string {
		n, ok := v.(json.Number)
		if !ok {
			return "must be a number"
		}
		f, err := n.Float64()
		if err != nil || f < lo || loOpen && f == lo || f > hi {
			return fmt.Sprintf("must be in %g..%g", lo, hi)
		}
		return ""
	}
}

func amount(positive bool) check {
	return func(v any) string {
		n, ok := v.(json.Number)
		if !ok || !moneyRE.MatchString(string(n)) {
			return "must be money with at most 2 decimals"
		}
		if f, _ := n.Float64(); positive && f <= 0 {
			return "must be > 0"
		}
		return ""
	}
}

func integer(lo, hi int64) check {
	return func(v any) string {
		n, ok := v.(json.Number)
		if !ok || !intRE.MatchString(string(n)) {
			return "must be an integer"
		}
		i, _ := n.Int64()
		if i < lo || i > hi {
			return fmt.Sprintf("must be %d..%d", lo, hi)
		}
		return ""
	}
}

func nullable(c check) check {
	return func(v any) string {
		if v == nil {
			return ""
		}
		return c(v)
	}
}

// field is a rule for one data field.
type field struct {
	check check
	req   bool
}

const inf = math.MaxFloat64

var tiersEnum = oneOf(tierPlatinum, tierGold, tierSilver, tierBronze)

// catalog are the data rules of docs/events.md (the field tables of each
// event type).
var catalog = map[string]map[string]field{
	"account.opened": {"name": {str, true}, "mrr": {amount(false), true}, "tier": {tiersEnum, false},
		"manager_id": {ident, false}, "renewal_date": {day, false}, "sla_response_hours": {num(0, true, inf), false},
		"industry": {str, false}, "website": {str, false}},
	"account.updated": {"name": {str, false}, "mrr": {amount(false), false}, "tier": {nullable(tiersEnum), false},
		"renewal_date": {nullable(day), false}, "sla_response_hours": {nullable(num(0, true, inf)), false}},
	"account.status_changed":   {"status": {oneOf("active", "on_hold", "churned"), true}, "reason": {str, false}},
	"account.manager_assigned": {"manager_id": {nullable(ident), true}},
	"touchpoint.recorded": {"channel": {oneOf("email", "call", "chat", "meeting", "in_person", "portal", "other"), true},
		"direction": {oneOf("inbound", "outbound"), true}, "manager_id": {ident, false}, "summary": {str, false}},
	"message.received": {"message_id": {ident, true}, "channel": {str, false}},
	"message.replied":  {"message_id": {ident, true}},
	"meeting.held":     {"meeting_id": {ident, true}},
	"meeting.missed":   {"meeting_id": {ident, true}, "by": {oneOf("client", "agency"), false}},
	"meeting.canceled": {"meeting_id": {ident, true}},
	"invoice.issued":   {"invoice_id": {ident, true}, "amount": {amount(true), true}, "due_date": {day, true}},
	"payment.received": {"invoice_id": {ident, true}, "amount": {amount(true), true}},
	"invoice.voided":   {"invoice_id": {ident, true}},
	"nps.responded":    {"score": {integer(0, 10), true}, "respondent": {str, false}, "comment": {str, false}},
	"kpi.reported": {"kpi": {str, true}, "target": {num(0, true, inf), true}, "actual": {num(0, false, inf), true},
		"higher_is_better": {boolean, false}, "period": {str, false}},
	"portal.login": {"contact": {str, false}},
	"signal.raised": {"signal_id": {ident, true}, "kind": {oneOf(append(slices.Clone(riskKinds), opportunityKinds...)...), true},
		"note": {str, false}},
	"signal.resolved": {"signal_id": {ident, true}},
	"referral.made":   {"referred": {str, false}},
	"time.logged":     {"manager_id": {ident, true}, "hours": {num(0, true, 24), true}, "billable": {boolean, false}},
	"health.overridden": {"band": {oneOf("green", "yellow", "red"), true}, "reason": {str, true}, "author": {str, true},
		"expires_at": {instant, false}},
	"health.override_cleared": {},
	"manager.joined":          {"name": {str, true}, "capacity_points": {num(0, true, inf), false}, "weekly_hours": {num(0, true, 168), false}},
	"manager.updated":         {"name": {str, false}, "capacity_points": {num(0, true, inf), false}, "weekly_hours": {num(0, true, 168), false}},
	"manager.left":            {},
}

// checkStream checks every event of a generated stream against
// docs/events.md (envelope, values, ordering rules, field tables) and
// the order rules of the package, using the JSON as written.
func checkStream(cfg Config, evs []Event, lines [][]byte) []error {
	var errs []error
	fail := func(i int, format string, args ...any) {
		if len(errs) < 30 {
			errs = append(errs, fmt.Errorf("event %d (%s): %s", i, lines[i], fmt.Sprintf(format, args...)))
		}
	}
	ids := map[string]bool{}
	joined := map[string]bool{}
	left := map[string]bool{}
	opened := map[string]bool{}
	churned := map[string]bool{}
	refs := map[string]bool{} // "invoice:<id>", "message:<id>", "signal:<id>"
	paid := map[string]float64{}
	invoiced := map[string]float64{}
	var lastTime time.Time
	managersDone := false
	for i, line := range lines {
		var raw struct {
			SpecVersion     string         `json:"specversion"`
			ID              string         `json:"id"`
			Source          string         `json:"source"`
			Type            string         `json:"type"`
			Subject         string         `json:"subject"`
			Time            string         `json:"time"`
			DataContentType string         `json:"datacontenttype"`
			Data            map[string]any `json:"data"`
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		dec.DisallowUnknownFields()
		if err := dec.Decode(&raw); err != nil {
			fail(i, "decode: %v", err)
			continue
		}
		if raw.SpecVersion != "1.0" || raw.Source != cfg.Source || raw.DataContentType != "application/json" {
			fail(i, "envelope attributes")
		}
		if raw.ID == "" || len(raw.ID) > 200 || ids[raw.ID] {
			fail(i, "id empty, too long or repeated")
		}
		ids[raw.ID] = true
		if !idRE.MatchString(raw.Subject) {
			fail(i, "subject is not an id")
		}
		at, err := time.Parse(time.RFC3339, raw.Time)
		if err != nil {
			fail(i, "time: %v", err)
		}
		if at.After(cfg.End) {
			fail(i, "time after End %s", cfg.End)
		}
		if !at.Equal(evs[i].Time) {
			fail(i, "time does not round-trip")
		}
		rules, ok := catalog[raw.Type]
		if !ok {
			fail(i, "unknown type")
			continue
		}
		if raw.Data == nil {
			fail(i, "data missing")
		}
		names := make([]string, 0, len(raw.Data))
		for k := range raw.Data {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			r, ok := rules[k]
			if !ok {
				fail(i, "unknown field data.%s", k)
				continue
			}
			if msg := r.check(raw.Data[k]); msg != "" {
				fail(i, "data.%s: %s", k, msg)
			}
		}
		for k, r := range rules {
			if _, ok := raw.Data[k]; r.req && !ok {
				fail(i, "data.%s: required", k)
			}
		}
		if (raw.Type == "account.updated" || raw.Type == "manager.updated") && len(raw.Data) == 0 {
			fail(i, "update without fields")
		}
		if raw.Type == "kpi.reported" {
			if p, ok := raw.Data["period"].(string); ok && !periodRE.MatchString(p) {
				fail(i, "period %q", p)
			}
		}

		// Order.
		if raw.Type == "manager.joined" {
			if managersDone {
				fail(i, "manager.joined after other events")
			}
			if joined[raw.Subject] {
				fail(i, "manager joined twice")
			}
			joined[raw.Subject] = true
			continue
		}
		if !managersDone {
			managersDone = true
			lastTime = at
		}
		if at.Before(lastTime) {
			fail(i, "time goes back from %s", lastTime)
		}
		lastTime = at
		if mid, ok := raw.Data["manager_id"].(string); ok && (!joined[mid] || left[mid]) {
			fail(i, "manager %q not joined or already left", mid)
		}
		if strings.HasPrefix(raw.Type, "manager.") {
			if !joined[raw.Subject] || left[raw.Subject] {
				fail(i, "unknown manager")
			}
			if raw.Type == "manager.left" {
				left[raw.Subject] = true
			}
			continue
		}
		if raw.Type == "account.opened" {
			if opened[raw.Subject] {
				fail(i, "account opened twice")
			}
			opened[raw.Subject] = true
			continue
		}
		if !opened[raw.Subject] {
			fail(i, "account event before account.opened")
		}
		if churned[raw.Subject] {
			fail(i, "account event after churn")
		}
		if raw.Type == "account.status_changed" && raw.Data["status"] == "churned" {
			churned[raw.Subject] = true
		}
		str := func(k string) string { s, _ := raw.Data[k].(string); return s }
		money := func(k string) float64 { f, _ := raw.Data[k].(json.Number).Float64(); return f }
		switch raw.Type {
		case "invoice.issued":
			refs["invoice:"+str("invoice_id")] = true
			invoiced[str("invoice_id")] = money("amount")
			if due, _ := time.Parse(time.DateOnly, str("due_date")); !due.After(at) {
				fail(i, "due date not after issue")
			}
		case "payment.received":
			id := str("invoice_id")
			if !refs["invoice:"+id] {
				fail(i, "payment for an unknown invoice")
			}
			paid[id] += money("amount")
			if paid[id] > invoiced[id]+0.001 {
				fail(i, "invoice %s overpaid: %.2f of %.2f", id, paid[id], invoiced[id])
			}
		case "invoice.voided":
			if !refs["invoice:"+str("invoice_id")] {
				fail(i, "void of an unknown invoice")
			}
		case "message.received":
			refs["message:"+str("message_id")] = true
		case "message.replied":
			if !refs["message:"+str("message_id")] {
				fail(i, "reply to an unknown message")
			}
		case "signal.raised":
			refs["signal:"+str("signal_id")] = true
		case "signal.resolved":
			if !refs["signal:"+str("signal_id")] {
				fail(i, "resolution of an unknown signal")
			}
		}
	}
	if want := cfg.Managers; len(joined) != want {
		errs = append(errs, fmt.Errorf("%d managers joined, want %d", len(joined), want))
	}
	if len(opened) == 0 || len(opened) > cfg.Accounts {
		errs = append(errs, fmt.Errorf("%d accounts opened, want 1..%d", len(opened), cfg.Accounts))
	}
	return errs
}

func BenchmarkGenerate(b *testing.B) {
	cfg := Config{Seed: 1, Accounts: 200, Months: 24, End: testEnd}
	events := 0
	b.ReportAllocs()
	for b.Loop() {
		events = 0
		err := Generate(context.Background(), cfg, func(Event) error { events++; return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(events), "events/op")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(events), "ns/event")
}

func BenchmarkGenerateJSON(b *testing.B) {
	cfg := Config{Seed: 1, Accounts: 200, Months: 24, End: testEnd}
	events := 0
	b.ReportAllocs()
	for b.Loop() {
		events = 0
		err := Generate(context.Background(), cfg, func(e Event) error {
			events++
			_, err := json.Marshal(e)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(events), "ns/event")
}

// TestCheckStreamCatches makes sure the checker used above fails on broken
// streams, so that TestGenerateValid can fail.
func TestCheckStreamCatches(t *testing.T) {
	cfg := Config{Seed: 5, Accounts: 5, Managers: 2, Months: 2, End: testEnd, Source: DefaultSource}
	base, _ := run(t, cfg)
	// find returns the index of the first event of type typ.
	find := func(evs []Event, typ string) int {
		i := slices.IndexFunc(evs, func(e Event) bool { return e.Type == typ })
		if i < 0 {
			t.Fatalf("no %s event", typ)
		}
		return i
	}
	tests := []struct {
		name   string
		mutate func(evs []Event) []Event
		want   string
	}{
		{"event before its account", func(evs []Event) []Event {
			i := find(evs, "invoice.issued")
			e := evs[i]
			evs = slices.Delete(evs, i, i+1)
			return slices.Insert(evs, find(evs, "account.opened"), e)
		}, "before account.opened"},
		{"three decimals", func(evs []Event) []Event {
			evs[find(evs, "invoice.issued")].Data["amount"] = 12.345
			return evs
		}, "at most 2 decimals"},
		{"after end", func(evs []Event) []Event {
			evs[len(evs)-1].Time = cfg.End.Add(time.Second)
			return evs
		}, "after End"},
		{"repeated id", func(evs []Event) []Event {
			evs[len(evs)-1].ID = evs[0].ID
			return evs
		}, "repeated"},
		{"score out of range", func(evs []Event) []Event {
			i := find(evs, "kpi.reported")
			evs[i].Type, evs[i].Data = "nps.responded", map[string]any{"score": 11}
			return evs
		}, "data.score: must be 0..10"},
		{"missing field", func(evs []Event) []Event {
			delete(evs[find(evs, "touchpoint.recorded")].Data, "channel")
			return evs
		}, "data.channel: required"},
		{"unknown manager", func(evs []Event) []Event {
			evs[find(evs, "account.opened")].Data["manager_id"] = "am-nobody"
			return evs
		}, `manager "am-nobody" not joined`},
		{"unknown field", func(evs []Event) []Event {
			evs[find(evs, "message.received")].Data["colour"] = "blue"
			return evs
		}, "unknown field data.colour"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := make([]Event, len(base))
			for i, e := range base {
				e.Data = maps.Clone(e.Data)
				evs[i] = e
			}
			evs = tt.mutate(evs)
			lines := make([][]byte, len(evs))
			for i, e := range evs {
				b, err := json.Marshal(e)
				if err != nil {
					t.Fatal(err)
				}
				lines[i] = b
			}
			errs := checkStream(cfg, evs, lines)
			if !slices.ContainsFunc(errs, func(err error) bool { return strings.Contains(err.Error(), tt.want) }) {
				t.Errorf("checkStream errors %v, want one containing %q", errs, tt.want)
			}
		})
	}
}

// TestMarshalJSONMatchesEncodingJSON compares the hand-written encoder with
// encoding/json on a generated stream and on awkward values.
func TestMarshalJSONMatchesEncodingJSON(t *testing.T) {
	type reference struct {
		SpecVersion     string         `json:"specversion"`
		ID              string         `json:"id"`
		Source          string         `json:"source"`
		Type            string         `json:"type"`
		Subject         string         `json:"subject"`
		Time            string         `json:"time"`
		DataContentType string         `json:"datacontenttype"`
		Data            map[string]any `json:"data"`
	}
	evs, lines := run(t, Config{Seed: 9, Accounts: 15, Managers: 3, Months: 6, End: testEnd})
	evs = append(evs, Event{
		SpecVersion: "1.0", ID: "odd", Source: "s<&>", Type: "t", Subject: "x",
		Time: time.Date(2026, 3, 4, 5, 6, 7, 890, time.UTC),
		Data: map[string]any{
			"quote": `a "b" \c`, "ctl": "\x00\x1f\n\r\t", "html": "<a href='x'>&</a>", "utf8": "Tomás — ✓",
			"bad": "\xff", "sep": "\u2028\u2029", "tiny": 1e-7, "huge": 1e22, "neg": -0.5, "zero": 0.0,
			"int64": int64(-3), "null": nil, "yes": true, "list": []int{1, 2},
		},
	})
	b, _ := json.Marshal(evs[len(evs)-1])
	lines = append(lines, b)
	for i, e := range evs {
		data := e.Data
		if data == nil {
			data = map[string]any{}
		}
		want, err := json.Marshal(reference{e.SpecVersion, e.ID, e.Source, e.Type, e.Subject,
			e.Time.UTC().Format(time.RFC3339Nano), "application/json", data})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(lines[i], want) {
			t.Fatalf("event %d:\ngot  %s\nwant %s", i, lines[i], want)
		}
	}
}
