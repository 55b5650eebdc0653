package bolt

import "github.com/vitals-hq/vitals/eventstore"

// Guarantees implements eventstore.Guaranteer: one bbolt transaction
// commits a whole AppendMany, positions are dense and keys are kept
// forever.
func (s *Store) Guarantees() eventstore.Guarantees {
	return eventstore.Guarantees{AtomicBatch: true, DensePositions: true, DurableKeys: true}
}
