package metrics

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/projections"
	"github.com/vitals-hq/vitals/scoring"
)

// MaxManagers bounds the managers exported with a manager label (the first
// ones by id); vitals_managers always counts them all.
const MaxManagers = 500

// ScoreBuckets are the upper bounds of vitals_account_health_score: tens,
// plus the default band thresholds 50 and 75.
var ScoreBuckets = []float64{0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 90, 100}

// labels turns the values of an enumeration into label values.
func labels[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// The label values of the domain metrics.
var (
	bands = labels(domain.Bands())
	tiers = labels(domain.Tiers())
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("vitals_"+name, help, labels, nil)
}

// Descriptions of the domain collector.
var (
	dAccounts = desc("accounts", "Accounts by status.", "status")
	dByBand   = desc("accounts_by_band",
		"Active accounts by reported health band (an override replaces the computed band) and tier.", "band", "tier")
	dScore = desc("account_health_score",
		"Distribution of the computed health score (0–100) of active accounts with a known score, by tier. It describes the current state: read its buckets directly, do not rate() them.", "tier")
	dAtRisk = desc("accounts_at_risk",
		"Active accounts at risk (at least one reason holds), by tier.", "tier")
	dAtRiskReason = desc("accounts_at_risk_by_reason",
		"Active accounts for which an at-risk reason holds, by reason; an account with several reasons counts once per reason.", "reason")
	dUpsell     = desc("accounts_upsell_ready", "Active accounts on the upsell list (green with an open opportunity signal).")
	dUnassigned = desc("accounts_unassigned", "Active accounts without an account manager.")
	dMRR        = desc("mrr",
		"Monthly recurring revenue of active accounts by reported band, in the deployment currency's major units.", "band")
	dMRRAtRisk       = desc("mrr_at_risk", "Monthly recurring revenue of at-risk accounts, in the deployment currency's major units.")
	dNPS             = desc("nps", "Net promoter score over 180 days (% promoters − % detractors, −100..100); absent without answers.")
	dNPSResponses    = desc("nps_responses", "NPS answers of active accounts in the last 180 days.")
	dSLA             = desc("sla_compliance_ratio", "Share of the messages of the last 30 days answered within SLA (0–1); absent without messages.")
	dSLAMessages     = desc("sla_messages", "Messages of the last 30 days counted for SLA compliance.")
	dReceivables     = desc("receivables_outstanding", "Unpaid invoice amounts, in the deployment currency's major units.")
	dOverdue         = desc("receivables_overdue", "Unpaid invoice amounts past their due date, in the deployment currency's major units.")
	dRetention       = desc("logo_retention_ratio", "Accounts active 365 days ago and not churned now ÷ accounts active 365 days ago; absent when there were none.")
	dManagers        = desc("managers", "Active account managers (all of them, also beyond the exported cap).")
	dMgrAccounts     = desc("manager_accounts", "Active accounts assigned to a manager.", "manager")
	dMgrAtRisk       = desc("manager_accounts_at_risk", "At-risk accounts assigned to a manager.", "manager")
	dMgrLoad         = desc("manager_load_ratio", "Load points ÷ capacity points of a manager; over capacity above 1.", "manager")
	dMgrLoadPoints   = desc("manager_load_points", "Load points of a manager's accounts (platinum 25, gold 15, silver 8, bronze 3).", "manager")
	dMgrCapacity     = desc("manager_capacity_points", "Capacity points of a manager.", "manager")
	dMgrUtil         = desc("manager_utilization_ratio", "Billable hours of the last 28 days ÷ (weekly hours × 4) of a manager (target 0.70–0.80); absent when nothing was logged.", "manager")
	dMgrMRR          = desc("manager_mrr", "Monthly recurring revenue managed, in the deployment currency's major units.", "manager")
	dMgrMRRAtRisk    = desc("manager_mrr_at_risk", "Monthly recurring revenue of a manager's at-risk accounts, in the deployment currency's major units.", "manager")
	dCollectSeconds  = desc("domain_collect_duration_seconds", "How long the last scrape took to evaluate the domain metrics.")
	dCollectFailures = desc("domain_collect_errors_total", "Scrapes whose domain metrics could not be evaluated (they were left out).")
)

var domainDescs = []*prometheus.Desc{
	dAccounts, dByBand, dScore, dAtRisk, dAtRiskReason, dUpsell, dUnassigned, dMRR, dMRRAtRisk,
	dNPS, dNPSResponses, dSLA, dSLAMessages, dReceivables, dOverdue, dRetention,
	dManagers, dMgrAccounts, dMgrAtRisk, dMgrLoad, dMgrLoadPoints, dMgrCapacity, dMgrUtil, dMgrMRR, dMgrMRRAtRisk,
	dCollectSeconds, dCollectFailures,
}

// DomainCollector exports the read models as aggregates, read at scrape
// time from the projector's maintained aggregates (Projector.Summary: no
// account is evaluated by a scrape). Create it with
// NewDomainCollector (Metrics.Watch registers one).
type DomainCollector struct {
	src     Projections
	timeout time.Duration

	mu       sync.Mutex
	failures uint64
}

// NewDomainCollector returns a collector reading src; one scrape's reads
// are bounded by timeout.
func NewDomainCollector(src Projections, timeout time.Duration) *DomainCollector {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &DomainCollector{src: src, timeout: timeout}
}

// Describe implements prometheus.Collector.
func (c *DomainCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range domainDescs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *DomainCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	start := time.Now()
	ms, err := c.evaluate(ctx)
	c.mu.Lock()
	if err != nil {
		c.failures++
	}
	failures := c.failures
	c.mu.Unlock()
	for _, m := range ms {
		ch <- m
	}
	ch <- prometheus.MustNewConstMetric(dCollectSeconds, prometheus.GaugeValue, time.Since(start).Seconds())
	ch <- prometheus.MustNewConstMetric(dCollectFailures, prometheus.CounterValue, float64(failures))
}

// evaluate reads the projections and builds the domain metrics; on error
// it returns none of them.
func (c *DomainCollector) evaluate(ctx context.Context) ([]prometheus.Metric, error) {
	sum, err := c.src.Summary(ctx)
	if err != nil {
		return nil, fmt.Errorf("metrics: summary: %w", err)
	}
	var out []prometheus.Metric
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		out = append(out, prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...))
	}
	pf := sum.Portfolio

	for _, s := range domain.Statuses() {
		gauge(dAccounts, float64(pf.ByStatus[s]), string(s))
	}

	act := sum.Active
	type hist struct {
		counts []uint64 // per bucket, not cumulative
		n      uint64
		sum    float64
	}
	scores := make(map[string]*hist)
	for _, t := range tiers {
		h := &hist{counts: make([]uint64, len(ScoreBuckets))}
		scores[t] = h
		d := act.Scores[scoring.Tier(t)]
		h.n, h.sum = uint64(d.Count), float64(d.Sum)/100
		for k, n := range d.ByHundredth {
			for i, ub := range ScoreBuckets {
				if float64(k) <= ub*100 {
					h.counts[i] += uint64(n)
					break
				}
			}
		}
	}
	for _, b := range bands {
		for _, t := range tiers {
			gauge(dByBand, float64(act.ByBandTier[scoring.Band(b)][scoring.Tier(t)]), b, t)
		}
	}
	for _, t := range tiers {
		h := scores[t]
		buckets := make(map[float64]uint64, len(ScoreBuckets))
		var cum uint64
		for i, ub := range ScoreBuckets {
			cum += h.counts[i]
			buckets[ub] = cum
		}
		out = append(out, prometheus.MustNewConstHistogram(dScore, h.n, h.sum, buckets, t))
		gauge(dAtRisk, float64(act.AtRiskByTier[scoring.Tier(t)]), t)
	}
	for _, r := range projections.Reasons() {
		gauge(dAtRiskReason, float64(pf.AtRiskByReason[r]), r)
	}
	gauge(dUpsell, float64(pf.Upsell))
	gauge(dUnassigned, float64(act.Unassigned))
	for _, b := range domain.Bands() {
		gauge(dMRR, pf.MRRByBand[b].Float64(), string(b))
	}
	gauge(dMRRAtRisk, pf.MRRAtRisk.Float64())
	if pf.NPS != nil {
		gauge(dNPS, *pf.NPS)
	}
	gauge(dNPSResponses, float64(pf.NPSResponses))
	if pf.SLACompliance != nil {
		gauge(dSLA, *pf.SLACompliance)
	}
	gauge(dSLAMessages, float64(pf.SLAMessages))
	gauge(dReceivables, pf.ReceivablesOutstanding.Float64())
	gauge(dOverdue, pf.ReceivablesOverdue.Float64())
	if pf.LogoRetention != nil {
		gauge(dRetention, *pf.LogoRetention)
	}

	active := 0
	for _, mv := range sum.Managers {
		if !mv.Active {
			continue
		}
		active++
		if active > MaxManagers {
			continue
		}
		id := mv.ID
		gauge(dMgrAccounts, float64(mv.Accounts), id)
		gauge(dMgrAtRisk, float64(mv.AtRisk), id)
		gauge(dMgrLoad, mv.LoadRatio, id)
		gauge(dMgrLoadPoints, mv.LoadPoints, id)
		gauge(dMgrCapacity, mv.CapacityPoints, id)
		if mv.Utilization != nil {
			gauge(dMgrUtil, *mv.Utilization, id)
		}
		gauge(dMgrMRR, mv.MRRManaged.Float64(), id)
		gauge(dMgrMRRAtRisk, mv.MRRAtRisk.Float64(), id)
	}
	gauge(dManagers, float64(active))
	return out, nil
}
