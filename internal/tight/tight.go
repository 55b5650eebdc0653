// Package tight keeps sorted fact lists without the spare room the
// standard growth leaves: the lists live as long as their account, so a
// list grown by doubling would hold up to half its memory unused.
package tight

import (
	"slices"
	"time"
)

// Insert is slices.Insert of one element that grows a full s by a quarter
// instead of doubling it.
func Insert[T any](s []T, i int, v T) []T {
	if len(s) < cap(s) {
		return slices.Insert(s, i, v)
	}
	t := make([]T, len(s)+1, len(s)+1+len(s)/4)
	copy(t, s[:i])
	t[i] = v
	copy(t[i+1:], s[i:])
	return t
}

// Clip gives back the spare capacity of a list that lost elements: one
// with more room than Insert would leave is copied to one of its length
// (nil when empty), so a long history does not leave its high-water
// capacity behind.
func Clip[T any](s []T) []T {
	switch {
	case len(s) == 0:
		return nil
	case cap(s) <= len(s)+len(s)/4+1:
		return s
	}
	return slices.Clone(s[:len(s):len(s)])
}

// KeepFromLast drops the elements of the time-sorted s before the last one
// with time ≤ from (none when no element has).
func KeepFromLast[T any](s []T, from time.Time, at func(T) time.Time) []T {
	i, _ := slices.BinarySearchFunc(s, from, func(x T, t time.Time) int {
		if at(x).After(t) {
			return 1
		}
		return -1
	})
	// i is the number of elements with time ≤ from.
	if i <= 1 {
		return s
	}
	return slices.Delete(s, 0, i-1)
}
