package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
)

// Paging limits for event listings.
const (
	defaultEventsLimit = 100
	maxEventsLimit     = 1000
)

// accountEvents handles GET /v1/accounts/{id}/events?limit=&cursor=: the
// account's events, oldest first. The cursor is opaque to clients.
func (s *Server) accountEvents(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	limit, err := intParam(r, "limit", defaultEventsLimit, 1, maxEventsLimit)
	if err != nil {
		writeError(w, err)
		return
	}
	from := eventstore.Version(0)
	if c := r.URL.Query().Get("cursor"); c != "" {
		v, err := strconv.ParseInt(c, 10, 64)
		if err != nil || v < 0 {
			writeError(w, badRequest("cursor: not a cursor returned by this endpoint"))
			return
		}
		from = eventstore.Version(v)
	}
	stream := (domain.Event{Type: domain.TypeAccountOpened, Subject: id}).Stream()
	recs, err := s.cfg.Store.ReadStream(r.Context(), stream, from, limit+1)
	if err != nil {
		if statusCode, _ := statusFor(err); statusCode == http.StatusNotFound {
			err = &apiError{status: http.StatusNotFound, code: "not_found", msg: fmt.Sprintf("account %q not found", id)}
		}
		writeError(w, err)
		return
	}
	var next string
	if len(recs) > limit {
		next = strconv.FormatInt(int64(recs[limit].Version), 10)
		recs = recs[:limit]
	}
	var buf bytes.Buffer
	buf.WriteString(`{"events":[`)
	for i, rec := range recs {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := writeRecord(&buf, rec); err != nil {
			writeError(w, err)
			return
		}
	}
	buf.WriteByte(']')
	if next != "" {
		buf.WriteString(`,"next_cursor":`)
		q, _ := json.Marshal(next)
		buf.Write(q)
	}
	buf.WriteString("}\n")
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(buf.Bytes())
}

// writeRecord writes a stored CloudEvent with its position as the first
// member.
func writeRecord(buf *bytes.Buffer, rec eventstore.Record) error {
	data := bytes.TrimSpace(rec.Data)
	if len(data) < 2 || data[0] != '{' {
		return fmt.Errorf("api: record at position %d is not a JSON object", rec.Position)
	}
	fmt.Fprintf(buf, `{"position":%d`, rec.Position)
	if rest := bytes.TrimSpace(data[1:]); len(rest) > 0 && rest[0] != '}' {
		buf.WriteByte(',')
	}
	buf.Write(data[1:])
	return nil
}

// intParam reads an integer query parameter within [lo, hi].
func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		return 0, badRequest("%s: must be an integer %d..%d", name, lo, hi)
	}
	return v, nil
}
