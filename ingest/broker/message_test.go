package broker

import (
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/vitals-hq/vitals/domain"
)

func TestDecodeMessage(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const (
		event = `{"specversion":"1.0","id":"e1","source":"crm","type":"nps.responded","subject":"acme","time":"2026-02-01T00:00:00Z","data":{"score":9}}`
		data  = `{"score":9}`
	)
	attrs := func(prefix string) message.Metadata {
		return message.Metadata{
			prefix + "specversion": "1.0", prefix + "id": "e1", prefix + "source": "crm", prefix + "type": "nps.responded",
			prefix + "subject": "acme", prefix + "time": "2026-02-01T00:00:00Z",
		}
	}
	with := func(md message.Metadata, kv ...string) message.Metadata {
		out := message.Metadata{}
		for k, v := range md {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		payload string
		md      message.Metadata
		field   string // expected error field; "" = valid
		ext     string // an extension expected on the event
	}{
		{name: "structured", payload: event},
		{name: "structured with other metadata", payload: event, md: message.Metadata{"x-trace": "1", "reason_poisoned": "old"}},
		{name: "structured by content type despite ce headers", payload: event, md: with(attrs("ce-"), "content-type", "application/cloudevents+json; charset=utf-8")},
		{name: "binary ce-", payload: data, md: attrs("ce-")},
		{name: "binary ce_", payload: data, md: attrs("ce_")},
		{name: "binary upper case", payload: data, md: attrs("Ce-")},
		{name: "binary both prefixes agreeing", payload: data, md: with(attrs("ce-"), "ce_id", "e1")},
		{name: "binary both prefixes disagreeing", payload: data, md: with(attrs("ce-"), "ce_id", "e2"), field: "id"},
		{name: "binary extension", payload: data, md: with(attrs("ce-"), "ce-traceparent", "00-1"), ext: "traceparent"},
		{name: "binary bad extension name", payload: data, md: with(attrs("ce-"), "ce-trace_parent", "00-1"), field: "trace_parent"},
		{name: "binary json content type", payload: data, md: with(attrs("ce-"), "content-type", "application/json")},
		{name: "binary xml content type", payload: data, md: with(attrs("ce-"), "content-type", "text/xml"), field: "datacontenttype"},
		{name: "binary ce-datacontenttype wins", payload: data, md: with(attrs("ce-"), "content-type", "text/plain", "ce-datacontenttype", "application/json")},
		{name: "binary missing specversion", payload: data, md: with(attrs("ce-"), "ce-specversion", ""), field: "specversion"},
		{name: "binary data not an object", payload: `[1]`, md: attrs("ce-"), field: "data"},
		{name: "binary empty data", payload: ``, md: attrs("ce-"), field: "data"},
		{name: "binary bad data field", payload: `{"score":11}`, md: attrs("ce-"), field: "data.score"},
		{name: "not JSON", payload: "hello", field: "event"},
		{name: "empty", payload: "", field: "event"},
		{name: "structured missing id", payload: `{"specversion":"1.0","source":"crm","type":"nps.responded","subject":"acme","time":"2026-02-01T00:00:00Z","data":{"score":9}}`, field: "id"},
		{name: "from the future", payload: data, md: with(attrs("ce-"), "ce-time", "2026-03-01T13:00:00Z"), field: "time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := message.NewMessage("m", []byte(tc.payload))
			if tc.md != nil {
				msg.Metadata = tc.md
			}
			c := decodeMessage(msg, now)
			if tc.field != "" {
				fe, ok := c.Err.(*domain.FieldError)
				if !ok || fe.Field != tc.field {
					t.Fatalf("error %v, want a field error on %s", c.Err, tc.field)
				}
				return
			}
			if c.Err != nil {
				t.Fatal(c.Err)
			}
			if c.Event.ID != "e1" || c.Event.Subject != "acme" || string(c.Event.Data) != data {
				t.Errorf("event %+v", c.Event)
			}
			if tc.ext != "" && c.Event.Extensions[tc.ext] == nil {
				t.Errorf("extension %s missing: %v", tc.ext, c.Event.Extensions)
			}
		})
	}
}

func TestNakDelay(t *testing.T) {
	for _, tc := range []struct {
		delivered uint64
		want      time.Duration
	}{{0, time.Second}, {1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {6, 32 * time.Second}, {7, time.Minute}, {1000, time.Minute}} {
		if got := nakDelay(time.Second, time.Minute, tc.delivered); got != tc.want {
			t.Errorf("nakDelay(%d) = %v, want %v", tc.delivered, got, tc.want)
		}
	}
}

func TestNames(t *testing.T) {
	for in, want := range map[string]string{"vitals.events": "VITALS_EVENTS", "a.b-c_d": "A_B-C_D", "x y": "X_Y"} {
		if got := StreamName(in); got != want {
			t.Errorf("StreamName(%q) = %q, want %q", in, got, want)
		}
	}
	for s, want := range map[string]bool{"vitals.events": true, "a": true, "": false, "a.*": false, "a.>": false, "a..b": false, ".a": false, "a b": false} {
		if got := LiteralSubject(s); got != want {
			t.Errorf("LiteralSubject(%q) = %v", s, got)
		}
	}
	for s, want := range map[string]bool{"vitals": true, "vitals-2_b": true, "": false, "a.b": false, "a b": false, "a*": false} {
		if got := validName(s); got != want {
			t.Errorf("validName(%q) = %v", s, got)
		}
	}
}
