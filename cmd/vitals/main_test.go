package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server's log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs "vitals serve" on a free port with a temp data dir and
// returns its base URL; the server stops at the end of the test.
func startServer(t *testing.T, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	logs := &syncBuffer{}
	app := &App{Stdout: logs, Stderr: logs, OnListen: func(a net.Addr) { addrc <- a }}
	done := make(chan int, 1)
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--log-format", "json"}, extra...)
	go func() { done <- app.Run(ctx, args) }()
	exited := false // the exit code was read from done
	t.Cleanup(func() {
		cancel()
		if exited {
			return
		}
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d; logs:\n%s", code, logs.String())
		}
	})
	select {
	case a := <-addrc:
		return "http://" + a.String()
	case code := <-done:
		exited = true
		t.Fatalf("serve exited %d before listening; logs:\n%s", code, logs.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("serve did not start; logs:\n%s", logs.String())
	}
	return ""
}

func run(t *testing.T, stdin string, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	app := &App{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
	code = app.Run(context.Background(), args)
	return code, out.String(), errb.String()
}

// TestServeDemoRoundTrip runs the real server, posts a demo agency into it
// with "vitals demo --to", and reads every account's events back.
func TestServeDemoRoundTrip(t *testing.T) {
	url := startServer(t)
	demoArgs := []string{"--seed", "7", "--accounts", "12", "--managers", "3", "--months", "4", "--end", "2026-01-31T00:00:00Z"}

	// The events the demo generates, per account, in order.
	code, lines, stderr := run(t, "", nil, append([]string{"demo"}, demoArgs...)...)
	if code != 0 {
		t.Fatalf("demo: exit %d: %s", code, stderr)
	}
	perAccount := map[string][]string{}
	total := 0
	sc := bufio.NewScanner(strings.NewReader(lines))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e struct{ ID, Type, Subject string }
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		total++
		if !strings.HasPrefix(e.Type, "manager.") {
			perAccount[e.Subject] = append(perAccount[e.Subject], e.ID)
		}
	}
	if len(perAccount) != 12 || total < 12*4*5 {
		t.Fatalf("demo made %d events for %d accounts", total, len(perAccount))
	}

	code, _, stderr = run(t, "", nil, append([]string{"demo", "--to", url, "--batch", "300"}, demoArgs...)...)
	if code != 0 {
		t.Fatalf("demo --to: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, fmt.Sprintf("done: %d events", total)) || !strings.Contains(stderr, fmt.Sprintf("%d accepted, 0 duplicate, 0 rejected", total)) {
		t.Fatalf("demo --to summary: %s", stderr)
	}

	for acct, want := range perAccount {
		var got []string
		cursor := ""
		for {
			u := url + "/v1/accounts/" + acct + "/events?limit=1000"
			if cursor != "" {
				u += "&cursor=" + cursor
			}
			res, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			var page struct {
				Events []struct {
					ID string `json:"id"`
				} `json:"events"`
				NextCursor string `json:"next_cursor"`
			}
			err = json.NewDecoder(res.Body).Decode(&page)
			res.Body.Close()
			if err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("%s: status %d err %v", acct, res.StatusCode, err)
			}
			for _, e := range page.Events {
				got = append(got, e.ID)
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("account %s: read back %d events, demo sent %d (or in another order)", acct, len(got), len(want))
		}
	}

	// Posting the same agency again changes nothing: all duplicates.
	code, _, stderr = run(t, "", nil, append([]string{"demo", "--to", url}, demoArgs...)...)
	if code != 0 || !strings.Contains(stderr, fmt.Sprintf("0 accepted, %d duplicate, 0 rejected", total)) {
		t.Fatalf("second demo --to: exit %d: %s", code, stderr)
	}
}

func TestEmitReportsRejections(t *testing.T) {
	url := startServer(t)
	input := `{"specversion":"1.0","id":"a1","source":"cli","type":"account.opened","subject":"acme","time":"2026-01-01T00:00:00Z","data":{"name":"Acme","mrr":100}}
{"specversion":"1.0","id":"n1","source":"cli","type":"nps.responded","subject":"acme","time":"2026-01-02T00:00:00Z","data":{"score":12}}
{"specversion":"1.0","id":"n2","source":"cli","type":"nps.responded","subject":"acme","time":"2026-01-02T00:00:00Z","data":{"score":8}}
`
	// The server URL comes from the environment, as VITALS_TO.
	code, _, stderr := run(t, input, map[string]string{"VITALS_TO": url}, "emit", "--batch", "2")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (a rejection); stderr %s", code, stderr)
	}
	for _, want := range []string{"2 accepted, 0 duplicate, 1 rejected", `event 2 (id "n1"): data.score:`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// A JSON array works too; a retry of the accepted events is all duplicates
	// and exits 0.
	lines := strings.Split(strings.TrimSpace(input), "\n")
	arr := "[" + lines[0] + ",\n" + lines[2] + "]"
	code, _, stderr = run(t, arr, nil, "emit", "--to", url, "-")
	if code != 0 || !strings.Contains(stderr, "0 accepted, 2 duplicate, 0 rejected") {
		t.Fatalf("array retry: exit %d, stderr %s", code, stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	if code, _, _ := run(t, "", nil); code != 2 {
		t.Errorf("no command: exit %d, want 2", code)
	}
	if code, _, stderr := run(t, "", nil, "frobnicate"); code != 2 || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, %s", code, stderr)
	}
	if code, _, stderr := run(t, "", nil, "demo", "--accounts", "0"); code != 1 || !strings.Contains(stderr, "accounts") {
		t.Errorf("demo --accounts 0: exit %d, %s", code, stderr)
	}
	if code, _, stderr := run(t, "", map[string]string{"VITALS_LOG_LEVEL": "loud"}, "serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()); code != 1 || !strings.Contains(stderr, "--log-level") {
		t.Errorf("bad VITALS_LOG_LEVEL: exit %d, %s", code, stderr)
	}
	if code, _, stderr := run(t, "{not json", nil, "emit", "--to", "http://127.0.0.1:1"); code != 1 || !strings.Contains(stderr, "event 1") {
		t.Errorf("emit of bad JSON: exit %d, %s", code, stderr)
	}
}
