package projections_test

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/projections"
)

// The live state's size, measured by walking what the projector holds:
// every allocation reachable from it counted once, rounded up to the Go
// allocator's size class, and charged to the first field that reaches it
// (per account: Profile, Touches, Scoring.Messages, …; per projector:
// its side tables). It is an estimate of the live heap the state keeps
// (maps are estimated from their length), close to what `vitals bench`
// measures with the runtime's heap statistics.

// sizeClasses are the Go allocator's small size classes (runtime/sizeclasses.go).
var sizeClasses = []uintptr{8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256,
	288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792,
	2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728, 10240,
	10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768}

// allocSize is the bytes the allocator gives an object of n bytes.
func allocSize(n uintptr) uintptr {
	if n == 0 {
		return 0
	}
	if i, _ := slices.BinarySearch(sizeClasses, n); i < len(sizeClasses) {
		return sizeClasses[i]
	}
	return (n + 8191) &^ 8191
}

// sizer walks values and charges each allocation it has not seen to a
// category.
type sizer struct {
	seen  map[uintptr]bool
	bytes map[string]uintptr
	// count is the number of elements of each category's list or map.
	count map[string]int
}

func newSizer() *sizer {
	return &sizer{seen: map[uintptr]bool{}, bytes: map[string]uintptr{}, count: map[string]int{}}
}

// first reports whether the allocation at ptr is new.
func (s *sizer) first(ptr uintptr) bool {
	if ptr == 0 || s.seen[ptr] {
		return false
	}
	s.seen[ptr] = true
	return true
}

