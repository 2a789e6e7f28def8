package harden

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestMain runs the child half of TestNoCoreDumps when asked to.
func TestMain(m *testing.M) {
	if os.Getenv("HARDEN_CHILD") == "1" {
		err := NoCoreDumps()
		var lim unix.Rlimit
		unix.Getrlimit(unix.RLIMIT_CORE, &lim)
		dumpable, _ := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
		fmt.Printf("err=%v core=%d/%d dumpable=%d\n", err, lim.Cur, lim.Max, dumpable)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestNoCoreDumps: in a fresh process, NoCoreDumps leaves no core size
// and a process that is not dumpable.
func TestNoCoreDumps(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HARDEN_CHILD=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "err=<nil> core=0/0 dumpable=0" {
		t.Fatalf("child: %s", got)
	}
}
