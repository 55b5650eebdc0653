package auth

import (
	"context"
	"errors"
	"os"
	"slices"
	"time"
)

// Change is what a reload changed, by key name: never key material.
type Change struct {
	Added    []string // names that are new
	Removed  []string // names that are gone
	Replaced []string // names kept with another hash or other scopes
	Keys     int      // keys after the reload
}

// Empty reports whether the reload changed nothing.
func (c Change) Empty() bool { return len(c.Added)+len(c.Removed)+len(c.Replaced) == 0 }

// Reload replaces the keys with those of the keys file at path (none when
// it does not exist) and the environment value env (see LoadEnv), in one
// atomic swap: a request sees either the old keys or the new ones. When
// either fails to load, the keys stay as they were and the error is
// returned.
func (r *Keyring) Reload(path, env string) (Change, error) {
	var next Keyring
	if err := next.LoadFile(path); err != nil {
		return Change{Keys: r.Len()}, err
	}
	if err := next.LoadEnv(env); err != nil {
		return Change{Keys: r.Len()}, err
	}
	keys := next.current()
	r.mu.Lock()
	defer r.mu.Unlock()
	change := diff(r.current(), keys)
	r.publish(keys)
	return change, nil
}

// diff names the keys added, removed and replaced from old to cur.
func diff(old, cur []Key) Change {
	c := Change{Keys: len(cur)}
	byName := make(map[string]Key, len(old))
	for _, k := range old {
		byName[k.Name] = k
	}
	for _, k := range cur {
		o, ok := byName[k.Name]
		switch {
		case !ok:
			c.Added = append(c.Added, k.Name)
		case o.SHA256 != k.SHA256 || !slices.Equal(o.Scopes, k.Scopes):
			c.Replaced = append(c.Replaced, k.Name)
		}
		delete(byName, k.Name)
	}
	for _, k := range old {
		if _, gone := byName[k.Name]; gone {
			c.Removed = append(c.Removed, k.Name)
		}
	}
	return c
}

// Watch keeps the keyring in step with the keys file at path (plus the
// fixed environment value env) until ctx is done. It reloads once at
// start (catching a change made since the keys were first loaded), then
// whenever the file's identity, size or modification time changes
// (checked every interval; never when interval is 0) and whenever a value
// arrives on trigger (SIGHUP in the server). report is called after every
// reload with what changed, or the error that left the keys as they were.
func (r *Keyring) Watch(ctx context.Context, path, env string, interval time.Duration, trigger <-chan os.Signal, report func(Change, error)) {
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	last := stat(path)
	report(r.Reload(path, env))
	for {
		select {
		case <-ctx.Done():
			return
		case <-trigger:
		case <-tick:
			if stat(path).same(last) {
				continue
			}
		}
		// Stat before reading, so that a write during the read is seen
		// as a change at the next check.
		last = stat(path)
		report(r.Reload(path, env))
	}
}

// stamp identifies a version of a file: absent, or its stat.
type stamp struct {
	fi  os.FileInfo // nil when the file does not exist
	err error       // a stat error other than "does not exist"
}

func stat(path string) stamp {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return stamp{}
	}
	return stamp{fi: fi, err: err}
}

// same reports whether s and o are the same version of the file: same
// file (inode), size and modification time.
func (s stamp) same(o stamp) bool {
	if s.fi == nil || o.fi == nil {
		return s.fi == nil && o.fi == nil && (s.err == nil) == (o.err == nil)
	}
	return os.SameFile(s.fi, o.fi) && s.fi.Size() == o.fi.Size() && s.fi.ModTime().Equal(o.fi.ModTime())
}
