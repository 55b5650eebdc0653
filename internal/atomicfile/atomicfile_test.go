package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// entries lists the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFileReplacesWithModeAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("new"), Options{Perm: 0o640}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "new" {
		t.Fatalf("content %q, %v; want new", got, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Errorf("directory holds %v, want only f", names)
	}
}

func TestDefaultModeIs0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := WriteFile(path, []byte("x"), Options{}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestFailedFillKeepsOldFileAndRemovesTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(path, Options{TempPrefix: ".x-"}, func(w io.Writer) error {
		w.Write([]byte("half"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want boom", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Errorf("content %q after a failed write, want old", got)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Errorf("directory holds %v, want only f", names)
	}
}

func TestMkdirAll(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "f")
	if err := WriteFile(path, []byte("x"), Options{}); err == nil {
		t.Fatal("write into a missing directory without MkdirAll succeeded")
	}
	if err := WriteFile(path, []byte("x"), Options{MkdirAll: true}); err != nil {
		t.Fatal(err)
	}
}

func TestCreateNewRefusesAnExistingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := CreateNew(path, []byte("first"), Options{}); err != nil {
		t.Fatal(err)
	}
	err := CreateNew(path, []byte("second"), Options{})
	if !errors.Is(err, os.ErrExist) {
		t.Fatalf("second create: %v, want os.ErrExist", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "first" {
		t.Errorf("content %q, want first", got)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Errorf("directory holds %v, want only f", names)
	}
}

// TestDirectoryIsSyncedAfterInstall: the directory is synced after the
// file is in place (a rename not yet on disk is lost at a power cut).
func TestDirectoryIsSyncedAfterInstall(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	var synced []string
	syncDir := func(d string) error {
		if _, err := os.Stat(path); err != nil {
			t.Errorf("directory synced before the file was installed: %v", err)
		}
		synced = append(synced, d)
		return nil
	}
	fill := func(w io.Writer) error { _, err := w.Write([]byte("x")); return err }
	for name, install := range map[string]func(string, string) error{"rename": os.Rename, "link": os.Link} {
		os.Remove(path)
		synced = nil
		if err := write(path, Options{}, fill, install, syncDir); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(synced) != 1 || synced[0] != dir {
			t.Errorf("%s: synced directories %v, want [%s]", name, synced, dir)
		}
	}
	if err := SyncDir(dir); err != nil {
		t.Errorf("SyncDir: %v", err)
	}
}
