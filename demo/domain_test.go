package demo

import (
	"testing"

	"github.com/vitals-hq/vitals/domain"
)

// TestEventsPassDomainParse checks that the domain package accepts every
// generated event as it is written, and that the references it names
// (streams, managers) are satisfied in emission order.
func TestEventsPassDomainParse(t *testing.T) {
	cfg := Config{Seed: 11, Accounts: 50, Managers: 5, Months: 12, End: testEnd}
	_, lines := run(t, cfg)
	streams := map[string]bool{}
	failures := 0
	for i, line := range lines {
		e, err := domain.Parse(line, cfg.End)
		if err != nil {
			t.Errorf("event %d: domain.Parse: %v\n%s", i, err, line)
			if failures++; failures > 20 {
				t.Fatal("too many failures")
			}
			continue
		}
		if e.OpensStream() {
			if streams[e.Stream()] {
				t.Errorf("event %d opens stream %s again", i, e.Stream())
			}
			streams[e.Stream()] = true
		} else if !streams[e.Stream()] {
			t.Errorf("event %d: stream %s not opened yet", i, e.Stream())
		}
		for _, ref := range e.ManagerRefs() {
			if !streams["manager-"+ref.ID] {
				t.Errorf("event %d: %s names manager %q before it joined", i, ref.Field, ref.ID)
			}
		}
	}
}
