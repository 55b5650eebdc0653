package esdb

import (
	"testing"

	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/esdb/esdbtest"
	"github.com/vitals-hq/vitals/eventstore/eventstoretest"
)

// TestConformanceProtocolServer runs the conformance suite against the
// protocol-level test server, with the features a real server has.
func TestConformanceProtocolServer(t *testing.T) {
	eventstoretest.Run(t, eventstoretest.Features{Reopen: true},
		func(t *testing.T) (eventstore.Store, func() eventstore.Store) {
			srv := esdbtest.Start(t, esdbtest.Options{})
			open := func() eventstore.Store { return openServer(t, srv.URL(0, ""), Options{}) }
			return open(), open
		})
}
