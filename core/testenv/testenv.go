// Package testenv lets integration tests ask for the real things they need
// (a reference tool, a Secret Service, a PostgreSQL server, a display).
//
// Under CI (CI set to a non-empty value, as `make test` and .ci/run do) a
// missing requirement fails the test: CI installs and starts everything, so
// a missing piece is a broken setup, never a reason to pass quietly. On a
// developer's machine the test is skipped with a message naming what is
// missing and how to get it (`make test` provides all of it).
package testenv

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// InCI reports whether the tests run under CI or `make test`.
func InCI() bool { return os.Getenv("CI") != "" }

// Missing fails the test under CI and skips it elsewhere.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("requirement missing under CI: "+format, args...)
	}
	t.Skipf("requirement missing (run `make test` to provide it): "+format, args...)
}

// Tool returns the path of an executable, or stops the test as Missing does.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "%s not found on PATH", name)
	}
	return p
}

// Env returns an environment variable that `make test` sets, or stops the
// test as Missing does.
func Env(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		Missing(t, "%s is not set", name)
	}
	return v
}

// Display starts an Xvfb server of the test's own and returns its DISPLAY
// (":N"), so that tests using the X clipboard or windows do not share
// state with other packages' tests running at the same time. The server
// is stopped when the test ends.
func Display(t testing.TB) string {
	t.Helper()
	xvfb := Tool(t, "Xvfb")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(xvfb, "-displayfd", "3", "-screen", "0", "640x480x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatalf("Xvfb did not start: %v", err)
	}
	return ":" + strings.TrimSpace(line)
}
