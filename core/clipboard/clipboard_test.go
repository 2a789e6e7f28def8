package clipboard

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"latchkey/core/testenv"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDetect(t *testing.T) {
	all := func(string) (string, error) { return "/usr/bin/x", nil }
	only := func(names ...string) func(string) (string, error) {
		return func(n string) (string, error) {
			for _, m := range names {
				if m == n {
					return "/usr/bin/" + n, nil
				}
			}
			return "", exec.ErrNotFound
		}
	}
	var term bytes.Buffer
	tests := []struct {
		name string
		env  map[string]string
		look func(string) (string, error)
		goos string
		tty  bool
		want Method
	}{
		{"wayland first", map[string]string{"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, all, "linux", true, WlCopy},
		{"x11 xclip", map[string]string{"DISPLAY": ":0"}, all, "linux", true, Xclip},
		{"x11 xsel only", map[string]string{"DISPLAY": ":0"}, only("xsel"), "linux", true, Xsel},
		{"macOS", map[string]string{}, all, "darwin", true, Pbcopy},
		{"ssh prefers osc52", map[string]string{"DISPLAY": ":0", "SSH_CONNECTION": "1 2 3 4"}, all, "linux", true, OSC52},
		{"no tool", map[string]string{"DISPLAY": ":0"}, only(), "linux", true, OSC52},
		{"headless linux", map[string]string{}, all, "linux", true, OSC52},
		{"nothing at all", map[string]string{}, only(), "linux", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := Env{Getenv: envOf(tt.env), LookPath: tt.look, GOOS: tt.goos}
			if tt.tty {
				e.Terminal = &term
			}
			got, err := Detect(e)
			if got != tt.want || (tt.want == "") != errors.Is(err, ErrUnavailable) {
				t.Fatalf("Detect = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestOSC52(t *testing.T) {
	for _, tmux := range []bool{false, true} {
		var term bytes.Buffer
		env := map[string]string{"SSH_TTY": "/dev/pts/1"}
		if tmux {
			env["TMUX"] = "/tmp/tmux-0/default,1,0"
		}
		m, err := Copy(context.Background(), Env{Getenv: envOf(env), Terminal: &term}, "123456")
		if err != nil || m != OSC52 {
			t.Fatal(m, err)
		}
		b64 := base64.StdEncoding.EncodeToString([]byte("123456"))
		want := "\x1b]52;c;" + b64 + "\a"
		if tmux {
			want = "\x1bPtmux;\x1b\x1b]52;c;" + b64 + "\a\x1b\\"
		}
		if term.String() != want {
			t.Fatalf("tmux=%v: %q, want %q", tmux, term.String(), want)
		}
		if _, err := Read(context.Background(), Env{Getenv: envOf(env), Terminal: &term}); err == nil {
			t.Fatal("read back over OSC 52")
		}
	}
}

func TestTicket(t *testing.T) {
	key, _ := NewKey()
	sum := Fingerprint(key, "123456")
	if bytes.Equal(sum, Fingerprint(key, "123457")) || bytes.Equal(sum, Fingerprint(make([]byte, 32), "123456")) {
		t.Fatal("fingerprint ignores its input")
	}
	line := hex.EncodeToString(key) + " " + hex.EncodeToString(sum)
	k2, s2, err := ReadTicket(line + "\n")
	if err != nil || !bytes.Equal(k2, key) || !bytes.Equal(s2, sum) {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "zz " + hex.EncodeToString(sum), hex.EncodeToString(key) + " 00", "a b c"} {
		if _, _, err := ReadTicket(bad); err == nil {
			t.Errorf("ReadTicket(%q) accepted", bad)
		}
	}
}

// TestX11 runs against the real X clipboard (Xvfb and xclip under make
// test): copy, read back, clear only while unchanged.
func TestX11(t *testing.T) {
	display := testenv.Display(t)
	testenv.Tool(t, "xclip")
	ctx := context.Background()
	e := Env{Getenv: envOf(map[string]string{"DISPLAY": display})}
	key, _ := NewKey()
	m, err := Copy(ctx, e, "287082")
	if err != nil || m != Xclip {
		t.Fatal(m, err)
	}
	if got, err := Read(ctx, e); err != nil || got != "287082" {
		t.Fatalf("read %q %v", got, err)
	}
	// The user copied something else meanwhile: leave it.
	if _, err := Copy(ctx, e, "user text"); err != nil {
		t.Fatal(err)
	}
	cleared, err := ClearIfUnchanged(ctx, e, key, Fingerprint(key, "287082"))
	if err != nil || cleared {
		t.Fatalf("cleared a changed clipboard: %v %v", cleared, err)
	}
	if got, _ := Read(ctx, e); got != "user text" {
		t.Fatalf("clipboard now %q", got)
	}
	if _, err := Copy(ctx, e, "287082"); err != nil {
		t.Fatal(err)
	}
	cleared, err = ClearIfUnchanged(ctx, e, key, Fingerprint(key, "287082"))
	if err != nil || !cleared {
		t.Fatalf("not cleared: %v %v", cleared, err)
	}
	if got, _ := Read(ctx, e); got != "" {
		t.Fatalf("clipboard still %q", got)
	}
}

// TestChildrenGetNoPassphrase: the detached clearer (and every clipboard
// tool) starts without the passphrase variables of its parent.
func TestChildrenGetNoPassphrase(t *testing.T) {
	t.Setenv("LATCHKEY_PASSPHRASE", "vault secret")
	t.Setenv("LATCHKEY_IMPORT_PASSPHRASE", "import secret")
	t.Setenv("LATCHKEY_BACKUP_PASSPHRASE", "backup secret")
	t.Setenv("LATCHKEY_CLIPBOARD_CLEAR", "30")
	out := filepath.Join(t.TempDir(), "env")
	if err := StartClearer("/bin/sh", []string{"-c", "env > " + out + ".tmp && mv " + out + ".tmp " + out}, make([]byte, 16), make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	var data []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var err error
		if data, err = os.ReadFile(out); err == nil {
			break
		}
	}
	if !strings.Contains(string(data), "LATCHKEY_CLIPBOARD_CLEAR=30") {
		t.Fatalf("the clearer's environment was not captured: %q", data)
	}
	if strings.Contains(string(data), "secret") || strings.Contains(string(data), "PASSPHRASE") {
		t.Fatalf("a passphrase reached the clearer:\n%s", data)
	}
	for _, kv := range toolEnv(Env{Getenv: os.Getenv}) {
		if strings.Contains(kv, "PASSPHRASE") {
			t.Fatalf("a clipboard tool would get %s", kv)
		}
	}
}
