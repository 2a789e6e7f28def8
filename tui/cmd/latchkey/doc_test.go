package main

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the command lists of main.go and README.md")

// TestCommandListOneSource holds the package comment (the manual) and the
// README to the one command list `latchkey help` prints, built from
// commands(); -update rewrites both from it.
func TestCommandListOneSource(t *testing.T) {
	var doc, readme strings.Builder
	for _, l := range strings.SplitAfter(strings.TrimSuffix(commandList(), "\n"), "\n") {
		doc.WriteString("//\t" + strings.TrimPrefix(l, "  "))
		readme.WriteString(strings.TrimPrefix(l, "  "))
	}
	doc.WriteString("\n")
	readme.WriteString("\n")
	for _, f := range []struct {
		path, begin, end, want string
	}{
		{"main.go", "// Commands:\n//\n", "//\n// Every command takes", doc.String()},
		{"../../../README.md", "<!-- commands: TestCommandListOneSource -->\n```\n", "```\n", readme.String()},
	} {
		data, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		s := string(data)
		i := strings.Index(s, f.begin)
		if i < 0 {
			t.Fatalf("%s: no %q", f.path, f.begin)
		}
		i += len(f.begin)
		j := strings.Index(s[i:], f.end)
		if j < 0 {
			t.Fatalf("%s: no %q after the list", f.path, f.end)
		}
		if got := s[i : i+j]; got != f.want {
			if *update {
				if err := os.WriteFile(f.path, []byte(s[:i]+f.want+s[i+j:]), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			t.Errorf("%s's command list is not `latchkey help`'s (go test ./tui/cmd/latchkey/ -run TestCommandListOneSource -update):\n%s\nwant:\n%s", f.path, got, f.want)
		}
	}
}

// TestHelpListsEveryCommand: `latchkey help` names every command that
// dispatch runs, with its synopsis, and no other.
func TestHelpListsEveryCommand(t *testing.T) {
	out, _, code := call(t, "help")
	if code != 0 {
		t.Fatalf("help: exit %d", code)
	}
	for _, c := range commands() {
		listed := strings.Contains(out, "\n  latchkey "+c.name+" ") || strings.Contains(out, "\n  latchkey "+c.name+"\n")
		if listed == c.hidden {
			t.Errorf("help lists %s: %v, hidden: %v", c.name, listed, c.hidden)
		}
		if _, _, code := call(t, "help", c.name); code != 0 {
			t.Errorf("help %s: exit %d", c.name, code)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if name, ok := strings.CutPrefix(l, "  latchkey "); ok && !strings.HasPrefix(name, "<command>") {
			name, _, _ = strings.Cut(name, " ")
			if _, ok := lookup(name); !ok {
				t.Errorf("help lists %q, which is no command", name)
			}
		}
	}
}
