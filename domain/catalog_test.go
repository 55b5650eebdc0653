package domain

import (
	"fmt"
	"reflect"
	"testing"
)

// catalogEvent is a valid event of spec's type with its example data.
func catalogEvent(t *testing.T, spec Spec) Event {
	t.Helper()
	raw := fmt.Sprintf(`{"specversion":"1.0","id":"e-%s","source":"test","type":%q,"subject":"acme","time":"2026-03-01T09:00:00Z","data":%s}`,
		spec.Type, spec.Type, spec.Example)
	ev, err := Parse([]byte(raw), testNow)
	if err != nil {
		t.Fatalf("%s: the catalog's example does not parse: %v", spec.Type, err)
	}
	return ev
}

// TestCatalogDecoders: each catalog row's example decodes, through the
// type's decoder, to the row's payload type; the row's stream, subject
// and manager reference are what the event reports.
func TestCatalogDecoders(t *testing.T) {
	seen := map[Type]bool{}
	for _, spec := range Catalog() {
		if seen[spec.Type] {
			t.Errorf("%s: two catalog rows", spec.Type)
		}
		seen[spec.Type] = true
		ev := catalogEvent(t, spec)
		if got, want := reflect.TypeOf(ev.Payload), reflect.TypeOf(spec.Payload); got != want {
			t.Errorf("%s: decodes to %v, the catalog says %v", spec.Type, got, want)
		}
		if ev.OpensStream() != spec.OpensStream {
			t.Errorf("%s: OpensStream %v", spec.Type, ev.OpensStream())
		}
		if got, want := ev.Type.IsManagerEvent(), spec.Subject == SubjectManager; got != want {
			t.Errorf("%s: IsManagerEvent %v, want %v", spec.Type, got, want)
		}
		refs := ev.ManagerRefs()
		switch {
		case spec.ManagerRef == nil && refs != nil:
			t.Errorf("%s: names no manager in the catalog, but ManagerRefs = %v", spec.Type, refs)
		case spec.ManagerRef != nil && (len(refs) != 1 || refs[0].ID != "am-1"):
			t.Errorf("%s: ManagerRefs = %v, want am-1 (every example with a manager reference names am-1)", spec.Type, refs)
		}
		if spec.ManagerRef != nil && spec.ManagerRef(struct{}{}) != "" {
			t.Errorf("%s: ManagerRef of a foreign payload is not empty", spec.Type)
		}
	}
	if len(seen) != len(Types()) {
		t.Errorf("%d catalog rows, %d types", len(seen), len(Types()))
	}
	if _, ok := SpecOf("no.such"); ok || Type("no.such").Known() {
		t.Error("an unknown type has a catalog row")
	}
}
