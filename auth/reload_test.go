package auth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestReloadSwapsKeysAndReportsNames(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	var disk Keyring
	a, _ := disk.Create("a", []Scope{ScopeRead}, time.Now())
	b, _ := disk.Create("b", []Scope{ScopeIngest}, time.Now())
	if err := disk.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	envTok := "vk_env"
	env := "ci:read:" + Hash(envTok)

	var live Keyring
	if live.Enforced() {
		t.Fatal("an empty keyring is not enforced")
	}
	ch, err := live.Reload(path, env)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ch.Added, []string{"a", "b", "ci"}) || ch.Keys != 3 || !live.Enforced() {
		t.Fatalf("first reload: %+v, enforced %v", ch, live.Enforced())
	}

	// Remove a, replace b's scopes, add c: one swap, named by name only.
	disk.Remove("a")
	disk.Remove("b")
	disk.add(Key{Name: "b", Scopes: []Scope{ScopeRead}, SHA256: Hash(b)})
	c, _ := disk.Create("c", []Scope{ScopeAdmin}, time.Now())
	if err := disk.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	ch, err = live.Reload(path, env)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ch.Added, []string{"c"}) || !slices.Equal(ch.Removed, []string{"a"}) || !slices.Equal(ch.Replaced, []string{"b"}) || ch.Keys != 3 {
		t.Fatalf("second reload: %+v", ch)
	}
	if _, ok := live.Authenticate(a); ok {
		t.Error("removed key still authenticates")
	}
	if k, ok := live.Authenticate(b); !ok || !k.Allows(ScopeRead) || k.Allows(ScopeIngest) {
		t.Errorf("replaced key: %+v %v", k, ok)
	}
	for _, tok := range []string{c, envTok} {
		if _, ok := live.Authenticate(tok); !ok {
			t.Errorf("key %.6s… does not authenticate", tok)
		}
	}

	// A file that fails to parse keeps the previous keys.
	if err := os.WriteFile(path, []byte(`{"keys":[{"name":"c","scopes":["admin"],"sha256":"`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := live.Reload(path, env); err == nil {
		t.Fatal("a truncated keys file reloaded without error")
	}
	if _, ok := live.Authenticate(c); !ok || live.Len() != 3 {
		t.Fatalf("a failed reload changed the keys: %d left", live.Len())
	}

	// With every key gone the keyring stays enforced: it refuses everyone.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	ch, err = live.Reload(path, "")
	if err != nil || ch.Keys != 0 || !live.Enforced() {
		t.Fatalf("all keys removed: %+v %v, enforced %v", ch, err, live.Enforced())
	}
	if _, ok := live.Authenticate(envTok); ok {
		t.Fatal("an empty keyring authenticated a key")
	}
}

// TestWatchFollowsFileAndTrigger: the watcher picks up a changed file by
// polling, and a trigger forces a reload even when polling is off.
func TestWatchFollowsFileAndTrigger(t *testing.T) {
	for _, polling := range []bool{true, false} {
		t.Run(map[bool]string{true: "poll", false: "trigger"}[polling], func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keys.json")
			var live, disk Keyring
			interval := time.Duration(0)
			if polling {
				interval = 5 * time.Millisecond
			}
			trigger := make(chan os.Signal, 1)
			var mu sync.Mutex
			var reports []Change
			started := make(chan struct{})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				live.Watch(ctx, path, "", interval, trigger, func(c Change, err error) {
					if err != nil {
						t.Errorf("reload: %v", err)
					}
					mu.Lock()
					reports = append(reports, c)
					if len(reports) == 1 {
						close(started)
					}
					mu.Unlock()
				})
			}()
			defer func() { cancel(); <-done }()
			<-started // the reload at start is done: only a poll or the trigger can see the key

			tok, _ := disk.Create("etl", []Scope{ScopeIngest}, time.Now())
			if err := disk.SaveFile(path); err != nil {
				t.Fatal(err)
			}
			if !polling {
				trigger <- os.Interrupt
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				if _, ok := live.Authenticate(tok); ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the watcher never loaded the new key")
				}
				time.Sleep(5 * time.Millisecond)
			}
			mu.Lock()
			defer mu.Unlock()
			if last := reports[len(reports)-1]; !slices.Equal(last.Added, []string{"etl"}) {
				t.Fatalf("reports %+v", reports)
			}
		})
	}
}

func TestReloadErrorsNameNoKeyMaterial(t *testing.T) {
	var live Keyring
	_, err := live.Reload(filepath.Join(t.TempDir(), "none.json"), "etl:read:vk_pasted_token_by_mistake")
	if err == nil || strings.Contains(err.Error(), "vk_pasted") || errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err %v", err)
	}
}
