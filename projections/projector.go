package projections

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/scoring"
)

// Defaults of Config.
const (
	DefaultSnapshotEvery    = 50_000
	DefaultSnapshotInterval = time.Minute
	DefaultRetain           = 30 * day
)

// Config configures a Projector.
type Config struct {
	Store  eventstore.Store
	Scorer *scoring.Scorer
	// Now is the clock (time.Now when nil). Tests pass a controlled clock
	// and call Refresh after moving it.
	Now func() time.Time
	// SnapshotPath is the snapshot file; "" disables snapshots.
	SnapshotPath string
	// SnapshotEvery and SnapshotInterval bound the events and the time
	// between snapshots.
	SnapshotEvery    int
	SnapshotInterval time.Duration
	// Retain is how far before now the in-memory state answers questions;
	// older instants are answered by replaying the log.
	Retain time.Duration
	// DedupeKeys makes the projector skip records whose idempotency key it
	// has seen (for stores that do not guarantee deduplication forever).
	DedupeKeys bool
	Logger     zerolog.Logger
	// Observer, when set, is told about progress (for metrics).
	Observer Observer
	// Transitions, when set, receives the transitions of accounts and
	// managers the projector derives (see transitions.go and
	// docs/notifications.md). TransitionRecency (default
	// DefaultTransitionRecency) is how recent a transition must be, when
	// derived, to be handed on; TransitionDebounce (0: none) how long it
	// must have held first.
	Transitions        TransitionSink
	TransitionRecency  time.Duration
	TransitionDebounce time.Duration
	// CheckpointPeriod is the span of time each checkpoint built from the
	// log covers, CheckpointMax how many are kept (at least 2), and
	// CheckpointQuiet how long no record older than the horizon must have
	// arrived before they are built (docs/checkpoints.md). Checkpoints
	// live beside the snapshot; without SnapshotPath there are none.
	CheckpointPeriod time.Duration
	CheckpointMax    int
	CheckpointQuiet  time.Duration
	// NoCheckpoints turns checkpoints off: instants before the horizon
	// are answered by replaying the log.
	NoCheckpoints bool
}

// Observer receives the projector's progress. Its methods may be called with
// the projector's lock held: they must be quick and must not call the
// Projector.
type Observer interface {
	Applied(pos eventstore.Position, recordedAt time.Time, n int)
	Rescored(n int)
	Skipped(reason string)
	// Corrupt is called when the projector stops at records the store
	// reports damaged (eventstore.ErrCorrupt): it never skips them.
	Corrupt(positions []eventstore.Position)
}

// ErrNotFound is returned for an unknown account or manager.
var ErrNotFound = errors.New("projections: not found")

// ErrBehind is returned when the projections did not reach a position in
// time.
var ErrBehind = errors.New("projections: behind the requested position")

// Projector keeps the read models current. Create it with New, run it with
// Run; queries are safe from any goroutine.
type Projector struct {
	cfg Config

	mu    sync.RWMutex
	state *State
	cache map[string]*cached
	// live holds the maintained read models (maintained.go), updated
	// at each re-score.
	live    *maintained
	sched   schedule
	pos     eventstore.Position
	horizon time.Time // the state answers instants ≥ horizon
	// managersPruned is the instant before which managers' time entries
	// were last pruned.
	managersPruned time.Time
	seen           map[uint64]struct{}
	// dirty counts, per account, the events applied since its last
	// re-score.
	dirty map[string]int
	// timeSincePrune counts time.logged events since managers were last
	// pruned.
	timeSincePrune int

	posSeen  atomic.Uint64
	advanced chan struct{} // closed and replaced when pos advances
	advMu    sync.Mutex

	// marks is the last derived state of every subject (persisted in
	// the snapshot); catchingUp is set until the log is applied up to the
	// head found at start (no transitions are derived before); mgrCheck
	// queues managers whose capacity may have moved, mgrWake holds their
	// debounce wake-ups; out collects transitions until emit.
	marks      Marks
	catchingUp bool
	catchUpTo  eventstore.Position
	// stored is what the TransitionHistory held at start, applied to
	// the marks when the catch-up ends.
	stored   []Transition
	mgrCheck map[string]struct{}
	mgrWake  map[string]time.Time
	out      []Transition

	// handoff holds events the ingester decoded, until the subscription
	// reaches them (handoff.go); handedOff counts those taken.
	handoff   handoff
	handedOff atomic.Int64

	startPos  eventstore.Position
	replayed  atomic.Int64
	rescores  atomic.Int64
	sinceSnap int
	lastSnap  time.Time
	// lastSnapTook is how long the last snapshot took (Run's goroutine
	// only; see snapshotDue).
	lastSnapTook time.Duration
	lastFlush    time.Time // when applyBatch last re-scored (Run's goroutine only)
	// waiters counts the WaitFor calls waiting; flushReq (one slot) asks
	// Run to re-score and publish what it applied, for a waiter that
	// came while nothing was queued (see liveFlushEvery).
	waiters  atomic.Int32
	flushReq chan struct{}
	// unmarked is set when applyBatch applied an event of an account never
	// re-scored (or a manager without a mark): its first re-score takes
	// its baseline, which must not wait (Run's goroutine only).
	unmarked bool
	// replayTo is the head of the log when Run started: until the
	// projector reaches it, an empty queue does not mean it is caught up
	// (written by Run before it starts the checkpoints' goroutine, read
	// by both after).
	replayTo eventstore.Position

	// ck keeps the checkpoints of past instants (checkpoint.go).
	ck *checkpointer
}

