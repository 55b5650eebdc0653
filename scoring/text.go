package scoring

import (
	"cmp"
	"fmt"
	"strings"
	"unsafe"
)

// Strings keeps strings compactly, one after another in a byte arena
// (Text), each named by a [Text] handle of 8 bytes: no string header of 16
// bytes and allocation of its own per string. Its zero value is empty.
// Bytes once put in Text are never written again (put only appends, and
// Compact copies into a new array), so a string read from it stays as it
// is however the Strings change. An [Account] keeps its facts' strings in
// one; the projections keep a manager's time entries' refs in another.
type Strings struct {
	Text []byte `json:"text,omitempty"`
	// Prefixes are the parts before the last slash of the strings kept
	// in Text (the sources of refs), each once (see [Text]).
	Prefixes []Text `json:"prefixes,omitempty"`
}

// Text is a string kept in a [Strings]. A string with a slash is kept as
// the part after its last slash, and the part before it (an event's
// source, in a ref "source/id") once per Strings, in Prefixes:
//
//   - Off is where the kept part starts in Text;
//   - Len holds its length (the low 24 bits) and, in the high 8 bits, 0
//     for a string kept whole or i+1 for the prefix Prefixes[i].
//
// The zero Text is "". A string is at most 16 MiB − 1 bytes long.
type Text struct {
	Off uint32 `json:"off"`
	Len uint32 `json:"len"`
}

const (
	textLenBits = 24
	textMaxLen  = 1<<textLenBits - 1
	maxPrefixes = 255
)

func (t Text) n() uint32   { return t.Len & textMaxLen }
func (t Text) src() uint32 { return t.Len >> textLenBits }

// Str is the string t names: for one kept whole, it shares the memory of
// Text; for one with a prefix, a new string.
func (a *Strings) Str(t Text) string { return a.str(t) }

// str is Str.
func (a *Strings) str(t Text) string {
	v := a.view(t)
	if v[1] == "" {
		return v[0]
	}
	return v[0] + v[1] + v[2]
}

// raw is the part of t kept in Text.
func (a *Strings) raw(t Text) string {
	n := t.n()
	if n == 0 {
		return ""
	}
	b := a.Text[t.Off : t.Off+n]
	return unsafe.String(&b[0], len(b))
}

// view is t's string as up to three pieces: the prefix, "/" and the kept
// part, or the string kept whole alone.
func (a *Strings) view(t Text) [3]string {
	if s := t.src(); s > 0 {
		return [3]string{a.raw(a.Prefixes[s-1]), "/", a.raw(t)}
	}
	return [3]string{a.raw(t)}
}

// CompareText compares the strings x and y name, without building them.
func (a *Strings) CompareText(x, y Text) int { return cmpPieces(a.view(x), a.view(y)) }

// Compare compares the string x names with s, without building it.
func (a *Strings) Compare(x Text, s string) int { return cmpPieces(a.view(x), [3]string{s}) }

// cmpText and cmpStr are CompareText and Compare.
func (a *Strings) cmpText(x, y Text) int       { return a.CompareText(x, y) }
func (a *Strings) cmpStr(x Text, s string) int { return a.Compare(x, s) }

// cmpPieces compares the concatenations of x's and y's pieces.
func cmpPieces(x, y [3]string) int {
	i, j := 0, 0
	xs, ys := x[0], y[0]
	for {
		for xs == "" && i < len(x)-1 {
			i++
			xs = x[i]
		}
		for ys == "" && j < len(y)-1 {
			j++
			ys = y[j]
		}
		if xs == "" || ys == "" {
			return cmp.Compare(len(xs), len(ys))
		}
		n := min(len(xs), len(ys))
		if c := strings.Compare(xs[:n], ys[:n]); c != 0 {
			return c
		}
		xs, ys = xs[n:], ys[n:]
	}
}

// Put keeps s and returns its Text: the string s is, read back by Str.
func (a *Strings) Put(s string) Text { return a.put(s) }

// put keeps s in a and returns its Text: the part after its last slash
// appended to Text, with the part before it among Prefixes (added when
// new, unless there are maxPrefixes already: then s is kept whole). A full
// Text grows by a quarter, into a new array: the bytes of the old one stay
// as they are.
func (a *Strings) put(s string) Text {
	if len(s) > textMaxLen {
		panic(fmt.Sprintf("scoring: a fact's string of %d bytes is longer than %d", len(s), textMaxLen))
	}
	src := uint32(0)
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		if p, ok := a.prefix(s[:i]); ok {
			src, s = p+1, s[i+1:]
		}
	}
	t := a.append(s)
	t.Len |= src << textLenBits
	return t
}

// prefix is the index of p in Prefixes, adding it if needed.
func (a *Strings) prefix(p string) (uint32, bool) {
	for i, t := range a.Prefixes {
		if a.raw(t) == p {
			return uint32(i), true
		}
	}
	if len(a.Prefixes) >= maxPrefixes {
		return 0, false
	}
	a.Prefixes = append(a.Prefixes, a.append(p))
	return uint32(len(a.Prefixes) - 1), true
}

// append appends s to Text, kept whole.
func (a *Strings) append(s string) Text {
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

// compactText compacts the account's strings to those its records name.
func (a *Account) compactText() { a.Compact(a.eachText) }

// Compact copies the strings that each names (it calls its argument with
// every handle in use) into a new Text, once each (handles naming equal
// strings end up sharing them), keeps the prefixes they use, and drops the
// rest: the strings of pruned or merged records.
func (a *Strings) Compact(each func(f func(*Text))) {
	type key struct {
		src  uint32
		rest string
	}
	total := 0
	used := make([]bool, len(a.Prefixes))
	each(func(t *Text) {
		total += int(t.n())
		if s := t.src(); s > 0 {
			used[s-1] = true
		}
	})
	buf := make([]byte, 0, total)
	add := func(s string) Text {
		t := Text{Off: uint32(len(buf)), Len: uint32(len(s))}
		buf = append(buf, s...)
		return t
	}
	var prefixes []Text
	newSrc := make([]uint32, len(a.Prefixes))
	for i, p := range a.Prefixes {
		if used[i] {
			prefixes = append(prefixes, add(a.raw(p)))
			newSrc[i] = uint32(len(prefixes))
		}
	}
	at := make(map[key]Text)
	each(func(t *Text) {
		if t.n() == 0 && t.src() == 0 {
			return
		}
		k := key{rest: a.raw(*t)}
		if s := t.src(); s > 0 {
			k.src = newSrc[s-1]
		}
		if n, ok := at[k]; ok {
			*t = n
			return
		}
		n := add(k.rest)
		n.Len |= k.src << textLenBits
		at[k] = n
		*t = n
	})
	if len(buf) == 0 {
		buf = nil
	} else if cap(buf) > len(buf)+len(buf)/4 {
		buf = append([]byte(nil), buf...)
	}
	a.Text, a.Prefixes = buf, prefixes
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
