// Package auth holds Vitals' API keys: who may ingest, read or administer.
//
// # Keys
//
// A key is a random token ("vk_" and 43 base64url characters) shown once
// when it is created. Vitals stores only its SHA-256 hash, with a name and
// scopes, in a keys file (JSON, mode 0600) or in the VITALS_API_KEYS
// environment variable ("name:scope+scope:sha256hex", comma-separated).
//
// # Checking
//
// A request presents its key as "Authorization: Bearer <token>". The token
// is hashed and compared with every stored hash in constant time, so the
// time taken does not reveal how much of a hash matched or which key it
// was. No key or an unknown key is 401; a known key without the scope the
// route needs is 403.
//
// # Reloading
//
// A Keyring is safe for concurrent use. Reload swaps in the keys of the
// keys file (and the environment value) in one step, and Watch does so
// whenever the file changes or a signal arrives. A keyring that has held a
// key stays Enforced: with every key removed it authenticates nobody,
// rather than letting requests through without a key.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vitals-hq/vitals/internal/atomicfile"
)

// Scope is a permission a key carries.
type Scope string

// The scopes. Admin implies the others.
const (
	ScopeIngest Scope = "ingest" // POST /v1/events
	ScopeRead   Scope = "read"   // queries and /metrics
	ScopeAdmin  Scope = "admin"  // everything, including backups
)

// Valid reports whether s is a known scope.
func (s Scope) Valid() bool { return s == ScopeIngest || s == ScopeRead || s == ScopeAdmin }

// ParseScopes reads a list such as "ingest,read" (or "ingest+read").
func ParseScopes(s string) ([]Scope, error) {
	var out []Scope
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '+' }) {
		sc := Scope(strings.TrimSpace(part))
		if !sc.Valid() {
			return nil, fmt.Errorf("auth: unknown scope %q: must be ingest, read or admin", part)
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("auth: at least one scope is required (ingest, read, admin)")
	}
	return out, nil
}

// Key is a stored key: never the token itself, only its hash.
type Key struct {
	Name    string    `json:"name"`
	Scopes  []Scope   `json:"scopes"`
	SHA256  string    `json:"sha256"` // hex of SHA-256(token)
	Created time.Time `json:"created,omitzero"`

	sum []byte
}

