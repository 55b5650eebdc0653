package domain

import (
	"reflect"
	"testing"
)

func TestAttributesSet(t *testing.T) {
	var a Attributes
	for _, kv := range [][2]string{{"specversion", "1.0"}, {"id", "e1"}, {"source", "crm"}, {"type", "nps.responded"},
		{"subject", "acme"}, {"time", "2026-03-01T00:00:00Z"}, {"datacontenttype", "application/json"}, {"traceparent", "00-ab"}} {
		a.Set(kv[0], kv[1])
	}
	want := Attributes{SpecVersion: "1.0", ID: "e1", Source: "crm", Type: "nps.responded", Subject: "acme",
		Time: "2026-03-01T00:00:00Z", DataContentType: "application/json", Extensions: map[string]string{"traceparent": "00-ab"}}
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("got %+v\nwant %+v", a, want)
	}
}
