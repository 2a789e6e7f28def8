package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"latchkey/core/testenv"
)

// notifier is a real notification daemon (dunst) on the test's session
// bus and display, so that the desktop's system notifications are shown
// and can be read back.
type notifier struct{ env []string }

// startNotifier starts dunst for display on the session bus of the
// test's services; its pop-ups sit small in the screen's bottom-right
// corner, away from the app's window, which the test reads by OCR.
func startNotifier(t *testing.T, display string) notifier {
	t.Helper()
	bus := testenv.Env(t, "DBUS_SESSION_BUS_ADDRESS")
	testenv.Tool(t, "dunst")
	testenv.Tool(t, "dunstctl")
	testenv.Tool(t, "dbus-send")
	conf := filepath.Join(t.TempDir(), "dunstrc")
	os.WriteFile(conf, []byte("[global]\n  origin = bottom-right\n  offset = 4x4\n  width = 160\n  height = 40\n  font = Monospace 6\n"), 0o600)
	n := notifier{env: []string{"DISPLAY=" + display, "DBUS_SESSION_BUS_ADDRESS=" + bus}}
	cmd := exec.Command("dunst", "-config", conf)
	cmd.Env = append(os.Environ(), n.env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// Ready once it owns the notifications' name. (Asking dunstctl first
	// would have the bus start a second dunst, without a display.)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, _ := exec.Command("dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
			"org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.Notifications").Output()
		if strings.Contains(string(out), "boolean true") {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatal("dunst did not come up on the session bus")
		}
	}
}

func (n notifier) ctl(args ...string) error {
	_, err := n.output(args...)
	return err
}

func (n notifier) output(args ...string) ([]byte, error) {
	cmd := exec.Command("dunstctl", args...)
	cmd.Env = append(os.Environ(), n.env...)
	return cmd.Output()
}

// shown waits up to timeout for a notification whose summary has
// summary, closes what is shown and returns that notification's summary
// and body (from dunst's history). Then dunst pauses: later
// notifications wait unseen, so that no pop-up covers the window the
// test goes on reading.
func (n notifier) shown(t *testing.T, summary string, timeout time.Duration) (string, string) {
	t.Helper()
	defer n.ctl("set-paused", "true")
	deadline := time.Now().Add(timeout)
	for {
		n.ctl("close-all") // what is shown goes to the history, where it can be read
		out, err := n.output("history")
		if err != nil {
			t.Fatalf("dunstctl history: %v", err)
		}
		var h struct {
			Data [][]map[string]struct {
				Data any `json:"data"`
			} `json:"data"`
		}
		if err := json.Unmarshal(out, &h); err != nil {
			t.Fatalf("dunstctl history: %v: %s", err, out)
		}
		var seen []string
		for _, list := range h.Data {
			for _, m := range list {
				s, _ := m["summary"].Data.(string)
				b, _ := m["body"].Data.(string)
				if strings.Contains(s, summary) {
					return s, b
				}
				seen = append(seen, s)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no notification %q in %s; dunst had %q", summary, timeout, seen)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
