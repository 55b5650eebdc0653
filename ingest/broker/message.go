package broker

import (
	"mime"
	"sort"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/ingest"
)

// decodeMessage turns one message into the candidate event it carries (see
// the package documentation for the two styles).
func decodeMessage(msg *message.Message, now time.Time) ingest.Candidate {
	attrs, binary, ferr := attributesOf(msg.Metadata)
	if ferr != nil {
		return ingest.Candidate{Err: ferr}
	}
	var (
		ev  domain.Event
		err error
	)
	if binary {
		ev, err = domain.Build(attrs, msg.Payload, now)
	} else {
		ev, err = domain.Parse(msg.Payload, now)
	}
	return ingest.Candidate{Event: ev, Err: err}
}

// attributesOf reads CloudEvents attributes from metadata whose names start
// with ce- or ce_ (case-insensitive), and content-type. binary reports
// whether the message is in binary style.
func attributesOf(md message.Metadata) (a domain.Attributes, binary bool, ferr *domain.FieldError) {
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic errors
	var contentType string
	seen := make(map[string]string) // attribute → metadata key it came from
	for _, k := range keys {
		v := md[k]
		lower := strings.ToLower(k)
		if lower == "content-type" {
			contentType = v
			continue
		}
		if !strings.HasPrefix(lower, "ce-") && !strings.HasPrefix(lower, "ce_") {
			continue
		}
		binary = true
		name := lower[3:]
		if prev, ok := seen[name]; ok {
			if md[prev] != v {
				return a, true, &domain.FieldError{Field: name, Message: "given twice (" + prev + " and " + k + ") with different values"}
			}
			continue
		}
		seen[name] = k
		a.Set(name, v)
	}
	if isCloudEventsType(contentType) {
		return domain.Attributes{}, false, nil
	}
	if a.DataContentType == "" { // ce-datacontenttype wins over content-type
		a.DataContentType = contentType
	}
	return a, binary, nil
}

// isCloudEventsType reports whether ct names a CloudEvents format
// (application/cloudevents+json), which marks a structured message.
func isCloudEventsType(ct string) bool {
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && strings.HasPrefix(mt, "application/cloudevents")
}
