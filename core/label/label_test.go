package label

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClean(t *testing.T) {
	tests := []struct {
		in, want string
		changed  bool
	}{
		{"GitHub", "GitHub", false},
		{"  Été & Co  ", "Été & Co", false},
		{"日本語 👨‍👩‍👧", "日本語 👨👩👧", true}, // the zero-width joiners (format characters) go
		{"\x1b]52;c;aGk=\x07Bank", "]52;c;aGk=Bank", true},
		{"evil\x1b[2J", "evil[2J", true},
		{"alice\nbob", "alice bob", true},
		{"tab\there", "tab here", true},
		{"\u202eredro", "redro", true},
		{"zero\u200bwidth", "zerowidth", true},
		{"c1\u0085\u009bx", "c1 x", true},
		{"bad\xffutf8", "bad\ufffdutf8", true},
		{"\u2066isolate\u2069", "isolate", true},
		{"\u00a0nbsp", "nbsp", false}, // a no-break space is space, trimmed
	}
	for _, tc := range tests {
		got, changed := Clean(tc.in)
		if got != tc.want || changed != tc.changed {
			t.Errorf("Clean(%q) = %q, %v; want %q, %v", tc.in, got, changed, tc.want, tc.changed)
		}
	}
}

func TestTerminalAndLine(t *testing.T) {
	tests := []struct{ in, term, line string }{
		{"plain text", "plain text", "plain text"},
		{"two\nlines\tand a tab", "two\nlines\tand a tab", `two\nlines\tand a tab`},
		{"\x1b]52;c;aGk=\x07", `\x1b]52;c;aGk=\x07`, `\x1b]52;c;aGk=\x07`},
		{"\x1b[2J", `\x1b[2J`, `\x1b[2J`},
		{"\u202eabc", `\u202eabc`, `\u202eabc`},
		{"\u009b31m", `\x9b31m`, `\x9b31m`},
		{"\r\x7f", `\x0d\x7f`, `\x0d\x7f`},
		{"bad\xff", "bad\ufffd", "bad\ufffd"},
	}
	for _, tc := range tests {
		if got := Terminal(tc.in); got != tc.term {
			t.Errorf("Terminal(%q) = %q, want %q", tc.in, got, tc.term)
		}
		if got := Line(tc.in); got != tc.line {
			t.Errorf("Line(%q) = %q, want %q", tc.in, got, tc.line)
		}
	}
}

// safe reports whether s holds nothing a terminal would act on.
func safe(s string, lines bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if lines && (r == '\n' || r == '\t') {
			continue
		}
		if unsafe(r) {
			return false
		}
	}
	return true
}

// FuzzLabel: whatever goes in, Clean, Terminal and Line give text that
// holds no control, format or separator character and is valid UTF-8;
// Clean is idempotent, and text that was already safe passes unchanged.
func FuzzLabel(f *testing.F) {
	for _, s := range []string{"GitHub", "\x1b[2J", "\u202e", "a\nb", "\xff", "👨‍👩‍👧", "\u0085"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, _ := Clean(s)
		if !safe(c, false) {
			t.Fatalf("Clean(%q) = %q", s, c)
		}
		if again, changed := Clean(c); again != c || changed {
			t.Fatalf("Clean is not idempotent on %q", c)
		}
		if !safe(Terminal(s), true) || !safe(Line(s), false) {
			t.Fatalf("escape(%q): %q %q", s, Terminal(s), Line(s))
		}
		if safe(s, false) && (Line(s) != s || Terminal(s) != s) {
			t.Fatalf("safe text changed: %q", s)
		}
		if strings.Contains(Line(s), "\n") {
			t.Fatal("Line kept a newline")
		}
	})
}

func TestMatch(t *testing.T) {
	tags := []string{"Work", "bank"}
	for _, c := range []struct {
		issuer, name, q string
		want            Rank
	}{
		{"GitHub", "alice", "github", ExactMatch},
		{"GitHub", "alice", "alice", ExactMatch},
		{"GitHub", "alice", "github:alice", ExactMatch},
		{"GitHub", "alice", "hub:al", PartMatch},
		{"GitHub", "alice", "wor", PartMatch}, // a tag
		{"GitHub", "alice", "gtb", NoMatch},   // scattered letters
		{"", "alice", "alice", ExactMatch},
		{"", "alice", ":alice", NoMatch},
		{"Ünïcode", "x", "ünï", PartMatch},
	} {
		if got := Match(c.issuer, c.name, tags, c.q); got != c.want {
			t.Errorf("Match(%q, %q, %q) = %d, want %d", c.issuer, c.name, c.q, got, c.want)
		}
	}
}
