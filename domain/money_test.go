package domain

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"
)

func TestParseMoney(t *testing.T) {
	tests := []struct {
		in      string
		want    Money
		wantErr error
	}{
		{"0", 0, nil},
		{"-0", 0, nil},
		{"1", 100, nil},
		{"0.1", 10, nil},
		{"0.10", 10, nil},
		{"0.01", 1, nil},
		{"12500.5", 1250050, nil},
		{"12500.50", 1250050, nil},
		{"12500.500", 1250050, nil},
		{"1e2", 10000, nil},
		{"1E2", 10000, nil},
		{"1e+2", 10000, nil},
		{"1e-2", 1, nil},
		{"1.5e-2", 0, errFraction},
		{"1.25e4", 1250000, nil},
		{"150e-2", 150, nil},
		{"0e999999999999", 0, nil},
		{"0.000e-999999999999", 0, nil},
		{"-3.05", -305, nil},
		{"9999999999.99", MaxMoney, nil},
		{"-9999999999.99", -MaxMoney, nil},
		{"9.99999999999e9", MaxMoney, nil},
		{"10000000000", 0, errRange},
		{"999999999999999.99", 0, errRange},
		{"0.105", 0, errFraction},
		{"1.5e-3", 0, errFraction},
		{"1e-999999999999", 0, errFraction},
		{"1000000000000000", 0, errRange},
		{"999999999999999.999", 0, errFraction},
		{"92233720368547758.07", 0, errRange},
		{"1e400", 0, errRange},
		{"1e999999999999999999999", 0, errRange},
		{"123456789012345678901234567890", 0, errRange},
		{"", 0, errNotNumber},
		{"-", 0, errNotNumber},
		{"01", 0, errNotNumber},
		{"1.", 0, errNotNumber},
		{".5", 0, errNotNumber},
		{"1e", 0, errNotNumber},
		{"+1", 0, errNotNumber},
		{`"12"`, 0, errNotNumber},
		{"1 ", 0, errNotNumber},
		{"null", 0, errNotNumber},
		{"NaN", 0, errNotNumber},
	}
	for _, tt := range tests {
		got, err := ParseMoney(tt.in)
		if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
			t.Errorf("ParseMoney(%q) error = %v, want %v", tt.in, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseMoney(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestMoneyString(t *testing.T) {
	tests := []struct {
		m    Money
		want string
	}{
		{0, "0"},
		{1, "0.01"},
		{10, "0.10"},
		{1250050, "12500.50"},
		{1250000, "12500"},
		{-305, "-3.05"},
		{-300, "-3"},
		{MaxMoney, "9999999999.99"},
		{MaxMoney * 1_000_000, "9999999999990000"},
		{math.MaxInt64, "92233720368547758.07"},
		{-1 << 63, "-92233720368547758.08"},
	}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("Money(%d).String() = %q, want %q", int64(tt.m), got, tt.want)
		}
		b, err := json.Marshal(tt.m)
		if err != nil || string(b) != tt.want {
			t.Errorf("json.Marshal(Money(%d)) = %s, %v; want %s", int64(tt.m), b, err, tt.want)
		}
	}
	if got := Money(1250050).Float64(); got != 12500.5 {
		t.Errorf("Float64() = %v, want 12500.5", got)
	}
}

func TestMoneyJSONRoundTrip(t *testing.T) {
	var v struct{ A, B Money }
	if err := json.Unmarshal([]byte(`{"A": 12500.5, "B": 1e-2}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != 1250050 || v.B != 1 {
		t.Fatalf("got %+v", v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"A":12500.50,"B":0.01}` {
		t.Fatalf("Marshal = %s", b)
	}
	for _, bad := range []string{`{"A": "12"}`, `{"A": 0.001}`, `{"A": true}`} {
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("Unmarshal(%s) succeeded, want error", bad)
		}
	}
}

// TestMaxMoneySumsFit: the largest amount times the supported scale (10^6
// accounts, each with one MRR) fits in int64, so MRR totals cannot overflow.
func TestMaxMoneySumsFit(t *testing.T) {
	const accounts = 1_000_000
	if MaxMoney > math.MaxInt64/accounts {
		t.Fatalf("MaxMoney %s × %d accounts overflows int64", MaxMoney, accounts)
	}
	if got := MaxMoney.String(); got != maxMoneyText {
		t.Fatalf("MaxMoney prints %s, the documented maximum is %s", got, maxMoneyText)
	}
}

// TestMoneyMaxRoundTrip: the largest amount, and sums of it, print exactly
// (no float64 on the way) and parse back to the same cents.
func TestMoneyMaxRoundTrip(t *testing.T) {
	for _, m := range []Money{MaxMoney, -MaxMoney, MaxMoney * 95, MaxMoney*1_000_000 + 1} {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var back Money
		if err := json.Unmarshal(b, &back); -MaxMoney <= m && m <= MaxMoney && (err != nil || back != m) {
			t.Errorf("Money(%d) → %s → %d, %v", int64(m), b, int64(back), err)
		}
		if v, ok := new(big.Rat).SetString(string(b)); !ok || v.Cmp(big.NewRat(int64(m), 100)) != 0 {
			t.Errorf("Money(%d) prints %s, not exactly %d cents", int64(m), b, int64(m))
		}
	}
}

func TestMoneyAdd(t *testing.T) {
	tests := []struct{ a, b, want Money }{
		{1, 2, 3},
		{MaxMoney, MaxMoney, 2 * MaxMoney},
		{MaxMoney, -MaxMoney, 0},
		{math.MaxInt64, 1, math.MaxInt64},
		{math.MaxInt64 - 5, MaxMoney, math.MaxInt64},
		{math.MinInt64, -1, math.MinInt64},
		{math.MinInt64 + 5, -MaxMoney, math.MinInt64},
		{math.MaxInt64, math.MinInt64, -1},
	}
	for _, tt := range tests {
		if got := tt.a.Add(tt.b); got != tt.want {
			t.Errorf("Money(%d).Add(%d) = %d, want %d", int64(tt.a), int64(tt.b), int64(got), int64(tt.want))
		}
	}
	// A sum of more than 9.2 million largest amounts saturates instead of
	// wrapping to a negative total.
	var sum Money
	for range 10_000_000 {
		sum = sum.Add(MaxMoney)
	}
	if sum != math.MaxInt64 {
		t.Errorf("10^7 × MaxMoney = %s, want saturated at %s", sum, Money(math.MaxInt64))
	}
}

// TestStoredMoneyBeyondMaxStillDecodes: an amount accepted by an earlier
// version (up to 999999999999999.99) is rejected at ingest but still
// decodes from the log, so lowering MaxMoney drops no stored event.
func TestStoredMoneyBeyondMaxStillDecodes(t *testing.T) {
	raw := []byte(`{"specversion":"1.0","id":"o1","source":"crm","type":"account.opened","subject":"big",` +
		`"time":"2026-01-01T00:00:00Z","data":{"name":"Big","tier":"gold","mrr":999999999999999.99,"started_on":"2026-01-01"}}`)
	if _, err := Parse(raw, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)); err == nil || !strings.Contains(err.Error(), "data.mrr") {
		t.Fatalf("Parse: %v, want a data.mrr range error", err)
	}
	ev, err := Decode(raw)
	if err != nil {
		t.Fatalf("Decode of a stored event: %v", err)
	}
	if got := ev.Payload.(AccountOpened).MRR; got.String() != "999999999999999.99" {
		t.Errorf("mrr = %s, want 999999999999999.99", got)
	}
}
