package tight

import (
	"slices"
	"testing"
	"time"
)

func TestInsertGrowsByAQuarter(t *testing.T) {
	s := make([]int, 8)
	s = Insert(s, 3, 42)
	if len(s) != 9 || cap(s) != 11 || s[3] != 42 {
		t.Fatalf("len %d cap %d s[3] %d; want 9, 11, 42", len(s), cap(s), s[3])
	}
	s = Insert(s, 9, 7) // room left: in place
	if len(s) != 10 || cap(s) != 11 || s[9] != 7 {
		t.Fatalf("len %d cap %d; want 10, 11", len(s), cap(s))
	}
}

func TestClip(t *testing.T) {
	if Clip(make([]int, 0, 10)) != nil {
		t.Error("an empty list is not nil")
	}
	if s := make([]int, 8, 11); cap(Clip(s)) != 11 {
		t.Error("a list within a quarter's room was copied")
	}
	if s := make([]int, 4, 100); cap(Clip(s)) != 4 {
		t.Error("a list with much room kept it")
	}
}

func TestKeepFromLast(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d int) time.Time { return t0.AddDate(0, 0, d) }
	days := []int{1, 3, 5, 7}
	for _, c := range []struct {
		from int
		want []int
	}{{0, []int{1, 3, 5, 7}}, {1, []int{1, 3, 5, 7}}, {4, []int{3, 5, 7}}, {5, []int{5, 7}}, {9, []int{7}}} {
		got := KeepFromLast(slices.Clone(days), at(c.from), at)
		if !slices.Equal(got, c.want) {
			t.Errorf("from day %d: %v, want %v", c.from, got, c.want)
		}
	}
}
