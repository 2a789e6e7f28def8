package agent

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"latchkey/core/otp"
	"latchkey/core/store"
)

const pass = "correct horse battery"

// shortDir is a temp dir with a short path: a socket's path must fit in
// 108 bytes, and t.TempDir's names grow with the test's.
func shortDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "lk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// vault makes a file store with one TOTP account and returns its home and
// the account's secret.
func vault(t testing.TB) (string, otp.Secret) {
	t.Helper()
	home := shortDir(t)
	s, err := store.Open(context.Background(), store.Options{Home: home, Backend: store.File, WorkFactor: 2,
		Passphrase: func() ([]byte, error) { return []byte(pass), nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sec, _ := otp.NewSecret(otp.SHA1)
	if _, err := s.Add(context.Background(), store.Account{Issuer: "Example", Name: "alice"}, sec, false); err != nil {
		t.Fatal(err)
	}
	return home, sec
}

// syncBuffer is a log sink the server's goroutines may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serve runs an agent for home and returns a client of it and its log.
func serve(t testing.TB, home string, timeout time.Duration) (*Client, *syncBuffer, string) {
	t.Helper()
	run := shortDir(t)
	getenv := func(k string) string {
		if k == "XDG_RUNTIME_DIR" {
			return run
		}
		return ""
	}
	path, err := SocketPath(home, getenv)
	if err != nil {
		t.Fatal(err)
	}
	ln, release, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	log := &syncBuffer{}
	srv := New(Options{Home: home, Timeout: timeout, WorkFactor: 2,
		Logger: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		release()
	})
	c, err := Dial(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, log, path
}

func TestAgentAccounts(t *testing.T) {
	ctx := context.Background()
	home, sec := vault(t)
	c, log, _ := serve(t, home, time.Hour)

	if st, err := c.Status(ctx); err != nil || !st.Locked || st.PID != os.Getpid() {
		t.Fatalf("Status = %+v, %v; want locked", st, err)
	}
	if _, err := c.List(ctx); !errors.Is(err, ErrLocked) {
		t.Fatalf("List while locked: %v, want ErrLocked", err)
	}
	if err := c.Unlock(ctx, []byte("wrong")); !errors.Is(err, store.ErrBadPassphrase) {
		t.Fatalf("Unlock(wrong) = %v, want ErrBadPassphrase", err)
	}
	if err := c.Unlock(ctx, []byte(pass)); err != nil {
		t.Fatal(err)
	}
	as, err := c.Find(ctx, "alice")
	if err != nil || len(as) != 1 {
		t.Fatalf("Find = %v, %v", as, err)
	}
	alice := as[0]
	g, err := c.Generator(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := otp.NewGenerator(sec, alice.Options())
	now := time.Now()
	if got, w := g.At(now), want.At(now); got != w {
		t.Fatalf("code through the agent %s, want %s", got, w)
	}

	hsec, _ := otp.NewSecret(otp.SHA1)
	h, err := c.Add(ctx, store.Account{Issuer: "Example", Name: "bob", Type: otp.HOTP, Counter: 5}, hsec, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Add(ctx, store.Account{Issuer: "Example", Name: "bob"}, hsec, false); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("second bob: %v, want ErrDuplicate", err)
	}
	code, a, err := c.NextHOTP(ctx, h.ID)
	hg, _ := otp.NewGenerator(hsec, h.Options())
	if err != nil || a.Counter != 6 || code != hg.Code(5) {
		t.Fatalf("NextHOTP = %q, counter %d, %v; want %q, 6", code, a.Counter, err, hg.Code(5))
	}
	if _, err := c.AddMany(ctx, []store.NewAccount{{Account: store.Account{Name: "carol"}, Secret: hsec}}); err != nil {
		t.Fatal(err)
	}
	if a, err := c.Update(ctx, alice.ID, func(a *store.Account) error { a.Name = "alice2"; return nil }); err != nil || a.Name != "alice2" {
		t.Fatalf("Update = %+v, %v", a, err)
	}
	if err := c.Move(ctx, alice.ID, 2); err != nil {
		t.Fatal(err)
	}
	m, err := c.Secrets(ctx)
	if err != nil || len(m) != 3 || !bytes.Equal(m[h.ID], hsec) {
		t.Fatalf("Secrets: %d secrets, %v", len(m), err)
	}
	if err := c.Delete(ctx, h.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, h.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}

	// Every change is on disk: the vault opened without the agent agrees.
	s, err := store.Open(ctx, store.Options{Home: home, Passphrase: func() ([]byte, error) { return []byte(pass), nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range got {
		names = append(names, a.Name)
	}
	if strings.Join(names, ",") != "carol,alice2" {
		t.Errorf("vault holds %v, want [carol alice2]", names)
	}

	if err := c.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Secret(ctx, alice.ID); !errors.Is(err, ErrLocked) {
		t.Fatalf("Secret after Lock: %v, want ErrLocked", err)
	}

	text := log.String()
	for _, s := range []string{pass, sec.Base32(), hsec.Base32(), code, want.At(now)} {
		if strings.Contains(text, s) {
			t.Errorf("the log holds a secret, code or passphrase:\n%s", text)
		}
	}
	if !strings.Contains(text, "unlocked") || !strings.Contains(text, "reason=request") {
		t.Errorf("the log does not tell the unlock and the lock:\n%s", text)
	}
}

func TestAgentIdleLock(t *testing.T) {
	ctx := context.Background()
	home, _ := vault(t)
	c, log, _ := serve(t, home, 300*time.Millisecond)
	if err := c.Unlock(ctx, []byte(pass)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := c.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Locked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("still unlocked 10 s after a 300 ms idle timeout")
		}
		time.Sleep(100 * time.Millisecond) // a status request is not a use
	}
	if !strings.Contains(log.String(), "idle timeout") {
		t.Errorf("log: %s", log.String())
	}
}

func TestSocket(t *testing.T) {
	home, _ := vault(t)
	_, _, path := serve(t, home, time.Hour)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("socket %v, %v; want a 0600 socket", fi.Mode(), err)
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil || di.Mode().Perm() != 0o700 {
		t.Errorf("folder mode %v, %v; want 0700", di.Mode(), err)
	}
	if _, _, err := Listen(path); !errors.Is(err, ErrRunning) {
		t.Errorf("a second agent for the vault: %v, want ErrRunning", err)
	}

	getenv := func(string) string { return "" }
	a, _ := SocketPath("/one/home", getenv)
	b, _ := SocketPath("/another/home", getenv)
	if a == b || filepath.Dir(a) != filepath.Join(os.TempDir(), "latchkey-"+strconv.Itoa(os.Getuid())) {
		t.Errorf("SocketPath: %s and %s", a, b)
	}

	open := filepath.Join(shortDir(t), "open")
	os.Mkdir(open, 0o755)
	if err := privateDir(open); !errors.Is(err, ErrRuntimeDir) {
		t.Errorf("privateDir(0755) = %v, want ErrRuntimeDir", err)
	}
}
