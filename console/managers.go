package console

import "github.com/vitals-hq/vitals/projections"

// managerRef is a manager's id and name, for filters and links.
type managerRef struct {
	ID, Name string
}

// managerRefs are the active managers of capv, by id.
func managerRefs(capv projections.CapacityView) []managerRef {
	refs := make([]managerRef, 0, len(capv.Managers))
	for _, m := range capv.Managers {
		refs = append(refs, managerRef{ID: m.ID, Name: m.Name})
	}
	return refs
}

// refNames maps the refs' ids to names.
func refNames(refs []managerRef) names {
	n := make(names, len(refs))
	for _, r := range refs {
		n[r.ID] = r.Name
	}
	return n
}
