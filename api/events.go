package api

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

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
// The body is read (bounded in size and time) before the request takes an
// ingest slot, so slow uploads cannot hold the slots.
func (s *Server) postEvents(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	cands, single, err := s.decodeRequest(r, body)
	if err != nil {
		writeError(w, err)
		return
	}
	if !s.acquireIngest(r.Context()) {
		w.Header().Set("Retry-After", "1")
		writeError(w, &apiError{status: http.StatusServiceUnavailable, code: "busy",
			msg: fmt.Sprintf("%d ingest requests are already in progress; retry shortly", s.cfg.MaxConcurrentIngest)})
		return
	}
	results, pos, err := s.cfg.Ingester.Ingest(r.Context(), cands)
	s.releaseIngest()
	if err != nil {
		s.noteWrite(w, err, false)
		writeError(w, err)
		return
	}
	if o := s.cfg.IngestObserver; o != nil {
		o.ObserveIngest(cands, results)
	}
	resp := IngestResponse{Position: pos, Results: make([]IngestResult, len(results))}
	status := http.StatusOK
	wrote := false
	for i, res := range results {
		resp.Results[i] = IngestResult{Index: res.Index, ID: res.ID, Status: res.Status}
		wrote = wrote || res.Status == ingest.Accepted
		if res.Error != nil {
			resp.Results[i].Error = &FieldError{Field: res.Error.Field, Message: res.Error.Message}
			status = http.StatusMultiStatus
			if single {
				status = http.StatusBadRequest
			}
		}
	}
	s.noteWrite(w, nil, wrote)
	w.Header().Set(PositionHeader, strconv.FormatUint(uint64(pos), 10))
	writeJSON(w, status, resp)
}

// readBody reads the request body: at most MaxBodyBytes (a larger body is
// a 413), within BodyReadTimeout (a slower one is a 408), and decoded when
// it is gzip-compressed (Content-Encoding: gzip; the decompressed body is
// bounded by MaxBodyBytes too). Any other Content-Encoding is a 415.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	limit := s.cfg.MaxBodyBytes
	gz, err := contentEncoding(r.Header)
	if err != nil {
		w.Header().Set("Accept-Encoding", "gzip")
		return nil, err
	}
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	// Without support for deadlines (a recorder in tests), the server's
	// read timeout still applies.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.cfg.BodyReadTimeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return nil, tooLarge(limit)
		case errors.Is(err, os.ErrDeadlineExceeded):
			return nil, &apiError{status: http.StatusRequestTimeout, code: "timeout",
				msg: fmt.Sprintf("the request body did not arrive within %s; send it faster or in smaller batches", s.cfg.BodyReadTimeout)}
		default:
			// The cause (a broken connection) names socket addresses: it is
			// not worth answering.
			return nil, badRequest("the request body ended early: the connection broke or the body is shorter than its Content-Length")
		}
	}
	if gz {
		return gunzip(body, limit)
	}
	return body, nil
}

// contentEncoding reports whether the body is gzip-compressed, or returns
// a 415 for an encoding the server does not decode. "identity" is no
// encoding; "gzip" (or "x-gzip") may appear once.
func contentEncoding(h http.Header) (gzip bool, err error) {
	vals := h.Values("Content-Encoding")
	var codings []string
	for _, v := range vals {
		for c := range strings.SplitSeq(v, ",") {
			c = strings.ToLower(strings.TrimSpace(c))
			if c != "" && c != "identity" {
				codings = append(codings, c)
			}
		}
	}
	switch {
	case len(codings) == 0:
		return false, nil
	case len(codings) == 1 && (codings[0] == "gzip" || codings[0] == "x-gzip"):
		return true, nil
	default:
		return false, &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
			msg: fmt.Sprintf("Content-Encoding %s is not supported: send the body uncompressed or compressed once with gzip", strings.Join(codings, ", "))}
	}
}

