package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// FuzzEmitInput checks emit's input reading on any bytes: either the whole
// input is refused with a located error, or the send pass reads exactly
// the events the check counted, each one valid JSON; a pipe (spooled to a
// temporary file) gets the same answer as a file.
func FuzzEmitInput(f *testing.F) {
	f.Add("{\"id\":\"a\"}\n{\"id\":\"b\"}\n")
	f.Add("[{\"id\":\"a\"},\n {\"id\":\"b\"}]")
	f.Add("[{\"id\":\"a\"},\n  nope]")
	f.Add("garbage")
	f.Add("  \n{\"id\":")
	f.Fuzz(func(t *testing.T, in string) {
		_, pn, pcleanup, perr := validated(struct{ io.Reader }{strings.NewReader(in)})
		pcleanup()
		src, n, cleanup, err := validated(strings.NewReader(in))
		defer cleanup()
		if fmt.Sprint(err) != fmt.Sprint(perr) || n != pn {
			t.Fatalf("a file and a pipe differ: %d events, %v; piped %d events, %v", n, err, pn, perr)
		}
		if err != nil {
			var pe *parseError
			if errors.As(err, &pe) && !strings.Contains(err.Error(), "line ") {
				t.Fatalf("parse error without its line: %v", err)
			}
			return
		}
		got := 0
		if err := readEvents(src, func(raw json.RawMessage) error {
			got++
			if !json.Valid(raw) {
				t.Fatalf("invalid event passed the check: %q", raw)
			}
			return nil
		}); err != nil {
			t.Fatalf("send pass failed after the check passed: %v", err)
		}
		if got != n {
			t.Fatalf("check counted %d events, send pass read %d", n, got)
		}
	})
}