// cached is an account's score as of the last re-score.
type cached struct {
	res  scoring.Result
	gen  uint64
	next time.Time
	// pruned is the instant before which the account's facts were last
	// pruned; sincePrune counts the events applied to it since.
	pruned     time.Time
	sincePrune int
	// wake is when a pending transition will have held for the debounce
	// time (zero for none).
	wake time.Time
	// walk is the search for the start of a pending transition, kept
	// while one is pending (see runStarts).
	walk *runWalk
}

// pruneEvery is how many events an account takes between prunes when the
// clock does not move (a rebuild, a replay), so its memory stays bounded.
// Prunes happen when the account is re-scored: during a replay, once a
// second or after pruneEvery events of the account.
const pruneEvery = 64

// New returns a Projector; it loads the snapshot when there is a valid one
// for the same scoring configuration.
func New(cfg Config) (*Projector, error) {
	if cfg.Store == nil || cfg.Scorer == nil {
		return nil, errors.New("projections: Config.Store and Config.Scorer are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SnapshotEvery <= 0 {
		cfg.SnapshotEvery = DefaultSnapshotEvery
	}
	if cfg.SnapshotInterval <= 0 {
		cfg.SnapshotInterval = DefaultSnapshotInterval
	}
	if cfg.Retain <= 0 {
		cfg.Retain = DefaultRetain
	}
	if cfg.TransitionRecency <= 0 {
		cfg.TransitionRecency = DefaultTransitionRecency
	}
	cfg.TransitionDebounce = max(cfg.TransitionDebounce, 0)
	if cfg.CheckpointPeriod <= 0 {
		cfg.CheckpointPeriod = DefaultCheckpointPeriod
	}
	if cfg.CheckpointMax <= 0 {
		cfg.CheckpointMax = DefaultCheckpointMax
	}
	cfg.CheckpointMax = max(cfg.CheckpointMax, 2)
	if cfg.CheckpointQuiet <= 0 {
		cfg.CheckpointQuiet = DefaultCheckpointQuiet
	}
	p := &Projector{
		cfg: cfg, state: NewState(), cache: make(map[string]*cached), live: newMaintained(), dirty: make(map[string]int),
		advanced: make(chan struct{}), flushReq: make(chan struct{}, 1), marks: newMarks(), catchingUp: true,
		mgrCheck: map[string]struct{}{}, mgrWake: map[string]time.Time{}, ck: newCheckpointer(cfg),
	}
	if cfg.DedupeKeys {
		p.seen = make(map[uint64]struct{})
	}
	if cfg.SnapshotPath != "" {
		removeStaleSnapshotTemps(cfg.SnapshotPath, cfg.Logger)
		snap, err := readSnapshot(cfg.SnapshotPath)
		switch {
		case err == nil && snap.ConfigVersion == cfg.Scorer.Version():
			p.state, p.pos, p.horizon = snap.State, snap.Position, snap.Horizon
			if cfg.DedupeKeys && snap.Seen != nil {
				p.seen = snap.Seen
			}
			if snap.Marks != nil {
				p.marks = *snap.Marks
				if p.marks.Accounts == nil {
					p.marks.Accounts = map[string]*AccountMark{}
				}
				if p.marks.Managers == nil {
					p.marks.Managers = map[string]*ManagerMark{}
				}
			}
			cfg.Logger.Info().Uint64("position", uint64(p.pos)).Int("accounts", len(p.state.Accounts)).Msg("projections: resumed from snapshot")
		case err == nil:
			cfg.Logger.Warn().Str("snapshot_config", snap.ConfigVersion).Str("config", cfg.Scorer.Version()).
				Msg("projections: scoring configuration changed; rebuilding from the log")
		case errors.Is(err, errNoSnapshot):
		default:
			cfg.Logger.Warn().Err(err).Msg("projections: snapshot unusable; rebuilding from the log")
		}
	}
	p.loadCheckpoints()
	p.startPos = p.pos
	p.posSeen.Store(uint64(p.pos))
	now := cfg.Now()
	for id := range p.state.Accounts {
		p.dirty[id] = pruneEvery // prune at once: the snapshot may predate a retention change
	}
	p.flushDirty(now)
	return p, nil
}

// Run applies the log until ctx is done, then writes a final snapshot. It
// returns nil after a clean stop, or the error that stopped it.
func (p *Projector) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p.startCatchUp(ctx)
	if head, err := p.cfg.Store.Head(ctx); err == nil {
		p.replayTo = head // a failure shows in the subscription
	}
	// The checkpoints' goroutine (checkpoint_build.go) reads replayTo:
	// it starts after it is set.
	var ckDone sync.WaitGroup
	ckCtx, ckCancel := context.WithCancel(ctx)
	ckDone.Go(func() { p.runCheckpoints(ckCtx) })
	defer func() { ckCancel(); ckDone.Wait() }()
	// A bounded pipeline: this goroutine decodes (or takes the event the
	// ingester handed off) while Run applies, in order, on another core.
	// Catch-up, the replay after a snapshot and the live path all take it.
	recs := make(chan decoded, 4096)
	subErr := make(chan error, 1)
	go func() {
		defer close(recs)
		for rec, err := range p.cfg.Store.Subscribe(ctx, p.Position()) {
			if err != nil {
				subErr <- err
				return
			}
			select {
			case recs <- p.decode(rec):
			case <-ctx.Done():
				return
			}
		}
	}()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	p.lastSnap = time.Now()
	p.lastFlush = time.Now()
	for {
		p.resetTimer(timer)
		select {
		case rec, ok := <-recs:
			if !ok {
				err := ctx.Err()
				select {
				case err = <-subErr:
				default:
				}
				return p.stop(err)
			}
			p.applyBatch(rec, recs)
			p.maybeSnapshot(false)
		case <-p.flushReq:
			p.flushApplied()
		case <-timer.C:
			p.flushApplied()
			p.Refresh()
			p.maybeSnapshot(false)
		case <-ctx.Done():
			return p.stop(nil)
		}
	}
}

