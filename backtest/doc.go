// Package backtest measures how well a scoring configuration predicts churn
// on an agency's own history, and fits the component weights to it
// (docs/backtest.md).
//
// # Samples
//
// Every account that is active at a sample instant (the first of each
// month, 00:00 UTC, within the evaluation period) is one sample. Its score,
// band and at-risk status are those the product showed at that instant:
// the scorer only reads facts with time ≤ the instant, so an event that
// arrived later but is dated earlier counts and one dated after the instant
// does not, exactly as in GET /v1/accounts/{id}/health?at=. An account that
// is churned (or on hold) at the instant is not sampled; one that churns,
// comes back and churns again is sampled again once active and counts once
// per churn.
//
// A sample is positive for a horizon of H days when the account churned in
// (instant, instant + H]. A sample whose horizon ends after the end of
// observation is left out of that horizon: whether it churned is not known
// yet.
//
// # Metrics
//
// Per configuration, horizon and tier: ROC AUC of the score (lower score =
// riskier) with a bootstrap interval over accounts, precision and recall of
// "band red" and of "at risk", the median lead time from the first red to
// churn, and a calibration table by score decile.
//
// # Fitting
//
// [Options.Fit] fits the five component weights by L2-regularised logistic
// regression on the samples before a split instant (with gonum's BFGS),
// keeping the scorer's handling of missing components (their weight is
// left out and the others renormalised), and measures the fitted weights,
// through the real scorer, on the samples after the split.
package backtest
