package domain

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocsCatalog keeps docs/events.md in step with the code: every type
// has a section, every section is a known type, and every JSON example is
// a valid event.
func TestDocsCatalog(t *testing.T) {
	b, err := os.ReadFile("../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	sections := map[Type]bool{}
	for _, line := range strings.Split(doc, "\n") {
		if name, ok := strings.CutPrefix(line, "### `"); ok {
			typ := Type(strings.TrimSuffix(name, "`"))
			if !typ.Known() {
				t.Errorf("docs section for unknown type %q", typ)
			}
			sections[typ] = true
		}
	}
	for _, typ := range Types() {
		if !sections[typ] {
			t.Errorf("docs/events.md has no section for %s", typ)
		}
	}

	examples := 0
	for _, block := range strings.Split(doc, "```json\n")[1:] {
		src, _, ok := strings.Cut(block, "```")
		if !ok {
			t.Fatalf("unterminated json block")
		}
		examples++
		if _, err := Parse([]byte(src), testNow); err != nil {
			t.Errorf("example %d: %v\n%s", examples, err, src)
		}
	}
	if examples < 5 {
		t.Errorf("only %d examples", examples)
	}

	// Every message quoted in the errors table occurs in the code.
	var src strings.Builder
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			src.Write(b)
		}
	}
	_, table, _ := strings.Cut(doc, "| message | meaning |")
	table, _, _ = strings.Cut(table, "\n\n")
	checked := 0
	for _, row := range strings.Split(table, "\n")[2:] {
		msg, _, _ := strings.Cut(strings.TrimPrefix(row, "| `"), "`")
		if strings.Contains(msg, `"`) {
			continue // formatted with the offending value
		}
		checked++
		if !strings.Contains(src.String(), msg) {
			t.Errorf("docs message %q not found in the code", msg)
		}
	}
	if checked < 5 {
		t.Errorf("checked only %d messages of the errors table", checked)
	}
}
