package domain

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// FuzzDecodeObjectFast checks the fast path of decodeObject against the
// reference: whatever decodeObjectFast accepts, decodeObjectSlow accepts
// too, with the same members, for a new event and for a stored one.
func FuzzDecodeObjectFast(f *testing.F) {
	for _, tt := range validPayloads {
		f.Add(event(string(tt.typ), tt.data))
		f.Add([]byte(tt.data))
	}
	for _, s := range []string{
		`{"a":1,"a":2}`, `{"a":{"b":1,"b":2}}`, `{"\u0061":1,"a":2}`, `{"a":"\ud800"}`, `{"a":"\ud83d\ude00"}`,
		`{"a":1} x`, `{"a":1}  `, ` {"a" : [1, {"b":null}] }`, `{"":1}`, `{"a":"\u00e9\n"}`, `[1]`, `{"a":1,}`,
	} {
		f.Add([]byte(s))
	}
	addCorpus(f, "testdata/fuzz/FuzzDecodeEvent")
	f.Fuzz(func(t *testing.T, raw []byte) {
		fast, ok := decodeObjectFast(new(jsontext.Decoder), raw, "data.")
		if !ok {
			return
		}
		for _, ingest := range []bool{true, false} {
			slow, ferr := decodeObjectSlow(raw, "data", "data.", ingest)
			if ferr != nil {
				t.Fatalf("fast path accepted %q, slow path (ingest %v) rejects it: %v", raw, ingest, ferr)
			}
			if len(fast.members)+len(slow.members) > 0 && !reflect.DeepEqual(fast, slow) {
				t.Fatalf("fast and slow paths disagree on %q\nfast %#v\nslow %#v", raw, fast, slow)
			}
		}
	})
}

// addCorpus adds the inputs of a fuzz corpus directory (go test fuzz v1
// files holding one []byte) to f.
func addCorpus(f *testing.F, dir string) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if q, ok := strings.CutPrefix(line, "[]byte("); ok {
				s, err := strconv.Unquote(strings.TrimSuffix(q, ")"))
				if err != nil {
					f.Fatalf("%s: %v", name, err)
				}
				f.Add([]byte(s))
			}
		}
	}
}

func TestCompact(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{`{"a":"x y"}`, true}, {`{"a": 1}`, false}, {`{"a":"\" "}`, true}, {`{"a":"\\"}`, true},
		{`{"a":"\\" , "b":1}`, false}, {"{\"a\":1}\n", false}, {`[1,2]`, true},
	} {
		if got := compact([]byte(tt.in)); got != tt.want {
			t.Errorf("compact(%s) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
