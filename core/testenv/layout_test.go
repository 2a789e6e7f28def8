package testenv

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// pkg is what `go list -json` says of one package.
type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// listPackages runs `go list -json` over the whole module.
func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "latchkey/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var ps []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	if len(ps) < 10 {
		t.Fatalf("go list found %d packages", len(ps))
	}
	return ps
}

func under(path string, roots ...string) bool {
	for _, r := range roots {
		if path == r || strings.HasPrefix(path, r+"/") {
			return true
		}
	}
	return false
}

// TestImportBoundaries holds the layout of DESIGN.md: the faces (app/,
// tui/) reach keys, secrets and files only through core, never importing
// the keyring, age or a crypto package themselves; core imports no UI and
// no face; only core/store imports go-keyring; nothing imports app or tui.
func TestImportBoundaries(t *testing.T) {
	cryptoLike := func(imp string) bool {
		return under(imp, "github.com/zalando/go-keyring", "filippo.io/age", "golang.org/x/crypto", "github.com/godbus/dbus/v5") ||
			strings.HasPrefix(imp, "crypto/") || imp == "crypto"
	}
	ui := []string{"fyne.io/fyne/v2", "github.com/charmbracelet/bubbletea", "github.com/charmbracelet/bubbles",
		"github.com/charmbracelet/lipgloss", "latchkey/app", "latchkey/tui", "latchkey/server"}
	for _, p := range listPackages(t) {
		for _, imp := range p.Imports {
			switch {
			case under(p.ImportPath, "latchkey/app", "latchkey/tui") && cryptoLike(imp):
				t.Errorf("%s imports %s: keys and secrets belong to core", p.ImportPath, imp)
			case under(p.ImportPath, "latchkey/core") && under(imp, ui...):
				t.Errorf("%s imports %s: core has no UI and no server", p.ImportPath, imp)
			case under(imp, "github.com/zalando/go-keyring") && p.ImportPath != "latchkey/core/store":
				t.Errorf("%s imports go-keyring: only core/store may", p.ImportPath)
			case under(imp, "latchkey/app") && !under(p.ImportPath, "latchkey/app") && p.ImportPath != "latchkey":
				t.Errorf("%s imports %s: nothing imports the desktop app but its main", p.ImportPath, imp)
			case under(imp, "latchkey/tui") && !under(p.ImportPath, "latchkey/tui"):
				t.Errorf("%s imports %s: nothing imports the terminal UI", p.ImportPath, imp)
			}
		}
		if under(p.ImportPath, "latchkey/core") {
			for _, d := range p.Deps {
				if under(d, ui...) {
					t.Errorf("%s depends on %s: core has no UI and no server", p.ImportPath, d)
				}
			}
		}
	}
}
