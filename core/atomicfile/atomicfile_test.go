package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// files lists the names in dir.
func files(t *testing.T, dir string) []string {
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

func TestWriteReplaces(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "accounts.json")
	for _, data := range []string{"first, and longer than the second", "second"} {
		if err := Write(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != data {
			t.Fatalf("read %q, %v; want %q", got, err, data)
		}
		if names := files(t, dir); len(names) != 1 {
			t.Fatalf("files left beside it: %q", names)
		}
	}
}

func TestWritePerm(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits")
	}
	dir := t.TempDir()
	for _, perm := range []os.FileMode{0o600, 0o640, 0o644} {
		p := filepath.Join(dir, "f")
		if err := Write(p, []byte("x"), perm); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != perm {
			t.Fatalf("mode %v, want %v", fi.Mode().Perm(), perm)
		}
	}
}

// TestWriteFailsCleanly makes the rename fail (path is a folder) and
// checks that the temporary file is gone and path untouched.
func TestWriteFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "taken")
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
	var le *os.LinkError
	if err := Write(p, []byte("secret"), 0o600); !errors.As(err, &le) {
		t.Fatalf("err %v, want the rename's *os.LinkError", err)
	}
	if names := files(t, dir); len(names) != 1 || names[0] != "taken" {
		t.Fatalf("files %q, want only the folder", names)
	}
	if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
		t.Fatalf("path changed: %v, %v", fi, err)
	}
	// A folder that does not exist: nothing is created.
	if err := Write(filepath.Join(dir, "missing", "f"), []byte("x"), 0o600); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err %v, want ErrNotExist", err)
	}
}

// TestWriteSyncsFolder checks that the folder is synced after the rename,
// and that its error is returned.
func TestWriteSyncsFolder(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	var synced []string
	fail := errors.New("sync failed")
	err := write(p, []byte("x"), 0o600, func(d string) error {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("folder synced before the rename: %v", err)
		}
		synced = append(synced, d)
		return fail
	})
	if !errors.Is(err, fail) {
		t.Fatalf("err %v, want the sync's", err)
	}
	if len(synced) != 1 || synced[0] != dir {
		t.Fatalf("synced %q, want [%q]", synced, dir)
	}
	if err := syncDir(dir); err != nil {
		t.Fatalf("syncDir: %v", err)
	}
}
