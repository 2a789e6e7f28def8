package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"latchkey/core/otp"
	"latchkey/core/testenv"
)

// The multi-process tests re-run this test binary as the child process,
// selected by childEnv.
const childEnv = "LATCHKEY_STORE_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(child(mode))
	}
	os.Exit(m.Run())
}

func childOptions() Options {
	o := Options{
		Home:       os.Getenv("LATCHKEY_HOME"),
		Backend:    Backend(os.Getenv("LATCHKEY_STORE")),
		WorkFactor: 2,
		Passphrase: func() ([]byte, error) { return []byte(testPass), nil },
	}
	return o
}

// child runs one of the child behaviours and returns its exit status. It
// prints "ACK id" after an Add returned, and "RM id" before a Delete
// starts.
func child(mode string) int {
	ctx := context.Background()
	out := bufio.NewWriter(os.Stdout)
	say := func(format string, args ...any) {
		fmt.Fprintf(out, format+"\n", args...)
		out.Flush()
	}
	switch mode {
	case "nodbus", "silentbus":
		o := childOptions()
		if mode == "silentbus" {
			o.KeyringTimeout = 300 * time.Millisecond
		}
		s, err := Open(ctx, o)
		if err != nil {
			say("%s", err)
			return 0
		}
		sec, _ := otp.NewSecret(otp.SHA1)
		_, err = s.Add(ctx, Account{Name: "x"}, sec, false)
		say("%v", err)
		return 0
	}
	s, err := Open(ctx, childOptions())
	if err != nil {
		say("ERR %v", err)
		return 1
	}
	switch mode {
	case "loop":
		var prev string
		for i := 0; ; i++ {
			sec, _ := otp.NewSecret(otp.SHA1)
			a, err := s.Add(ctx, Account{Issuer: "Loop", Name: fmt.Sprintf("%s-%d", os.Getenv("CHILD_TAG"), i)}, sec, false)
			if err != nil {
				say("ERR %v", err)
				return 1
			}
			say("ACK %s", a.ID)
			if i%2 == 1 {
				say("RM %s", prev)
				if err := s.Delete(ctx, prev); err != nil {
					say("ERR %v", err)
					return 1
				}
			}
			prev = a.ID
		}
	case "add":
		n, _ := strconv.Atoi(os.Getenv("CHILD_N"))
		for i := range n {
			sec, _ := otp.NewSecret(otp.SHA1)
			a, err := s.Add(ctx, Account{Issuer: "Proc", Name: fmt.Sprintf("%s-%d", os.Getenv("CHILD_TAG"), i)}, sec, false)
			if err != nil {
				say("ERR %v", err)
				return 1
			}
			say("ACK %s", a.ID)
		}
		return 0
	}
	return 2
}

func childCmd(t *testing.T, mode, home string, b Backend, extra ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, "LATCHKEY_HOME="+home, "LATCHKEY_STORE="+string(b))
	cmd.Env = append(cmd.Env, extra...)
	cmd.Stderr = os.Stderr
	return cmd
}

// realBackends are the backends multi-process tests run on: the file
// store always, the real Secret Service when `make test` provides it.
func realBackends(t *testing.T) []Backend {
	return []Backend{File, Keyring}
}

func needBackend(t *testing.T, b Backend) {
	if b == Keyring {
		testenv.Env(t, "LATCHKEY_TEST_SECRET_SERVICE")
	}
}

// TestSIGKILL kills a process looping add/rm with SIGKILL, several times,
// and checks that the store opens with every acknowledged account and its
// secret.
func TestSIGKILL(t *testing.T) {
	for _, b := range realBackends(t) {
		t.Run(string(b), func(t *testing.T) {
			needBackend(t, b)
			ctx := context.Background()
			home := t.TempDir()
			acked := map[string]bool{}
			for round := range 4 {
				cmd := childCmd(t, "loop", home, b, fmt.Sprintf("CHILD_TAG=r%d", round))
				stdout, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				sc := bufio.NewScanner(stdout)
				acks := 0
				for sc.Scan() {
					f := strings.Fields(sc.Text())
					if len(f) != 2 || f[0] == "ERR" {
						t.Fatalf("child: %s", sc.Text())
					}
					switch f[0] {
					case "ACK":
						acked[f[1]] = true
						acks++
					case "RM":
						delete(acked, f[1]) // may or may not be gone
					}
					if acks == 9+5*round {
						break
					}
				}
				cmd.Process.Signal(syscall.SIGKILL)
				// What the child printed before dying counts too.
				for sc.Scan() {
					if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "ACK" {
						acked[f[1]] = true
					} else if len(f) == 2 && f[0] == "RM" {
						delete(acked, f[1])
					}
				}
				cmd.Wait()
				s, err := Open(ctx, Options{Home: home, Passphrase: childOptions().Passphrase})
				if err != nil {
					t.Fatalf("round %d: open after SIGKILL: %v", round, err)
				}
				as, err := s.List(ctx)
				if err != nil {
					t.Fatalf("round %d: list after SIGKILL: %v", round, err)
				}
				have := map[string]bool{}
				for _, a := range as {
					have[a.ID] = true
				}
				for id := range acked {
					if !have[id] {
						t.Fatalf("round %d: acknowledged account %s lost", round, id)
					}
					if _, err := s.Secret(ctx, id); err != nil {
						t.Fatalf("round %d: secret of %s: %v", round, id, err)
					}
				}
				s.Close()
			}
			if len(acked) < 10 {
				t.Fatalf("only %d accounts acknowledged", len(acked))
			}
		})
	}
}