// stop writes the final snapshot. A damaged record in the log stops the
// projector (Run returns the error, so readiness fails): it is reported to
// the observer and logged, never skipped.
func (p *Projector) stop(cause error) error {
	p.flushApplied() // the final snapshot holds every account re-scored
	var ce *eventstore.CorruptError
	if errors.As(cause, &ce) {
		p.cfg.Logger.Error().Err(cause).Uint64("position", uint64(p.Position())).
			Msg("projections: stopped at a damaged record of the event log; run vitals verify, restore events.db from a backup")
		if o := p.cfg.Observer; o != nil {
			o.Corrupt(ce.Positions)
		}
	}
	if err := p.maybeSnapshot(true); err != nil {
		p.cfg.Logger.Error().Err(err).Msg("projections: final snapshot failed")
		if cause == nil || errors.Is(cause, context.Canceled) {
			return err
		}
	}
	if cause != nil && !errors.Is(cause, context.Canceled) {
		return fmt.Errorf("projections: subscription: %w", cause)
	}
	return nil
}

// resetTimer arms the timer for the next scheduled re-score (at most a
// minute away, so a changed clock is noticed).
func (p *Projector) resetTimer(t *time.Timer) {
	p.mu.RLock()
	wait := time.Minute
	if len(p.sched) > 0 {
		wait = min(wait, max(p.sched[0].at.Sub(p.cfg.Now()), time.Millisecond))
	}
	if p.pos > p.Position() {
		// Applied, waiting for its re-score (applyBatch).
		wait = min(wait, max(liveFlushEvery-time.Since(p.lastFlush), time.Millisecond))
	}
	p.mu.RUnlock()
	t.Reset(wait)
}