// Allows reports whether the key carries scope (admin allows everything).
func (k Key) Allows(scope Scope) bool {
	return slices.Contains(k.Scopes, scope) || slices.Contains(k.Scopes, ScopeAdmin)
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func (k *Key) check() error {
	if !nameRE.MatchString(k.Name) {
		return fmt.Errorf("auth: key name %q: must be 1–64 characters of A–Z a–z 0–9 . _ -", k.Name)
	}
	if len(k.Scopes) == 0 {
		return fmt.Errorf("auth: key %q has no scopes", k.Name)
	}
	for _, s := range k.Scopes {
		if !s.Valid() {
			return fmt.Errorf("auth: key %q: unknown scope %q", k.Name, s)
		}
	}
	sum, err := hex.DecodeString(k.SHA256)
	if err != nil || len(sum) != sha256.Size {
		return fmt.Errorf("auth: key %q: sha256 must be 64 hex characters", k.Name)
	}
	k.sum = sum
	return nil
}

// Keyring is a set of keys, safe for concurrent use: readers see one
// immutable key set at a time, and Reload swaps the whole set atomically.
// The zero Keyring is empty; an empty keyring authenticates nobody.
//
// A keyring that has held a key is Enforced for good: removing every key
// afterwards leaves a keyring that refuses every request (fail closed)
// rather than one that stops asking for keys.
type Keyring struct {
	mu       sync.Mutex            // serializes writers
	set      atomic.Pointer[[]Key] // the current keys; never modified in place
	enforced atomic.Bool
}

// current is the current key set (nil when empty).
func (r *Keyring) current() []Key {
	if p := r.set.Load(); p != nil {
		return *p
	}
	return nil
}

// publish installs keys as the current set; r.mu must be held.
func (r *Keyring) publish(keys []Key) {
	r.set.Store(&keys)
	if len(keys) > 0 {
		r.enforced.Store(true)
	}
}

// Len is the number of keys.
func (r *Keyring) Len() int { return len(r.current()) }

// Keys returns the stored keys (hashes, not tokens).
func (r *Keyring) Keys() []Key { return slices.Clone(r.current()) }

// Enforced reports whether the keyring has ever held a key: from then on
// every request needs one, even if all keys have since been removed.
func (r *Keyring) Enforced() bool { return r.enforced.Load() }

// add adds a checked key; names are unique.
func (r *Keyring) add(k Key) error {
	if err := k.check(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.current()
	if slices.ContainsFunc(cur, func(o Key) bool { return o.Name == k.Name }) {
		return fmt.Errorf("auth: a key named %q already exists", k.Name)
	}
	r.publish(append(slices.Clip(cur), k))
	return nil
}

// Create makes a new key with a random token, adds its hash, and returns
// the token: the only time it is ever seen.
func (r *Keyring) Create(name string, scopes []Scope, now time.Time) (token string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("auth: random token: %w", err)
	}
	token = "vk_" + base64.RawURLEncoding.EncodeToString(b[:])
	if err := r.add(Key{Name: name, Scopes: scopes, SHA256: Hash(token), Created: now.UTC()}); err != nil {
		return "", err
	}
	return token, nil
}

// Remove deletes the key named name.
func (r *Keyring) Remove(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.current()
	i := slices.IndexFunc(cur, func(k Key) bool { return k.Name == name })
	if i < 0 {
		return fmt.Errorf("auth: no key named %q", name)
	}
	r.publish(slices.Delete(slices.Clone(cur), i, i+1))
	return nil
}

// Hash is the hex SHA-256 of a token, as stored.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Authenticate returns the key whose hash matches token. Every stored hash
// is compared, in constant time, whatever matches.
func (r *Keyring) Authenticate(token string) (Key, bool) {
	sum := sha256.Sum256([]byte(token))
	keys := r.current()
	found := -1
	for i := range keys {
		if subtle.ConstantTimeCompare(sum[:], keys[i].sum) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Key{}, false
	}
	return keys[found], true
}

// file is the keys file's JSON shape.
type file struct {
	Keys []Key `json:"keys"`
}

// LoadFile adds the keys of a keys file; a missing file adds nothing.
func (r *Keyring) LoadFile(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("auth: read keys file: %w", err)
	}
	var f file
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("auth: keys file %s: %w", path, err)
	}
	for _, k := range f.Keys {
		if err := r.add(k); err != nil {
			return fmt.Errorf("keys file %s: %w", path, err)
		}
	}
	return nil
}

// SaveFile writes the keyring to path atomically with mode 0600 (a temp
// file, synced, renamed over path, and the directory synced).
func (r *Keyring) SaveFile(path string) error {
	data, err := json.MarshalIndent(file{Keys: r.Keys()}, "", "  ")
	if err != nil {
		return fmt.Errorf("auth: encode keys: %w", err)
	}
	if err := atomicfile.WriteFile(path, append(data, '\n'), atomicfile.Options{Perm: 0o600, TempPrefix: ".keys-", MkdirAll: true}); err != nil {
		return fmt.Errorf("auth: write keys file: %w", err)
	}
	return nil
}

// LoadEnv adds keys from an environment value:
// "name:scope+scope:sha256hex", several separated by commas.
func (r *Keyring) LoadEnv(value string) error {
	for _, entry := range strings.Split(value, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		parts := strings.Split(entry, ":")
		if len(parts) != 3 {
			return fmt.Errorf("auth: VITALS_API_KEYS entry %q: must be name:scope+scope:sha256hex", redact(entry))
		}
		scopes, err := ParseScopes(parts[1])
		if err != nil {
			return fmt.Errorf("VITALS_API_KEYS entry %q: %w", parts[0], err)
		}
		if err := r.add(Key{Name: parts[0], Scopes: scopes, SHA256: strings.ToLower(parts[2])}); err != nil {
			return fmt.Errorf("VITALS_API_KEYS: %w", err)
		}
	}
	return nil
}

// redact keeps an entry's name only, in case a token was pasted by mistake.
func redact(entry string) string {
	if i := strings.IndexByte(entry, ':'); i >= 0 {
		return entry[:i] + ":…"
	}
	return "…"
}
