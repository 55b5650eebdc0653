package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmhttp "github.com/ThreeDotsLabs/watermill-http/v2/pkg/http"
	"github.com/ThreeDotsLabs/watermill/message"
)

// Headers of a webhook request (Standard Webhooks 1.0).
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
	// ContentTypeCloudEvent is the content type of a CloudEvent in
	// structured JSON mode.
	ContentTypeCloudEvent = "application/cloudevents+json"
)

// Sign returns the Standard Webhooks signature of one request: "v1," and
// the base64 of the HMAC-SHA256, keyed with secret (the bytes after
// "whsec_", base64-decoded), of id, '.', the Unix seconds of ts, '.', and
// the body.
func Sign(secret []byte, id string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// sender delivers one notification to a target.
type sender interface {
	// send makes one attempt. status is the HTTP status of the answer
	// (0 when there was none, and for NATS); err is nil only when the
	// event was delivered.
	send(ctx context.Context, n Notification) (status int, err error)
	// close releases the sender's connections.
	close() error
}

// errStatus reports an answer other than 2xx.
type errStatus struct{ code int }

func (e errStatus) Error() string {
	return fmt.Sprintf("answered %d %s", e.code, http.StatusText(e.code))
}

// webhook POSTs notifications through Watermill's HTTP publisher.
//
// The publisher's topic is the URL; its MarshalMessageFunc builds the
// signed request from the message (UUID = the CloudEvent id, payload = the
// CloudEvent, metadata webhook-timestamp = the attempt's Unix seconds) and
// binds it to the message's context, which carries the attempt's timeout.
// Redirects are not followed, and the client records the answer's status
// in the context, so that 410 and 3xx are told apart from other errors.
type webhook struct {
	target Target
	pub    *wmhttp.Publisher
	secret []byte
	now    func() time.Time
}

// statusKey is the context key of the *int the transport sets to the
// answer's status.
type statusKey struct{}

// recordStatus is an http.RoundTripper that stores each answer's status
// where the request's context asks for it.
type recordStatus struct{ next http.RoundTripper }

// RoundTrip implements http.RoundTripper.
func (r recordStatus) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if p, ok := req.Context().Value(statusKey{}).(*int); ok && resp != nil {
		*p = resp.StatusCode
	}
	return resp, err
}

// newWebhook returns the sender of a webhook target.
func newWebhook(t Target, secret []byte, now func() time.Time) (*webhook, error) {
	w := &webhook{target: t, secret: secret, now: now}
	client := &http.Client{
		Transport: recordStatus{next: http.DefaultTransport.(*http.Transport).Clone()},
		// A redirect is an answer other than 2xx, not a new address.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	pub, err := wmhttp.NewPublisher(wmhttp.PublisherConfig{
		MarshalMessageFunc: w.request,
		Client:             client,
		// The dispatcher logs the status; an answer's body is not read.
		DoNotLogResponseBodyOnServerError: true,
		// Its only other logs (trace) show the whole URL, secrets included.
	}, watermill.NopLogger{})
	if err != nil {
		return nil, fmt.Errorf("notify: webhook publisher: %w", err)
	}
	w.pub = pub
	return w, nil
}

// request is the publisher's MarshalMessageFunc: the signed POST of msg.
func (w *webhook) request(url string, msg *message.Message) (*http.Request, error) {
	ts, err := strconv.ParseInt(msg.Metadata.Get(HeaderWebhookTimestamp), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("notify: message %s has no %s: %w", msg.UUID, HeaderWebhookTimestamp, err)
	}
	req, err := http.NewRequestWithContext(msg.Context(), http.MethodPost, url, bytes.NewReader(msg.Payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", ContentTypeCloudEvent)
	req.Header.Set(HeaderWebhookID, msg.UUID)
	req.Header.Set(HeaderWebhookTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderWebhookSignature, Sign(w.secret, msg.UUID, time.Unix(ts, 0), msg.Payload))
	req.Header.Set("User-Agent", "Vitals-Webhooks/1")
	return req, nil
}

// send implements sender: one signed POST, delivered on a 2xx answer.
func (w *webhook) send(ctx context.Context, n Notification) (int, error) {
	status := 0
	msg := message.NewMessage(n.ID, []byte(n.Event))
	msg.Metadata.Set(HeaderWebhookTimestamp, strconv.FormatInt(w.now().Unix(), 10))
	msg.SetContext(context.WithValue(ctx, statusKey{}, &status))
	err := w.pub.Publish(w.target.URL.String(), msg)
	switch {
	case status >= 200 && status < 300 && err == nil:
		return status, nil
	case status != 0:
		return status, errStatus{status}
	case err == nil:
		return 0, errors.New("no answer")
	}
	// The client's errors quote the URL, whose path and query may hold
	// secrets; keep only what went wrong.
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		return 0, fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return 0, err
}

// close implements sender.
func (w *webhook) close() error { return w.pub.Close() }
