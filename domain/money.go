package domain

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Money is an amount in the deployment currency, stored exactly as an
// integer number of cents (hundredths of the major unit).
//
// In JSON, Money is a number in major units with at most 2 decimals. It is
// parsed from the number's text, never through float64: 12500.5, 12500.50,
// 1.25e4 and 12500.500 are all 1250050 cents, while 0.105 and 1.5e-3 are
// rejected because they are not whole cents. Money is written back as an
// integer when it is whole ("12500") and with exactly two decimals otherwise
// ("12500.50").
type Money int64

// MaxMoney is the largest amount an event may carry: 9 999 999 999.99
// (ten digits before the point). It is chosen so that every sum of one
// amount per account fits in int64 at 10^6 accounts with a factor of 9 to
// spare (10^6 × MaxMoney < 10^18 cents): MRR totals, MRR per band, per
// manager and at risk never overflow at the supported scale. Sums with no
// bound on their number of terms (payments of an invoice, receivables
// over every invoice) use [Money.Add], which saturates.
const MaxMoney Money = 999_999_999_999

// maxMoneyText is MaxMoney as printed, for messages (a test keeps them
// equal).
const maxMoneyText = "9999999999.99"

// Add returns m + n, saturating instead of wrapping: a sum beyond the int64
// range of cents stays at its largest (92 233 720 368 547 758.07) or
// smallest value. A read model therefore never shows a negative total made
// of positive amounts; a saturated total is the sign that it was reached.
func (m Money) Add(n Money) Money {
	s := m + n
	switch {
	case n > 0 && s < m:
		return math.MaxInt64
	case n < 0 && s > m:
		return math.MinInt64
	}
	return s
}

// Reasons a decimal number cannot be read exactly.
var (
	errNotNumber = errors.New("not a JSON number")
	errFraction  = errors.New("too many decimals")
	errRange     = errors.New("out of range")
)

// ParseMoney parses the text of a JSON number (such as "12500.50" or
// "1.25e4") exactly. It fails when the value is not a whole number of cents
// or its magnitude exceeds MaxMoney.
func ParseMoney(s string) (Money, error) {
	return parseMoney(s, MaxMoney)
}

// maxStoredMoney is the largest amount a stored event may hold: the limit
// of versions before MaxMoney (999 999 999 999 999.99). Events accepted
// under it still decode; the read models' sums saturate ([Money.Add]).
const maxStoredMoney Money = 99_999_999_999_999_999

// parseMoney is ParseMoney with the magnitude limit given.
func parseMoney(s string, limit Money) (Money, error) {
	v, err := parseScaled(s, 2, uint64(limit))
	if err != nil {
		return 0, fmt.Errorf("domain: money %q: %w", s, err)
	}
	return Money(v), nil
}

// Float64 returns the amount in major units, for metrics and arithmetic
// where exactness does not matter. Never print money through it: beyond
// 2^53 cents a float64 drops cents (use String or MarshalJSON).
func (m Money) Float64() float64 { return float64(m) / 100 }

// String formats the amount in major units: "12500" when whole, otherwise
// with two decimals ("12500.50", "-0.05").
func (m Money) String() string {
	neg := m < 0
	u := uint64(m)
	if neg {
		u = -u
	}
	s := strconv.FormatUint(u/100, 10)
	if c := u % 100; c != 0 {
		s += fmt.Sprintf(".%02d", c)
	}
	if neg {
		s = "-" + s
	}
	return s
}

// MarshalJSON writes the amount as a JSON number (see String).
func (m Money) MarshalJSON() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalJSON reads a JSON number exactly (see ParseMoney). Strings are
// rejected; null leaves m unchanged, as encoding/json does for numbers.
func (m *Money) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	v, err := ParseMoney(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// parseScaled parses s, which must follow the JSON number grammar, and
// returns s × 10^scale exactly. It fails with errFraction when that is not
// an integer and with errRange when its magnitude exceeds limit.
func parseScaled(s string, scale int, limit uint64) (int64, error) {
	i := 0
	neg := false
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	intStart := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intPart := s[intStart:i]
	if intPart == "" || (len(intPart) > 1 && intPart[0] == '0') {
		return 0, errNotNumber
	}
	var frac string
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		frac = s[start:i]
		if frac == "" {
			return 0, errNotNumber
		}
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		expNeg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			expNeg = s[i] == '-'
			i++
		}
		start := i
		for i < len(s) && isDigit(s[i]) {
			// Saturate: any exponent beyond a billion is "huge" either way.
			if exp < 1e9 {
				exp = exp*10 + int(s[i]-'0')
			}
			i++
		}
		if i == start {
			return 0, errNotNumber
		}
		if expNeg {
			exp = -exp
		}
	}
	if i != len(s) {
		return 0, errNotNumber
	}

	// value × 10^scale = digits × 10^shift
	digits := intPart + frac
	shift := exp - len(frac) + scale
	for len(digits) > 0 && digits[0] == '0' {
		digits = digits[1:]
	}
	if digits == "" {
		return 0, nil
	}
	for digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		shift++
	}
	if shift < 0 {
		return 0, errFraction
	}
	if len(digits)+shift > 19 {
		return 0, errRange
	}
	var v uint64
	for j := 0; j < len(digits); j++ {
		v = v*10 + uint64(digits[j]-'0')
	}
	for ; shift > 0; shift-- {
		v *= 10 // at most 19 digits in all: no overflow of uint64
	}
	if v > limit {
		return 0, errRange
	}
	if neg {
		return -int64(v), nil
	}
	return int64(v), nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
