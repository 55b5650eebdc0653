package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
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
	src, n, cleanup, err := validated(in)
	defer cleanup()
	if err != nil {
		return fmt.Errorf("%s: %w; nothing was sent", name, err)
	}
	if n == 0 {
		fmt.Fprintf(a.Stderr, "%s holds no events; nothing sent\n", name)
		return nil
	}
	s, err := a.newSender(*server, *token, *batch)
	if err != nil {
		return err
	}
	err = readEvents(src, func(raw json.RawMessage) error { return s.add(ctx, raw) })
	if err == nil {
		err = s.flush(ctx)
	}
	if err != nil {
		s.summaryIfSent()
		return authError(err, *token != "", "the ingest scope", "ingest")
	}
	s.summary()
	if s.rejected > 0 {
		return fmt.Errorf("%d of %d events were rejected", s.rejected, s.total())
	}
	return nil
}

// validated reads all of r once, checking that it parses as events, and
// returns a reader of the same bytes from their start, the number of events
// and a cleanup function (always set). Input that cannot seek back, such as
// a pipe, is spooled to a temporary file as it is read. A parse error
// names its line, column and byte.
func validated(r io.Reader) (src io.Reader, n int, cleanup func(), err error) {
	cleanup = func() {}
	rs, start := seekable(r)
	read := r
	if rs == nil {
		spool, err := os.CreateTemp("", "vitals-emit-*")
		if err != nil {
			return nil, 0, cleanup, fmt.Errorf("spool input: %w", err)
		}
		cleanup = func() {
			spool.Close()
			os.Remove(spool.Name())
		}
		rs, read = spool, io.TeeReader(r, spool)
	}
	err = readEvents(read, func(json.RawMessage) error { n++; return nil })
	var pe *parseError
	if errors.As(err, &pe) {
		if pe.from {
			pe.offset = locate(rs, start, pe.offset)
		}
		if line, col, perr := lineColumn(rs, start, pe.offset); perr == nil {
			return nil, 0, cleanup, fmt.Errorf("line %d, column %d (byte %d, event %d): %w", line, col, pe.offset+1, pe.event, pe.err)
		}
	}
	if err != nil {
		return nil, 0, cleanup, err
	}
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		return nil, 0, cleanup, fmt.Errorf("rewind input: %w", err)
	}
	return rs, n, cleanup, nil
}

// seekable returns r as an io.ReadSeeker with its current offset when it
// can seek (a regular file), else nil.
func seekable(r io.Reader) (io.ReadSeeker, int64) {
	rs, ok := r.(io.ReadSeeker)
	if !ok {
		return nil, 0
	}
	off, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, 0
	}
	return rs, off
}

// locate finds the offending byte of a value that does not parse, which
// starts after white space and at most one comma from offset from of rs:
// it decodes that one value alone and takes its syntax error's offset. It
// returns from when it cannot tell.
func locate(rs io.ReadSeeker, start, from int64) int64 {
	if _, err := rs.Seek(start+from, io.SeekStart); err != nil {
		return from
	}
	br := bufio.NewReader(rs)
	skip, b, err := peekNonSpace(br)
	if err == nil && b == ',' {
		_, _ = br.ReadByte()
		var more int64
		more, _, _ = peekNonSpace(br)
		skip += 1 + more
	}
	var raw json.RawMessage
	var se *json.SyntaxError
	if err := json.NewDecoder(br).Decode(&raw); errors.As(err, &se) {
		return from + skip + se.Offset - 1
	}
	return from
}

// lineColumn returns the 1-based line and column of the byte at offset off
// (0-based, from start) of rs.
func lineColumn(rs io.ReadSeeker, start, off int64) (line, col int, err error) {
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		return 0, 0, err
	}
	br := bufio.NewReader(io.LimitReader(rs, off))
	line, col = 1, 1
	for {
		b, err := br.ReadByte()
		if errors.Is(err, io.EOF) {
			return line, col, nil
		}
		if err != nil {
			return 0, 0, err
		}
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
}

// parseError is input that does not parse as JSON events.
type parseError struct {
	event int // 1-based number of the event being read
	// offset is the 0-based offset of the offending byte, or, when from is
	// set, where the search for it starts: the end of the last good token.
	offset int64
	from   bool
	err    error
}

func (e *parseError) Error() string {
	return fmt.Sprintf("event %d (byte %d): %v", e.event, e.offset+1, e.err)
}

func (e *parseError) Unwrap() error { return e.err }

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// readEvents calls fn for every JSON value of r: either one JSON array of
// events or a sequence of JSON values (JSON lines). Input that does not
// parse is a *parseError.
func readEvents(r io.Reader, fn func(json.RawMessage) error) error {
	cr := &countingReader{r: r}
	br := bufio.NewReaderSize(cr, 1<<16)
	skipped, first, err := peekNonSpace(br)
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return err
	}
	dec := json.NewDecoder(br)
	n := 0
	// fail records where a decoding error is: a truncated input at its
	// end, else the value that starts after the last good token (the
	// decoder's own offsets are not reliable inside an array).
	fail := func(err error) error {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return &parseError{event: n + 1, offset: cr.n, err: errors.New("unexpected end of input")}
		}
		return &parseError{event: n + 1, offset: skipped + dec.InputOffset(), from: true, err: err}
	}
	if first == '[' {
		if _, err := dec.Token(); err != nil {
			return fail(err)
		}
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return fail(err)
			}
			n++
			if err := fn(raw); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return fail(err)
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
			return fail(err)
		}
		n++
		if err := fn(raw); err != nil {
			return err
		}
	}
}

// peekNonSpace skips white space and returns how many bytes it skipped
// and the next byte, left unread.
func peekNonSpace(br *bufio.Reader) (int64, byte, error) {
	var skipped int64
	for {
		b, err := br.ReadByte()
		if err != nil {
			return skipped, 0, err
		}
		switch b {
		case ' ', '\t', '\r', '\n':
			skipped++
			continue
		}
		return skipped, b, br.UnreadByte()
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

// summaryIfSent prints the summary when any event was sent: after a
// failure, it tells what reached the server before it.
func (s *sender) summaryIfSent() {
	if s.sent > 0 {
		s.summary()
	}
}

// summary prints the tally and the first rejections.
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

// authError explains a 401 or 403 answer: how to pass a key (--token or
// VITALS_TOKEN) and which scope it needs (scopeText, e.g. "the ingest
// scope"; scopes as for vitals keys add). Other errors pass unchanged.
func authError(err error, sentKey bool, scopeText, scopes string) error {
	var se *client.StatusError
	if !errors.As(err, &se) {
		return err
	}
	create := "create one with: vitals keys add --name NAME --scopes " + scopes
	switch {
	case se.Status == http.StatusUnauthorized && !sentKey:
		return fmt.Errorf("the server requires an API key (401): pass one with --token KEY or VITALS_TOKEN=KEY; it needs %s (%s)", scopeText, create)
	case se.Status == http.StatusUnauthorized:
		return fmt.Errorf("the server does not know the API key given with --token or VITALS_TOKEN (401: %s); pass a key with %s (%s)", se.Message, scopeText, create)
	case se.Status == http.StatusForbidden:
		return fmt.Errorf("the API key given with --token or VITALS_TOKEN was refused (403: %s); pass a key with %s (%s)", se.Message, scopeText, create)
	}
	return err
}