// liveFlushEvery is how long, at most, the live projector lets applied
// events wait for their re-score while nobody waits for them (WaitFor):
// under a stream of commits the accounts they touch are re-scored once per
// interval, not once per commit. A WaitFor has them re-scored at once.
// Queries are not held back: they score an account touched since its last
// re-score afresh.
const liveFlushEvery = 250 * time.Millisecond

// applyBatch applies rec and whatever else is already queued, up to a
// bound, under one lock.
func (p *Projector) applyBatch(rec decoded, more <-chan decoded) {
	const maxBatch = 1000
	n := 0
	var recordedAt time.Time
	p.mu.Lock()
	for {
		p.applyLocked(rec)
		recordedAt = rec.rec.RecordedAt
		n++
		if n >= maxBatch {
			break
		}
		select {
		case r, ok := <-more:
			if !ok {
				goto done
			}
			rec = r
			continue
		default:
		}
		break
	}
done:
	// Re-score what the batch touched before waiters are released, when
	// nothing more is queued (or a second has passed), so that a
	// WaitFor(pos) returns after the accounts were re-scored and their
	// transitions derived. While it replays the log up to the head found
	// at start, the queue runs empty between pages of the log: it
	// re-scores once a second and at the end, not after every page (each
	// re-score would be undone by the next page's events).
	//
	// Live, with nothing queued, the re-score waits until liveFlushEvery
	// has passed since the last one, unless a WaitFor waits or the batch
	// holds a subject's first events (its baseline is taken before
	// queries see it, as before); so does the publication of the position
	// (Run re-scores and publishes when the interval ends or a waiter
	// asks).
	// A snapshot due after this batch (maybeSnapshot) is taken re-scored,
	// so that it holds the marks of every account it holds (a restart
	// takes an account without a mark as its baseline).
	replaying := p.pos < p.replayTo
	idle := len(more) == 0 && !replaying
	snapDue := p.snapshotDue(n)
	flush := snapDue || (idle && (p.waiters.Load() > 0 || p.unmarked || time.Since(p.lastFlush) >= liveFlushEvery)) || time.Since(p.lastFlush) > time.Second
	if flush {
		p.flushLocked()
	}
	pos := p.pos
	p.mu.Unlock()
	p.replayed.Add(int64(n))
	p.sinceSnap += n
	// The observer hears of the batch before waiters do, so that whoever
	// WaitFor releases sees metrics that include it.
	if o := p.cfg.Observer; o != nil {
		o.Applied(pos, recordedAt, n)
	}
	if flush || !idle {
		p.publish(pos)
	}
}

// flushLocked re-scores the accounts touched since the last flush and ends
// the catch-up when it is done; p.mu is held.
func (p *Projector) flushLocked() {
	p.unmarked = false
	now := p.cfg.Now()
	p.flushDirty(now)
	if p.catchingUp && p.pos >= p.catchUpTo {
		p.endCatchUp(now)
	}
	p.lastFlush = time.Now()
}

// flushApplied re-scores and publishes what applyBatch applied without
// publishing it (Run's goroutine).
func (p *Projector) flushApplied() {
	p.mu.Lock()
	if p.pos <= p.Position() {
		p.mu.Unlock()
		return
	}
	p.flushLocked()
	pos := p.pos
	p.mu.Unlock()
	p.publish(pos)
}

// decoded is a record with its event, or the error decoding it.
type decoded struct {
	rec eventstore.Record
	ev  domain.Event
	err error
}

// decode decodes rec: the event the ingester handed off when it holds the
// same bytes, else domain.Decode.
func (p *Projector) decode(rec eventstore.Record) decoded {
	if ev, ok := p.handoff.take(rec.Key, rec.Data); ok {
		p.handedOff.Add(1)
		return decoded{rec: rec, ev: ev}
	}
	ev, err := domain.DecodePayload(rec.Data) // the state takes the payload, never the data
	return decoded{rec: rec, ev: ev, err: err}
}

