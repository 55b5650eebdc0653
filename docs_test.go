// Package vitals_test holds checks on the repository as a whole.
package vitals_test

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// missingSpec matches a citation of a specification file that is not in
// the repository: the word SPEC in capitals, as in a section citation, the
// file name SPEC.md or "the SPEC defaults". The repository's own documents
// are the contract: README.md, ARCHITECTURE.md and docs/*.md.
var missingSpec = regexp.MustCompile(`\bSPEC\b`)

// TestNoCitationOfMissingSpec fails when a tracked file cites the
// specification that is not in the repository; cite README.md,
// ARCHITECTURE.md or a file of docs/ instead, and write the rule there.
func TestNoCitationOfMissingSpec(t *testing.T) {
	files := trackedFiles(t)
	if len(files) < 50 {
		t.Fatalf("found only %d files; the listing is broken", len(files))
	}
	for _, f := range files {
		if f == "docs_test.go" {
			continue // this file names the pattern
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range bytes.Split(b, []byte("\n")) {
			if m := missingSpec.Find(line); m != nil {
				t.Errorf("%s:%d cites %q, a file that is not in the repository: cite README.md, ARCHITECTURE.md or docs/ instead", f, i+1, m)
			}
		}
	}
}

// trackedFiles lists the files git tracks, or, without git or outside a
// git checkout, every file below the repository root except hidden
// directories and what .gitignore names (vitals-data, bin).
func trackedFiles(t *testing.T) []string {
	t.Helper()
	if out, err := exec.Command("git", "ls-files", "-z").Output(); err == nil && len(out) > 0 {
		var files []string
		for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
			if _, err := os.Lstat(f); err == nil { // deleted in the work tree
				files = append(files, f)
			}
		}
		return files
	}
	var files []string
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != "." && (strings.HasPrefix(d.Name(), ".") || p == "vitals-data" || p == "bin") {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
