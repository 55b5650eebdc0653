package backtest

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/projections"
)

// synth builds histories of accounts by hand, event by event, through the
// projection's own Apply (the path every stored event takes).
type synth struct {
	st  *projections.State
	seq int
}

func newSynth() *synth { return &synth{st: projections.NewState()} }

// add applies one event of account id at t.
func (s *synth) add(id string, t time.Time, typ domain.Type, payload any) {
	s.seq++
	s.st.Apply(domain.Event{SpecVersion: "1.0", ID: fmt.Sprintf("e%d", s.seq), Source: "synth", Type: typ, Subject: id, Time: t.UTC(), Payload: payload})
}

func (s *synth) open(id string, t time.Time) {
	s.add(id, t, domain.TypeAccountOpened, domain.AccountOpened{Name: id, MRR: 200000})
}

func (s *synth) status(id string, t time.Time, st domain.Status) {
	s.add(id, t, domain.TypeAccountStatusChanged, domain.AccountStatusChanged{Status: st})
}

func (s *synth) nps(id string, t time.Time, score int) {
	s.add(id, t, domain.TypeNPSResponded, domain.NPSResponded{Score: score})
}

// invoice issues an invoice due on due and pays it lateDays after (not at
// all when lateDays < 0).
func (s *synth) invoice(id, inv string, issued, due time.Time, lateDays int) {
	s.add(id, issued, domain.TypeInvoiceIssued, domain.InvoiceIssued{InvoiceID: inv, Amount: 100000, DueDate: domain.DateOf(due)})
	if lateDays >= 0 {
		s.add(id, due.AddDate(0, 0, lateDays).Add(10*time.Hour), domain.TypePaymentReceived, domain.PaymentReceived{InvoiceID: inv, Amount: 100000})
	}
}

// message receives a message at t and replies after hours.
func (s *synth) message(id, msg string, t time.Time, hours float64) {
	s.add(id, t, domain.TypeMessageReceived, domain.MessageReceived{MessageID: msg})
	s.add(id, t.Add(time.Duration(hours*float64(time.Hour))), domain.TypeMessageReplied, domain.MessageReplied{MessageID: msg})
}

func (s *synth) kpi(id string, t time.Time, actual float64) {
	s.add(id, t, domain.TypeKPIReported, domain.KPIReported{KPI: "leads", Target: 100, Actual: actual, HigherIsBetter: true})
}

func (s *synth) meeting(id, mtg string, t time.Time, held bool) {
	if held {
		s.add(id, t, domain.TypeMeetingHeld, domain.MeetingHeld{MeetingID: mtg})
	} else {
		s.add(id, t, domain.TypeMeetingMissed, domain.MeetingMissed{MeetingID: mtg, By: domain.PartyClient})
	}
}

// synthStart is when the synthetic agency's history starts.
var synthStart = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)

// knownMechanism builds an agency of n accounts over months months where
// churn is driven by two things only: paying late and waiting for answers.
// Each account switches, month by month, between a good and a bad regime
// for payments and for replies (a Markov chain: bad regimes persist);
// its monthly churn hazard rises with each bad regime. NPS answers, KPI
// results and meetings are pure noise. It returns the state and the end of
// the history.
func knownMechanism(seed uint64, n, months int) (*projections.State, time.Time) {
	rng := rand.New(rand.NewPCG(seed, 7))
	s := newSynth()
	end := synthStart.AddDate(0, months, 0)
	flip := func(bad bool) bool {
		if bad {
			return rng.Float64() < 0.8 // stays bad
		}
		return rng.Float64() < 0.08 // turns bad
	}
	for i := range n {
		id := fmt.Sprintf("acct-%03d", i)
		open := synthStart.AddDate(0, 0, rng.IntN(150)).Add(9 * time.Hour)
		s.open(id, open)
		payBad, replyBad := rng.Float64() < 0.15, rng.Float64() < 0.15
		for m := 0; ; m++ {
			month := open.AddDate(0, m, 0)
			if !month.Before(end) {
				break
			}
			payBad, replyBad = flip(payBad), flip(replyBad)
			// Noise: NPS, KPI, meetings.
			s.nps(id, month.AddDate(0, 0, 3), rng.IntN(11))
			s.kpi(id, month.AddDate(0, 0, 5), 80+rng.Float64()*40)
			s.meeting(id, fmt.Sprintf("%s-m%d", id, m), month.AddDate(0, 0, 8), rng.Float64() < 0.8)
			// Payments.
			due := month.AddDate(0, 0, 14).Truncate(24 * time.Hour)
			late := rng.IntN(3)
			if payBad {
				late = 20 + rng.IntN(30)
			}
			if due.AddDate(0, 0, late).Before(end) {
				s.invoice(id, fmt.Sprintf("%s-i%d", id, m), month, due, late)
			}
			// Replies.
			for k := range 3 {
				h := 2 + rng.Float64()*18
				if replyBad {
					h = 50 + rng.Float64()*60
				}
				at := month.AddDate(0, 0, 2+9*k)
				if at.Add(time.Duration(h * float64(time.Hour))).Before(end) {
					s.message(id, fmt.Sprintf("%s-r%d-%d", id, m, k), at, h)
				}
			}
			hazard := 0.003
			if payBad {
				hazard += 0.15
			}
			if replyBad {
				hazard += 0.15
			}
			if rng.Float64() < hazard {
				at := month.AddDate(0, 0, 20)
				if at.Before(end) {
					s.status(id, at, domain.StatusChurned)
				}
				break
			}
		}
	}
	return s.st, end
}
