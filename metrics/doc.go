// Package metrics exposes Vitals to Prometheus.
//
// # Registry
//
// Nothing is registered globally: New registers every metric on the
// prometheus.Registerer it is given, and Handler serves the matching
// Gatherer. Tests build as many independent Metrics as they like.
//
// # What is measured
//
// Engine metrics are updated as work happens: ingested events by type and
// result (ObserveIngest), events per request, append latency (a Store
// wrapped by InstrumentStore), projector progress (the projections.Observer
// returned by ProjectorObserver) and HTTP request latency by route pattern
// (InstrumentHTTP).
//
// Store and projector positions and the domain aggregates are read at
// scrape time by custom collectors (Watch): the engine's position, lag and
// file size, and from the projections the accounts by status, band and
// tier, the health score distribution by tier, the at-risk accounts by
// reason and tier, MRR by band and at risk, NPS, SLA compliance,
// receivables, logo retention, and per account manager their accounts,
// load, utilization and at-risk accounts.
//
// # Cardinality
//
// No label ever carries an account id. Every label value comes from a fixed
// set (event types of the catalog or "unknown", results, statuses, bands,
// tiers, at-risk reasons, route patterns registered in code, status
// classes), except the manager label, which takes the ids of the managers
// currently active, capped at MaxManagers. The number of series therefore
// does not grow with the number of accounts; the tests prove it.
//
// # Money
//
// Money is exported in the deployment currency's major units (12500.5), as
// the HTTP API reports it; the currency is not a label.
package metrics