// TestConcurrentProcesses has 8 processes add accounts at once and loses
// none.
func TestConcurrentProcesses(t *testing.T) {
	for _, b := range realBackends(t) {
		t.Run(string(b), func(t *testing.T) {
			needBackend(t, b)
			const procs, each = 8, 6
			home := t.TempDir()
			var mu sync.Mutex
			acked := map[string]bool{}
			var wg sync.WaitGroup
			errs := make(chan error, procs)
			for p := range procs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					cmd := childCmd(t, "add", home, b, fmt.Sprintf("CHILD_TAG=p%d", p), fmt.Sprintf("CHILD_N=%d", each))
					out, err := cmd.Output()
					if err != nil {
						errs <- fmt.Errorf("child %d: %v: %s", p, err, out)
						return
					}
					mu.Lock()
					defer mu.Unlock()
					for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
						if id, ok := strings.CutPrefix(l, "ACK "); ok {
							acked[id] = true
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			s := open(t, Options{Home: home, Passphrase: childOptions().Passphrase})
			as, err := s.List(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(acked) != procs*each || len(as) != procs*each {
				t.Fatalf("%d acknowledged, %d stored, want %d", len(acked), len(as), procs*each)
			}
			for _, a := range as {
				if !acked[a.ID] {
					t.Fatalf("unacknowledged %s", a.ID)
				}
			}
			if _, err := s.Secrets(context.Background()); err != nil {
				t.Fatal(err)
			}
			if b == Keyring {
				cleanupKeyring(t, s)
			}
		})
	}
}

func cleanupKeyring(_ testing.TB, s *Store) {
	as, _ := s.List(context.Background())
	for _, a := range as {
		s.Delete(context.Background(), a.ID)
	}
}

// TestNoDBus points D-Bus nowhere: the error is the one clear sentence,
// from Open on first use and from an Add on an explicit keyring store.
func TestNoDBus(t *testing.T) {
	for _, b := range []Backend{"", Keyring} {
		home := t.TempDir()
		cmd := childCmd(t, "nodbus", home, b, "DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(home, "no-such-bus"))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("child: %v", err)
		}
		got := strings.TrimSpace(string(out))
		if !strings.HasSuffix(got, ErrKeyringUnavailable.Error()) || strings.Contains(got, "no-such-bus") || strings.Contains(got, "dial") {
			t.Errorf("backend %q: %q", b, got)
		}
	}
}

// TestSecretService runs the keyring backend against the real Secret
// Service: the item is visible to secret-tool under service latchkey and
// the account id, and nothing secret reaches the disk.
func TestSecretService(t *testing.T) {
	testenv.Env(t, "LATCHKEY_TEST_SECRET_SERVICE")
	secretTool := testenv.Tool(t, "secret-tool")
	ctx := context.Background()
	home := t.TempDir()
	s := open(t, Options{Home: home})
	if s.Backend() != Keyring {
		t.Fatalf("first use picked %s", s.Backend())
	}
	sec := secret(t)
	a, err := s.Add(ctx, Account{Issuer: "Real", Name: "keyring"}, sec, false)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(secretTool, "lookup", "service", Service, "username", a.ID).Output()
	if err != nil || strings.TrimSpace(string(out)) != sec.Base32() {
		t.Fatalf("secret-tool lookup: %v", err)
	}
	s2 := open(t, Options{Home: home})
	got, err := s2.Secret(ctx, a.ID)
	if err != nil || string(got) != string(sec) {
		t.Fatalf("read back: %v", err)
	}
	grepHome(t, home, Keyring, []otp.Secret{sec})
	// An item removed behind Latchkey's back (e.g. in the OS keyring
	// manager) is reported as missing, not as a broken keyring.
	b, err := s2.Add(ctx, Account{Issuer: "Real", Name: "gone"}, secret(t), false)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(secretTool, "clear", "service", Service, "username", b.ID).CombinedOutput(); err != nil {
		t.Fatalf("secret-tool clear: %v %s", err, out)
	}
	if _, err := open(t, Options{Home: home}).Secret(ctx, b.ID); !errors.Is(err, ErrNotFound) || errors.Is(err, ErrKeyringUnavailable) {
		t.Fatalf("missing item: %v", err)
	}
	if err := s2.Delete(ctx, b.ID); err != nil {
		t.Fatalf("delete with the item already gone: %v", err)
	}
	if err := s2.Delete(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command(secretTool, "lookup", "service", Service, "username", a.ID).Output(); len(out) != 0 {
		t.Fatal("the keyring item survived Delete")
	}
}
