package main

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"latchkey/core/testenv"
)

// TestTUIApprovalEndToEnd runs the real binary in tmux, paired with a
// real server by `latchkey enroll`: a CIBA client's bc-authorize opens
// the approval modal with its binding message, y approves and the
// client's poll gets an id_token; n denies (access_denied); a request
// left alone disappears when it expires.
func TestTUIApprovalEndToEnd(t *testing.T) {
	testenv.Tool(t, "tmux")
	bin := buildLatchkey(t)
	base, adm, id, secret := cibaServer(t)
	dir := t.TempDir()
	env := []string{"LATCHKEY_HOME=" + filepath.Join(dir, "home"), "LATCHKEY_STORE=file",
		"LATCHKEY_PASSPHRASE=correct horse battery", "NO_COLOR=1"}
	c, err := adm.Create(context.Background(), "alice", "TUI")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "enroll", c.EnrollmentLink)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil || !strings.Contains(out.String(), "paired") {
		t.Fatalf("enroll: %v\n%s", err, out.String())
	}

	tt := tuiTmux(t, env, 100, 30, bin, "--log", filepath.Join(dir, "tui.log"))
	tt.waitFor("the accounts", 60*time.Second, func(s string) bool { return strings.Contains(s, "1 account") })
	ask := func(msg string, extra url.Values) string { return cibaAsk(t, base, id, secret, "alice", msg, extra) }
	poll := func(rid string) map[string]any { return cibaPoll(t, base, id, secret, rid) }
	// Let the listener settle into its long-poll first.
	time.Sleep(time.Second)

	start := time.Now()
	rid := ask("Order 42", nil)
	screen := tt.waitFor("the approval modal", 30*time.Second, func(s string) bool { return strings.Contains(s, "Order 42") })
	t.Logf("bc-authorize to the modal on screen: %v", time.Since(start).Round(time.Millisecond))
	for _, want := range []string{"Sign-in request", "Shop asks to sign in as", "Latchkey:alice", "1 sign-in request"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the modal lacks %q:\n%s", want, screen)
		}
	}
	if m := poll(rid); m["error"] != "authorization_pending" {
		t.Errorf("poll before answering: %v", m)
	}
	tt.key("y")
	tt.waitFor("the approval", 15*time.Second, func(s string) bool { return strings.Contains(s, "Approved the sign-in to Shop") })
	if m := poll(rid); m["id_token"] == nil {
		t.Errorf("poll after y: %v", m)
	}

	rid = ask("Order 43", nil)
	tt.waitFor("the second request", 30*time.Second, func(s string) bool { return strings.Contains(s, "Order 43") })
	tt.key("n")
	tt.waitFor("the denial", 15*time.Second, func(s string) bool { return strings.Contains(s, "Denied the sign-in to Shop") })
	if m := poll(rid); m["error"] != "access_denied" {
		t.Errorf("poll after n: %v", m)
	}

	rid = ask("Order 44", url.Values{"requested_expiry": {"4"}})
	tt.waitFor("the third request", 30*time.Second, func(s string) bool { return strings.Contains(s, "Order 44") })
	tt.key("Escape")
	tt.waitFor("the modal to close", 5*time.Second, func(s string) bool {
		return !strings.Contains(s, "Shop asks") && strings.Contains(s, "1 sign-in request")
	})
	tt.waitFor("the request to expire", 15*time.Second, func(s string) bool { return !strings.Contains(s, "sign-in request") })
	if m := poll(rid); m["error"] != "expired_token" {
		t.Errorf("poll after expiry: %v", m)
	}
}
