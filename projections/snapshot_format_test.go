package projections

import (
	"crypto/sha256"
	"encoding"
	"encoding/gob"
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// snapshotFingerprint is the fingerprint (snapshotLayout, hashed) of the
// types snapshot format snapshotFingerprintVersion encodes. gob decodes a
// snapshot whose types lack a field with that field zero, so a fact added
// to the state without a new format would come up empty after an upgrade
// and disagree with a rebuild. When TestSnapshotFormatIsVersioned fails:
// bump snapshotVersion (say what it adds in its comment), then set both
// constants here to what the test prints.
const (
	snapshotFingerprintVersion = 4
	snapshotFingerprint        = "306e10b9f9b8024d"
)

// TestSnapshotFormatIsVersioned: the encoded types of a snapshot have not
// changed since snapshotVersion was last set.
func TestSnapshotFormatIsVersioned(t *testing.T) {
	layout := snapshotLayout(reflect.TypeFor[snapshot]())
	sum := sha256.Sum256([]byte(layout))
	got := hex.EncodeToString(sum[:8])
	if got != snapshotFingerprint || snapshotVersion != snapshotFingerprintVersion {
		t.Fatalf("the snapshot's encoded types are %s at format %d; the test knows %s at format %d.\n"+
			"If the types changed, bump snapshotVersion in snapshot.go and set snapshotFingerprintVersion = %d and "+
			"snapshotFingerprint = %q in this file. The layout:\n%s",
			got, snapshotVersion, snapshotFingerprint, snapshotFingerprintVersion, snapshotVersion, got, layout)
	}
}

// TestSnapshotLayoutSeesEveryEncodedField: the layout changes when an
// exported field is added anywhere below snapshot, and not for what gob
// leaves out.
func TestSnapshotLayoutSeesEveryEncodedField(t *testing.T) {
	type inner struct{ A int }
	type before struct{ M map[string]*inner }
	type innerMore struct {
		A int
		B string
	}
	type after struct{ M map[string]*innerMore }
	type private struct {
		M map[string]*inner
		//lint:ignore U1000 unexported: gob leaves it out, and so must the layout
		x int
	}
	b := snapshotLayout(reflect.TypeFor[before]())
	if a := snapshotLayout(reflect.TypeFor[after]()); a == b {
		t.Errorf("a field added two levels down leaves the layout as it was:\n%s", a)
	}
	if p := snapshotLayout(reflect.TypeFor[private]()); p != b {
		t.Errorf("an unexported field changed the layout:\n%s\n%s", b, p)
	}
}

// snapshotLayout describes the fields gob encodes for t, all the way
// down, as gob matches them: by field name and kind, not by the names of
// the types (a type renamed or moved keeps its layout). A struct reached
// again inside itself is named instead (gob allows recursive types).
func snapshotLayout(t reflect.Type) string {
	var b strings.Builder
	open := map[reflect.Type]bool{}
	var walk func(t reflect.Type, indent string)
	walk = func(t reflect.Type, indent string) {
		if t.Implements(reflect.TypeFor[gob.GobEncoder]()) || t.Implements(reflect.TypeFor[encoding.BinaryMarshaler]()) {
			b.WriteString(t.String() + " (encodes itself)")
			return
		}
		switch t.Kind() {
		case reflect.Pointer:
			b.WriteString("*")
			walk(t.Elem(), indent)
		case reflect.Slice:
			b.WriteString("[]")
			walk(t.Elem(), indent)
		case reflect.Array:
			fmt.Fprintf(&b, "[%d]", t.Len())
			walk(t.Elem(), indent)
		case reflect.Map:
			b.WriteString("map[")
			walk(t.Key(), indent)
			b.WriteString("]")
			walk(t.Elem(), indent)
		case reflect.Struct:
			if open[t] {
				b.WriteString("recursive " + t.String())
				return
			}
			open[t] = true
			b.WriteString("{")
			for i := range t.NumField() {
				f := t.Field(i)
				if !f.IsExported() || f.Type.Kind() == reflect.Chan || f.Type.Kind() == reflect.Func {
					continue
				}
				b.WriteString("\n" + indent + "  " + f.Name + " ")
				walk(f.Type, indent+"  ")
			}
			b.WriteString("\n" + indent + "}")
			delete(open, t)
		default:
			b.WriteString(t.Kind().String())
		}
	}
	walk(t, "")
	return b.String()
}
