package api_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
)

// logBuffer collects a server's logs; it is safe for concurrent use (the
// server logs from many goroutines while the test reads).
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// logLine returns the request log line of request id from JSON-lines logs.
func logLine(t *testing.T, logs, id string) map[string]any {
	t.Helper()
	for line := range strings.Lines(logs) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["req_id"] == id {
			return m
		}
	}
	t.Fatalf("no log line for request %q in:\n%s", id, logs)
	return nil
}
