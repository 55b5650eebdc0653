package projections

import "time"

// entry is a scheduled re-score of an account, or (manager set) a
// manager's capacity check.
type entry struct {
	at      time.Time
	id      string
	gen     uint64
	manager bool
}

// schedule is a min-heap of entries by instant.
type schedule []entry

func (s schedule) Len() int           { return len(s) }
func (s schedule) Less(i, j int) bool { return s[i].at.Before(s[j].at) }
func (s schedule) Swap(i, j int)      { s[i], s[j] = s[j], s[i] }
func (s *schedule) Push(x any)        { *s = append(*s, x.(entry)) }
func (s *schedule) Pop() any {
	old := *s
	e := old[len(old)-1]
	*s = old[:len(old)-1]
	return e
}
