package app

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"latchkey/app/ui"
	"latchkey/core/store"
)

// The theme is saved in desktop.json in LATCHKEY_HOME (0600, replaced
// atomically), read back at the next start; nothing goes under HOME.
func TestSettingsInStoreHome(t *testing.T) {
	home := filepath.Join(t.TempDir(), "latchkey") // not created yet
	userHome := t.TempDir()
	env := map[string]string{"LATCHKEY_HOME": home, "HOME": userHome}
	d, err := newDeps(func(k string) string { return env[k] }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := d.LoadSettings(); err != nil || s != (ui.Settings{}) {
		t.Fatalf("before any save: %+v, %v", s, err)
	}
	if err := d.SaveSettings(ui.Settings{Theme: "dark"}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(home, store.DesktopFile)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v %v", path, fi, err)
	}
	if fi, err := os.Stat(home); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("home folder: %v %v", fi, err)
	}
	data, _ := os.ReadFile(path)
	if string(data) != "{\n  \"theme\": \"dark\"\n}\n" {
		t.Errorf("desktop.json = %q", data)
	}
	again, err := newDeps(func(k string) string { return env[k] }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := again.LoadSettings(); err != nil || s.Theme != "dark" {
		t.Errorf("read back: %+v, %v", s, err)
	}
	_ = filepath.WalkDir(userHome, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			t.Errorf("a file under HOME: %s", p)
		}
		return nil
	})

	// A damaged file is an error (the app then uses the defaults).
	if err := os.WriteFile(path, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := again.LoadSettings(); err == nil {
		t.Error("a damaged desktop.json was read without error")
	}
}
