package demo

// item is an event waiting in the queue for its day to be complete.
type item struct {
	at      int64 // Unix seconds
	prio    uint8 // lower first among equal times (account.opened is 0)
	seq     uint64
	acct    int32 // account index, -1 for manager events
	typ     string
	subject string
	data    map[string]any
}

// before orders items by time, then priority, then creation order.
func (a *item) before(b *item) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	if a.prio != b.prio {
		return a.prio < b.prio
	}
	return a.seq < b.seq
}

// queue is a binary min-heap of items.
type queue []item

func (q *queue) push(it item) {
	*q = append(*q, it)
	h := *q
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].before(&h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

// pop removes and returns the first item; the queue must not be empty.
func (q *queue) pop() item {
	h := *q
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h[n] = item{} // drop references for the garbage collector
	h = h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h[r].before(&h[l]) {
			m = r
		}
		if !h[m].before(&h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}
