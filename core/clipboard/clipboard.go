// Package clipboard puts a code on the system clipboard and takes it off
// again.
//
// It drives the clipboard tool the session has: wl-copy/wl-paste under
// Wayland, xclip or xsel under X11, pbcopy/pbpaste on macOS. Over SSH, or
// where none of those works, it writes an OSC 52 escape sequence to the
// terminal, which most terminal emulators turn into a copy on the user's
// own machine.
//
// Clearing after a delay is done by whoever outlives the copy (the CLI
// starts a detached child, see [StartClearer]); it clears only if the
// clipboard still holds what was copied. To know that without keeping the
// code, the copier keeps a keyed fingerprint ([Fingerprint]): HMAC-SHA256
// under a random key, so that a fingerprint of a six-digit code cannot be
// reversed by trying all million codes.
package clipboard

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// ErrUnavailable means there is no way to reach a clipboard here.
var ErrUnavailable = errors.New("clipboard: no clipboard tool (wl-copy, xclip, xsel, pbcopy) and no terminal for OSC 52")

// Method names how text reaches the clipboard.
type Method string

// The methods, in the order Detect tries them.
const (
	WlCopy Method = "wl-copy"
	Xclip  Method = "xclip"
	Xsel   Method = "xsel"
	Pbcopy Method = "pbcopy"
	OSC52  Method = "osc52"
)

// Env is what the package may touch; the zero value of each field has a
// documented default.
type Env struct {
	// Getenv reads the environment (DISPLAY, WAYLAND_DISPLAY, SSH_*, TMUX);
	// required.
	Getenv func(string) string
	// LookPath finds a tool; exec.LookPath when nil.
	LookPath func(string) (string, error)
	// Terminal receives OSC 52 sequences; nil means OSC 52 is not possible.
	Terminal io.Writer
	// GOOS is runtime.GOOS when "".
	GOOS string
}

type tool struct {
	method      Method
	copy, paste []string
}

func tools() []tool {
	return []tool{
		{WlCopy, []string{"wl-copy"}, []string{"wl-paste", "--no-newline"}},
		{Xclip, []string{"xclip", "-selection", "clipboard", "-in"}, []string{"xclip", "-selection", "clipboard", "-out"}},
		{Xsel, []string{"xsel", "--clipboard", "--input"}, []string{"xsel", "--clipboard", "--output"}},
		{Pbcopy, []string{"pbcopy"}, []string{"pbpaste"}},
	}
}

// OverSSH reports whether the session looks remote.
func OverSSH(getenv func(string) string) bool {
	return getenv("SSH_CONNECTION") != "" || getenv("SSH_TTY") != "" || getenv("SSH_CLIENT") != ""
}

// Detect returns the method Copy would use.
func Detect(e Env) (Method, error) {
	t, err := detect(e)
	if err != nil {
		return "", err
	}
	return t.method, nil
}

func detect(e Env) (tool, error) {
	look := e.LookPath
	if look == nil {
		look = exec.LookPath
	}
	goos := e.GOOS
	if goos == "" {
		goos = runtime.GOOS
	}
	if !OverSSH(e.Getenv) {
		for _, t := range tools() {
			switch t.method {
			case WlCopy:
				if e.Getenv("WAYLAND_DISPLAY") == "" {
					continue
				}
			case Xclip, Xsel:
				if e.Getenv("DISPLAY") == "" {
					continue
				}
			case Pbcopy:
				if goos != "darwin" {
					continue
				}
			}
			if p, err := look(t.copy[0]); err == nil {
				t.copy = append([]string{p}, t.copy[1:]...)
				if q, err := look(t.paste[0]); err == nil {
					t.paste = append([]string{q}, t.paste[1:]...)
				} else {
					t.paste = nil
				}
				return t, nil
			}
		}
	}
	if e.Terminal != nil {
		return tool{method: OSC52}, nil
	}
	return tool{}, ErrUnavailable
}

