package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/vitals-hq/vitals/client"
	"github.com/vitals-hq/vitals/internal/atomicfile"
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
	var n int64
	err = atomicfile.Write(*out, atomicfile.Options{Perm: 0o600, TempPrefix: ".vitals-backup-"}, func(w io.Writer) error {
		var err error
		if n, err = io.Copy(w, res.Body); err != nil {
			return err
		}
		if want > 0 && n != want {
			return fmt.Errorf("got %d of %d bytes", n, want)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("backup incomplete, nothing written to %s: %w", *out, err)
	}
	fmt.Fprintf(a.Stderr, "backup: %d bytes written to %s\nrestore: stop vitals, put it as events.db into an empty data dir, start vitals\n", n, *out)
	return nil
}
