package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The README's examples, pasted in order, must work against
// "go run ./cmd/vitals serve --demo". TestREADMEExamples runs every command
// of every ```sh block of README.md, in order, against an in-process server,
// with the real bash, curl and jq. What it does with each command:
//
//   - "go run ./cmd/vitals serve …" (or "vitals serve …") starts the
//     in-process server with the README's own flags, on 127.0.0.1:0 and a
//     temporary --data-dir instead of 127.0.0.1:8080 and ./vitals-data, and
//     waits until /readyz answers 200 (as a person waits for it to start).
//   - "docker compose up …" is replaced by a fresh, empty in-process server
//     (the compose stack's Vitals starts empty; the test needs no Docker).
//     Other "docker compose" commands are skipped.
//   - "go vet", "go test", "go install", "go build" are skipped: they are
//     this test suite itself, or build the binary whose code the test runs
//     in-process.
//   - "go run ./cmd/vitals <command> …" (or "vitals <command> …") runs
//     App.Run in-process with the same arguments and must exit 0.
//   - every other command runs in bash (with pipefail) and must exit 0 and
//     print something other than "null"; a curl wrapper first on PATH
//     records the HTTP status of every request, and each must be 200.
//
// In every command, localhost:8080 and 127.0.0.1:8080 become the current
// in-process server's address.
func TestREADMEExamples(t *testing.T) {
	cmds := readmeCommands(t, "../../README.md")
	if len(cmds) < 5 {
		t.Fatalf("README.md has only %d shell commands; the extraction is broken", len(cmds))
	}
	r := &readmeRunner{t: t}
	r.installTools() // before the server: skip (or fail) at once without them
	for _, c := range cmds {
		start := time.Now()
		r.run(c)
		t.Logf("README.md:%d took %s", c.line, time.Since(start).Round(time.Millisecond))
	}
	if r.base == "" {
		t.Fatal("no README command started a server")
	}
	if r.requests < 5 {
		t.Fatalf("the README's commands made only %d requests", r.requests)
	}
	checkMetricsTable(t, "../../README.md", r.base)
}

