package projections

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/vitals-hq/vitals/scoring"
)

// Past scores: an account's score at past grid days, kept in memory after
// pruning has dropped the facts that computed them, so that a short
// history (the console's 90-day sparklines) needs no replay of the
// account's stream.
//
// The grid is every PastStep from the Unix epoch at UTC midnight. When an
// account is pruned to an instant T, its score at each grid day in
// [its previous prune instant, T) that lies within PastSpan + the
// retention before now is computed from its facts (still whole there) and
// kept; grid days on or after T are answered from the facts themselves. A
// grid day is kept only once the account's latest event has passed it by
// the retention (pruning stops short of it meanwhile, and the facts answer
// for it): an account's events reach the log later than their time by
// less than that, as a rule, so a replay of the log computes each day once
// — whatever the order of other accounts' events (an import may open
// every account first, for instance). An event dated on or before a kept day
// drops the kept days from its date on: they no longer hold, and the facts
// to compute them again are gone (PastScores then says so). Past
// scores are therefore always either absent or equal to what a replay of
// the log would give; PastScores reports absent days so that the caller
// can replay instead.

// PastSpan is how far before an instant the past scores reach: the span of
// the console's sparklines.
const PastSpan = 90 * day

// PastStep is the spacing of the grid of past scores.
const PastStep = 3 * day

// PastScore is an account's score at one grid day, in 8 bytes: score and
// coverage in hundredths and ten-thousandths, and one byte for the band
// (bits 0–1), the computed band (bits 2–3) as codes, and whether the
// account existed (bit 4).
type PastScore struct {
	Score    int32 // hundredths of a point; -1 when there was no score
	Coverage uint16
	Bands    uint8
}

// pastExists is the bit of PastScore.Bands set when the account existed.
const pastExists = 1 << 4

func (p PastScore) band() scoring.Band     { return codeBands[p.Bands&3] }
func (p PastScore) computed() scoring.Band { return codeBands[p.Bands>>2&3] }
func (p PastScore) exists() bool           { return p.Bands&pastExists != 0 }

// PastScores are an account's scores at consecutive grid days from First.
type PastScores struct {
	First  int64 // the first day, in days since the Unix epoch
	Scores []PastScore
}

// bandCodes and codeBands map bands to PastScore codes and back.
var codeBands = [...]scoring.Band{scoring.BandUnknown, scoring.BandGreen, scoring.BandYellow, scoring.BandRed}

func bandCode(b scoring.Band) uint8 {
	if i := slices.Index(codeBands[:], b); i > 0 {
		return uint8(i)
	}
	return 0
}

// epochDay is t's day since the Unix epoch (UTC).
func epochDay(t time.Time) int64 { return t.Unix() / 86400 }

// dayTime is the UTC midnight of epoch day d.
func dayTime(d int64) time.Time { return time.Unix(d*86400, 0).UTC() }

// gridUp is the first grid day on or after t, in epoch days.
func gridUp(t time.Time) int64 {
	step := int64(PastStep / day)
	d := epochDay(t)
	if !dayTime(d).Equal(t) && dayTime(d).Before(t) {
		d++
	}
	if r := d % step; r != 0 {
		d += step - r
	}
	return d
}

// PastGrid is the first day of the grid of past scores on or after t.
func PastGrid(t time.Time) time.Time { return dayTime(gridUp(t)) }

// end is the epoch day after the last kept score (First when none).
func (ps *PastScores) end() int64 { return ps.First + int64(len(ps.Scores))*int64(PastStep/day) }

// invalidate drops the kept scores of days on or after t (an event dated t
// arrived).
func (ps *PastScores) invalidate(t time.Time) {
	if len(ps.Scores) == 0 || t.After(dayTime(ps.end())) {
		return
	}
	keep := gridUp(t) - ps.First
	keep /= int64(PastStep / day)
	ps.Scores = ps.Scores[:max(keep, 0)]
}

