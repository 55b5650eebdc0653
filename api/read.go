package api

import (
	"bytes"
	"context"
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

// MaxEventsPageBytes caps the size of a page of events: a page holds
// events while its answer stays within this many bytes, and always at least
// one event (a larger single event comes alone on its page). next_cursor
// continues after the last event of the page.
const MaxEventsPageBytes = 1 << 20

// maxReadChunk caps how many records one store read asks for.
const maxReadChunk = 256

// pageTrailer bounds the bytes after the last event of a page:
// `],"next_cursor":"<int64>"}` and a newline.
const pageTrailer = 48

// accountEvents handles GET /v1/accounts/{id}/events?limit=&cursor=: the
// account's events, oldest first. The cursor is opaque to clients. Like
// every list answer it carries position — the store's head, read before
// the events, so every event of the account at or before it is listed on
// this page or a later one (a write whose answer gave position P is listed
// once position ≥ P) — and total, the number of the account's events.
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
	page, err := s.eventsPage(r.Context(), stream, from, limit)
	if err != nil {
		if statusCode, _ := statusFor(err); statusCode == http.StatusNotFound {
			err = &apiError{status: http.StatusNotFound, code: "not_found", msg: fmt.Sprintf("account %q not found", id)}
		}
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(page)))
	_, _ = w.Write(page)
}

// eventsPage encodes the page of stream's events from version from: the
// position and total (see accountEvents), then at most limit events and
// MaxEventsPageBytes bytes (but at least one event), with next_cursor when
// more follow. It reads the store in chunks sized by the largest event seen
// so far, so it holds about one page of events in memory, not limit of
// them.
func (s *Server) eventsPage(ctx context.Context, stream string, from eventstore.Version, limit int) ([]byte, error) {
	head, err := s.cfg.Store.Head(ctx)
	if err != nil {
		return nil, err
	}
	last, err := s.cfg.Store.StreamVersion(ctx, stream)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(max(0, min(limit, int(last-from)+1)) * 512) // about a page of events, so that it rarely grows
	fmt.Fprintf(&buf, `{"position":%d,"total":%d,"events":[`, head, last+1)
	count, largest, chunk := 0, 0, 1
	next := eventstore.Version(-1) // the first event not on the page; -1: none
	more := true                   // the stream may hold events after the last read
	for more && next < 0 && count < limit {
		want := min(chunk, limit-count)
		recs, err := s.cfg.Store.ReadStream(ctx, stream, from, want)
		if err != nil {
			return nil, err
		}
		more = len(recs) == want
		for _, rec := range recs {
			mark := buf.Len()
			if count > 0 {
				buf.WriteByte(',')
			}
			if err := writeRecord(&buf, rec); err != nil {
				return nil, err
			}
			if count > 0 && buf.Len()+pageTrailer > MaxEventsPageBytes {
				buf.Truncate(mark)
				next = rec.Version
				break
			}
			count++
			largest = max(largest, buf.Len()-mark)
			from = rec.Version + 1
		}
		// The next chunk: what fits in the rest of the page at the size of
		// the largest event so far, plus one to learn where the page ends.
		chunk = min(maxReadChunk, max(1, (MaxEventsPageBytes-buf.Len())/max(largest, 1)+1))
	}
	if next < 0 && more && count == limit {
		// The page is full by count: do more events follow?
		last, err := s.cfg.Store.StreamVersion(ctx, stream)
		if err != nil {
			return nil, err
		}
		if last >= from {
			next = from
		}
	}
	buf.WriteByte(']')
	if next >= 0 {
		fmt.Fprintf(&buf, `,"next_cursor":"%d"`, next)
	}
	buf.WriteString("}\n")
	return buf.Bytes(), nil
}

// writeRecord writes a stored CloudEvent with its position as the first
// member.
func writeRecord(buf *bytes.Buffer, rec eventstore.Record) error {
	if domain.IsBinary(rec.Data) {
		// The compact form: served as the CloudEvent JSON it was received
		// as, the same bytes as an event stored as JSON.
		fmt.Fprintf(buf, `{"position":%d,`, rec.Position)
		out, err := domain.AppendJSONOfBinary(buf.AvailableBuffer(), rec.Data)
		if err != nil {
			return fmt.Errorf("api: record at position %d: %w", rec.Position, err)
		}
		buf.Write(out[1:]) // the members after the '{' (an event has at least one)
		return nil
	}
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
