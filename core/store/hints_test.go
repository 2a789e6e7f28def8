package store

import (
	"maps"
	"os"
	"path/filepath"
	"testing"
)

func TestValidObjectPath(t *testing.T) {
	for p, want := range map[string]bool{
		"/":                        true,
		"/org/freedesktop/secrets": true,
		"/org/freedesktop/secrets/collection/login/138": true,
		"/a_b/C9":                       true,
		"":                              false,
		"org":                           false,
		"/org/":                         false,
		"//org":                         false,
		"/org//a":                       false,
		"/org/a-b":                      false,
		"/org/é":                        false,
		"/org/a b":                      false,
		"/" + string(make([]byte, 300)): false,
	} {
		if got := validObjectPath(p); got != want {
			t.Errorf("%q: %v, want %v", p, got, want)
		}
	}
}

// TestParseHints keeps the lines that hold an account id and an object
// path and skips everything else, and formatting gives it back.
func TestParseHints(t *testing.T) {
	in := "0123456789abcdef /org/freedesktop/secrets/collection/login/7\n" +
		"garbage\n" +
		"0123456789ABCDEF /upper/case/id\n" +
		"00000000000000aa /bad-path\n" +
		"00000000000000bb  /two/spaces\n" +
		"00000000000000cc /org/x\n" +
		"00000000000000dd /truncat"
	want := map[string]string{
		"0123456789abcdef": "/org/freedesktop/secrets/collection/login/7",
		"00000000000000cc": "/org/x",
		"00000000000000dd": "/truncat",
	}
	got := parseHints([]byte(in))
	if !maps.Equal(got, want) {
		t.Fatalf("got %v", got)
	}
	for id, p := range want {
		if l := lookupHint([]byte(in), id); l != p {
			t.Errorf("lookup %s: %q, want %q", id, l, p)
		}
	}
	for _, id := range []string{"00000000000000aa", "00000000000000bb", "0123456789ABCDEF", "0123456789abcde", "ffffffffffffffff"} {
		if l := lookupHint([]byte(in), id); l != "" {
			t.Errorf("lookup %s: %q", id, l)
		}
	}
	if back := parseHints(formatHints(got)); !maps.Equal(back, want) {
		t.Fatalf("round trip: %v", back)
	}
}

// TestItemHintsSave: what a process learned or forgot is written over
// what another process saved meanwhile, a cache left empty is removed,
// and nothing is written when nothing changed.
func TestItemHintsSave(t *testing.T) {
	home := t.TempDir()
	file := filepath.Join(home, ItemsFile)
	const a, b, c = "000000000000000a", "000000000000000b", "000000000000000c"
	if err := os.WriteFile(file, []byte(a+" /p/a\n"+b+" /p/b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newItemHints(home)
	if got := h.get(a); got != "/p/a" {
		t.Fatalf("get a: %q", got)
	}
	h.learned(c, "/p/c")
	h.learned(a, "/p/a")       // unchanged: nothing to write for it
	h.learned(b, "not a path") // ignored
	h.forget(b)
	if h.get(c) != "/p/c" || h.get(b) != "" {
		t.Fatalf("in memory: c %q, b %q", h.get(c), h.get(b))
	}
	// Another process rewrote the file since: its entry for a stays.
	if err := os.WriteFile(file, []byte(a+" /p/a2\n"+b+" /p/b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.save()
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if want := a + " /p/a2\n" + c + " /p/c\n"; string(got) != want {
		t.Fatalf("saved %q, want %q", got, want)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode: %v %v", fi.Mode(), err)
	}
	// Nothing changed: nothing written.
	os.Remove(file)
	h.save()
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("saved without changes: %v", err)
	}
	// Emptied: removed.
	if err := os.WriteFile(file, []byte(a+" /p/a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h2 := newItemHints(home)
	h2.forget(a)
	h2.save()
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("an empty cache is kept: %v", err)
	}
	entries, _ := os.ReadDir(home)
	if len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
	var none *itemHints // no cache at all: every call is a no-op
	none.learned(a, "/p")
	none.forget(a)
	none.save()
	if none.get(a) != "" {
		t.Fatal("nil cache answered")
	}
}

// FuzzParseHints: whatever the file holds, parsing keeps only valid
// entries, lookups agree with it, and formatting round-trips.
func FuzzParseHints(f *testing.F) {
	f.Add([]byte("0123456789abcdef /org/freedesktop/secrets/collection/login/7\n"))
	f.Add([]byte("0123456789abcdef /a\n0123456789abcdef /b\n\n\x00 /\n"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := parseHints(data)
		for id, p := range m {
			if !validID(id) || !validObjectPath(p) {
				t.Fatalf("kept %q %q", id, p)
			}
			if l := lookupHint(data, id); l != p {
				t.Fatalf("lookup %q: %q, parse %q", id, l, p)
			}
		}
		if back := parseHints(formatHints(m)); !maps.Equal(back, m) {
			t.Fatalf("round trip %v -> %v", m, back)
		}
	})
}
