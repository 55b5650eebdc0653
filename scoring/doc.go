// Package scoring computes the health of one client account as a pure
// function of (facts with time ≤ T, the instant T, the configuration), as the
// docs/scoring.md defines it.
//
// # Facts, not totals
//
// An [Account] holds the facts the score is made of — attribute changes,
// NPS answers, meeting outcomes, KPI reports, invoices with their payments,
// messages with their replies and override events — each with the time it
// happened. Scoring filters them by time, so back-dated facts rescore
// correctly, a score "as of" any past instant is exact, and the order in
// which facts were added never matters.
//
// # Scoring
//
// A [Scorer] is built from a [Config] (the defaults of docs/scoring.md, or
// YAML read by [LoadConfig]). [Scorer.Score] returns a [Result]: the score,
// the band, the coverage, the active override, one [Component] per
// component with its value, band, points, window and evidence, and the
// trend.
// [Scorer.ScoreWithoutTrend] is the cheaper path for history series.
//
// # Components
//
// Each score component is one unit in a file of its own (nps.go,
// meetings.go, kpi.go, invoices.go, response.go): its name, whether lower
// values are better, where its settings are in [Config], how it scores an
// account (value, band, points, evidence and details) and the instants at
// which that can change with no new fact. component.go lists them; the
// brute-force NextChange test and the golden test run over every one
// (CONTRIBUTING.md, "A new score component").
//
// # Scheduling
//
// Scores move with time alone: an invoice becomes later every day, a meeting
// leaves its window, an unanswered message passes its SLA.
// [Scorer.NextChange] names the next instant at which the result can change
// with no new fact, so a caller re-scores exactly then instead of scanning.
//
// This package knows nothing of events, HTTP, storage or metrics; a
// projection translates events into facts.
package scoring
