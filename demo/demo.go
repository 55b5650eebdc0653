// Package demo generates a realistic synthetic agency as a stream of
// CloudEvents, deterministically from a seed. `vitals demo` uses it to fill
// a fresh deployment with data that exercises every part of the product
// contract: health bands, at-risk reasons, the upsell list, manager capacity
// and the portfolio.
//
// # The agency
//
// An agency (marketing, PR, IT, consulting) with Config.Managers account
// managers and Config.Accounts client accounts over Config.Months months of
// history that ends at or before Config.End. Each account follows a latent
// health trajectory chosen from an archetype, dealt from shuffled decks of
// 20 so that the shares hold exactly in every block of 20 accounts: 60%
// healthy, 10% expanding (opportunity signals, MRR increases), 20% drifting
// toward churn in their last months (a quarter of them recover), 5% churned
// and 5% put on hold for a while. Tiers are dealt the same way: 5% platinum,
// 15% gold, 40% silver, 40% bronze by MRR. Health drives behaviour:
// payments, meetings, NPS answers, reply delays, KPI results, touchpoints
// and risk signals. On a 500-account, 24-month agency about three quarters
// of the active accounts end green and an eighth each yellow and red.
//
// # Order and determinism
//
// Generate emits all manager.joined events first, then every other event in
// time order (ties: account.opened first, then creation order). Every
// account's account.opened precedes its other events, and nothing is dated
// after Config.End. The same Config gives byte-identical output: all
// randomness comes from PCG generators seeded from Config.Seed, and maps
// are only iterated with their keys sorted.
//
// # Memory
//
// Generation is a day-by-day simulation: the state of every account is
// small and kept in memory; events wait in a min-heap until their day is
// complete and are then emitted. The heap holds about one day of events plus
// the pending replies, payments and resolutions (about two per account), so
// memory grows with the number of accounts, not with the history length:
// 10,000 accounts over 24 months (4.5 million events) peak at about 40 MiB
// of heap.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// Defaults and limits of Config.
const (
	DefaultAccounts = 200
	DefaultManagers = 8
	DefaultMonths   = 24
	DefaultSource   = "vitals-demo"

	MaxAccounts = 100000
	MaxManagers = 1000
	MaxMonths   = 120
	maxSource   = 200
)

// Config describes the agency to generate. Zero values of Accounts,
// Managers, Months and Source select the defaults; End is required.
type Config struct {
	Seed     int64
	Accounts int       // number of client accounts, default 200
	Managers int       // number of account managers, default 8
	Months   int       // history length, default 24
	End      time.Time // the generated history ends at or before End
	Source   string    // CloudEvents source, default "vitals-demo"
}

// withDefaults returns c with zero values replaced by the defaults.
func (c Config) withDefaults() Config {
	if c.Accounts == 0 {
		c.Accounts = DefaultAccounts
	}
	if c.Managers == 0 {
		c.Managers = DefaultManagers
	}
	if c.Months == 0 {
		c.Months = DefaultMonths
	}
	if c.Source == "" {
		c.Source = DefaultSource
	}
	return c
}

// Validate reports every invalid field of c, each error naming the field
// ("accounts: must be 1..100000"), joined with errors.Join. Zero values that
// select a default are valid.
func (c Config) Validate() error {
	d := c.withDefaults()
	var errs []error
	if d.Accounts < 1 || d.Accounts > MaxAccounts {
		errs = append(errs, fmt.Errorf("accounts: must be 1..%d, got %d", MaxAccounts, d.Accounts))
	}
	if d.Managers < 1 || d.Managers > MaxManagers {
		errs = append(errs, fmt.Errorf("managers: must be 1..%d, got %d", MaxManagers, d.Managers))
	}
	if d.Months < 1 || d.Months > MaxMonths {
		errs = append(errs, fmt.Errorf("months: must be 1..%d, got %d", MaxMonths, d.Months))
	}
	switch {
	case c.End.IsZero():
		errs = append(errs, errors.New("end: required"))
	case c.End.UTC().Year() < 1980 || c.End.UTC().Year() > 9999:
		errs = append(errs, fmt.Errorf("end: year must be 1980..9999, got %d", c.End.UTC().Year()))
	}
	if len(d.Source) > maxSource || !utf8.ValidString(d.Source) {
		errs = append(errs, fmt.Errorf("source: must be valid UTF-8 of at most %d bytes", maxSource))
	}
	return errors.Join(errs...)
}

// Event is one generated CloudEvent. Its MarshalJSON produces the
// structured-mode JSON object of docs/events.md#envelope.
type Event struct {
	SpecVersion string
	ID          string
	Source      string
	Type        string
	Subject     string
	Time        time.Time
	// Data is the event's data object. Values are strings, float64 numbers
	// (money with at most 2 decimals), ints, bools and nil (JSON null).
	Data map[string]any
}

// MarshalJSON encodes e as a structured-mode CloudEvent with
// datacontenttype application/json. The data keys come out sorted, so equal
// events encode to equal bytes; the output is the same as encoding/json's
// for the same object, only faster.
func (e Event) MarshalJSON() ([]byte, error) {
	return e.AppendJSON(make([]byte, 0, 256))
}

// AppendJSON appends the JSON of MarshalJSON to b.
func (e Event) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"specversion":`...)
	b = appendString(b, e.SpecVersion)
	b = append(b, `,"id":`...)
	b = appendString(b, e.ID)
	b = append(b, `,"source":`...)
	b = appendString(b, e.Source)
	b = append(b, `,"type":`...)
	b = appendString(b, e.Type)
	b = append(b, `,"subject":`...)
	b = appendString(b, e.Subject)
	b = append(b, `,"time":`...)
	b = appendString(b, e.Time.UTC().Format(time.RFC3339Nano))
	b = append(b, `,"datacontenttype":"application/json","data":{`...)
	keys := make([]string, 0, len(e.Data))
	for k := range e.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		var err error
		if b, err = appendValue(b, e.Data[k]); err != nil {
			return nil, fmt.Errorf("demo: data.%s: %w", k, err)
		}
	}
	return append(b, "}}"...), nil
}

// appendValue appends the JSON of a data value, as encoding/json would.
func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, v), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case float64:
		if a := math.Abs(v); a == 0 || a >= 1e-6 && a < 1e21 {
			return strconv.AppendFloat(b, v, 'f', -1, 64), nil
		}
	}
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, j...), nil
}

// appendString appends s as a JSON string, escaping like encoding/json
// (including its HTML-safe escapes of <, > and &).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// Generate simulates the agency described by cfg and calls emit for every
// event in a valid append order (see the package doc). It stops at the first
// error of emit and returns it wrapped, and returns ctx's error if ctx ends
// first.
func Generate(ctx context.Context, cfg Config, emit func(Event) error) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("demo: invalid config: %w", err)
	}
	g := newGenerator(cfg.withDefaults(), emit)
	return g.run(ctx)
}
