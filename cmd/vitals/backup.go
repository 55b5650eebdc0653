package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/vitals-hq/vitals/client"
)

// backup: vitals backup --server URL --out FILE — a consistent copy of a
// running server's embedded store.
func (a *App) backup(ctx context.Context, args []string) error {
	fs := a.newFlagSet("backup", "backup --out FILE [flags]  (copies a running server's event store)")
	server := fs.String("server", defaultServer, "Vitals server URL")
	token := fs.String("token", "", "API key with the admin scope")
	out := fs.String("out", "", "file to write (required; written atomically)")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out: required")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *server+"/v1/admin/backup", nil)
	if err != nil {
		return fmt.Errorf("--server: %w", err)
	}
	if *token != "" {
		req.Header.Set("Authorization", "Bearer "+*token)
	}
	res, err := (&http.Client{Timeout: time.Hour}).Do(req)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		return fmt.Errorf("backup: %w", authError(client.ParseError(res.StatusCode, body), *token != "", "the admin scope", "admin"))
	}
	want, _ := strconv.ParseInt(res.Header.Get("Content-Length"), 10, 64)
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".vitals-backup-*")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, res.Body)
	if err == nil && want > 0 && n != want {
		err = fmt.Errorf("got %d of %d bytes", n, want)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup incomplete, nothing written to %s: %w", *out, err)
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(a.Stderr, "backup: %d bytes written to %s\nrestore: stop vitals, put it as events.db into an empty data dir, start vitals\n", n, *out)
	return nil
}
