package api_test

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/vitals-hq/vitals/api"
)

// TestAnswerThatCannotBeEncodedIs500: an answer holding a non-finite
// number is a logged 500 with an error body, never a 200 with an empty
// body.
func TestAnswerThatCannotBeEncodedIs500(t *testing.T) {
	var logs logBuffer
	h, _ := newServerLog(t, api.Config{Stats: func(context.Context) (any, error) {
		return map[string]any{"shortfall": math.Inf(-1)}, nil
	}}, &logs)
	srv := startServer(t, h)
	res, err := http.Get(srv.URL + "/v1/admin/stats")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d body %q, want 500", res.StatusCode, body)
	}
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != "internal" || e.Error.Message == "" {
		t.Fatalf("body %q: want the error shape with code internal", body)
	}
	id := res.Header.Get(api.RequestIDHeader)
	if id == "" || !strings.Contains(e.Error.Message, id) {
		t.Errorf("message %q does not name the request id %q", e.Error.Message, id)
	}
	line := logLine(t, logs.String(), id)
	if line["level"] != "error" || !strings.Contains(line["error"].(string), "unsupported value") {
		t.Errorf("log line %v: want level error with the encoding error", line)
	}
}
