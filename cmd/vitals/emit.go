package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vitals-hq/vitals/client"
)

// emit: vitals emit [--server URL] [--batch N] [FILE|-]
func (a *App) emit(ctx context.Context, args []string) error {
	fs := a.newFlagSet("emit", "emit [flags] [FILE|-]  (JSON lines or a JSON array of CloudEvents; stdin when FILE is - or absent)")
	server := fs.String("server", defaultServer, "Vitals server URL")
	alias(fs, "to", "server")
	batch := fs.Int("batch", 500, "events per request (1..5000)")
	token := fs.String("token", "", "API key with the ingest scope, sent as a Bearer token")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	if *batch < 1 || *batch > 5000 {
		return fmt.Errorf("--batch: must be 1..5000, got %d", *batch)
	}
	if fs.NArg() > 1 {
		return fmt.Errorf("emit takes at most one file, got %d", fs.NArg())
	}
	in := a.Stdin
	name := "stdin"
	if p := fs.Arg(0); p != "" && p != "-" {
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("open input: %w", err)
		}
		defer f.Close()
		in, name = f, p
	}
	s, err := a.newSender(*server, *token, *batch)
	if err != nil {
		return err
	}
	readErr := readEvents(in, func(raw json.RawMessage) error { return s.add(ctx, raw) })
	if err := s.flush(ctx); err != nil {
		return err
	}
	s.summary()
	if readErr != nil {
		return fmt.Errorf("reading %s: %w (events before it were sent)", name, readErr)
	}
	if s.rejected > 0 {
		return fmt.Errorf("%d of %d events were rejected", s.rejected, s.total())
	}
	return nil
}

// readEvents calls fn for every JSON value of r: either one JSON array of
// events or a sequence of JSON values (JSON lines).
func readEvents(r io.Reader, fn func(json.RawMessage) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	first, err := peekNonSpace(br)
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return err
	}
	dec := json.NewDecoder(br)
	n := 0
	if first == '[' {
		if _, err := dec.Token(); err != nil {
			return fmt.Errorf("event 1: %w", err)
		}
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return fmt.Errorf("event %d (byte %d): %w", n+1, dec.InputOffset(), err)
			}
			n++
			if err := fn(raw); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return fmt.Errorf("after event %d: %w", n, err)
		}
		return nil
	}
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("event %d (byte %d): %w", n+1, dec.InputOffset(), err)
		}
		n++
		if err := fn(raw); err != nil {
			return err
		}
	}
}

func peekNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return b, br.UnreadByte()
	}
}

// sender posts events in batches and keeps the tally.
type sender struct {
	a       *App
	c       *client.Client
	size    int
	pending []json.RawMessage
	sent    int

	accepted, duplicate, rejected int
	firstErrors                   []string
	position                      uint64
	start, lastReport             time.Time
}

const maxReportedErrors = 10

func (a *App) newSender(url, token string, size int) (*sender, error) {
	c, err := client.New(url)
	if err != nil {
		return nil, err
	}
	c.Token = token
	now := time.Now()
	return &sender{a: a, c: c, size: size, start: now, lastReport: now}, nil
}

func (s *sender) total() int { return s.accepted + s.duplicate + s.rejected }

func (s *sender) add(ctx context.Context, raw json.RawMessage) error {
	s.pending = append(s.pending, raw)
	if len(s.pending) >= s.size {
		return s.flush(ctx)
	}
	return nil
}

func (s *sender) flush(ctx context.Context) error {
	if len(s.pending) == 0 {
		return nil
	}
	resp, err := s.c.PostBatch(ctx, s.pending)
	if err != nil {
		return fmt.Errorf("after %d events: %w", s.sent, err)
	}
	for _, r := range resp.Results {
		switch r.Status {
		case "accepted":
			s.accepted++
		case "duplicate":
			s.duplicate++
		default:
			s.rejected++
			if len(s.firstErrors) < maxReportedErrors && r.Error != nil {
				s.firstErrors = append(s.firstErrors, fmt.Sprintf("event %d (id %q): %s: %s", s.sent+r.Index+1, r.ID, r.Error.Field, r.Error.Message))
			}
		}
	}
	s.sent += len(s.pending)
	s.position = max(s.position, resp.Position)
	s.pending = s.pending[:0]
	if now := time.Now(); now.Sub(s.lastReport) >= time.Second {
		s.lastReport = now
		fmt.Fprintf(s.a.Stderr, "sent %d events (%.0f/s): %d accepted, %d duplicate, %d rejected\n",
			s.sent, float64(s.sent)/now.Sub(s.start).Seconds(), s.accepted, s.duplicate, s.rejected)
	}
	return nil
}

func (s *sender) summary() {
	el := time.Since(s.start)
	fmt.Fprintf(s.a.Stderr, "done: %d events in %s: %d accepted, %d duplicate, %d rejected; log position %d\n",
		s.total(), el.Round(time.Millisecond), s.accepted, s.duplicate, s.rejected, s.position)
	for _, e := range s.firstErrors {
		fmt.Fprintf(s.a.Stderr, "  rejected: %s\n", e)
	}
	if s.rejected > len(s.firstErrors) {
		fmt.Fprintf(s.a.Stderr, "  … and %d more rejected\n", s.rejected-len(s.firstErrors))
	}
}
