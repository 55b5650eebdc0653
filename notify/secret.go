package notify

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vitals-hq/vitals/internal/atomicfile"
)

// SecretFile is the file, in the data directory, holding the webhook
// signing secret generated when VITALS_NOTIFY_SECRET is unset.
const SecretFile = "notify.secret"

// secretPrefix starts a Standard Webhooks secret; base64 of the key bytes
// follows.
const secretPrefix = "whsec_"

// LoadOrCreateSecret returns the webhook signing secret: the key bytes and
// their text form (whsec_ + base64). env is the value of
// VITALS_NOTIFY_SECRET; when it is set it is used (and must be whsec_ +
// base64 of at least 24 bytes). Otherwise the secret is read from
// dataDir/notify.secret, created there (mode 0600, 32 random bytes) when
// missing.
func LoadOrCreateSecret(dataDir string, env string) (secret []byte, text string, err error) {
	if env = strings.TrimSpace(env); env != "" {
		key, err := ParseSecret(env)
		if err != nil {
			return nil, "", fmt.Errorf("VITALS_NOTIFY_SECRET: %w", err)
		}
		return key, env, nil
	}
	path := filepath.Join(dataDir, SecretFile)
	data, err := os.ReadFile(path)
	if err == nil {
		text = strings.TrimSpace(string(data))
		key, err := ParseSecret(text)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", path, err)
		}
		return key, text, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, "", fmt.Errorf("notify: read secret: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, "", fmt.Errorf("notify: generate secret: %w", err)
	}
	text = secretPrefix + base64.StdEncoding.EncodeToString(key)
	if err := writeNew(path, []byte(text+"\n")); err != nil {
		if errors.Is(err, os.ErrExist) { // another process created it first
			return LoadOrCreateSecret(dataDir, "")
		}
		return nil, "", err
	}
	return key, text, nil
}

// ParseSecret decodes a whsec_ + base64 secret.
func ParseSecret(text string) ([]byte, error) {
	b64, ok := strings.CutPrefix(text, secretPrefix)
	if !ok {
		return nil, fmt.Errorf("notify: secret must start with %q", secretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("notify: secret: not base64 after %q: %w", secretPrefix, err)
	}
	if len(key) < 24 {
		return nil, fmt.Errorf("notify: secret: %d bytes, want at least 24", len(key))
	}
	return key, nil
}

// writeNew creates path exclusively with data, mode 0600, atomically: a
// crash leaves no partial secret, and a second process racing to create it
// gets an error matching os.ErrExist.
func writeNew(path string, data []byte) error {
	if err := atomicfile.CreateNew(path, data, atomicfile.Options{Perm: 0o600, TempPrefix: ".notify-secret-", MkdirAll: true}); err != nil {
		return fmt.Errorf("notify: write secret: %w", err)
	}
	return nil
}