// dropBefore drops the kept scores of days before day d.
func (ps *PastScores) dropBefore(d int64) {
	step := int64(PastStep / day)
	if n := (d - ps.First) / step; n > 0 {
		n = min(n, int64(len(ps.Scores)))
		ps.Scores = slices.Delete(ps.Scores, 0, int(n))
		ps.First += n * step
	}
}

// pastScore is the account's score at t as a PastScore.
func pastScore(sc *scoring.Scorer, a *Account, t time.Time) PastScore {
	if !a.ExistsAt(t) {
		return PastScore{Score: -1}
	}
	r := sc.Headline(&a.Scoring, t)
	p := PastScore{Score: -1, Coverage: uint16(round4(r.Coverage)*10000 + 0.5), Bands: bandCode(r.Band) | bandCode(r.ComputedBand)<<2 | pastExists}
	if r.Score != nil {
		p.Score = int32(*r.Score*100 + 0.5)
	}
	return p
}

// point is p at day d as a HistoryPoint; ok is false before the account
// existed.
func (p PastScore) point(d int64) (HistoryPoint, bool) {
	if !p.exists() {
		return HistoryPoint{}, false
	}
	hp := HistoryPoint{At: dayTime(d), Band: p.band(), ComputedBand: p.computed(), Coverage: float64(p.Coverage) / 10000}
	if p.Score >= 0 {
		s := float64(p.Score) / 100
		hp.Score = &s
	}
	return hp, true
}

// keepPast computes the account's scores at the grid days its prune to
// before would make unanswerable, and returns the instant it may be
// pruned to: before, or the first grid day it could not keep yet (the
// account's latest event has not passed it by the retention). p.mu is
// held.
func (p *Projector) keepPast(a *Account, before, now time.Time) time.Time {
	ps := &a.Past
	step := int64(PastStep / day)
	oldest := gridUp(now.Add(-p.cfg.Retain - PastSpan))
	from := max(gridUp(a.PrunedTo), oldest)
	if ps.end() < from {
		// A gap the facts can no longer fill (kept days were dropped by
		// an event dated before the prune instant): start afresh.
		ps.Scores = ps.Scores[:0]
	}
	ps.dropBefore(oldest)
	if len(ps.Scores) == 0 {
		ps.First = from
	}
	for d := ps.end(); dayTime(d).Before(before); d += step {
		if dayTime(d).After(a.Latest.Add(-p.cfg.Retain)) {
			return dayTime(d)
		}
		ps.Scores = append(ps.Scores, pastScore(p.cfg.Scorer, a, dayTime(d)))
	}
	return before
}

// PastScores is account id's score at each grid day in [from, to] (see
// PastStep), from the kept past scores and the account's facts, without
// replaying its stream. ok is false when some of those days can be
// answered neither way (then History answers them, by replay); days before
// the account was opened are left out, as History leaves them out.
func (p *Projector) PastScores(ctx context.Context, id string, from, to time.Time) (points []HistoryPoint, ok bool, err error) {
	if to.Before(from) {
		return nil, false, fmt.Errorf("projections: to is before from")
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	a := p.state.Accounts[id]
	if a == nil || !a.Opened {
		return nil, false, fmt.Errorf("%w: account %q", ErrNotFound, id)
	}
	ps := &a.Past
	step := int64(PastStep / day)
	for d := gridUp(from); !dayTime(d).After(to); d += step {
		t := dayTime(d)
		var hp HistoryPoint
		var exists bool
		switch {
		case !t.Before(a.PrunedTo):
			s := pastScore(p.cfg.Scorer, a, t)
			hp, exists = s.point(d)
		case d >= ps.First && d < ps.end():
			hp, exists = ps.Scores[(d-ps.First)/step].point(d)
		default:
			return nil, false, nil
		}
		if exists {
			points = append(points, hp)
		}
	}
	return points, true, nil
}