// Copy puts text on the clipboard and returns the method used.
func Copy(ctx context.Context, e Env, text string) (Method, error) {
	t, err := detect(e)
	if err != nil {
		return "", err
	}
	if t.method == OSC52 {
		_, err := io.WriteString(e.Terminal, osc52(text, e.Getenv("TMUX") != ""))
		if err != nil {
			return "", fmt.Errorf("clipboard: osc 52: %w", err)
		}
		return OSC52, nil
	}
	cmd := exec.CommandContext(ctx, t.copy[0], t.copy[1:]...)
	cmd.Env = toolEnv(e)
	cmd.Stdin = strings.NewReader(text)
	// No stdout/stderr pipes: xclip and wl-copy leave a child serving the
	// selection, and waiting for its pipes would wait for that child.
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("clipboard: %s: %w", t.method, err)
	}
	if t.method == Xclip || t.method == Xsel {
		settle(ctx, e, text)
	}
	return t.method, nil
}

// settle waits, briefly, until the X selection serves text. xclip and
// xsel return once they have forked the child that will own the
// selection, which may take ownership a moment later; a read (or a
// clearer's comparison) in that moment would see the old content.
func settle(ctx context.Context, e Env, text string) {
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if got, err := Read(ctx, e); err == nil && got == text {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Read returns the clipboard's text. OSC 52 cannot be read back.
func Read(ctx context.Context, e Env) (string, error) {
	t, err := detect(e)
	if err != nil {
		return "", err
	}
	if t.method == OSC52 || t.paste == nil {
		return "", fmt.Errorf("clipboard: %s cannot be read back", t.method)
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, t.paste[0], t.paste[1:]...)
	cmd.Env = toolEnv(e)
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		// An empty X selection makes xclip fail: nothing to compare.
		return "", fmt.Errorf("clipboard: %s: %w", t.method, err)
	}
	return out.String(), nil
}

// toolEnv is the process environment with the display variables taken
// from e, which is what Detect looked at.
func toolEnv(e Env) []string {
	env := ChildEnv(os.Environ())
	for _, k := range []string{"DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY", "XDG_RUNTIME_DIR"} {
		if v := e.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// secretVars are the environment variables that carry passphrases; no
// child this package starts (a clipboard tool, the detached clearer)
// gets them.
var secretVars = []string{"LATCHKEY_PASSPHRASE", "LATCHKEY_IMPORT_PASSPHRASE", "LATCHKEY_BACKUP_PASSPHRASE"}

// ChildEnv returns env without the variables that carry passphrases.
func ChildEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(secretVars, k) {
			out = append(out, kv)
		}
	}
	return out
}

// osc52 returns the escape sequence that sets the terminal's clipboard,
// wrapped for tmux's passthrough when inside tmux.
func osc52(text string, tmux bool) string {
	seq := "\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte(text)) + "\a"
	if tmux {
		return "\x1bPtmux;" + strings.ReplaceAll(seq, "\x1b", "\x1b\x1b") + "\x1b\\"
	}
	return seq
}

// NewKey returns a random fingerprint key.
func NewKey() ([]byte, error) {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	return k, nil
}

// Fingerprint is HMAC-SHA256(key, text).
func Fingerprint(key []byte, text string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(text))
	return m.Sum(nil)
}

// ClearIfUnchanged empties the clipboard if it still holds the text whose
// fingerprint under key is sum; it reports whether it did. A clipboard
// that cannot be read is left alone.
func ClearIfUnchanged(ctx context.Context, e Env, key, sum []byte) (bool, error) {
	cur, err := Read(ctx, e)
	if err != nil {
		return false, err
	}
	if cur == "" || !hmac.Equal(Fingerprint(key, cur), sum) {
		return false, nil
	}
	if _, err := Copy(ctx, e, ""); err != nil {
		return false, err
	}
	return true, nil
}
