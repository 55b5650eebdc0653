//go:build unix

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain runs the tests, or, in the child process of
// TestSIGHUPReloadsKeys, "vitals serve" with the process's real signals as
// main runs it.
func TestMain(m *testing.M) {
	if dir := os.Getenv("VITALS_TEST_SIGHUP_DIR"); dir != "" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		app := &App{Stdout: os.Stdout, Stderr: os.Stdout}
		code := app.Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir,
			"--keys-reload-interval", "0", "--log-format", "json", "--log-level", "debug"})
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// TestSIGHUPReloadsKeys sends a real SIGHUP to a serving child process
// (polling off): the key added meanwhile applies. Without the signal
// wiring, SIGHUP would kill the child.
func TestSIGHUPReloadsKeys(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "VITALS_TEST_SIGHUP_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			logs.Write(append(sc.Bytes(), '\n'))
			var line struct{ Message, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Message == "vitals is serving" {
				addrc <- line.Addr
			}
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("child: %v; logs:\n%s", err, logs.String())
			}
		case <-time.After(time.Minute):
			cmd.Process.Kill()
			t.Error("child did not stop on SIGTERM")
		}
	}()
	var url string
	select {
	case a := <-addrc:
		url = "http://" + a
	case <-time.After(2 * time.Minute):
		t.Fatalf("child did not start; logs:\n%s", logs.String())
	}
	waitLog(t, logs, "keys reloaded: no change") // the watcher (and its SIGHUP handler) is up
	q := url + "/v1/accounts/acme/events"
	tok := addKey(t, dir, "etl")
	if got := status(t, q, ""); got != http.StatusNotFound {
		t.Fatalf("before SIGHUP, without polling: %d, want 404", got)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, "401 without a key after SIGHUP", func() bool { return status(t, q, "") == http.StatusUnauthorized })
	if got := status(t, q, tok); got != http.StatusNotFound {
		t.Fatalf("with the key after SIGHUP: %d", got)
	}
	if !strings.Contains(logs.String(), `"added":["etl"]`) {
		t.Errorf("reload not logged:\n%s", logs.String())
	}
}
