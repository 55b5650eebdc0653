// Package client sends CloudEvents to a Vitals server over HTTP.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// BatchContentType is the CloudEvents batch media type.
const BatchContentType = "application/cloudevents-batch+json"

// Result is the outcome of one event of a batch.
type Result struct {
	Index  int    `json:"index"`
	ID     string `json:"id"`
	Status string `json:"status"`
	Error  *struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// Response is the server's answer to a batch.
type Response struct {
	Position uint64   `json:"position"`
	Results  []Result `json:"results"`
}

// Client posts events to one Vitals server.
type Client struct {
	base string
	http *http.Client
	// Token, when set, is sent as a Bearer token.
	Token string
	// Retries is how often a batch is retried after a network error or a
	// 503/429 answer (retries are safe: events are idempotent). Default 5.
	Retries int
}

// New returns a client for the server at baseURL (e.g. http://127.0.0.1:8080).
func New(baseURL string) (*Client, error) {
	if !strings.HasPrefix(baseURL, "http://") && !strings.HasPrefix(baseURL, "https://") {
		return nil, fmt.Errorf("client: server URL %q must start with http:// or https://", baseURL)
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), http: &http.Client{Timeout: 2 * time.Minute}, Retries: 5}, nil
}

// StatusError is a whole-request failure answered by the server.
type StatusError struct {
	Status  int
	Code    string
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("server answered %d %s: %s", e.Status, e.Code, e.Message)
}

// PostBatch sends events (each a CloudEvent JSON object) as one batch and
// returns the per-event results. A 200 or 207 answer is a success; other
// answers are a *StatusError.
func (c *Client) PostBatch(ctx context.Context, events []json.RawMessage) (Response, error) {
	body, err := json.Marshal(events)
	if err != nil {
		return Response{}, fmt.Errorf("client: encode batch: %w", err)
	}
	var lastErr error
	for attempt := 0; attempt <= c.Retries; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, attempt); err != nil {
				return Response{}, err
			}
		}
		resp, retry, err := c.post(ctx, body)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		if !retry {
			break
		}
	}
	return Response{}, lastErr
}

func (c *Client) post(ctx context.Context, body []byte) (Response, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v1/events", bytes.NewReader(body))
	if err != nil {
		return Response{}, false, fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Content-Type", BatchContentType)
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return Response{}, false, ctx.Err()
		}
		return Response{}, true, fmt.Errorf("client: post events: %w", err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return Response{}, true, fmt.Errorf("client: read answer: %w", err)
	}
	switch res.StatusCode {
	case http.StatusOK, http.StatusMultiStatus:
		var out Response
		if err := json.Unmarshal(data, &out); err != nil {
			return Response{}, false, fmt.Errorf("client: decode answer: %w", err)
		}
		return out, false, nil
	default:
		se := ParseError(res.StatusCode, data)
		retry := res.StatusCode == http.StatusServiceUnavailable || res.StatusCode == http.StatusTooManyRequests
		return Response{}, retry, se
	}
}

// ParseError turns a failed answer (status and body) into a *StatusError,
// reading the server's {"error": {"code", "message"}} shape when the body
// has it.
func ParseError(status int, body []byte) *StatusError {
	se := &StatusError{Status: status}
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Code != "" {
		se.Code, se.Message = e.Error.Code, e.Error.Message
	} else {
		se.Message = strings.TrimSpace(string(body))
	}
	return se
}

// IsStatus reports whether err is a StatusError with the given status.
func IsStatus(err error, status int) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Status == status
}

// StoredEvent is an event as the server lists it from its log.
type StoredEvent struct {
	Position uint64    `json:"position"`
	ID       string    `json:"id"`
	Source   string    `json:"source"`
	Type     string    `json:"type"`
	Time     time.Time `json:"time"`
}

// FirstEvent returns the first event of the account's stream (its
// account.opened), or false when the server holds no such account. It
// needs a key with the read scope when the server requires keys.
func (c *Client) FirstEvent(ctx context.Context, account string) (StoredEvent, bool, error) {
	u := c.base + "/v1/accounts/" + url.PathEscape(account) + "/events?limit=1"
	var lastErr error
	for attempt := 0; attempt <= c.Retries; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, attempt); err != nil {
				return StoredEvent{}, false, err
			}
		}
		ev, found, retry, err := c.firstEvent(ctx, u)
		if err == nil {
			return ev, found, nil
		}
		lastErr = err
		if !retry {
			break
		}
	}
	return StoredEvent{}, false, lastErr
}

func (c *Client) firstEvent(ctx context.Context, u string) (ev StoredEvent, found, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return ev, false, false, fmt.Errorf("client: %w", err)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ev, false, false, ctx.Err()
		}
		return ev, false, true, fmt.Errorf("client: read events: %w", err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return ev, false, true, fmt.Errorf("client: read answer: %w", err)
	}
	switch res.StatusCode {
	case http.StatusOK:
		var page struct {
			Events []StoredEvent `json:"events"`
		}
		if err := json.Unmarshal(data, &page); err != nil {
			return ev, false, false, fmt.Errorf("client: decode answer: %w", err)
		}
		if len(page.Events) == 0 {
			return ev, false, false, nil
		}
		return page.Events[0], true, false, nil
	case http.StatusNotFound:
		return ev, false, false, nil
	default:
		retry := res.StatusCode == http.StatusServiceUnavailable || res.StatusCode == http.StatusTooManyRequests
		return ev, false, retry, ParseError(res.StatusCode, data)
	}
}

// sleep waits before retry attempt (1, 2, …): 200 ms doubling up to 6.4 s.
func sleep(ctx context.Context, attempt int) error {
	delay := time.Duration(1<<min(attempt-1, 5)) * 200 * time.Millisecond
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(delay):
		return nil
	}
}
