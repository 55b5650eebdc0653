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
// health trajectory chosen from an archetype: about 60% healthy, 10%
// expanding (opportunity signals, MRR increases), 20% drifting toward churn
// in their last months (a quarter of them recover), 5% churned and 5% put on
// hold for a while. Health drives behaviour: payments, meetings, NPS answers,
// reply delays, KPI results, touchpoints and risk signals.
//
// # Order and determinism
//
// Generate emits all manager.joined events first, then every other event in
// time order (ties: account.opened first, then creation order). Every
// account's account.opened precedes its other events, and nothing is dated
// after Config.End. The same Config gives byte-identical output: all
// randomness comes from PCG generators seeded from Config.Seed, and no map
// is iterated.
//
// # Memory
//
// Generation is a day-by-day simulation: the state of every account is
// small and kept in memory; events wait in a min-heap until their day is
// complete and are then emitted. The heap holds about one day of events plus
// the pending replies, payments and resolutions (about two per account), so
// memory grows with the number of accounts, not with the history length.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
// structured-mode JSON object of SPEC §1.1.
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

// jsonEvent is the structured-mode JSON form of an Event.
type jsonEvent struct {
	SpecVersion     string         `json:"specversion"`
	ID              string         `json:"id"`
	Source          string         `json:"source"`
	Type            string         `json:"type"`
	Subject         string         `json:"subject"`
	Time            string         `json:"time"`
	DataContentType string         `json:"datacontenttype"`
	Data            map[string]any `json:"data"`
}

// MarshalJSON encodes e as a structured-mode CloudEvent with
// datacontenttype application/json. The data keys come out sorted, so equal
// events encode to equal bytes.
func (e Event) MarshalJSON() ([]byte, error) {
	data := e.Data
	if data == nil {
		data = map[string]any{}
	}
	return json.Marshal(jsonEvent{
		SpecVersion:     e.SpecVersion,
		ID:              e.ID,
		Source:          e.Source,
		Type:            e.Type,
		Subject:         e.Subject,
		Time:            e.Time.UTC().Format(time.RFC3339Nano),
		DataContentType: "application/json",
		Data:            data,
	})
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
