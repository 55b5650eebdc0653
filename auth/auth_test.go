package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCreateAuthenticateScopes(t *testing.T) {
	var r Keyring
	ingestTok, err := r.Create("pipeline", []Scope{ScopeIngest}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	adminTok, err := r.Create("ops", []Scope{ScopeAdmin}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ingestTok, "vk_") || len(ingestTok) != 3+43 || ingestTok == adminTok {
		t.Fatalf("tokens %q %q", ingestTok, adminTok)
	}
	k, ok := r.Authenticate(ingestTok)
	if !ok || k.Name != "pipeline" || !k.Allows(ScopeIngest) || k.Allows(ScopeRead) || k.Allows(ScopeAdmin) {
		t.Fatalf("ingest key: %+v %v", k, ok)
	}
	k, ok = r.Authenticate(adminTok)
	if !ok || !k.Allows(ScopeRead) || !k.Allows(ScopeIngest) {
		t.Fatalf("admin key must allow everything: %+v", k)
	}
	for _, bad := range []string{"", "vk_", ingestTok + "x", ingestTok[:len(ingestTok)-1], Hash(ingestTok)} {
		if _, ok := r.Authenticate(bad); ok {
			t.Errorf("token %q authenticated", bad)
		}
	}
	if _, err := r.Create("pipeline", []Scope{ScopeRead}, time.Now()); err == nil {
		t.Error("duplicate name accepted")
	}
	if _, err := r.Create("bad name", []Scope{ScopeRead}, time.Now()); err == nil {
		t.Error("name with a space accepted")
	}
}

func TestFileStoresOnlyHashes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	var r Keyring
	tok, err := r.Create("ci", []Scope{ScopeIngest, ScopeRead}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), tok) || strings.Contains(string(data), tok[3:]) || !strings.Contains(string(data), Hash(tok)) {
		t.Fatalf("keys file must hold the hash, never the token:\n%s", data)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("keys file mode %v, want 0600", fi.Mode().Perm())
	}
	var back Keyring
	if err := back.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if k, ok := back.Authenticate(tok); !ok || k.Name != "ci" {
		t.Fatal("reloaded keyring does not authenticate the token")
	}
	if err := back.Remove("ci"); err != nil || back.Len() != 0 {
		t.Fatalf("remove: %v, %d left", err, back.Len())
	}
	var none Keyring
	if err := none.LoadFile(filepath.Join(t.TempDir(), "missing.json")); err != nil || none.Len() != 0 {
		t.Fatalf("missing file: %v", err)
	}
	os.WriteFile(path, []byte(`{"keys":[{"name":"x","scopes":["read"],"sha256":"abc"}]}`), 0o600)
	if err := none.LoadFile(path); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("bad hash: %v", err)
	}
}

func TestLoadEnv(t *testing.T) {
	h := Hash("vk_secret")
	var r Keyring
	if err := r.LoadEnv("grafana:read:" + h + ", etl:ingest+read:" + strings.ToUpper(Hash("vk_other"))); err != nil {
		t.Fatal(err)
	}
	if k, ok := r.Authenticate("vk_secret"); !ok || k.Name != "grafana" || k.Allows(ScopeIngest) {
		t.Fatalf("env key: %+v %v", k, ok)
	}
	if k, ok := r.Authenticate("vk_other"); !ok || !k.Allows(ScopeIngest) {
		t.Fatalf("env key 2: %+v %v", k, ok)
	}
	for _, bad := range []string{"name:read", "name:write:" + h, "na me:read:" + h, "x:read:zz"} {
		var r Keyring
		if err := r.LoadEnv(bad); err == nil {
			t.Errorf("%q accepted", bad)
		} else if strings.Contains(err.Error(), "vk_") {
			t.Errorf("error leaks a token: %v", err)
		}
	}
}

func TestParseScopes(t *testing.T) {
	s, err := ParseScopes("ingest, read,ingest")
	if err != nil || len(s) != 2 {
		t.Fatalf("%v %v", s, err)
	}
	if _, err := ParseScopes(""); err == nil {
		t.Error("empty scopes accepted")
	}
	if _, err := ParseScopes("write"); err == nil {
		t.Error("unknown scope accepted")
	}
}