// applyLocked applies one decoded record; p.mu is held.
func (p *Projector) applyLocked(d decoded) {
	rec := d.rec
	if rec.Position <= p.pos {
		return // seen before (a resubscription overlap)
	}
	p.pos = rec.Position
	if p.seen != nil {
		h := fnv.New64a()
		h.Write([]byte(rec.Key))
		k := h.Sum64()
		if _, dup := p.seen[k]; dup {
			p.skip("duplicate")
			return
		}
		p.seen[k] = struct{}{}
	}
	ev, err := d.ev, d.err
	if err != nil {
		p.cfg.Logger.Error().Err(err).Uint64("position", uint64(rec.Position)).Msg("projections: undecodable record skipped")
		p.skip("undecodable")
		return
	}
	p.noteApplied(rec.Position, ev.Time)
	if id := p.state.Apply(ev); id != "" {
		if c := p.cache[id]; c == nil {
			p.unmarked = true
		} else {
			c.walk.invalidate(ev.Time)
		}
		p.dirty[id]++
		if p.dirty[id] >= pruneEvery && p.pos < p.replayTo {
			// A replay re-scores the accounts once a second; one that
			// takes pruneEvery events before then is re-scored (and so
			// pruned) at once, so that its facts stay bounded.
			p.rescore(id, p.cfg.Now(), p.dirty[id])
			delete(p.dirty, id)
			p.rescores.Add(1)
			if o := p.cfg.Observer; o != nil {
				o.Rescored(1)
			}
		}
	}
	if ev.Type == domain.TypeTimeLogged {
		p.timeSincePrune++
		if p.pos < p.replayTo {
			p.pruneManagers(p.cfg.Now()) // when enough time entries arrived (a replay flushes rarely)
		}
	}
	if tl, ok := ev.Payload.(domain.TimeLogged); ok {
		p.live.forget(tl.ManagerID) // its utilization
	}
	if ev.Type.IsManagerEvent() {
		p.managerChanged(ev.Subject)
		if p.deriving() {
			if p.marks.Managers[ev.Subject] == nil {
				p.unmarked = true
			}
			p.checkManagerOf(ev.Subject)
		}
	}
}

func (p *Projector) skip(reason string) {
	if o := p.cfg.Observer; o != nil {
		o.Skipped(reason)
	}
}

// publish records that pos was reached and wakes waiters.
func (p *Projector) publish(pos eventstore.Position) {
	p.posSeen.Store(uint64(pos))
	p.advMu.Lock()
	close(p.advanced)
	p.advanced = make(chan struct{})
	p.advMu.Unlock()
}

// flushDirty re-scores the accounts touched since the last flush; p.mu is
// held (or p is not shared yet).
func (p *Projector) flushDirty(now time.Time) {
	if len(p.dirty) == 0 {
		return
	}
	for id, applied := range p.dirty {
		p.rescore(id, now, applied)
	}
	p.pruneManagers(now)
	n := len(p.dirty)
	clear(p.dirty)
	if p.deriving() {
		p.checkManagers(now)
		p.emit()
	}
	p.rescores.Add(int64(n))
	if o := p.cfg.Observer; o != nil {
		o.Rescored(n)
	}
}

// rescore computes an account's score at now, caches it and schedules the
// next re-score; applied is the number of events applied to it since its
// last re-score. It prunes the account first when the retention horizon
// moved by a day or enough events arrived. p.mu is held.
func (p *Projector) rescore(id string, now time.Time, applied int) {
	a := p.state.Accounts[id]
	if a == nil {
		return
	}
	c := p.cache[id]
	if c == nil {
		c = &cached{}
		p.cache[id] = c
	}
	c.sincePrune += applied
	if target := now.Add(-p.cfg.Retain); target.Sub(c.pruned) > day || c.sincePrune >= pruneEvery {
		// pruned is where the facts got to: short of the target while
		// past scores wait for the account's events to pass their days
		// (keepPast); the re-score after its next event tries again.
		c.pruned, c.sincePrune = p.pruneAccount(id, target, now), 0
		if target.After(p.horizon) {
			p.horizon = target
		}
	}
	c.gen++
	// Lists need the summary only; the explanation (evidence, details) is
	// computed afresh by Health, so it is not built for every account.
	c.res = p.cfg.Scorer.Summary(&a.Scoring, now)
	c.next = time.Time{}
	// The maintained read models take the account as of now; it is
	// re-scored at the next instant its score, its list facets or
	// anything the read models hold of it can change.
	res := c.res
	la := p.live.update(&view{st: p.state, t: now, scorer: p.cfg.Scorer, score: func(*Account) scoring.Result { return res }}, a)
	if next, ok := p.viewChange(a, now, la); ok {
		c.next = next
		heap.Push(&p.sched, entry{at: next, id: id, gen: c.gen})
	}
	if p.deriving() {
		p.checkAccount(id, now, c)
	}
	if len(p.sched) > 2*len(p.cache)+1024 {
		p.compactSchedule()
	}
}

