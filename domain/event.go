// Package domain is the Vitals event catalog: the CloudEvents envelope, one
// typed payload per event type, and the validation rules of the product
// contract (SPEC §1). It uses the standard library only and knows nothing of
// HTTP, storage or metrics.
package domain

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// MaxFutureSkew is how far in the future an event's time may lie.
const MaxFutureSkew = 5 * time.Minute

// Event is a validated CloudEvent with its typed payload.
type Event struct {
	SpecVersion     string
	ID              string
	Source          string
	Type            Type
	Subject         string
	Time            time.Time // UTC
	DataContentType string    // "application/json" or ""
	// Data is the data object exactly as received; unknown fields are kept
	// here and ignored by Payload.
	Data json.RawMessage
	// Payload is the typed, validated data: one of the payload structs of
	// this package (AccountOpened, NPSResponded, …), chosen by Type.
	Payload any
}

// FieldError is a validation failure of one field of an event. Field is a
// dotted path such as "data.score", "subject" or "time".
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// fieldErr builds a *FieldError with a formatted message.
func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Key is the idempotency key of the event: (source, id), encoded without
// ambiguity.
func (e Event) Key() string { return EventKey(e.Source, e.ID) }

// EventKey encodes (source, id) as an idempotency key.
func EventKey(source, id string) string {
	return strconv.Itoa(len(source)) + ":" + source + "/" + id
}

// Ref is the human-readable reference "source/id" used as evidence in
// explanations.
func (e Event) Ref() string { return e.Source + "/" + e.ID }

// envelope is the structured-mode JSON form of an event.
type envelope struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject"`
	Time            string          `json:"time"`
	DataContentType string          `json:"datacontenttype,omitempty"`
	Data            json.RawMessage `json:"data"`
}

// MarshalJSON encodes the event in CloudEvents structured JSON form, with
// the data object as received.
func (e Event) MarshalJSON() ([]byte, error) {
	return json.Marshal(envelope{
		SpecVersion:     e.SpecVersion,
		ID:              e.ID,
		Source:          e.Source,
		Type:            string(e.Type),
		Subject:         e.Subject,
		Time:            e.Time.UTC().Format(time.RFC3339Nano),
		DataContentType: e.DataContentType,
		Data:            e.Data,
	})
}
