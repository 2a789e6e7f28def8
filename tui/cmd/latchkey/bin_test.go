package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The real binaries, built once per test run by buildLatchkey.
var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildLatchkey builds the two binaries `make build-cli` installs, as it
// does (CGO_ENABLED=0, -trimpath, stripped), into one folder: the lean
// latchkey (-tags lean) and latchkey-full beside it. It returns the lean
// one, so that tests of the real command go through the front users run
// and, for the UI, transfers and the server, its hand-over to
// latchkey-full.
func buildLatchkey(tb testing.TB) string {
	tb.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "latchkey-bin-"); binErr != nil {
			return
		}
		for _, b := range []struct {
			name string
			tags string
		}{{"latchkey", "lean"}, {"latchkey-full", ""}} {
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-tags="+b.tags, "-o", filepath.Join(binDir, b.name), ".")
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				binErr = fmt.Errorf("build %s: %v\n%s", b.name, err, out)
				return
			}
		}
	})
	if binErr != nil {
		tb.Fatal(binErr)
	}
	return filepath.Join(binDir, "latchkey")
}

// TestLeanDependencies keeps the lean build lean: none of what makes
// latchkey-full slow to start (the server and its databases and metrics,
// the terminal UI, QR decoding, protobuf, HTTP) may creep into it, or
// `latchkey code` pays for all of it on every run (BenchmarkTimeToCode).
func TestLeanDependencies(t *testing.T) {
	deps := func(tags string) map[string]bool {
		out, err := exec.Command("go", "list", "-deps", "-tags="+tags, ".").Output()
		if err != nil {
			t.Fatalf("go list: %v", err)
		}
		m := map[string]bool{}
		for _, p := range strings.Fields(string(out)) {
			m[p] = true
		}
		return m
	}
	lean, full := deps("lean"), deps("")
	for _, p := range []string{
		"latchkey/server", "latchkey/tui", "latchkey/core/transfer", "latchkey/core/enroll",
		"github.com/charmbracelet/bubbletea", "github.com/makiuchi-d/gozxing",
		"google.golang.org/protobuf/proto", "modernc.org/sqlite", "github.com/jackc/pgx/v5",
		"github.com/prometheus/client_golang/prometheus", "net/http",
		// The vault and go-keyring are latchkey-full's (core/store/lean.go).
		"filippo.io/age", "github.com/zalando/go-keyring", "github.com/godbus/dbus/v5", "net",
	} {
		if lean[p] {
			t.Errorf("the lean build imports %s", p)
		}
		if !full[p] {
			t.Errorf("the full build does not import %s (is this list still right?)", p)
		}
	}
	if !lean["latchkey/core/store"] {
		t.Error("the lean build has no store")
	}
}

// TestLeanHandsOver runs the lean front: its help lists every command, a
// left-out command runs in latchkey-full with its exit status and
// streams, and without latchkey-full it says what is missing.
func TestLeanHandsOver(t *testing.T) {
	bin := buildLatchkey(t)
	env := []string{"LATCHKEY_HOME=" + t.TempDir(), "LATCHKEY_STORE=file", "LATCHKEY_PASSPHRASE=pw"}
	out, _, code := binRun(t, bin, env, "help")
	for _, c := range commands() {
		if !c.hidden && !strings.Contains(out, "\n  "+c.name+" ") {
			t.Errorf("help does not list %s", c.name)
		}
	}
	if code != 0 {
		t.Fatalf("help: exit %d", code)
	}
	out, _, code = binRun(t, bin, env, "import", "--help")
	if code != 0 || !strings.Contains(out, "--dry-run") {
		t.Fatalf("import --help: exit %d\n%s", code, out)
	}
	out, errOut, code := binRun(t, bin, env, "import", filepath.Join(t.TempDir(), "missing.txt"))
	if code != 1 || out != "" || !strings.HasPrefix(errOut, "latchkey: import:") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("import of a missing file: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	_, errOut, code = binRun(t, bin, env, "serve", "--bogus")
	if code != 2 || !strings.HasPrefix(errOut, "latchkey: serve:") {
		t.Fatalf("serve --bogus: exit %d, %q", code, errOut)
	}
	// Alone, with latchkey-full nowhere to be found.
	alone := filepath.Join(t.TempDir(), "latchkey")
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(alone, data, 0o755); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = binRun(t, alone, append(env, "PATH="+t.TempDir()), "serve")
	if code != 1 || !strings.Contains(errOut, "latchkey-full") || !strings.Contains(errOut, "make build") {
		t.Fatalf("serve without latchkey-full: exit %d, %q", code, errOut)
	}
	out, _, code = binRun(t, alone, append(env, "PATH="+t.TempDir()), "version")
	if code != 0 || !strings.HasPrefix(out, "latchkey ") {
		t.Fatalf("version alone: exit %d, %q", code, out)
	}
}
