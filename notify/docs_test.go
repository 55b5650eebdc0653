package notify_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/notify"
)

// docsPath is the page whose signature snippets these tests check.
const docsPath = "../docs/notifications.md"

// BEGIN snippet: the Go verification of docs/notifications.md, verbatim.

// verify returns nil when body and header are a request Vitals signed with
// secret ("whsec_…").
func verify(secret string, header http.Header, body []byte) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return errors.New("the secret is not whsec_ and base64")
	}
	id, ts := header.Get("webhook-id"), header.Get("webhook-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("no webhook-timestamp")
	}
	if d := time.Since(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("webhook-timestamp too far from now")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(header.Get("webhook-signature")) {
		version, value, _ := strings.Cut(sig, ",")
		got, err := base64.StdEncoding.DecodeString(value)
		if version == "v1" && err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no valid signature")
}

// END snippet

// docBlocks returns the fenced code blocks of lang in the docs page.
func docBlocks(t *testing.T, lang string) []string {
	t.Helper()
	page, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)```" + lang + "\n(.*?)```")
	var out []string
	for _, m := range re.FindAllStringSubmatch(string(page), -1) {
		out = append(out, m[1])
	}
	return out
}

// signedCase is one request for a snippet to judge.
type signedCase struct {
	Name    string            `json:"name"`
	Secret  string            `json:"secret"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"` // base64
	Valid   bool              `json:"valid"`
}

// signedCases are a request the dispatcher really sent, and variants of
// it a verifier must reject (or, with several signatures, accept).
func signedCases(t *testing.T) []signedCase {
	t.Helper()
	ob := newMemOutbox()
	rc := newReceiver(t)
	n := note(1, "acme")
	appendNotes(t, ob, n)
	run(t, notify.DispatcherConfig{Outbox: ob, Targets: targets(t, rc.url("/"))})
	rc.waitFor("the event", func() bool { return len(rc.ids) == 1 })
	rc.checkRequests()
	rc.mu.Lock()
	h := map[string]string{}
	for _, k := range []string{"Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"} {
		h[k] = rc.headers.Get(k)
	}
	body := rc.bodies[n.ID]
	rc.mu.Unlock()

	with := func(k, v string) map[string]string {
		c := map[string]string{}
		for hk, hv := range h {
			c[hk] = hv
		}
		c[k] = v
		return c
	}
	b64 := base64.StdEncoding.EncodeToString
	old := time.Now().Add(-10 * time.Minute)
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-2] ^= 1
	return []signedCase{
		{Name: "as sent", Secret: testSecret, Headers: h, Body: b64(body), Valid: true},
		{Name: "among other signatures", Secret: testSecret, Headers: with("Webhook-Signature", "v1,AAAA v2,"+strings.TrimPrefix(h["Webhook-Signature"], "v1,")+" "+h["Webhook-Signature"]), Body: b64(body), Valid: true},
		{Name: "body changed", Secret: testSecret, Headers: h, Body: b64(tampered), Valid: false},
		{Name: "other secret", Secret: "whsec_" + b64([]byte("another key of 24 bytes!")), Headers: h, Body: b64(body), Valid: false},
		{Name: "other id", Secret: testSecret, Headers: with("Webhook-Id", "n-other"), Body: b64(body), Valid: false},
		{Name: "signature of v2", Secret: testSecret, Headers: with("Webhook-Signature", "v2,"+strings.TrimPrefix(h["Webhook-Signature"], "v1,")), Body: b64(body), Valid: false},
		{Name: "ten minutes old", Secret: testSecret, Headers: with("Webhook-Timestamp", strconv.FormatInt(old.Unix(), 10)), Body: b64(body), Valid: false},
		{Name: "ten minutes old, signed so", Secret: testSecret, Headers: map[string]string{
			"Webhook-Id": n.ID, "Webhook-Timestamp": strconv.FormatInt(old.Unix(), 10), "Webhook-Signature": notify.Sign(testKey, n.ID, old, body),
		}, Body: b64(body), Valid: false},
		{Name: "no timestamp", Secret: testSecret, Headers: with("Webhook-Timestamp", "soon"), Body: b64(body), Valid: false},
	}
}

