// Package gobcopy copies the part of a value that encoding/gob encodes, so
// that a consistent copy can be taken quickly under a lock and encoded
// (slowly) after it is released.
package gobcopy

import (
	"encoding"
	"encoding/gob"
	"reflect"
)

// Copy returns a deep copy of v as far as encoding/gob sees it: pointers,
// maps, slices, arrays, interfaces and the exported fields of structs are
// copied all the way down, so that changing v afterwards does not change
// what the copy encodes to. Unexported fields are copied by value only
// (gob ignores them; a pointer, map or slice among them stays shared), and
// a value that encodes itself (gob.GobEncoder, encoding.BinaryMarshaler,
// like time.Time) is copied by value. v must have no cycles, as gob
// requires.
func Copy[T any](v T) T {
	src := reflect.ValueOf(&v).Elem()
	dst := reflect.New(src.Type()).Elem()
	copyValue(dst, src)
	return dst.Interface().(T)
}

// The interfaces of a type that gob encodes through its own method.
var (
	gobEncoder      = reflect.TypeFor[gob.GobEncoder]()
	binaryMarshaler = reflect.TypeFor[encoding.BinaryMarshaler]()
)

// encodesItself reports whether gob encodes t through its own method.
func encodesItself(t reflect.Type) bool {
	return t.Implements(gobEncoder) || t.Implements(binaryMarshaler) ||
		reflect.PointerTo(t).Implements(gobEncoder) || reflect.PointerTo(t).Implements(binaryMarshaler)
}

// copyValue sets dst, a settable zero value of src's type, to a deep copy
// of src.
func copyValue(dst, src reflect.Value) {
	t := src.Type()
	if (t.Kind() == reflect.Struct || t.Kind() == reflect.Array) && encodesItself(t) {
		dst.Set(src)
		return
	}
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(t.Elem())
		copyValue(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Map:
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(t, src.Len())
		it := src.MapRange()
		for it.Next() {
			k := reflect.New(t.Key()).Elem()
			copyValue(k, it.Key())
			e := reflect.New(t.Elem()).Elem()
			copyValue(e, it.Value())
			m.SetMapIndex(k, e)
		}
		dst.Set(m)
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(t, src.Len(), src.Len())
		for i := range src.Len() {
			copyValue(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case reflect.Array:
		for i := range src.Len() {
			copyValue(dst.Index(i), src.Index(i))
		}
	case reflect.Interface:
		if src.IsNil() {
			return
		}
		e := reflect.New(src.Elem().Type()).Elem()
		copyValue(e, src.Elem())
		dst.Set(e)
	case reflect.Struct:
		dst.Set(src) // unexported fields by value
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				f := dst.Field(i)
				f.SetZero()
				copyValue(f, src.Field(i))
			}
		}
	default:
		dst.Set(src)
	}
}
