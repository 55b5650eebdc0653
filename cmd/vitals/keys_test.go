package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serveApp runs "vitals serve" on a free port with app's hooks and returns
// its base URL and logs; the server stops at the end of the test.
func serveApp(t *testing.T, app *App, args ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	logs := &syncBuffer{}
	app.Stdout, app.Stderr, app.OnListen = logs, logs, func(a net.Addr) { addrc <- a }
	done := make(chan int, 1)
	go func() {
		done <- app.Run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--log-format", "json"}, args...))
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d; logs:\n%s", code, logs.String())
		}
	})
	select {
	case a := <-addrc:
		return "http://" + a.String(), logs
	case code := <-done:
		t.Fatalf("serve exited %d before listening; logs:\n%s", code, logs.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("serve did not start; logs:\n%s", logs.String())
	}
	return "", nil
}

// status is the status of GET url with token (none when empty).
func status(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// eventually polls cond until it holds, failing the test after a generous
// deadline (the reload is expected within about a second).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// addKey runs "vitals keys add" and returns the token.
func addKey(t *testing.T, dir, name string) string {
	t.Helper()
	code, out, stderr := run(t, "", nil, "keys", "add", "--data-dir", dir, "--name", name, "--scopes", "read")
	if code != 0 {
		t.Fatalf("keys add %s: exit %d: %s", name, code, stderr)
	}
	return strings.TrimSpace(out)
}

// removeKey runs "vitals keys remove".
func removeKey(t *testing.T, dir, name string) {
	t.Helper()
	if code, _, stderr := run(t, "", nil, "keys", "remove", "--data-dir", dir, "--name", name); code != 0 {
		t.Fatalf("keys remove %s: exit %d: %s", name, code, stderr)
	}
}

// TestKeysApplyWithoutRestart: a server started without keys switches
// authentication on when "vitals keys add" writes one, and follows later
// additions and removals; with every key removed it keeps refusing (fail
// closed).
func TestKeysApplyWithoutRestart(t *testing.T) {
	dir := t.TempDir()
	// The polls below fail authentication on purpose, many times: no
	// failed-authentication limit here (TestServeLimitsFailedAuth has it).
	url, logs := serveApp(t, &App{}, "--data-dir", dir, "--auth-fail-limit", "0")
	q := url + "/v1/accounts/acme/events"
	if got := status(t, q, ""); got != http.StatusNotFound {
		t.Fatalf("without keys: %d, want 404 (auth off on loopback)", got)
	}

	first := addKey(t, dir, "first")
	eventually(t, "a request without a key gets 401 after keys add", func() bool { return status(t, q, "") == http.StatusUnauthorized })
	if got := status(t, q, first); got != http.StatusNotFound {
		t.Fatalf("with the new key: %d, want 404", got)
	}

	second := addKey(t, dir, "second")
	eventually(t, "the second key is accepted", func() bool { return status(t, q, second) == http.StatusNotFound })

	removeKey(t, dir, "first")
	eventually(t, "the removed key gets 401", func() bool { return status(t, q, first) == http.StatusUnauthorized })
	if got := status(t, q, second); got != http.StatusNotFound {
		t.Fatalf("the remaining key: %d, want 404", got)
	}

	removeKey(t, dir, "second")
	eventually(t, "the last removed key gets 401", func() bool { return status(t, q, second) == http.StatusUnauthorized })
	if got := status(t, q, ""); got != http.StatusUnauthorized {
		t.Fatalf("with every key removed, no key: %d, want 401 (fail closed)", got)
	}

	l := logs.String()
	for _, want := range []string{`"added":["first"]`, `"added":["second"]`, `"removed":["first"]`, `"removed":["second"]`, "no API keys left"} {
		if !strings.Contains(l, want) {
			t.Errorf("logs lack %s:\n%s", want, l)
		}
	}
	for _, tok := range []string{first, second} {
		if strings.Contains(l, tok) || strings.Contains(l, tok[3:20]) {
			t.Fatal("a key appears in the logs")
		}
	}
}

// waitLog polls the logs until they contain s.
func waitLog(t *testing.T, logs *syncBuffer, s string) {
	t.Helper()
	eventually(t, "log line "+s, func() bool { return strings.Contains(logs.String(), s) })
}

// TestHangupReloadsKeys: with polling off, only the reload trigger (SIGHUP
// in a real process, App.Hangup here) applies a changed keys file.
func TestHangupReloadsKeys(t *testing.T) {
	dir := t.TempDir()
	hup := make(chan os.Signal, 1)
	url, logs := serveApp(t, &App{Hangup: hup}, "--data-dir", dir, "--keys-reload-interval", "0", "--log-level", "debug")
	waitLog(t, logs, "keys reloaded: no change") // the watcher's reload at start is done
	q := url + "/v1/accounts/acme/events"
	tok := addKey(t, dir, "etl")
	if got := status(t, q, ""); got != http.StatusNotFound {
		t.Fatalf("before the trigger, without polling: %d, want 404 (keys not reloaded yet)", got)
	}
	hup <- syscall.SIGHUP
	eventually(t, "401 without a key after the trigger", func() bool { return status(t, q, "") == http.StatusUnauthorized })
	if got := status(t, q, tok); got != http.StatusNotFound {
		t.Fatalf("with the key: %d", got)
	}
}

// TestReloadKeepsKeysOnBadFile: a keys file that does not parse is logged
// and the keys in force stay.
func TestReloadKeepsKeysOnBadFile(t *testing.T) {
	dir := t.TempDir()
	tok := addKey(t, dir, "etl")
	hup := make(chan os.Signal, 1)
	url, logs := serveApp(t, &App{Hangup: hup}, "--data-dir", dir, "--keys-reload-interval", "0")
	q := url + "/v1/accounts/acme/events"
	if err := os.WriteFile(filepath.Join(dir, "keys.json"), []byte(`{"keys": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	hup <- syscall.SIGHUP
	waitLog(t, logs, "keys file not reloaded")
	if got := status(t, q, tok); got != http.StatusNotFound {
		t.Fatalf("the key in force before the bad file: %d, want 404", got)
	}
	if got := status(t, q, ""); got != http.StatusUnauthorized {
		t.Fatalf("no key: %d, want 401", got)
	}
}

// TestServeLimitsFailedAuth: --auth-fail-limit reaches the server: past it,
// the address gets 429 with Retry-After, even with a valid key.
func TestServeLimitsFailedAuth(t *testing.T) {
	dir := t.TempDir()
	tok := addKey(t, dir, "grafana")
	url, _ := serveApp(t, &App{}, "--data-dir", dir, "--auth-fail-limit", "3")
	q := url + "/v1/accounts/acme/events"
	for i := range 3 {
		if got := status(t, q, "vk_wrong"); got != http.StatusUnauthorized {
			t.Fatalf("wrong key %d: %d, want 401", i+1, got)
		}
	}
	for _, k := range []string{"vk_wrong", tok} {
		if got := status(t, q, k); got != http.StatusTooManyRequests {
			t.Fatalf("after 3 failures: %d, want 429", got)
		}
	}
}
