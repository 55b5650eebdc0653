package scoring

import (
	"strings"
	"unsafe"
)

// Text is a string an [Account] keeps in its Text: Len bytes from Off.
// The zero Text is "".
type Text struct {
	Off uint32 `json:"off"`
	Len uint32 `json:"len"`
}

// Str is the string t names in a.
func (a *Account) Str(t Text) string { return a.str(t) }

// str is the string t names. It shares the memory of a.Text, whose bytes
// are never written again once a string was put there (put only appends,
// and compactText copies into a new array), so the string stays as it is
// however the Account changes.
func (a *Account) str(t Text) string {
	if t.Len == 0 {
		return ""
	}
	b := a.Text[t.Off : t.Off+t.Len]
	return unsafe.String(&b[0], len(b))
}

// cmpText compares the strings x and y name.
func (a *Account) cmpText(x, y Text) int { return strings.Compare(a.str(x), a.str(y)) }

// put appends s to a.Text and returns its Text. A full Text grows by a
// quarter (into a new array: the bytes of the old one stay as they are).
func (a *Account) put(s string) Text {
	if s == "" {
		return Text{}
	}
	n := len(a.Text)
	if n+len(s) > cap(a.Text) {
		t := make([]byte, n, n+len(s)+(n+len(s))/4)
		copy(t, a.Text)
		a.Text = t
	}
	a.Text = append(a.Text, s...)
	return Text{Off: uint32(n), Len: uint32(len(s))}
}

// compactText copies the strings the records name into a new Text, once
// each (records naming equal strings end up sharing them), and drops the
// rest: the strings of pruned or merged records.
func (a *Account) compactText() {
	total := 0
	a.eachText(func(t *Text) { total += int(t.Len) })
	buf := make([]byte, 0, total)
	at := make(map[string]Text)
	a.eachText(func(t *Text) {
		if t.Len == 0 {
			return
		}
		s := a.str(*t)
		if n, ok := at[s]; ok {
			*t = n
			return
		}
		n := Text{Off: uint32(len(buf)), Len: t.Len}
		buf = append(buf, s...)
		at[s] = n
		*t = n
	})
	if len(buf) == 0 {
		buf = nil
	} else if cap(buf) > len(buf)+len(buf)/4 {
		buf = append([]byte(nil), buf...)
	}
	a.Text = buf
}

// eachText calls f with every Text handle of the records.
func (a *Account) eachText(f func(*Text)) {
	for i := range a.NPS {
		f(&a.NPS[i].Ref)
	}
	for i := range a.Meetings {
		f(&a.Meetings[i].MeetingID)
		f(&a.Meetings[i].Ref)
	}
	for i := range a.KPIs {
		f(&a.KPIs[i].Name)
		f(&a.KPIs[i].Ref)
	}
	for i := range a.Invoices {
		inv := &a.Invoices[i]
		f(&inv.ID)
		f(&inv.Ref)
		f(&inv.VoidRef)
		for j := range inv.Payments {
			f(&inv.Payments[j].Ref)
		}
	}
	for i := range a.Messages {
		m := &a.Messages[i]
		f(&m.ID)
		f(&m.Ref)
		for j := range m.Replies {
			f(&m.Replies[j].Ref)
		}
	}
}
