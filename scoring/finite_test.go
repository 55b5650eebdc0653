package scoring

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// nonFinitePath walks v (a result, by reflection) and reports the path of the
// first float that is NaN or ±Inf, or "".
func nonFinitePath(v reflect.Value, path string) string {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return path
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return nonFinitePath(v.Elem(), path)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if !v.Type().Field(i).IsExported() {
				continue
			}
			if p := nonFinitePath(v.Field(i), path+"."+v.Type().Field(i).Name); p != "" {
				return p
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if p := nonFinitePath(v.Index(i), path+"[]"); p != "" {
				return p
			}
		}
	}
	return ""
}

// checkFinite fails when r holds a non-finite number or does not encode.
func checkFinite(t testing.TB, r Result) {
	t.Helper()
	if p := nonFinitePath(reflect.ValueOf(r), "result"); p != "" {
		t.Fatalf("%s is not finite", p)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatalf("result does not encode: %v", err)
	}
}

// TestNonFiniteIntermediates: inputs that bypass ingest validation and make
// an intermediate overflow (a KPI shortfall from a subnormal target, a
// difference beyond float64, an infinite or subnormal SLA) give a finite,
// encodable result with the documented clamped values.
func TestNonFiniteIntermediates(t *testing.T) {
	s := mustScorer(t)
	tests := []struct {
		name           string
		target, actual float64
		higher         bool
		wantShortfall  float64
		wantBand       Band
	}{
		{"subnormal target, higher is better, far above", 5e-324, 1e9, true, -maxShortfall, BandGreen},
		{"subnormal target, higher is better, below", 5e-324, 0, true, 1, BandRed},
		{"tiny target, lower is better, far above", 1e-300, 1e9, false, maxShortfall, BandRed},
		{"tiny target, lower is better, far below", 1e-300, -1e9, false, -maxShortfall, BandGreen},
		{"difference overflows", 1e308, -1.7e308, true, 2.7, BandRed},
		{"difference overflows, lower is better", 1.7e308, -1.7e308, false, -2, BandGreen},
		{"huge ratio", 1e-10, 1e300, true, -maxShortfall, BandGreen},
		{"largest finite values", math.MaxFloat64, -math.MaxFloat64, true, 2, BandRed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Account
			kpi(&a, "k", ago(day), tt.target, tt.actual, tt.higher)
			r := s.Score(&a, T)
			checkFinite(t, r)
			d := component(t, r, "kpi").Details.(*KPIDetails).KPIs[0]
			if d.Shortfall != tt.wantShortfall || d.Band != tt.wantBand {
				t.Errorf("shortfall %v band %s, want %v %s", d.Shortfall, d.Band, tt.wantShortfall, tt.wantBand)
			}
		})
	}

	for _, h := range []float64{math.Inf(1), math.MaxFloat64, 1e300, 5e-324, 1e-300} {
		var a Account
		a.AddAttrs(AttrChange{Ref: "crm/1", Time: ago(day), SLAHours: h})
		message(&a, "m", ago(2*day), -1)
		message(&a, "n", ago(3*day), time.Hour)
		r := s.Score(&a, T)
		checkFinite(t, r)
		want := min(max(h, minSLAHours), maxSLAHours)
		if r.SLAHours != want || component(t, r, "response").Details.(*ResponseDetails).SLAHours != want {
			t.Errorf("SLA %v: reported %v, want %v", h, r.SLAHours, want)
		}
	}
}

// TestPaymentsSaturate: payments whose sum exceeds int64 (possible only for
// facts that bypass ingest) make the invoice paid, never a negative sum.
func TestPaymentsSaturate(t *testing.T) {
	s := mustScorer(t)
	var a Account
	a.IssueInvoice("i", "b/i", ago(60*day), math.MaxInt64, date(-20))
	for _, ref := range []string{"b/p1", "b/p2", "b/p3"} {
		a.AddPayment("i", Payment{Ref: ref, Time: date(-25), AmountCents: math.MaxInt64 / 2})
	}
	r := s.Score(&a, T)
	checkFinite(t, r)
	d := component(t, r, "invoices").Details.(*InvoiceDetails).Invoices[0]
	if !d.Paid || d.PaidCents != math.MaxInt64 || d.DaysLate != 0 {
		t.Errorf("invoice %+v, want paid with paid_cents saturated at %d", d, int64(math.MaxInt64))
	}
	if next, ok := s.NextChange(&a, T); ok && next.Equal(date(1)) {
		t.Errorf("NextChange %v: a paid invoice does not get later at midnight", next)
	}
}

func TestAddCents(t *testing.T) {
	tests := []struct{ a, b, want int64 }{
		{1, 2, 3},
		{math.MaxInt64, 1, math.MaxInt64},
		{math.MaxInt64 / 2, math.MaxInt64/2 + 2, math.MaxInt64},
		{math.MinInt64, -1, math.MinInt64},
		{math.MaxInt64, math.MinInt64, -1},
	}
	for _, tt := range tests {
		if got := addCents(tt.a, tt.b); got != tt.want {
			t.Errorf("addCents(%d, %d) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestHugeWeightsRejected: weights so large that their sum would overflow
// are rejected by validation, naming the field.
func TestHugeWeightsRejected(t *testing.T) {
	c := DefaultConfig()
	c.Components.NPS.Weight = 1e308
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "components.nps.weight") {
		t.Fatalf("Validate = %v, want an error naming components.nps.weight", err)
	}
}

// TestTrendBeforeOpening: the trend treats instants before the account
// existed as unknown even when back-dated facts would score them, and the
// result changes (NextChange) when a look-back reaches the opening.
func TestTrendBeforeOpening(t *testing.T) {
	s := mustScorer(t)
	a := Account{Since: ago(10 * day)}
	nps(&a, ago(40*day), 10)                    // imported history: green long before the opening
	kpi(&a, "leads", ago(2*day), 100, 95, true) // yellow now
	r := s.Score(&a, T)
	checkFinite(t, r)
	if r.Score == nil || *r.Score != 72.73 {
		t.Fatalf("score %v, want 72.73", r.Score)
	}
	if r.Trend.Score30dAgo != nil || r.Trend.Delta30d != nil {
		t.Errorf("score_30d_ago %v delta_30d %v: before the opening, want nulls", r.Trend.Score30dAgo, r.Trend.Delta30d)
	}
	if r.Trend.Score7dAgo == nil || *r.Trend.Score7dAgo != 100 || r.Trend.Delta7d == nil {
		t.Errorf("score_7d_ago %v: after the opening, want 100", r.Trend.Score7dAgo)
	}
	if got := s.ScoreWithoutTrend(&a, ago(11*day)); got.Score != nil || got.Coverage != 0 {
		t.Errorf("score before the opening = %v (coverage %v), want null", got.Score, got.Coverage)
	}
	if got := s.ScoreWithoutTrend(&a, ago(10*day)); got.Score == nil {
		t.Error("score at the opening instant is null, want the back-dated facts scored")
	}
	// At T − 4 d the 7-day look-back is before the opening; it reaches the
	// opening at T − 3 d, when score_7d_ago appears.
	if next, ok := s.NextChange(&a, ago(4*day)); !ok || !next.Equal(ago(3*day)) {
		t.Errorf("NextChange(T−4d) = %v %v, want %v", next, ok, ago(3*day))
	}
	if r := s.Score(&a, ago(4*day)); r.Trend.Score7dAgo != nil {
		t.Errorf("score_7d_ago at T−4d = %v, want null", *r.Trend.Score7dAgo)
	}
}
