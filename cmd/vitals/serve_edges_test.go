package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/eventstore"
)

// TestServeBindFailureLeavesNoDataDir: a serve that cannot listen fails
// before it touches the disk, and leaves a data dir that existed as it was.
func TestServeBindFailureLeavesNoDataDir(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()

	fresh := filepath.Join(t.TempDir(), "vitals-data")
	code, _, stderr := run(t, "", nil, "serve", "--addr", addr, "--data-dir", fresh, "--log-format", "json")
	if code != 1 || !strings.Contains(stderr, "listen on "+addr) {
		t.Fatalf("exit %d, want 1 with a listen error: %s", code, stderr)
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Fatalf("a serve that could not listen left %s behind (stat: %v)", fresh, err)
	}

	existing := t.TempDir()
	if code, _, stderr := run(t, "", nil, "serve", "--addr", addr, "--data-dir", existing, "--log-format", "json"); code != 1 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(existing); err != nil {
		t.Fatalf("the existing data dir was removed: %v", err)
	}
}

// TestServeStartupFailureRemovesTheDataDirItMade: a start-up failure after
// the store was opened (here a scoring configuration that does not exist)
// removes the data dir serve created, and nothing in one that existed.
func TestServeStartupFailureRemovesTheDataDirItMade(t *testing.T) {
	fresh := filepath.Join(t.TempDir(), "vitals-data")
	args := []string{"serve", "--addr", "127.0.0.1:0", "--log-format", "json", "--scoring-config", filepath.Join(t.TempDir(), "absent.yaml")}
	code, _, stderr := run(t, "", nil, append(args, "--data-dir", fresh)...)
	if code != 1 || !strings.Contains(stderr, "--scoring-config") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Fatalf("a failed start-up left %s behind (stat: %v)", fresh, err)
	}
	existing := t.TempDir()
	keep := filepath.Join(existing, "keep.txt")
	if err := os.WriteFile(keep, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := run(t, "", nil, append(args, "--data-dir", existing)...); code != 1 {
		t.Fatalf("exit %d", code)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("a file in the existing data dir was removed: %v", err)
	}
}

// TestConsoleLogsWithoutColourOffTerminal: --log-format console writes no
// ANSI escape codes when its output is not a terminal.
func TestConsoleLogsWithoutColourOffTerminal(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	app := &App{Stdout: logs, Stderr: logs, OnListen: func(net.Addr) { cancel() }}
	if code := app.Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--log-format", "console"}); code != 0 {
		t.Fatalf("exit %d:\n%s", code, logs.String())
	}
	out := logs.String()
	if !strings.Contains(out, "vitals is serving") {
		t.Fatalf("no console log:\n%s", out)
	}
	if strings.Contains(out, "\x1b[") {
		t.Fatalf("console logs carry ANSI colour codes off a terminal:\n%q", out)
	}
}

// TestCatchUpLogsProgress: while the projections replay toward the head
// they had at start-up, progress is logged (position, head, rate), then
// the catch-up once done.
func TestCatchUpLogsProgress(t *testing.T) {
	var buf syncBuffer
	log := zerolog.New(&buf)
	var pos eventstore.Position
	positions := make(chan eventstore.Position)
	done := make(chan struct{})
	go func() {
		defer close(done)
		logCatchUp(context.Background(), log, time.Nanosecond, 0, 1000, func() eventstore.Position {
			select {
			case p := <-positions:
				pos = p
			default:
			}
			return pos
		})
	}()
	for _, p := range []eventstore.Position{100, 400, 1000} {
		positions <- p
	}
	<-done
	out := buf.String()
	for _, want := range []string{`"position":100`, `"position":400`, `"head":1000`, `"events_per_second":`, "catching up", "projections caught up"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	// Started at the head (from a snapshot): nothing logged.
	var quiet syncBuffer
	logCatchUp(context.Background(), zerolog.New(&quiet), time.Millisecond, 5, 5, func() eventstore.Position { return 5 })
	if quiet.String() != "" {
		t.Errorf("logged with nothing to catch up:\n%s", quiet.String())
	}
}

// TestServeLogsCatchUp: serve started without a snapshot on a store with
// events logs that its projections caught up with the head.
func TestServeLogsCatchUp(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	app := &App{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, OnListen: func(net.Addr) { cancel() }}
	if code := app.Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--log-format", "json",
		"--demo", "--demo-accounts", "3", "--demo-months", "2"}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if err := os.Remove(snapshotPath(dir)); err != nil {
		t.Fatal(err)
	}
	_, logs := serveApp(t, &App{}, "--data-dir", dir)
	eventually(t, "catch-up logged", func() bool { return strings.Contains(logs.String(), "projections caught up") })
}

// TestBenchHelpTellsEndDefault: bench -h shows the end it uses.
func TestBenchHelpTellsEndDefault(t *testing.T) {
	_, stdout, _ := run(t, "", nil, "bench", "-h")
	if !strings.Contains(stdout, benchEndDefault) || strings.Contains(stdout, "default: now") {
		t.Fatalf("bench -h does not tell the default of --end (%s):\n%s", benchEndDefault, stdout)
	}
}