// inner charges to cat what v references (not v's own bytes).
func (s *sizer) inner(cat string, v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || !s.first(v.Pointer()) {
			return
		}
		e := v.Elem()
		s.bytes[cat] += allocSize(e.Type().Size())
		s.inner(cat, e)
	case reflect.Slice:
		if v.Cap() == 0 || !s.first(v.Pointer()) {
			return
		}
		s.bytes[cat] += allocSize(uintptr(v.Cap()) * v.Type().Elem().Size())
		for i := range v.Len() {
			s.inner(cat, v.Index(i))
		}
	case reflect.String:
		str := v.String()
		if len(str) > 0 && s.first(uintptr(unsafe.Pointer(unsafe.StringData(str)))) {
			s.bytes[cat] += allocSize(uintptr(len(str)))
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			return // its location is shared
		}
		for i := range v.NumField() {
			s.inner(cat, v.Field(i))
		}
	case reflect.Array:
		for i := range v.Len() {
			s.inner(cat, v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() || !s.first(v.Pointer()) {
			return
		}
		// Swiss tables: groups of 8 slots and a control word, at most
		// 7/8 full.
		slots := max(8, uintptr(v.Len())*8/7+1)
		slot := v.Type().Key().Size() + v.Type().Elem().Size()
		s.bytes[cat] += allocSize(48) + slots*slot + slots
		it := v.MapRange()
		for it.Next() {
			s.inner(cat, it.Key())
			s.inner(cat, it.Value())
		}
	case reflect.Interface:
		if !v.IsNil() {
			s.inner(cat, v.Elem())
		}
	}
}

// fields charges each field of the struct v (and of its struct fields
// named in nested) to prefix+name, and v's own bytes to self.
func (s *sizer) fields(prefix string, v reflect.Value, nested ...string) {
	for i := range v.NumField() {
		name := prefix + v.Type().Field(i).Name
		if slices.Contains(nested, v.Type().Field(i).Name) {
			s.fields(name+".", v.Field(i))
			continue
		}
		if f := v.Field(i); (f.Kind() == reflect.Slice && f.Type().Elem().Kind() != reflect.Uint8) || f.Kind() == reflect.Map {
			s.count[name] += v.Field(i).Len()
		}
		s.inner(name, v.Field(i))
	}
}

// liveSizes measures p's state: bytes by category, and the number of
// accounts.
func liveSizes(p *projections.Projector) (map[string]uintptr, map[string]int, int) {
	s := newSizer()
	pv := reflect.ValueOf(p).Elem()
	st := pv.FieldByName("state").Elem()
	accounts := st.FieldByName("Accounts")
	s.bytes["state maps"] += 0
	it := accounts.MapRange()
	for it.Next() {
		a := it.Value() // *Account
		s.first(a.Pointer())
		s.bytes["Account struct"] += allocSize(a.Elem().Type().Size())
		s.fields("", a.Elem(), "Scoring")
	}
	// The maps themselves (keys are the accounts' ids, already counted).
	s.inner("state maps", accounts)
	s.inner("managers", st.FieldByName("Managers"))
	for _, f := range []string{"cache", "sched", "dirty", "marks", "seen", "mgrCheck", "mgrWake"} {
		s.inner("projector."+f, pv.FieldByName(f))
	}
	return s.bytes, s.count, accounts.Len()
}

// maxLiveBytesPerAccount bounds what TestLiveStateSize measures.
const maxLiveBytesPerAccount = 8 << 10

// TestLiveStateSize replays a two-year demo agency and reports what its
// live state holds per account, by fact kind (run with -v for the table),
// without and with notifications (which add each subject's last derived
// state, the marks). It fails when the state without notifications takes
// more than maxLiveBytesPerAccount.
func TestLiveStateSize(t *testing.T) {
	if testing.Short() {
		t.Skip("replays a demo agency")
	}
	now := time.Date(2026, 6, 30, 0, 1, 0, 0, time.UTC)
	store := openStore(t)
	head := ingestAll(t, store, demoEvents(t, 100, 24, now), now)
	for _, notify := range []bool{false, true} {
		t.Run(fmt.Sprintf("notifications=%v", notify), func(t *testing.T) {
			cfg := projections.Config{Store: store, Scorer: newScorer(t), Now: func() time.Time { return now }, Logger: zerolog.Nop()}
			if notify {
				cfg.Transitions = discardSink{}
			}
			p := runProjector(t, cfg)
			waitFor(t, p, head)
			p.Refresh()
			total, n := reportLiveSizes(t, p)
			if per := float64(total) / float64(n); !notify && per > maxLiveBytesPerAccount {
				t.Errorf("live state is %.0f bytes per account, want ≤ %d", per, maxLiveBytesPerAccount)
			}
		})
	}
}

// discardSink takes transitions and keeps none.
type discardSink struct{}

func (discardSink) Transitions([]projections.Transition) {}
func (discardSink) Sync(context.Context) error           { return nil }

// reportLiveSizes logs the table of liveSizes and returns the total.
func reportLiveSizes(t *testing.T, p *projections.Projector) (uintptr, int) {
	t.Helper()
	// Read under the projector's lock: Stats takes it, so a query
	// through it would too; the test's projector is idle here.
	sizes, counts, n := liveSizes(p)
	type row struct {
		cat   string
		bytes uintptr
	}
	var rows []row
	var total uintptr
	for c, b := range sizes {
		rows = append(rows, row{c, b})
		total += b
	}
	slices.SortFunc(rows, func(x, y row) int { return cmp.Or(cmp.Compare(y.bytes, x.bytes), strings.Compare(x.cat, y.cat)) })
	var sb strings.Builder
	fmt.Fprintf(&sb, "live state of %d accounts: %d bytes, %.0f per account\n", n, total, float64(total)/float64(n))
	for _, r := range rows {
		if r.bytes > 0 {
			fmt.Fprintf(&sb, "  %-28s %8.0f B/account %5.1f%%", r.cat, float64(r.bytes)/float64(n), 100*float64(r.bytes)/float64(total))
			if c, ok := counts[r.cat]; ok {
				fmt.Fprintf(&sb, "  %6.1f entries/account", float64(c)/float64(n))
			}
			sb.WriteString("\n")
		}
	}
	t.Log(sb.String())
	return total, n
}
