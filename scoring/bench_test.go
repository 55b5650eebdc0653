package scoring_test

import (
	"testing"

	"github.com/vitals-hq/vitals/scoring"
)

func benchScorer(b *testing.B) *scoring.Scorer {
	s, err := scoring.New(scoring.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkScore scores the worked-example account (≈ 25 facts) with its
// explanation and trend.
func BenchmarkScore(b *testing.B) {
	s, a := benchScorer(b), Northwind()
	b.ReportAllocs()
	for b.Loop() {
		s.Score(a, goldenAt)
	}
}

// BenchmarkScoreWithoutTrend is the history-series path.
func BenchmarkScoreWithoutTrend(b *testing.B) {
	s, a := benchScorer(b), Northwind()
	b.ReportAllocs()
	for b.Loop() {
		s.ScoreWithoutTrend(a, goldenAt)
	}
}

// BenchmarkNextChange is the scheduling query made after each re-score.
func BenchmarkNextChange(b *testing.B) {
	s, a := benchScorer(b), Northwind()
	b.ReportAllocs()
	for b.Loop() {
		s.NextChange(a, goldenAt)
	}
}
