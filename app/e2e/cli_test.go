package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"latchkey/core/testenv"
)

// TestDesktopCommandLine (issue 14, blocker 4): --help and --version
// answer on stdout and exit 0 without opening a window, display or not;
// without a display the app says so in one line and exits 1, with no
// stack trace.
func TestDesktopCommandLine(t *testing.T) {
	bins := build(t)
	display := os.Getenv("DISPLAY")
	run := func(t *testing.T, withDisplay bool, args ...string) (stdout, stderr string, code int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bins.desktop, args...)
		home := t.TempDir()
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LANG=C.UTF-8", "LATCHKEY_HOME=" + home + "/latchkey"}
		if withDisplay {
			cmd.Env = append(cmd.Env, "DISPLAY="+display)
		}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		if ctx.Err() != nil {
			t.Fatalf("latchkey-desktop %s did not exit within 20 s (a window opened?)", strings.Join(args, " "))
		}
		code = cmd.ProcessState.ExitCode()
		if code < 0 {
			t.Fatalf("latchkey-desktop %s: %v", strings.Join(args, " "), err)
		}
		return out.String(), errb.String(), code
	}
	displays := []bool{false}
	if display != "" {
		displays = append(displays, true)
	}
	for _, withDisplay := range displays {
		for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
			out, errs, code := run(t, withDisplay, args...)
			if code != 0 || !strings.HasPrefix(out, "Usage: latchkey-desktop") || errs != "" {
				t.Errorf("%s (display %v): exit %d, stdout %q, stderr %q", args, withDisplay, code, out, errs)
			}
		}
		out, errs, code := run(t, withDisplay, "--version")
		if code != 0 || !strings.HasPrefix(out, "latchkey-desktop ") || strings.Count(out, "\n") != 1 || errs != "" {
			t.Errorf("--version (display %v): exit %d, stdout %q, stderr %q", withDisplay, code, out, errs)
		}
	}

	out, errs, code := run(t, false)
	if code != 1 || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "no graphical display") {
		t.Errorf("without a display: exit %d, stdout %q, stderr %q; want one line and exit 1", code, out, errs)
	}
	out, errs, code = run(t, false, "--frobnicate")
	if code != 2 || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "--help") {
		t.Errorf("unknown flag: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// TestDesktopStartsSilently: under LANG=C.UTF-8 (Debian's default) the
// app starts, lists its accounts and writes nothing to stderr (Fyne
// logged "Error parsing user locale C" on every start).
func TestDesktopStartsSilently(t *testing.T) {
	display := testenv.Env(t, "DISPLAY")
	testenv.Tool(t, "xwd")
	bins := build(t)
	storeHome := t.TempDir() + "/latchkey"
	seed(t, storeHome, nil)
	p := start(t, bins.desktop, display, storeHome) // LANG=C.UTF-8
	p.firstFrame(t, display, 60*time.Second)
	time.Sleep(time.Second)
	p.stop()
	if out := p.out.String(); out != "" {
		t.Errorf("the app wrote on start:\n%s", out)
	}
}