// gunzip decompresses a gzip body of at most limit decompressed bytes: a
// larger one (a gzip bomb) is a 413, a body that is not gzip a 400.
func gunzip(body []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, badRequest("the body is labelled Content-Encoding: gzip but is not gzip data")
	}
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, badRequest("the gzip body is damaged or truncated")
	}
	if int64(len(out)) > limit {
		return nil, &apiError{status: http.StatusRequestEntityTooLarge, code: "too_large",
			msg: fmt.Sprintf("the decompressed request body is larger than %d bytes; split it into smaller batches", limit)}
	}
	return out, nil
}

func tooLarge(limit int64) error {
	return &apiError{status: http.StatusRequestEntityTooLarge, code: "too_large",
		msg: fmt.Sprintf("request body is larger than %d bytes; split it into smaller batches", limit)}
}

// utf8BOM is the UTF-8 encoding of U+FEFF, the byte order mark.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// decodeRequest turns the request into candidates. single is true when the
// request carried one event (structured or binary mode).
func (s *Server) decodeRequest(r *http.Request, body []byte) (cands []ingest.Candidate, single bool, err error) {
	now := s.cfg.Now()
	ct := r.Header.Get("Content-Type")
	media, params, perr := mime.ParseMediaType(ct)
	if ct == "" || perr != nil {
		media = ""
	}
	if cs, ok := params["charset"]; ok && media != "" && !strings.EqualFold(cs, "utf-8") {
		return nil, false, &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
			msg: fmt.Sprintf("charset %s is not accepted: JSON must be UTF-8 (send charset=utf-8 or no charset)", cs)}
	}
	binary := r.Header.Get("Ce-Specversion") != "" || r.Header.Get("Ce-Id") != ""
	if (media == mediaBatch || media == mediaStructured || binary) && bytes.HasPrefix(body, utf8BOM) {
		return nil, media != mediaBatch, badRequest("the body starts with a UTF-8 byte order mark (EF BB BF); JSON must not: remove it")
	}
	switch {
	case media == mediaBatch:
		raws, ok := splitArray(body)
		if !ok {
			if err := json.Unmarshal(body, &raws); err != nil {
				return nil, false, badRequest("batch body must be a JSON array of CloudEvents: %s", jsonProblem(err))
			}
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
	case binary:
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

// splitArray returns the elements of body, a JSON array, as slices of it,
// reading it once with the strict jsontext decoder. It reports false for
// anything else (not an array, a syntax error, invalid UTF-8 or an invalid
// surrogate escape anywhere): the caller then reads body with
// encoding/json, which decides the outcome and words the error as before.
func splitArray(body []byte) ([]json.RawMessage, bool) {
	dec := jsontext.NewDecoder(bytes.NewBuffer(body), jsontext.AllowDuplicateNames(true))
	if dec.PeekKind() != '[' {
		return nil, false
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, false
	}
	raws := make([]json.RawMessage, 0, 64)
	for dec.PeekKind() != ']' {
		v, err := dec.ReadValue()
		if err != nil {
			return nil, false
		}
		end := int(dec.InputOffset())
		raws = append(raws, body[end-len(v):end:end])
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, false
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, false
	}
	return raws, true
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

// binaryAttributes maps ce-* headers (percent-decoded) to attributes. A
// ce-* header given more than once is refused (an attribute has one value),
// and so is ce-datacontenttype: in binary mode the data's content type is
// the Content-Type header, which becomes the datacontenttype attribute.
func binaryAttributes(h http.Header, contentType string) (domain.Attributes, error) {
	var a domain.Attributes
	for name, vals := range h {
		lower := strings.ToLower(name)
		if !strings.HasPrefix(lower, "ce-") || len(vals) == 0 {
			continue
		}
		if len(vals) > 1 {
			return a, badRequest("header %s: given more than once (%d values); send each ce-* header once", name, len(vals))
		}
		if lower == "ce-datacontenttype" {
			return a, badRequest("header ce-datacontenttype: not part of binary mode; the data's content type is the Content-Type header")
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
