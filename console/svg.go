package console

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/vitals-hq/vitals/projections"
	"github.com/vitals-hq/vitals/scoring"
)

// The SVGs below are written from numbers and fixed words only: no value
// from an event reaches them, so they are safe as template.HTML.

// sparkline draws scores (0–100) as a small line, breaking it where the
// score is missing, with a text alternative.
func sparkline(points []projections.HistoryPoint) template.HTML {
	const w, h = 120.0, 28.0
	var b strings.Builder
	first, last := (*float64)(nil), (*float64)(nil)
	for _, p := range points {
		if p.Score != nil {
			if first == nil {
				first = p.Score
			}
			last = p.Score
		}
	}
	label := "no score in the last 90 days"
	if first != nil {
		label = fmt.Sprintf("score over 90 days: %.0f to %.0f", *first, *last)
	}
	fmt.Fprintf(&b, `<svg class="spark" viewBox="0 0 %g %g" width="%g" height="%g" role="img" aria-label="%s">`, w, h, w, h, label)
	fmt.Fprintf(&b, `<title>%s</title>`, label)
	b.WriteString(pathOf(points, func(i int) float64 { return float64(i) * w / float64(max(len(points)-1, 1)) },
		func(s float64) float64 { return 2 + (h-4)*(1-s/100) }, "spark-line"))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// pathOf is an SVG path through the points' scores, a new segment after
// each missing score.
func pathOf(points []projections.HistoryPoint, x func(int) float64, y func(float64) float64, class string) string {
	var d strings.Builder
	pen := false
	for i, p := range points {
		if p.Score == nil {
			pen = false
			continue
		}
		cmd := "L"
		if !pen {
			cmd = "M"
		}
		fmt.Fprintf(&d, "%s%.1f %.1f ", cmd, x(i), y(*p.Score))
		pen = true
	}
	if d.Len() == 0 {
		return ""
	}
	return fmt.Sprintf(`<path class="%s" d="%s"/>`, class, strings.TrimSpace(d.String()))
}

// scoreChart draws the score over time with the band thresholds as
// labelled lines and shaded areas (the labels carry the band, not only the
// colour), month ticks on the time axis, and a circle per point.
func scoreChart(points []projections.HistoryPoint, bands scoring.ScoreBands, from, to time.Time) template.HTML {
	const w, h, left, right, top, bottom = 720.0, 240.0, 36.0, 96.0, 10.0, 26.0
	pw, ph := w-left-right, h-top-bottom
	span := to.Sub(from).Seconds()
	if span <= 0 {
		span = 1
	}
	xAt := func(t time.Time) float64 { return left + pw*t.Sub(from).Seconds()/span }
	y := func(s float64) float64 { return top + ph*(1-s/100) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %g %g" role="img" aria-labelledby="chart-title">`, w, h)
	fmt.Fprintf(&b, `<title id="chart-title">Score from %s to %s, with the band thresholds (green from %g, yellow from %g)</title>`,
		from.Format(time.DateOnly), to.Format(time.DateOnly), bands.Green, bands.Yellow)
	// Band areas, lines and labels.
	fmt.Fprintf(&b, `<rect class="area-green" x="%g" y="%.1f" width="%g" height="%.1f"/>`, left, y(100), pw, y(bands.Green)-y(100))
	fmt.Fprintf(&b, `<rect class="area-yellow" x="%g" y="%.1f" width="%g" height="%.1f"/>`, left, y(bands.Green), pw, y(bands.Yellow)-y(bands.Green))
	fmt.Fprintf(&b, `<rect class="area-red" x="%g" y="%.1f" width="%g" height="%.1f"/>`, left, y(bands.Yellow), pw, y(0)-y(bands.Yellow))
	for _, th := range []struct {
		v    float64
		name string
	}{{bands.Green, "green"}, {bands.Yellow, "yellow"}} {
		fmt.Fprintf(&b, `<line class="threshold" x1="%g" x2="%g" y1="%.1f" y2="%.1f"/>`, left, left+pw, y(th.v), y(th.v))
		fmt.Fprintf(&b, `<text class="label" x="%g" y="%.1f">%s ≥ %g</text>`, left+pw+4, y(th.v)+4, th.name, th.v)
	}
	fmt.Fprintf(&b, `<text class="label" x="%g" y="%.1f">red</text>`, left+pw+4, y(bands.Yellow/2)+4)
	for _, s := range []float64{0, 25, 50, 75, 100} {
		fmt.Fprintf(&b, `<text class="axis" x="%g" y="%.1f" text-anchor="end">%g</text>`, left-4, y(s)+4, s)
	}
	// Month ticks.
	for m := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0); !m.After(to); m = m.AddDate(0, 1, 0) {
		x := xAt(m)
		fmt.Fprintf(&b, `<line class="tick" x1="%.1f" x2="%.1f" y1="%g" y2="%g"/>`, x, x, top+ph, top+ph+4)
		fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%g" text-anchor="middle">%s</text>`, x, h-8, m.Format("Jan"))
	}
	fmt.Fprintf(&b, `<line class="frame" x1="%g" x2="%g" y1="%g" y2="%g"/>`, left, left+pw, top+ph, top+ph)
	b.WriteString(pathOf(points, func(i int) float64 { return xAt(points[i].At) }, y, "score-line"))
	for _, p := range points {
		if p.Score != nil {
			fmt.Fprintf(&b, `<circle class="dot band-%s" cx="%.1f" cy="%.1f" r="2.5"/>`, bandClass(p.Band), xAt(p.At), y(*p.Score))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// bandClass is a band as a CSS class suffix: one of the four known bands.
func bandClass(b scoring.Band) string {
	switch b {
	case scoring.BandGreen, scoring.BandYellow, scoring.BandRed:
		return string(b)
	}
	return "unknown"
}
