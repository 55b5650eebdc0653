package domain

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// testNow is the receive time of every test event.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// event returns a structured-mode event of type typ with the given data.
func event(typ, data string) []byte {
	subject := "acme"
	if Type(typ).IsManagerEvent() {
		subject = "am-1"
	}
	return []byte(`{"specversion":"1.0","id":"evt-1","source":"crm","type":"` + typ +
		`","subject":"` + subject + `","time":"2026-03-01T09:30:00Z","data":` + data + `}`)
}

// envelopeWith returns a valid nps.responded event as JSON with the
// top-level members in set replaced (a nil value deletes the member).
func envelopeWith(t *testing.T, set map[string]any) []byte {
	t.Helper()
	m := map[string]any{
		"specversion": "1.0",
		"id":          "evt-1",
		"source":      "crm",
		"type":        "nps.responded",
		"subject":     "acme",
		"time":        "2026-03-01T09:30:00Z",
		"data":        json.RawMessage(`{"score":9}`),
	}
	for k, v := range set {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkFieldErr fails unless err is a *FieldError for field whose message
// contains msg.
func checkFieldErr(t *testing.T, err error, field, msg string) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error = %v (%T), want *FieldError %s: …%s…", err, err, field, msg)
	}
	if fe.Field != field || !strings.Contains(fe.Message, msg) {
		t.Fatalf("error = %q, want field %q with message containing %q", fe.Error(), field, msg)
	}
}
