package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryCommandAnswersHelp runs -h and --help on every command of the
// command table and every keys action: each prints its usage on stdout and
// exits 0, without doing anything else.
func TestEveryCommandAnswersHelp(t *testing.T) {
	var lines [][]string
	for _, c := range commands() {
		lines = append(lines, []string{c.name})
	}
	for _, k := range keysActions() {
		lines = append(lines, []string{"keys", k.name})
	}
	for _, cmd := range lines {
		for _, h := range []string{"-h", "--help"} {
			args := append(append([]string{}, cmd...), h)
			// A data dir that does not exist: a command that ran instead of
			// answering help would fail or create it.
			env := map[string]string{"VITALS_DATA_DIR": t.TempDir() + "/absent"}
			code, stdout, stderr := run(t, "", env, args...)
			name := strings.Join(args, " ")
			if code != 0 {
				t.Errorf("vitals %s: exit %d, want 0; stderr %s", name, code, stderr)
			}
			want := "Usage: vitals " + strings.Join(cmd, " ")
			if cmd[0] == "help" {
				want = "Usage: vitals <command>"
			}
			if !strings.Contains(stdout, want) {
				t.Errorf("vitals %s: stdout lacks %q:\n%s", name, want, stdout)
			}
		}
	}
}

// TestHelpListsCommands: "vitals -h", "vitals --help" and "vitals help" list
// every command of the table on stdout and exit 0; "vitals help CMD" shows
// that command's usage.
func TestHelpListsCommands(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "help"} {
		code, stdout, _ := run(t, "", nil, arg)
		if code != 0 {
			t.Errorf("vitals %s: exit %d", arg, code)
		}
		for _, c := range commands() {
			if !strings.Contains(stdout, "\n  "+c.name+" ") {
				t.Errorf("vitals %s does not list %q:\n%s", arg, c.name, stdout)
			}
		}
	}
	code, stdout, _ := run(t, "", nil, "help", "emit")
	if code != 0 || !strings.Contains(stdout, "Usage: vitals emit") {
		t.Errorf("vitals help emit: exit %d:\n%s", code, stdout)
	}
	if code, _, stderr := run(t, "", nil, "help", "frobnicate"); code != 2 || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Errorf("vitals help frobnicate: exit %d: %s", code, stderr)
	}
	if code, _, stderr := run(t, "", nil, "keys", "frobnicate"); code != 2 || !strings.Contains(stderr, `unknown action "frobnicate"`) || !strings.Contains(stderr, "keys add") {
		t.Errorf("vitals keys frobnicate: exit %d: %s", code, stderr)
	}
}

// TestServerFlagIsOneName: the commands that talk to a server document
// --server; --to still works on emit and demo but is not listed.
func TestServerFlagIsOneName(t *testing.T) {
	for _, cmd := range []string{"emit", "demo", "backup"} {
		_, stdout, _ := run(t, "", nil, cmd, "-h")
		if !strings.Contains(stdout, "-server") {
			t.Errorf("%s -h does not document --server:\n%s", cmd, stdout)
		}
		if strings.Contains(stdout, "-to ") || strings.Contains(stdout, "--to") {
			t.Errorf("%s -h lists the hidden alias --to:\n%s", cmd, stdout)
		}
	}
	url := startServer(t)
	input := `{"specversion":"1.0","id":"o1","source":"cli","type":"account.opened","subject":"acme","time":"2026-01-01T00:00:00Z","data":{"name":"Acme","mrr":100}}`
	for _, c := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"emit", "--server", url}, nil},
		{[]string{"emit", "--to", url}, nil},
		{[]string{"emit"}, map[string]string{"VITALS_SERVER": url}},
		{[]string{"emit"}, map[string]string{"VITALS_TO": url}},
		// The command line wins over the environment, whichever name each uses.
		{[]string{"emit", "--to", url}, map[string]string{"VITALS_SERVER": "http://127.0.0.1:1"}},
		{[]string{"emit", "--server", url}, map[string]string{"VITALS_TO": "http://127.0.0.1:1"}},
		// The documented variable wins over the alias's.
		{[]string{"emit"}, map[string]string{"VITALS_SERVER": url, "VITALS_TO": "http://127.0.0.1:1"}},
	} {
		if code, _, stderr := run(t, input, c.env, c.args...); code != 0 {
			t.Errorf("%v with env %v: exit %d: %s", c.args, c.env, code, stderr)
		}
	}
}

