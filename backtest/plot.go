package backtest

import (
	"fmt"
	"html"
	"io"
	"strings"
)

// Plot geometry, in SVG user units.
const (
	plotWidth  = 960
	rowHeight  = 340
	plotTop    = 60
	panelSize  = 260
	panelLeftA = 70
	panelLeftB = 550
)

// palette colours the configurations, in order (then again).
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"}

// WriteSVG draws the report as an SVG image: per horizon, the ROC curve of
// each configuration (with its AUC) and the churn rate per score decile.
// It is a small writer of its own: lines, text and rectangles, no fonts.
func WriteSVG(w io.Writer, rep *Report) error {
	horizons := 0
	for _, c := range rep.Configs {
		horizons = max(horizons, len(c.Horizons))
	}
	height := plotTop + horizons*rowHeight + 20
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		plotWidth, height, plotWidth, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="16">Backtest %s to %s: ROC curves and calibration by score decile</text>`+"\n",
		panelLeftA, rep.From.Format("2006-01-02"), rep.To.Format("2006-01-02"))
	for i, c := range rep.Configs {
		x := panelLeftA + i*150
		fmt.Fprintf(&b, `<rect x="%d" y="36" width="14" height="4" fill="%s"/><text x="%d" y="42">%s</text>`+"\n", x, color(i), x+20, esc(c.Name))
	}
	for hi := range horizons {
		top := plotTop + hi*rowHeight + 30
		days := 0
		for _, c := range rep.Configs {
			if hi < len(c.Horizons) {
				days = c.Horizons[hi].Days
			}
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="14">churn within %d days</text>`+"\n", panelLeftA, top-12, days)
		axes(&b, panelLeftA, top, "false positive rate", "true positive rate", 1)
		axes(&b, panelLeftB, top, "score decile (1 = lowest scores)", "churn rate", 0)
		// Chance line.
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#bbb" stroke-dasharray="4 4"/>`+"\n", panelLeftA, top+panelSize, panelLeftA+panelSize, top)
		maxRate := 0.0
		for _, c := range rep.Configs {
			if hi < len(c.Horizons) {
				for _, d := range c.Horizons[hi].Deciles {
					maxRate = max(maxRate, d.Rate)
				}
			}
		}
		if maxRate == 0 {
			maxRate = 1
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%.0f%%</text>`+"\n", panelLeftB-6, top+4, 100*maxRate)
		for ci, c := range rep.Configs {
			if hi >= len(c.Horizons) {
				continue
			}
			h := c.Horizons[hi]
			var pts []string
			for _, p := range h.ROC {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", panelLeftA+p[0]*panelSize, float64(top)+(1-p[1])*panelSize))
			}
			if len(pts) > 0 {
				fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", color(ci), strings.Join(pts, " "))
			}
			fmt.Fprintf(&b, `<text x="%d" y="%d" fill="%s" text-anchor="end">%s AUC %s</text>`+"\n",
				panelLeftA+panelSize-4, top+panelSize-8-16*ci, color(ci), esc(c.Name), num(h.AUC, "%.2f"))
			pts = pts[:0]
			for _, d := range h.Deciles {
				x := panelLeftB + (float64(d.Decile)-0.5)*panelSize/10
				y := float64(top) + (1-d.Rate/maxRate)*panelSize
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", x, y, color(ci))
			}
			if len(pts) > 0 {
				fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", color(ci), strings.Join(pts, " "))
			}
		}
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// axes draws a square panel's frame, its labels and, when ticks is 1, the
// 0 and 1 ticks of both axes; deciles get ticks 1..10 on x.
func axes(b *strings.Builder, left, top int, xlabel, ylabel string, ticks int) {
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>`+"\n", left, top, panelSize, panelSize)
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", left+panelSize/2, top+panelSize+32, xlabel)
	fmt.Fprintf(b, `<text transform="translate(%d %d) rotate(-90)" text-anchor="middle">%s</text>`+"\n", left-40, top+panelSize/2, ylabel)
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end">0</text>`+"\n", left-6, top+panelSize+4)
	if ticks == 1 {
		fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end">1</text>`+"\n", left-6, top+4)
		fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">1</text>`+"\n", left+panelSize, top+panelSize+16)
		return
	}
	for d := 1; d <= 10; d++ {
		fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">%d</text>`+"\n", left+(2*d-1)*panelSize/20, top+panelSize+16, d)
	}
}

func color(i int) string { return palette[i%len(palette)] }

func esc(s string) string { return html.EscapeString(s) }
