package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vitals-hq/vitals/client"
	"github.com/vitals-hq/vitals/notify"
)

// listFlag is a repeatable string flag; each value may also hold several,
// comma-separated (so VITALS_NOTIFY=a,b works like --notify a --notify b).
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func notifyUsage(w io.Writer) {
	fmt.Fprint(w, "Usage: vitals notify <action> [flags]\n\nActions:\n"+
		"  vitals notify tail [--server URL] [--token KEY] [--after N] [--type T] [--follow=false]  (prints derived events as JSON lines)\n"+
		"  vitals notify secret [--data-dir DIR]  (prints the webhook signing secret, creating it when missing)\n"+
		"\nRun \"vitals notify <action> -h\" for the flags of an action.\n")
}

// notifyCmd: vitals notify tail|secret
func (a *App) notifyCmd(ctx context.Context, args []string) error {
	if len(args) == 0 {
		notifyUsage(a.Stderr)
		return errUsage
	}
	if isHelp(args[0]) {
		notifyUsage(a.Stdout)
		return flag.ErrHelp
	}
	switch args[0] {
	case "tail":
		return a.notifyTail(ctx, args[1:])
	case "secret":
		return a.notifySecret(args[1:])
	}
	fmt.Fprintf(a.Stderr, "vitals notify: unknown action %q\n\n", args[0])
	notifyUsage(a.Stderr)
	return errUsage
}

// notifySecret prints the webhook signing secret: VITALS_NOTIFY_SECRET, or
// notify.secret in the data dir (created when missing).
func (a *App) notifySecret(args []string) error {
	fs := a.newFlagSet("notify secret", "notify secret [--data-dir DIR]  (prints the webhook signing secret)")
	dataDir := fs.String("data-dir", "./vitals-data", "data directory holding notify.secret")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	_, text, err := notify.LoadOrCreateSecret(*dataDir, a.Getenv("VITALS_NOTIFY_SECRET"))
	if err != nil {
		return err
	}
	fmt.Fprintln(a.Stdout, text)
	return nil
}

// notifyTail follows GET /v1/notifications, printing each derived event as
// one JSON line; with --follow (the default) it polls for new ones until
// interrupted.
func (a *App) notifyTail(ctx context.Context, args []string) error {
	fs := a.newFlagSet("notify tail", "notify tail [flags]  (prints derived events as JSON lines, oldest first)")
	server := fs.String("server", defaultServer, "Vitals server URL")
	token := fs.String("token", "", "API key with the read scope")
	after := fs.String("after", "0", "print events after this cursor (a next_cursor; 0 for all)")
	types := fs.String("type", "", "only these event types (comma-separated)")
	follow := fs.Bool("follow", true, "keep polling for new events")
	interval := fs.Duration("interval", 2*time.Second, "poll interval when following")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	if *interval <= 0 {
		return errors.New("--interval: must be positive")
	}
	cursor := *after
	for {
		page, err := a.notificationsPage(ctx, *server, *token, cursor, *types)
		if err != nil {
			return err
		}
		for _, item := range page.Items {
			fmt.Fprintf(a.Stdout, "%s\n", item)
		}
		cursor = page.NextCursor
		if len(page.Items) > 0 {
			continue
		}
		if !*follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*interval):
		}
	}
}

type notificationsPage struct {
	Items      []json.RawMessage `json:"items"`
	NextCursor string            `json:"next_cursor"`
}

func (a *App) notificationsPage(ctx context.Context, server, token, after, types string) (notificationsPage, error) {
	q := url.Values{"after": {after}, "limit": {"1000"}}
	if types != "" {
		q.Set("type", types)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(server, "/")+"/v1/notifications?"+q.Encode(), nil)
	if err != nil {
		return notificationsPage{}, fmt.Errorf("--server: %w", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		return notificationsPage{}, fmt.Errorf("notify tail: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return notificationsPage{}, fmt.Errorf("notify tail: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return notificationsPage{}, fmt.Errorf("notify tail: %w", authError(client.ParseError(res.StatusCode, body), token != "", "the read scope", "read"))
	}
	var p notificationsPage
	if err := json.Unmarshal(body, &p); err != nil || p.NextCursor == "" {
		return notificationsPage{}, fmt.Errorf("notify tail: unexpected answer from %s: %.200s", server, body)
	}
	return p, nil
}
