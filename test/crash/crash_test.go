package crash

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	flagCycles = flag.Int("crash.cycles", 20, "number of kill cycles of TestKillNineNeverLosesAcknowledgedEvents")
	flagSeed   = flag.Uint64("crash.seed", 1, "seed of the crash test's generators and kill schedule")
)

// numClients is how many clients write concurrently.
const numClients = 4

// How a cycle ends.
type ending int

const (
	endKill     ending = iota // SIGKILL at a random moment
	endTerm                   // SIGTERM: a graceful stop with requests in flight (writes a snapshot)
	endTermKill               // SIGTERM, then SIGKILL a few ms later (may tear the snapshot or the drain)
)

func (e ending) String() string { return [...]string{"kill", "term", "term+kill"}[e] }

// endingOf chooses how a cycle ends: mostly SIGKILL; every fifth cycle a
// graceful stop, so later cycles resume from a snapshot and replay a tail;
// every tenth a SIGKILL in the middle of the graceful stop. The last cycle
// always ends with SIGKILL, so the final restart replays a tail of the log
// after a snapshot.
func endingOf(cycle, cycles int) ending {
	switch {
	case cycle == cycles-1:
		return endKill
	case cycle%5 == 3:
		return endTerm
	case cycle%10 == 6:
		return endTermKill
	default:
		return endKill
	}
}

