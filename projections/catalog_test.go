package projections

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/internal/gobcopy"
	"github.com/vitals-hq/vitals/scoring"
)

// catalogEvent is a valid event of spec's type (its catalog example) about
// subject, at at.
func catalogEvent(t *testing.T, spec domain.Spec, id, subject string, at time.Time) domain.Event {
	t.Helper()
	raw := fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"test","type":%q,"subject":%q,"time":%q,"data":%s}`,
		id, spec.Type, subject, at.Format(time.RFC3339), spec.Example)
	ev, err := domain.Parse([]byte(raw), at.Add(time.Hour))
	if err != nil {
		t.Fatalf("%s: %v", spec.Type, err)
	}
	return ev
}

// TestEveryCatalogTypeIsAppliedOrIgnored: an event of each catalog type
// changes the state (of an opened account and a joined manager), unless
// the type is listed in ignoredTypes — and then it changes nothing. A type
// added to the catalog and forgotten here fails.
func TestEveryCatalogTypeIsAppliedOrIgnored(t *testing.T) {
	opened := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	mustSpec := func(typ domain.Type) domain.Spec {
		s, ok := domain.SpecOf(typ)
		if !ok {
			t.Fatalf("no catalog row for %s", typ)
		}
		return s
	}
	for typ, reason := range ignoredTypes {
		if !typ.Known() {
			t.Errorf("ignoredTypes lists %s (%s), which is not in the catalog", typ, reason)
		}
	}
	for _, spec := range domain.Catalog() {
		t.Run(string(spec.Type), func(t *testing.T) {
			st := NewState()
			st.Apply(catalogEvent(t, mustSpec(domain.TypeManagerJoined), "base-1", "am-1", opened))
			st.Apply(catalogEvent(t, mustSpec(domain.TypeAccountOpened), "base-2", "acme", opened))
			st.Accounts["acme"].Latest = scoring.InstantOf(at.AddDate(10, 0, 0)) // so that only the event's facts can change
			before := gobcopy.Copy(st)

			subject := "acme"
			if spec.Subject == domain.SubjectManager {
				subject = "am-1"
			}
			st.Apply(catalogEvent(t, spec, "e-1", subject, at))
			changed := !reflect.DeepEqual(before, st)
			reason, ignored := ignoredTypes[spec.Type]
			switch {
			case ignored && changed:
				t.Errorf("%s is in ignoredTypes (%s) but changes the state", spec.Type, reason)
			case !ignored && !changed:
				t.Errorf("%s is in the catalog but the state does not apply it: add its case to State.Apply (or applyManager), or list it in ignoredTypes with the reason", spec.Type)
			}
		})
	}
}
