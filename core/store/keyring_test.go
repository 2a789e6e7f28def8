package store

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"latchkey/core/testenv"
)

// TestKeyringTimeout points D-Bus at a socket that accepts connections and
// never answers: first use and an Add on the keyring both end within
// seconds with the one clear sentence, instead of hanging.
func TestKeyringTimeout(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "bus")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() }) // read nothing, answer nothing
		}
	}()
	for _, b := range []Backend{"", Keyring} {
		home := t.TempDir()
		cmd := childCmd(t, "silentbus", home, b, "DBUS_SESSION_BUS_ADDRESS=unix:path="+sock)
		start := time.Now()
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("child: %v", err)
		}
		got := strings.TrimSpace(string(out))
		if !strings.HasSuffix(got, ErrKeyringUnavailable.Error()) {
			t.Errorf("backend %q: %q", b, got)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("backend %q: took %s with a 300ms keyring timeout", b, d)
		}
	}
}

// TestUpgradeKeepsKeyringItems: accounts stored by earlier Latchkey
// versions (accounts.json of format 1, one Secret Service item per
// account with attributes service=latchkey and username=ID, as go-keyring
// writes them, and the keyring-items location cache those versions kept)
// read back unchanged; the stale cache is deleted.
func TestUpgradeKeepsKeyringItems(t *testing.T) {
	testenv.Env(t, "LATCHKEY_TEST_SECRET_SERVICE")
	secretTool := testenv.Tool(t, "secret-tool")
	home := t.TempDir()
	const id, b32 = "0123456789abcdef", "JBSWY3DPEHPK3PXP"
	old := `{"version":1,"accounts":[{"id":"0123456789abcdef","issuer":"Old","name":"alice","type":"totp","algorithm":"SHA1","digits":6,"period":30,"order":0,"created":"2026-01-02T03:04:05Z"}]}`
	files := map[string]string{
		AccountsFile:    old,
		ConfigFile:      `{"backend":"keyring"}` + "\n",
		"keyring-items": "v1\n" + id + " /org/freedesktop/secrets/collection/login/99\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(home, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	store := exec.Command(secretTool, "store", "--label=Password for '"+id+"' on 'latchkey'", "service", Service, "username", id)
	store.Stdin = strings.NewReader(b32)
	if out, err := store.CombinedOutput(); err != nil {
		t.Fatalf("secret-tool store: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command(secretTool, "clear", "service", Service, "username", id).Run() })

	s := open(t, Options{Home: home})
	if s.Backend() != Keyring {
		t.Fatalf("backend %s", s.Backend())
	}
	g, err := s.Generator(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	// oathtool --totp -b JBSWY3DPEHPK3PXP --now '2026-01-01 00:00:00 UTC'
	if got := g.At(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); got != "260025" {
		t.Fatalf("code %s, want 260025", got)
	}
	as, err := s.Find(context.Background(), "old:alice")
	if err != nil || len(as) != 1 || as[0].ID != id {
		t.Fatalf("find: %v %v", as, err)
	}
	if _, err := os.Stat(filepath.Join(home, "keyring-items")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the stale keyring-items file is still there: %v", err)
	}
}