// TestKillNineNeverLosesAcknowledgedEvents runs "vitals serve" on one data
// dir again and again, writes to it from concurrent clients, kills it at a
// random moment of each cycle, and then checks the store: every
// acknowledged event is present exactly once, nothing unknown is stored, no
// batch is partly stored, and the projections after the restart equal a
// rebuild from zero.
func TestKillNineNeverLosesAcknowledgedEvents(t *testing.T) {
	cycles := *flagCycles
	if testing.Short() && !flagGiven("crash.cycles") {
		cycles = min(cycles, 5)
	}
	start := time.Now()
	ctx := context.Background()
	bin := buildVitals(t, t.TempDir())
	dataDir := filepath.Join(t.TempDir(), "data")
	srvs := newServers(t, bin, dataDir)
	hc := &http.Client{Timeout: 20 * time.Second}
	defer hc.CloseIdleConnections()

	// Every server delivers its derived events to a webhook receiver in
	// this process, at once (no debounce).
	recv := newHookReceiver(t)
	// The store merges its in-memory index of the newest events into its
	// file every 200 events, so that kills land before, during and after
	// merges, and every restart reads an unmerged tail back from the log.
	srvs.args = []string{"--notify", recv.srv.URL + "/hook?name=receiver", "--notify-debounce", "0", "--notify-source", "vitals://crash-test",
		"--store-index-every", "200"}
	srvs.env = []string{"VITALS_NOTIFY_SECRET=" + hookSecret}

	base := time.Now().UTC().Truncate(time.Second)
	clients := make([]*client, numClients)
	for i := range clients {
		clients[i] = newClient(i, base)
	}

	// The flipper's accounts are opened, and their baselines taken, by a
	// server that stops gracefully: its snapshot holds their marks, so
	// every later restart derives their transitions from those (see
	// doc.go).
	feed := newFeedReader()
	flips := newFlipper(feed)
	if err := setUpFlipper(ctx, srvs, hc, flips, base); err != nil {
		t.Fatal(err)
	}
	schedule := rand.New(rand.NewPCG(*flagSeed, 0xc4a5))
	endings := map[ending]int{}
	violations := 0

	for cycle := range cycles {
		// Snapshots every few hundred or thousand events in most cycles, so
		// some kills land while one is being written.
		snapEvery := pick(schedule, []int{300, 1000, 3000, 50_000})
		cycleStart := time.Now()
		srv, err := srvs.start(ctx, "--snapshot-every", strconv.Itoa(snapEvery))
		if err != nil {
			t.Fatalf("cycle %d: %v", cycle, err)
		}
		if err := srv.waitReady(ctx, hc); err != nil {
			t.Fatalf("cycle %d: %v; log:\n%s", cycle, err, tail(srv.logPath, 30))
		}
		ready := time.Since(cycleStart)
		ackedBefore := 0
		for _, c := range clients {
			ackedBefore += c.stats.ackedBatches
		}
		delay := time.Duration(100+schedule.IntN(1400)) * time.Millisecond
		end := endingOf(cycle, cycles)
		endings[end]++

		cctx, cancel := context.WithCancel(ctx)
		ctr := &http.Transport{MaxIdleConnsPerHost: numClients}
		chc := &http.Client{Timeout: 20 * time.Second, Transport: ctr}
		var wg sync.WaitGroup
		for _, c := range clients {
			rng := rand.New(rand.NewPCG(*flagSeed, uint64(cycle)<<8|uint64(c.id)))
			wg.Go(func() { c.run(cctx, chc, srv.url, rng) })
		}
		wg.Go(func() { flips.run(cctx, chc, srv.url) })

		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-srv.exited:
			t.Errorf("cycle %d: vitals serve exited on its own (%v); log:\n%s", cycle, srv.waitErr, tail(srv.logPath, 20))
		}
		timer.Stop()
		switch end {
		case endKill:
			_ = srv.cmd.Process.Kill()
		case endTerm:
			_ = srv.signal(syscall.SIGTERM)
		case endTermKill:
			_ = srv.signal(syscall.SIGTERM)
			time.Sleep(time.Duration(schedule.IntN(30)) * time.Millisecond)
			_ = srv.cmd.Process.Kill()
		}
		exitErr := srv.waitExit(ctx)
		cancel()
		wg.Wait()
		ctr.CloseIdleConnections()
		if !srv.hasExited() {
			srv.kill()
			t.Fatalf("cycle %d (%s): %v", cycle, end, exitErr)
		}
		if end == endTerm && exitErr != nil {
			t.Errorf("cycle %d: SIGTERM with requests in flight: %v; log:\n%s", cycle, exitErr, tail(srv.logPath, 20))
		}
		if testing.Verbose() {
			acked := -ackedBefore
			for _, c := range clients {
				acked += c.stats.ackedBatches
			}
			t.Logf("cycle %d: snapshot every %d events, ready after %s, %s after %s, %d batches acknowledged, cycle took %s",
				cycle, snapEvery, ready.Round(time.Millisecond), end, delay, acked, time.Since(cycleStart).Round(time.Millisecond))
		}
		for _, c := range clients {
			for _, e := range c.errs {
				t.Errorf("cycle %d: %s", cycle, e)
				violations++
			}
			c.errs = nil
		}
		for _, e := range flips.errs {
			t.Errorf("cycle %d: flipper: %s", cycle, e)
			violations++
		}
		flips.errs = nil
		// Go on after a few violations, to report the totals and the final
		// checks; stop when something is broken throughout.
		if violations > 20 {
			t.Fatalf("stopping after cycle %d: %d protocol violations", cycle, violations)
		}
	}

	// Read every account's events back from a restarted server.
	srv, err := srvs.start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.waitReady(ctx, hc); err != nil {
		t.Fatal(err)
	}
	// The last flip is finished (its transitions must reach the outbox),
	// then every notification in the outbox must reach the receiver.
	if err := flips.finish(ctx, hc, srv.url); err != nil {
		t.Error(err)
	}
	if err := drainNotifications(ctx, hc, srv.url, feed, recv); err != nil {
		t.Error(err)
	}
	notes := checkNotifications(t, feed, recv, flips.flips)

	led := newLedger(clients, flips.batches...)
	stored, err := readAccountEvents(ctx, hc, srv.url, led.accountIDs())
	if err != nil {
		t.Fatal(err)
	}
	httpReport := led.check(t, "HTTP read-back", stored, func(e *sentEvent) bool { return !isManagerEvent(e.typ) })

	// The projections after restart equal a rebuild from zero.
	at := led.lastAcked().Truncate(time.Second)
	sample := led.sampleAccounts(25)
	live, err := fetchViews(ctx, hc, srv.url, at, sample)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.stop(ctx); err != nil {
		t.Fatal(err)
	}
	beforeRebuild, rebuiltAt := len(feed.items), time.Now()
	if err := srvs.rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	srv, err = srvs.start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.waitReady(ctx, hc); err != nil {
		t.Fatal(err)
	}
	rebuilt, err := fetchViews(ctx, hc, srv.url, at, sample)
	if err != nil {
		t.Fatal(err)
	}
	compareViews(t, live, rebuilt)
	// A rebuild publishes nothing about the past.
	if err := feed.poll(ctx, hc, srv.url); err != nil {
		t.Fatal(err)
	}
	checkNothingAboutThePast(t, feed, beforeRebuild, rebuiltAt)
	if err := srv.stop(ctx); err != nil {
		t.Fatal(err)
	}

	// The whole log, read from the store file: manager events too, and
	// positions without gaps.
	log, err := readLog(ctx, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	logReport := led.check(t, "store log", log, func(*sentEvent) bool { return true })
	checkCounts(t, live, log)

	var st clientStats
	for _, c := range clients {
		st.batches += c.stats.batches
		st.posts += c.stats.posts
		st.retries += c.stats.retries
		st.retriedDuplicate += c.stats.retriedDuplicate
		st.retriedAccepted += c.stats.retriedAccepted
		st.retriedMixed += c.stats.retriedMixed
		st.abandoned += c.stats.abandoned
		st.unavailable += c.stats.unavailable
		st.ackedBatches += c.stats.ackedBatches
		st.ackedEvents += c.stats.ackedEvents
	}
	t.Logf("crash test: seed %d, %d cycles (%s), %d clients, took %s", *flagSeed, cycles, formatEndings(endings), numClients, time.Since(start).Round(time.Millisecond))
	t.Logf("batches: %d built, %d posts, %d acknowledged; retries %d (%d answered duplicate, %d accepted, %d mixed), %d abandoned unacknowledged, %d answered 5xx",
		st.batches, st.posts, st.ackedBatches, st.retries, st.retriedDuplicate, st.retriedAccepted, st.retriedMixed, st.abandoned, st.unavailable)
	t.Logf("events: %d sent, %d acknowledged, %d stored (%d stored without an acknowledgement), %d accounts, %d views compared",
		len(led.events), logReport.acked, logReport.stored, logReport.storedUnacked, len(led.accountIDs()), len(live))
	t.Logf("restarts: %d resumed from a snapshot, %d found the snapshot unusable", srvs.countLogs("projections: resumed from snapshot"), srvs.countLogs("snapshot unusable"))
	t.Logf("lost: %d (HTTP %d), duplicates: %d (HTTP %d), unknown: %d, partial batches: %d in the log, %d found by retries",
		logReport.lost, httpReport.lost, logReport.duplicates, httpReport.duplicates, logReport.unknown, logReport.partial, st.retriedMixed)
	t.Logf("notifications: %d derived into the outbox (%d after the rebuild), %d delivered (%d deliveries, %d refused by the receiver), lost %d, duplicates in the outbox %d, out of order %d, unknown %d, bad signatures %d",
		notes.derived, len(feed.items)-beforeRebuild, notes.delivered, notes.deliveries, notes.refused, notes.lost, notes.duplicates, notes.outOfOrder, notes.unknown, notes.badRequests)
	t.Logf("flips: %d acknowledged band changes now, %d transitions expected, %d not in the outbox", notes.flips, notes.flipTransitions, notes.flipLost)
	if notes.derived == 0 || notes.flips == 0 {
		t.Errorf("no notification derived or no flip acknowledged: the notification checks exercised nothing")
	}
	if len(led.events) == 0 || logReport.acked == 0 {
		t.Errorf("nothing was acknowledged: the test exercised nothing")
	}
}

func formatEndings(m map[ending]int) string {
	var parts []string
	for _, e := range []ending{endKill, endTerm, endTermKill} {
		parts = append(parts, fmt.Sprintf("%d %s", m[e], e))
	}
	return strings.Join(parts, ", ")
}

// flagGiven reports whether the flag was set on the command line.
func flagGiven(name string) bool {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

func isManagerEvent(typ string) bool { return strings.HasPrefix(typ, "manager.") }