// TestEmitValidatesBeforeSending: input that does not parse is refused
// whole, naming its line and byte, with no summary of a send that did not
// happen and nothing stored.
func TestEmitValidatesBeforeSending(t *testing.T) {
	url := startServer(t)
	good := `{"specversion":"1.0","id":"o1","source":"cli","type":"account.opened","subject":"acme","time":"2026-01-01T00:00:00Z","data":{"name":"Acme","mrr":100}}
{"specversion":"1.0","id":"o2","source":"cli","type":"account.opened","subject":"beta","time":"2026-01-01T00:00:00Z","data":{"name":"Beta","mrr":100}}
`
	for _, c := range []struct{ name, input, want string }{
		{"garbage", "garbage\n", "line 1, column 1"},
		{"bad third line", good + "{bad\n", "line 3, column 2"},
		{"cut short", good + `{"id":`, "line 3"},
		{"bad array element", "[" + strings.ReplaceAll(strings.TrimSpace(good), "\n", ",\n") + ",\n  nope]", "line 3, column 4"},
	} {
		code, _, stderr := run(t, c.input, nil, "emit", "--server", url, "--batch", "1")
		if code != 1 || !strings.Contains(stderr, c.want) || !strings.Contains(stderr, "nothing was sent") {
			t.Errorf("%s: exit %d, want 1 and %q:\n%s", c.name, code, c.want, stderr)
		}
		if strings.Contains(stderr, "done:") {
			t.Errorf("%s: reports a send that did not happen:\n%s", c.name, stderr)
		}
	}
	if got := status(t, url+"/v1/accounts/acme/events", ""); got != http.StatusNotFound {
		t.Fatalf("an event of a refused input was stored: GET events answered %d", got)
	}
	// From a file, the file is named.
	path := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(path, []byte(good+"{bad\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(t, "", nil, "emit", "--server", url, path); code != 1 || !strings.Contains(stderr, path+": line 3, column 2") {
		t.Errorf("file: exit %d:\n%s", code, stderr)
	}
	// Empty input sends nothing and says so.
	if code, _, stderr := run(t, " \n", nil, "emit", "--server", url); code != 0 || !strings.Contains(stderr, "no events") || strings.Contains(stderr, "done:") {
		t.Errorf("empty input: exit %d:\n%s", code, stderr)
	}
}

// TestAuthErrorsSayHowToPassAKey: a 401 or 403 from emit, demo or backup
// explains --token / VITALS_TOKEN and the scope, not a raw JSON answer.
func TestAuthErrorsSayHowToPassAKey(t *testing.T) {
	dir := t.TempDir()
	code, readKey, stderr := run(t, "", nil, "keys", "add", "--data-dir", dir, "--name", "reader", "--scopes", "read")
	if code != 0 {
		t.Fatalf("keys add: %s", stderr)
	}
	readKey = strings.TrimSpace(readKey)
	url := startServer(t, "--data-dir", dir)
	input := `{"specversion":"1.0","id":"o1","source":"cli","type":"account.opened","subject":"acme","time":"2026-01-01T00:00:00Z","data":{"name":"Acme","mrr":100}}`
	out := filepath.Join(t.TempDir(), "backup.db")
	for _, c := range []struct {
		args        []string
		token       string
		want, scope string
	}{
		{[]string{"emit", "--server", url}, "", "401", "ingest scope"},
		{[]string{"emit", "--server", url}, "vk_wrong", "401", "ingest scope"},
		{[]string{"emit", "--server", url}, readKey, "403", "ingest scope"},
		{[]string{"backup", "--server", url, "--out", out}, "", "401", "admin scope"},
		{[]string{"backup", "--server", url, "--out", out}, readKey, "403", "admin scope"},
		{[]string{"demo", "--server", url, "--accounts", "2", "--months", "1"}, "", "401", "ingest and read scopes"},
		{[]string{"demo", "--server", url, "--accounts", "2", "--months", "1"}, readKey, "403", "ingest and read scopes"},
	} {
		code, _, stderr := run(t, input, map[string]string{"VITALS_TOKEN": c.token}, c.args...)
		if code != 1 {
			t.Errorf("%v token %q: exit %d, want 1: %s", c.args, c.token, code, stderr)
		}
		for _, w := range []string{c.want, "--token", "VITALS_TOKEN", c.scope} {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v token %q: stderr lacks %q:\n%s", c.args, c.token, w, stderr)
			}
		}
		if strings.Contains(stderr, `{"error"`) {
			t.Errorf("%v: raw JSON answer:\n%s", c.args, stderr)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused backup wrote its file")
	}
}

// TestDemoRefusesExistingAccounts: demo --server into a server that already
// holds an account with one of the demo's ids refuses before sending
// anything; the same agency again is allowed (all duplicates), and --force
// posts anyway.
func TestDemoRefusesExistingAccounts(t *testing.T) {
	url := startServer(t)
	demoArgs := []string{"--seed", "3", "--accounts", "4", "--managers", "2", "--months", "2", "--end", "2026-01-31T00:00:00Z"}
	_, lines, _ := run(t, "", nil, append([]string{"demo"}, demoArgs...)...)
	var last string // the id of the last account the demo opens
	for _, l := range strings.Split(strings.TrimSpace(lines), "\n") {
		var e struct{ Type, Subject string }
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		if e.Type == "account.opened" {
			last = e.Subject
		}
	}
	own := `{"specversion":"1.0","id":"mine-1","source":"crm","type":"account.opened","subject":"` + last + `","time":"2025-01-01T00:00:00Z","data":{"name":"Mine","mrr":100}}`
	if code, _, stderr := run(t, own, nil, "emit", "--server", url); code != 0 {
		t.Fatalf("emit: %s", stderr)
	}
	eventsOf := func(acct string) int {
		res, err := http.Get(url + "/v1/accounts/" + acct + "/events?limit=1000")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var page struct{ Events []json.RawMessage }
		if err := json.NewDecoder(res.Body).Decode(&page); err != nil {
			t.Fatal(err)
		}
		return len(page.Events)
	}
	code, _, stderr := run(t, "", nil, append([]string{"demo", "--server", url}, demoArgs...)...)
	if code != 1 || !strings.Contains(stderr, `"`+last+`"`) || !strings.Contains(stderr, "--force") || !strings.Contains(stderr, "nothing was sent") {
		t.Fatalf("demo into a clashing store: exit %d, want 1 naming %q and --force:\n%s", code, last, stderr)
	}
	if n := eventsOf(last); n != 1 {
		t.Fatalf("the refused demo still added %d events to %s", n-1, last)
	}
	// --force posts: the clashing account.opened is rejected (so the exit
	// is 1), the demo's other facts about that account are merged into it.
	code, _, stderr = run(t, "", nil, append([]string{"demo", "--server", url, "--force"}, demoArgs...)...)
	if code != 1 || !strings.Contains(stderr, "already exists") {
		t.Fatalf("demo --force: exit %d: %s", code, stderr)
	}
	if n := eventsOf(last); n < 2 {
		t.Fatalf("demo --force posted nothing to %s", last)
	}
}
