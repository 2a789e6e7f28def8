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
	"os"
	"os/exec"
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
