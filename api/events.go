package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/ingest"
)

// Media types of the CloudEvents HTTP binding.
const (
	mediaStructured = "application/cloudevents+json"
	mediaBatch      = "application/cloudevents-batch+json"
)

// PositionHeader carries the log position an answer reflects.
const PositionHeader = "Vitals-Position"

// IngestResponse is the answer to POST /v1/events.
type IngestResponse struct {
	Position eventstore.Position `json:"position"`
	Results  []IngestResult      `json:"results"`
}

// IngestResult is the outcome of one event of a request.
type IngestResult struct {
	Index  int           `json:"index"`
	ID     string        `json:"id"`
	Status ingest.Status `json:"status"`
	Error  *FieldError   `json:"error,omitempty"`
}

// FieldError names the field of a rejected event and what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// postEvents handles POST /v1/events in structured, binary and batch mode.
func (s *Server) postEvents(w http.ResponseWriter, r *http.Request) {
	if !s.acquireIngest(r.Context()) {
		w.Header().Set("Retry-After", "1")
		writeError(w, &apiError{status: http.StatusServiceUnavailable, code: "busy",
			msg: fmt.Sprintf("%d ingest requests are already in progress; retry shortly", s.cfg.MaxConcurrentIngest)})
		return
	}
	defer s.releaseIngest()
	body, err := readBody(w, r, s.cfg.MaxBodyBytes)
	if err != nil {
		writeError(w, err)
		return
	}
	cands, single, err := s.decodeRequest(r, body)
	if err != nil {
		writeError(w, err)
		return
	}
	results, pos, err := s.cfg.Ingester.Ingest(r.Context(), cands)
	if err != nil {
		writeError(w, err)
		return
	}
	if o := s.cfg.IngestObserver; o != nil {
		o.ObserveIngest(cands, results)
	}
	resp := IngestResponse{Position: pos, Results: make([]IngestResult, len(results))}
	status := http.StatusOK
	for i, res := range results {
		resp.Results[i] = IngestResult{Index: res.Index, ID: res.ID, Status: res.Status}
		if res.Error != nil {
			resp.Results[i].Error = &FieldError{Field: res.Error.Field, Message: res.Error.Message}
			status = http.StatusMultiStatus
			if single {
				status = http.StatusBadRequest
			}
		}
	}
	w.Header().Set(PositionHeader, strconv.FormatUint(uint64(pos), 10))
	writeJSON(w, status, resp)
}

// readBody reads at most limit bytes of the request body; a larger body is
// a 413.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(limit)
		}
		return nil, &apiError{status: http.StatusBadRequest, code: "bad_request", msg: "reading the request body: " + err.Error()}
	}
	return body, nil
}

func tooLarge(limit int64) error {
	return &apiError{status: http.StatusRequestEntityTooLarge, code: "too_large",
		msg: fmt.Sprintf("request body is larger than %d bytes; split it into smaller batches", limit)}
}

// decodeRequest turns the request into candidates. single is true when the
// request carried one event (structured or binary mode).
func (s *Server) decodeRequest(r *http.Request, body []byte) (cands []ingest.Candidate, single bool, err error) {
	now := s.cfg.Now()
	ct := r.Header.Get("Content-Type")
	media, _, perr := mime.ParseMediaType(ct)
	if ct == "" || perr != nil {
		media = ""
	}
	switch {
	case media == mediaBatch:
		var raws []json.RawMessage
		if err := json.Unmarshal(body, &raws); err != nil {
			return nil, false, badRequest("batch body must be a JSON array of CloudEvents: %s", jsonProblem(err))
		}
		if len(raws) > s.cfg.MaxBatchEvents {
			return nil, false, &apiError{status: http.StatusRequestEntityTooLarge, code: "too_large",
				msg: fmt.Sprintf("batch has %d events; the limit is %d", len(raws), s.cfg.MaxBatchEvents)}
		}
		cands = make([]ingest.Candidate, len(raws))
		for i, raw := range raws {
			ev, err := domain.Parse(raw, now)
			cands[i] = candidate(ev, err, raw)
		}
		return cands, false, nil
	case media == mediaStructured:
		if !json.Valid(body) {
			var v any
			return nil, true, badRequest("body is not valid JSON: %s", jsonProblem(json.Unmarshal(body, &v)))
		}
		trimmed := bytes.TrimSpace(body)
		if len(trimmed) == 0 || trimmed[0] != '{' {
			return nil, true, badRequest("a structured-mode body must be one CloudEvent JSON object; send arrays as %s", mediaBatch)
		}
		ev, err := domain.Parse(body, now)
		return []ingest.Candidate{candidate(ev, err, body)}, true, nil
	case r.Header.Get("Ce-Specversion") != "" || r.Header.Get("Ce-Id") != "":
		attrs, err := binaryAttributes(r.Header, ct)
		if err != nil {
			return nil, true, err
		}
		ev, err := domain.Build(attrs, body, now)
		if err != nil {
			ev.ID, ev.Type = attrs.ID, domain.Type(attrs.Type)
		}
		return []ingest.Candidate{{Event: ev, Err: err}}, true, nil
	default:
		if ct == "" {
			ct = "none"
		}
		return nil, false, &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
			msg: fmt.Sprintf("Content-Type %s is not accepted: use %s (one event), %s (a JSON array), or binary mode with ce-* headers and a JSON body",
				ct, mediaStructured, mediaBatch)}
	}
}

// candidate pairs a parse result with the id to report for it, even when
// parsing failed.
func candidate(ev domain.Event, err error, raw []byte) ingest.Candidate {
	if err != nil {
		var probe struct {
			ID   any `json:"id"`
			Type any `json:"type"`
		}
		if json.Unmarshal(raw, &probe) == nil {
			if id, ok := probe.ID.(string); ok {
				ev.ID = id
			}
			if typ, ok := probe.Type.(string); ok {
				ev.Type = domain.Type(typ) // for metrics; unknown types are labelled "unknown"
			}
		}
	}
	return ingest.Candidate{Event: ev, Err: err}
}

// binaryAttributes maps ce-* headers (percent-decoded) to attributes.
func binaryAttributes(h http.Header, contentType string) (domain.Attributes, error) {
	var a domain.Attributes
	for name, vals := range h {
		lower := strings.ToLower(name)
		if !strings.HasPrefix(lower, "ce-") || len(vals) == 0 {
			continue
		}
		val, err := url.PathUnescape(vals[0])
		if err != nil {
			return a, badRequest("header %s: invalid percent-encoding", name)
		}
		a.Set(strings.TrimPrefix(lower, "ce-"), val)
	}
	a.DataContentType = contentType
	return a, nil
}

func badRequest(format string, args ...any) error {
	return &apiError{status: http.StatusBadRequest, code: "bad_request", msg: fmt.Sprintf(format, args...)}
}

// jsonProblem describes a JSON syntax error with its byte offset.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("found a JSON %s where an array was expected", te.Value)
	}
	if err == nil {
		return "invalid JSON"
	}
	return err.Error()
}