// compactSchedule drops superseded entries from the heap; p.mu is held.
func (p *Projector) compactSchedule() {
	s := make(schedule, 0, len(p.cache))
	for id, c := range p.cache {
		if !c.next.IsZero() {
			s = append(s, entry{at: c.next, id: id, gen: c.gen})
		}
		if !c.wake.IsZero() {
			s = append(s, entry{at: c.wake, id: id, gen: c.gen})
		}
	}
	for id, at := range p.mgrWake {
		s = append(s, entry{at: at, id: id, manager: true})
	}
	heap.Init(&s)
	p.sched = s
}

// Refresh re-scores every account whose scheduled instant has come (by the
// configured clock) and prunes what can no longer matter. Run calls it on
// a timer; queries call it so that they never see a stale score.
func (p *Projector) Refresh() { p.refresh(p.cfg.Now()) }

// refresh is Refresh as of now.
func (p *Projector) refresh(now time.Time) {
	p.mu.RLock()
	due := len(p.sched) > 0 && !p.sched[0].at.After(now)
	p.mu.RUnlock()
	if !due {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for len(p.sched) > 0 && !p.sched[0].at.After(now) {
		e := heap.Pop(&p.sched).(entry)
		if e.manager {
			if at, ok := p.mgrWake[e.id]; ok && at.Equal(e.at) {
				p.checkManagerOf(e.id)
			}
			continue
		}
		c := p.cache[e.id]
		if c == nil || c.gen != e.gen {
			continue // superseded by a later re-score
		}
		p.rescore(e.id, now, 0)
		n++
	}
	p.pruneManagers(now)
	if p.deriving() {
		p.checkManagers(now)
		p.emit()
	}
	p.rescores.Add(int64(n))
	if o := p.cfg.Observer; o != nil && n > 0 {
		o.Rescored(n)
	}
}

// pruneManagers drops managers' time entries no question about an instant
// after the horizon needs, when the horizon moved by a day or enough
// entries arrived; p.mu is held.
func (p *Projector) pruneManagers(now time.Time) {
	target := now.Add(-p.cfg.Retain)
	if target.Sub(p.managersPruned) <= day && p.timeSincePrune < pruneEvery*max(len(p.state.Managers), 1) {
		return
	}
	for _, m := range p.state.Managers {
		m.prune(target)
	}
	p.managersPruned, p.timeSincePrune = target, 0
	if target.After(p.horizon) {
		p.horizon = target
	}
}

// Position is the last applied log position.
func (p *Projector) Position() eventstore.Position {
	return eventstore.Position(p.posSeen.Load())
}

// WaitFor blocks until the projections reflect pos or ctx is done; then it
// returns ErrBehind wrapped with how far they are.
func (p *Projector) WaitFor(ctx context.Context, pos eventstore.Position) error {
	if p.Position() >= pos {
		return nil
	}
	// Applied events wait for their re-score unless someone waits
	// (liveFlushEvery): say so, and ask Run to re-score what it applied.
	p.waiters.Add(1)
	defer p.waiters.Add(-1)
	select {
	case p.flushReq <- struct{}{}:
	default:
	}
	for {
		p.advMu.Lock()
		ch := p.advanced
		p.advMu.Unlock()
		cur := p.Position()
		if cur >= pos {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%w: at position %d, waiting for %d", ErrBehind, cur, pos)
		}
	}
}

// Stats describes the projector's work since it started.
type Stats struct {
	// StartPosition is where it resumed (the snapshot's checkpoint, or 0).
	StartPosition eventstore.Position `json:"start_position"`
	Position      eventstore.Position `json:"position"`
	// Replayed counts the records applied since start.
	Replayed int64 `json:"replayed"`
	// HandedOff counts the records applied as the ingester decoded them,
	// without decoding them again.
	HandedOff int64 `json:"handed_off"`
	// HandoffPending is the number of offered events not yet taken or
	// withdrawn.
	HandoffPending int       `json:"handoff_pending"`
	Rescores       int64     `json:"rescores"`
	Accounts       int       `json:"accounts"`
	Managers       int       `json:"managers"`
	Scheduled      int       `json:"scheduled"`
	Horizon        time.Time `json:"horizon"`
}

// Stats returns the projector's counters.
func (p *Projector) Stats() Stats {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return Stats{
		StartPosition: p.startPos, Position: p.pos, Replayed: p.replayed.Load(), HandedOff: p.handedOff.Load(),
		HandoffPending: p.handoff.len(), Rescores: p.rescores.Load(),
		Accounts: len(p.state.Accounts), Managers: len(p.state.Managers), Scheduled: len(p.sched), Horizon: p.horizon,
	}
}
