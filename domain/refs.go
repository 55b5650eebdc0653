package domain

// Ref is a reference from an event to another entity: the data field that
// holds it and the id it names.
type Ref struct {
	Field string // e.g. "data.manager_id"
	ID    string
}

// Stream returns the event's stream in the store: "manager-<subject>" for
// manager events, "account-<subject>" for every other type.
func (e Event) Stream() string {
	if e.Type.IsManagerEvent() {
		return "manager-" + e.Subject
	}
	return "account-" + e.Subject
}

// OpensStream reports whether the event creates its stream
// (account.opened, manager.joined: Spec.OpensStream). Every other event
// must find its stream already opened, earlier in append order.
func (e Event) OpensStream() bool {
	s, _ := SpecOf(e.Type)
	return s.OpensStream
}

// ManagerRefs lists the managers the event names (Spec.ManagerRef), each
// of which must have joined (earlier in append order): data.manager_id of
// account.opened, account.manager_assigned (unless null),
// touchpoint.recorded and time.logged. It returns nil when there are none.
func (e Event) ManagerRefs() []Ref {
	s, _ := SpecOf(e.Type)
	if s.ManagerRef == nil {
		return nil
	}
	id := s.ManagerRef(e.Payload)
	if id == "" {
		return nil
	}
	return []Ref{{Field: "data.manager_id", ID: id}}
}
