package domain

import "encoding/json"

// Opt is a tri-state field of an update event: absent (Set false: leave the
// value unchanged), null (Set and Null: clear it or derive it again, per
// field) or a value (Set, not Null: Value).
type Opt[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// Some returns an Opt holding v.
func Some[T any](v T) Opt[T] { return Opt[T]{Set: true, Value: v} }

// Null returns an Opt that is explicitly null.
func Null[T any]() Opt[T] { return Opt[T]{Set: true, Null: true} }

// IsZero reports whether the field is absent, so that a struct field tagged
// `json:",omitzero"` is left out when absent.
func (o Opt[T]) IsZero() bool { return !o.Set }

// MarshalJSON writes null for a null (or absent) field and the value
// otherwise.
func (o Opt[T]) MarshalJSON() ([]byte, error) {
	if !o.Set || o.Null {
		return []byte("null"), nil
	}
	return json.Marshal(o.Value)
}
