package main

import (
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
