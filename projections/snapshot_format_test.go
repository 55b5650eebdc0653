package projections

import (
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"encoding/gob"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/scoring"
)

// snapshotFingerprint is the fingerprint (snapshotLayout, hashed) of the
// types snapshot format snapshotFingerprintVersion encodes. gob decodes a
// snapshot whose types lack a field with that field zero, so a fact added
// to the state without a new format would come up empty after an upgrade
// and disagree with a rebuild. When TestSnapshotFormatIsVersioned fails:
// bump snapshotVersion (say what it adds in its comment), then set both
// constants here to what the test prints.
const (
	snapshotFingerprintVersion = 6
	snapshotFingerprint        = "a8c782f79c2041ca"
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

// TestOlderSnapshotFormatIsReplayed: a snapshot written by the previous
// format (before the compact live state) is refused with its format named,
// and a projector given it starts from the log instead of from it.
func TestOlderSnapshotFormatIsReplayed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "snapshot")
	st := NewState()
	st.account("acme").Opened = true
	if err := writeSnapshot(path, &snapshot{Position: 42, State: st}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	binary.BigEndian.PutUint32(data[8:12], snapshotVersion-1)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = readSnapshot(path)
	if want := fmt.Sprintf("has format %d, want %d", snapshotVersion-1, snapshotVersion); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("readSnapshot of an older format: %v, want an error saying %q", err, want)
	}
	scorer, err := scoring.New(scoring.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Store: emptyStore{}, Scorer: scorer, SnapshotPath: path})
	if err != nil {
		t.Fatal(err)
	}
	if p.pos != 0 || len(p.state.Accounts) != 0 {
		t.Errorf("the projector resumed from an older snapshot: position %d, %d accounts", p.pos, len(p.state.Accounts))
	}
}

// emptyStore is a store New may hold but never reads.
type emptyStore struct{ eventstore.Store }