// checkMetricsTable checks that every vitals_* metric family the server
// at base exports (after the README's commands exercised it) is named in
// full in the README's section "Metrics and dashboards".
func checkMetricsTable(t *testing.T, readme, base string) {
	t.Helper()
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Metrics and dashboards\n")
	if !ok {
		t.Fatal("README.md has no section \"Metrics and dashboards\"")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile("`(vitals_[a-z0-9_]+)`").FindAllStringSubmatch(section, -1) {
		listed[m[1]] = true
	}
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(res.Body); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: status %d, %v", res.StatusCode, err)
	}
	families := 0
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (vitals_[a-z0-9_]+) `).FindAllStringSubmatch(body.String(), -1) {
		families++
		if !listed[m[1]] {
			t.Errorf("metric %s is not in the README's metrics table", m[1])
		}
	}
	if families < 20 {
		t.Fatalf("/metrics exported only %d vitals_* families", families)
	}
}

// readmeCommand is one shell command of a ```sh block.
type readmeCommand struct {
	line int    // first line in README.md
	text string // the command, continuation lines included
}

// readmeCommands returns the commands of the ```sh blocks of the Markdown
// file, in order. A command continues on the next line while a quote is
// open or the line ends with a backslash.
func readmeCommands(t *testing.T, path string) []readmeCommand {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []readmeCommand
	inBlock, open := false, false
	var cur readmeCommand
	for i, line := range strings.Split(string(b), "\n") {
		switch {
		case !inBlock && strings.TrimSpace(line) == "```sh":
			inBlock = true
			continue
		case inBlock && !open && strings.TrimSpace(line) == "```":
			inBlock = false
			continue
		case !inBlock:
			continue
		}
		if !open {
			if strings.TrimSpace(line) == "" {
				continue
			}
			cur = readmeCommand{line: i + 1}
		} else {
			cur.text += "\n"
		}
		cur.text += line
		open = quoteOpen(cur.text) || strings.HasSuffix(line, "\\")
		if !open {
			out = append(out, cur)
		}
	}
	if inBlock || open {
		t.Fatalf("%s: unterminated ```sh block or command", path)
	}
	return out
}

// quoteOpen reports whether s ends inside a single- or double-quoted
// string (shell rules, enough for the README: no here-documents). A '#'
// that starts a word outside quotes comments out the rest of its line.
func quoteOpen(s string) bool {
	var quote, prev rune = 0, '\n'
	escaped, comment := false, false
	for _, c := range s {
		switch {
		case comment:
			comment = c != '\n'
		case escaped:
			escaped = false
		case c == '\\' && quote != '\'':
			escaped = true
		case quote == 0 && (c == '\'' || c == '"'):
			quote = c
		case c == quote:
			quote = 0
		case quote == 0 && c == '#' && (prev == ' ' || prev == '\t' || prev == '\n'):
			comment = true
		}
		prev = c
	}
	return quote != 0
}

// readmeRunner runs README commands in order.
type readmeRunner struct {
	t        *testing.T
	base     string // the current server, http://host:port
	requests int    // HTTP requests made by curl so far
	tools    string // directory with the curl wrapper
	realCurl string
}

var vitalsCommand = regexp.MustCompile(`^(?:go run \./cmd/vitals|vitals)\s+(.*)$`)

// run runs one README command, as described on TestREADMEExamples.
func (r *readmeRunner) run(c readmeCommand) {
	t := r.t
	where := fmt.Sprintf("README.md:%d: %s", c.line, firstLine(c.text))
	cmd := stripComment(c.text)
	switch {
	case strings.HasPrefix(cmd, "go vet"), strings.HasPrefix(cmd, "go test"):
		t.Logf("%s: skipped: the test suite this test is part of", where)
	case strings.HasPrefix(cmd, "go install"), strings.HasPrefix(cmd, "go build"):
		t.Logf("%s: skipped: builds the binary whose code this test runs in-process", where)
	case strings.HasPrefix(cmd, "docker compose up"):
		t.Logf("%s: replaced by a fresh, empty in-process server", where)
		r.startServer(where)
	case strings.HasPrefix(cmd, "docker compose"):
		t.Logf("%s: skipped (needs Docker)", where)
	case vitalsCommand.MatchString(cmd):
		args := strings.Fields(r.rewrite(vitalsCommand.FindStringSubmatch(cmd)[1]))
		if len(args) == 0 {
			t.Fatalf("%s: no vitals command", where)
		}
		if strings.ContainsAny(cmd, `'"$|;&<>`+"`") {
			t.Fatalf("%s: a vitals command line must be plain words for this test", where)
		}
		if args[0] == "serve" {
			r.startServer(where, args[1:]...)
			return
		}
		if r.base == "" {
			t.Fatalf("%s: runs before any command started a server", where)
		}
		code, stdout, stderr := run(t, "", nil, args...)
		if code != 0 {
			t.Errorf("%s: exit %d\nstdout: %s\nstderr: %s", where, code, stdout, stderr)
		}
	default:
		r.shell(where, c.text)
	}
}

// startServer starts an in-process "vitals serve" with the README's
// arguments and waits until it is ready.
func (r *readmeRunner) startServer(where string, args ...string) {
	t := r.t
	r.base = startServer(t, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.base+"/readyz", nil)
		if err != nil {
			t.Fatal(err)
		}
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: the server did not become ready", where)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// rewrite points the README's addresses at the current server.
func (r *readmeRunner) rewrite(s string) string {
	u, err := url.Parse(r.base)
	if err != nil || r.base == "" {
		return s
	}
	return strings.NewReplacer("localhost:8080", u.Host, "127.0.0.1:8080", u.Host).Replace(s)
}

// shell runs a command in bash with the curl wrapper first on PATH and
// checks its exit status, its output and every HTTP status.
func (r *readmeRunner) shell(where, text string) {
	t := r.t
	if r.base == "" {
		t.Fatalf("%s: runs before any command started a server", where)
	}
	statusFile := filepath.Join(t.TempDir(), "status")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", "set -euo pipefail\n"+r.rewrite(text))
	cmd.Env = append(os.Environ(),
		"PATH="+r.tools+string(os.PathListSeparator)+os.Getenv("PATH"),
		"VITALS_README_CURL="+r.realCurl,
		"VITALS_README_STATUS="+statusFile)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Errorf("%s: %v\nstdout: %s\nstderr: %s", where, err, stdout.String(), stderr.String())
		return
	}
	if out := strings.TrimSpace(stdout.String()); out == "" || out == "null" {
		t.Errorf("%s: printed %q; stderr: %s", where, out, stderr.String())
	}
	b, err := os.ReadFile(statusFile)
	if err != nil {
		t.Errorf("%s: made no HTTP request (%v)", where, err)
		return
	}
	for _, code := range strings.Fields(string(b)) {
		r.requests++
		if code != "200" {
			t.Errorf("%s: HTTP status %s, want 200\nstdout: %s", where, code, stdout.String())
		}
	}
}

// curlWrapper runs the real curl, passes its output through and appends
// the HTTP status of the request to $VITALS_README_STATUS.
const curlWrapper = `#!/bin/sh
body=$(mktemp) || exit 1
code=$("$VITALS_README_CURL" -w '%{http_code}' -o "$body" "$@")
rc=$?
cat "$body"
rm -f "$body"
echo "$code" >> "$VITALS_README_STATUS"
exit $rc
`

// installTools finds bash, curl and jq (skipping the test without them,
// or failing when VITALS_REQUIRE_TOOLS=1, as in CI) and writes the curl
// wrapper.
func (r *readmeRunner) installTools() {
	t := r.t
	for _, name := range []string{"bash", "curl", "jq"} {
		p, err := exec.LookPath(name)
		if err != nil {
			msg := fmt.Sprintf("%s not found on PATH: the README examples need bash, curl and jq (Debian packages curl, jq)", name)
			if os.Getenv("VITALS_REQUIRE_TOOLS") == "1" {
				t.Fatal(msg + " — required because VITALS_REQUIRE_TOOLS=1")
			}
			t.Skip(msg)
		}
		if name == "curl" {
			r.realCurl = p
		}
	}
	r.tools = t.TempDir()
	if err := os.WriteFile(filepath.Join(r.tools, "curl"), []byte(curlWrapper), 0o755); err != nil {
		t.Fatal(err)
	}
}

// stripComment returns the command without leading spaces and without a
// trailing "# comment" on its first line.
func stripComment(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, " #"); i >= 0 && !strings.Contains(s[:i], "\n") && !quoteOpen(s[:i]) {
		s = strings.TrimSpace(s[:i])
	}
	return s
}

// firstLine is the first line of s.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}
