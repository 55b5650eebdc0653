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
	c := copier{flat: make(map[reflect.Type]bool)}
	c.copyValue(dst, src)
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

// copier copies one value; flat remembers, per type, whether a copy by
// value is already deep (see isFlat).
type copier struct {
	flat map[reflect.Type]bool
}

// isFlat reports whether copying a value of t by value copies everything
// gob encodes of it: nothing reachable through its exported fields is a
// pointer, map, slice or interface, or it encodes itself.
func (c *copier) isFlat(t reflect.Type) bool {
	if f, ok := c.flat[t]; ok {
		return f
	}
	c.flat[t] = false // a recursive type is not flat
	f := false
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
	case reflect.Array:
		f = encodesItself(t) || c.isFlat(t.Elem())
	case reflect.Struct:
		f = true
		if !encodesItself(t) {
			for i := range t.NumField() {
				if t.Field(i).IsExported() && !c.isFlat(t.Field(i).Type) {
					f = false
					break
				}
			}
		}
	default:
		f = true
	}
	c.flat[t] = f
	return f
}

// copyValue sets dst, a settable zero value of src's type, to a deep copy
// of src.
func (c *copier) copyValue(dst, src reflect.Value) {
	t := src.Type()
	if c.isFlat(t) {
		dst.Set(src)
		return
	}
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(t.Elem())
		c.copyValue(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Map:
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(t, src.Len())
		k := reflect.New(t.Key()).Elem()
		e := reflect.New(t.Elem()).Elem()
		it := src.MapRange()
		for it.Next() {
			k.SetZero()
			c.copyValue(k, it.Key())
			e.SetZero()
			c.copyValue(e, it.Value())
			m.SetMapIndex(k, e)
		}
		dst.Set(m)
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(t, src.Len(), src.Len())
		if c.isFlat(t.Elem()) {
			reflect.Copy(s, src)
		} else {
			for i := range src.Len() {
				c.copyValue(s.Index(i), src.Index(i))
			}
		}
		dst.Set(s)
	case reflect.Array:
		for i := range src.Len() {
			c.copyValue(dst.Index(i), src.Index(i))
		}
	case reflect.Interface:
		if src.IsNil() {
			return
		}
		e := reflect.New(src.Elem().Type()).Elem()
		c.copyValue(e, src.Elem())
		dst.Set(e)
	case reflect.Struct:
		dst.Set(src) // unexported fields by value
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				f := dst.Field(i)
				f.SetZero()
				c.copyValue(f, src.Field(i))
			}
		}
	default:
		dst.Set(src)
	}
}
