package gobcopy

import (
	"bytes"
	"encoding/gob"
	"reflect"
	"testing"
	"time"
)

type leaf struct {
	At    time.Time
	Notes []string
	Arr   [2]int
	P     *int
}

type node struct {
	Name    string
	Leaves  map[string]*leaf
	List    []leaf
	Any     any
	Nil     *leaf
	NilMap  map[int]int
	private []int
}

func sample() *node {
	one := 1
	return &node{
		Name:    "n",
		Leaves:  map[string]*leaf{"a": {At: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Notes: []string{"x"}, Arr: [2]int{1, 2}, P: &one}},
		List:    []leaf{{Notes: []string{"y", "z"}}},
		Any:     []int{1, 2},
		private: []int{7},
	}
}

func encode(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestCopyEqualsAndIsIndependent(t *testing.T) {
	gob.Register([]int{})
	orig := sample()
	cp := Copy(orig)
	if !reflect.DeepEqual(orig, cp) {
		t.Fatalf("copy differs:\n%+v\n%+v", orig, cp)
	}
	want := encode(t, Copy(sample()))

	// Change everything gob sees in the original.
	orig.Name = "changed"
	orig.Leaves["a"].Notes[0] = "changed"
	orig.Leaves["a"].At = time.Time{}
	*orig.Leaves["a"].P = 99
	orig.Leaves["a"].Arr[0] = 99
	orig.Leaves["b"] = &leaf{}
	orig.List[0].Notes[1] = "changed"
	orig.Any.([]int)[0] = 99

	if got := encode(t, cp); !bytes.Equal(got, want) {
		t.Errorf("changing the original changed what the copy encodes to:\n%+v", cp)
	}
	if cp.Nil != nil || cp.NilMap != nil {
		t.Errorf("nil pointer or map copied as non-nil: %+v", cp)
	}
}

func TestCopyScalars(t *testing.T) {
	if got := Copy(42); got != 42 {
		t.Errorf("Copy(42) = %d", got)
	}
	if got := Copy[map[string]int](nil); got != nil {
		t.Errorf("Copy(nil map) = %v", got)
	}
}
