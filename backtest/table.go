package backtest

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable writes the report for people: per configuration, one row per
// horizon and tier, the calibration deciles, and the fit.
func WriteTable(w io.Writer, rep *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Backtest of %d monthly sample instants from %s to %s (%d accounts); churn observed until %s.\n",
		rep.Instants, rep.From.Format(time.DateOnly), rep.To.Format(time.DateOnly), rep.Accounts, rep.ObservedUntil.Format(time.RFC3339))
	b.WriteString("AUC: lower score = riskier, 0.5 is chance")
	if rep.Bootstrap > 0 {
		fmt.Fprintf(&b, "; [95%% interval, %d bootstrap draws over accounts]", rep.Bootstrap)
	}
	b.WriteString(". P/R: precision/recall. lead: median days from the first red to churn.\n")
	for _, c := range rep.Configs {
		fmt.Fprintf(&b, "\nconfig %s (%s)\n", c.Name, c.Version)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "horizon\ttier\tsamples\tchurned\tchurns\tAUC\t95% interval\tred P/R\tat-risk P/R\tlead\twarned\t")
		for _, h := range c.Horizons {
			row(tw, fmt.Sprintf("%dd", h.Days), "all", h.Metrics)
			for _, t := range h.Tiers {
				row(tw, "", string(t.Tier), t.Metrics)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		writeDeciles(&b, c)
	}
	if rep.Fit != nil {
		writeFit(&b, rep.Fit)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// row writes one metrics row.
func row(w io.Writer, horizon, tier string, m Metrics) {
	ci := "-"
	if m.AUCCI != nil {
		ci = fmt.Sprintf("%.2f-%.2f", m.AUCCI.Low, m.AUCCI.High)
	}
	lead := "-"
	if m.MedianLeadDays != nil {
		lead = fmt.Sprintf("%gd", *m.MedianLeadDays)
	}
	fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%d/%d\t\n", horizon, tier, m.Samples, m.Churned, m.ChurnEvents,
		num(m.AUC, "%.2f"), ci, pr(m.Red), pr(m.AtRisk), lead, m.Warned, m.ChurnEvents)
}

// num formats *p, or "-" for nil.
func num(p *float64, format string) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf(format, *p)
}

// pr formats a flag's precision and recall.
func pr(f Flag) string { return num(f.Precision, "%.2f") + "/" + num(f.Recall, "%.2f") }

// writeDeciles writes the calibration table of a configuration: one row
// per decile, per horizon its score range and churned/samples.
func writeDeciles(b *strings.Builder, c ConfigReport) {
	b.WriteString("churn rate by score decile (1 = lowest scores): score range, churned/samples, rate\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "decile\t")
	for _, h := range c.Horizons {
		fmt.Fprintf(tw, "%dd\t\t\t", h.Days)
	}
	fmt.Fprintln(tw)
	for d := 1; d <= 10; d++ {
		fmt.Fprintf(tw, "%d\t", d)
		for _, h := range c.Horizons {
			g, ok := decile(h.Deciles, d)
			if !ok {
				fmt.Fprint(tw, "-\t\t\t")
				continue
			}
			fmt.Fprintf(tw, "%g-%g\t%d/%d\t%.1f%%\t", g.MinScore, g.MaxScore, g.Churned, g.Samples, 100*g.Rate)
		}
		fmt.Fprintln(tw)
	}
	_ = tw.Flush() // writes to a strings.Builder cannot fail
}

func decile(ds []Decile, d int) (Decile, bool) {
	for _, g := range ds {
		if g.Decile == d {
			return g, true
		}
	}
	return Decile{}, false
}

// writeFit writes the fitted weights beside the base configuration's and
// the held-out AUCs.
func writeFit(b *strings.Builder, f *FitReport) {
	fmt.Fprintf(b, "\nfit: weights predicting churn within %dd, learned from %d samples (%d churned) whose horizon ends by %s,\n",
		f.HorizonDays, f.Train.Samples, f.Train.Churned, f.Split.Format(time.DateOnly))
	fmt.Fprintf(b, "measured on %d samples (%d churned) from %s on (L2 %g)\n", f.Test.Samples, f.Test.Churned, f.Split.Format(time.DateOnly), f.L2)
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "component\t%s\tfitted\t\n", f.Base)
	names, cur := f.Current.List()
	_, fit := f.Weights.List()
	for i, n := range names {
		fmt.Fprintf(tw, "%s\t%g\t%g\t\n", n, cur[i], fit[i])
	}
	_ = tw.Flush()
	b.WriteString("held-out AUC:")
	for i, h := range f.HeldOut {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(b, " %s %s", h.Name, num(h.AUC, "%.3f"))
		if h.AUCCI != nil {
			fmt.Fprintf(b, " [%.2f-%.2f]", h.AUCCI.Low, h.AUCCI.High)
		}
	}
	b.WriteString("\n")
}