// TestDocsGoVerify: the Go snippet of the docs is the verify function
// above, which accepts what the dispatcher sends and rejects the rest.
func TestDocsGoVerify(t *testing.T) {
	self, err := os.ReadFile("docs_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(self), "// BEGIN snippet: the Go verification of docs/notifications.md, verbatim.\n\n")
	snippet, _, _ := strings.Cut(rest, "\n// END snippet")
	blocks := docBlocks(t, "go")
	if len(blocks) != 1 || !strings.HasSuffix(blocks[0], snippet) {
		t.Errorf("the Go block of %s is not the verify function of docs_test.go", docsPath)
	}
	for _, c := range signedCases(t) {
		h := http.Header{}
		for k, v := range c.Headers {
			h.Set(k, v)
		}
		body, _ := base64.StdEncoding.DecodeString(c.Body)
		if err := verify(c.Secret, h, body); (err == nil) != c.Valid {
			t.Errorf("%s: verify = %v; want valid %v", c.Name, err, c.Valid)
		}
	}
}

// Drivers run a snippet on the cases in the file named by the first
// argument, printing ok or error per case.
const (
	pythonDriver = `
import json, sys

class Headers(dict):
    def __getitem__(self, k):
        return dict.__getitem__(self, k.lower())

for c in json.load(open(sys.argv[1])):
    try:
        verify(c["secret"], Headers({k.lower(): v for k, v in c["headers"].items()}), base64.b64decode(c["body"]))
        print("ok")
    except Exception as e:
        print("error", e)
`
	jsDriver = `
for (const c of JSON.parse(require("node:fs").readFileSync(process.argv[2], "utf8"))) {
  const h = {};
  for (const [k, v] of Object.entries(c.headers)) h[k.toLowerCase()] = v;
  try {
    verify(c.secret, h, Buffer.from(c.body, "base64"));
    console.log("ok");
  } catch (e) {
    console.log("error", e.message);
  }
}
`
)

// TestDocsPythonAndJSVerify runs the Python and JavaScript snippets of the
// docs on the same cases with python3 and node (skipped when one is
// missing, unless VITALS_REQUIRE_TOOLS=1).
func TestDocsPythonAndJSVerify(t *testing.T) {
	cases := signedCases(t)
	raw, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	casesPath := filepath.Join(dir, "cases.json")
	if err := os.WriteFile(casesPath, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, l := range []struct{ lang, tool, ext, driver string }{
		{"python", "python3", "py", pythonDriver},
		{"js", "node", "js", jsDriver},
	} {
		t.Run(l.lang, func(t *testing.T) {
			tool, err := exec.LookPath(l.tool)
			if err != nil {
				if os.Getenv("VITALS_REQUIRE_TOOLS") == "1" {
					t.Fatalf("%s not found, required because VITALS_REQUIRE_TOOLS=1", l.tool)
				}
				t.Skipf("%s not found", l.tool)
			}
			blocks := docBlocks(t, l.lang)
			if len(blocks) != 1 {
				t.Fatalf("%d %s blocks in %s; want 1", len(blocks), l.lang, docsPath)
			}
			script := filepath.Join(dir, "verify."+l.ext)
			if err := os.WriteFile(script, []byte(blocks[0]+l.driver), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(tool, script, casesPath).CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", l.tool, err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != len(cases) {
				t.Fatalf("%d lines for %d cases:\n%s", len(lines), len(cases), out)
			}
			for i, c := range cases {
				if ok := lines[i] == "ok"; ok != c.Valid {
					t.Errorf("%s: %s; want valid %v", c.Name, lines[i], c.Valid)
				}
			}
		})
	}
}
