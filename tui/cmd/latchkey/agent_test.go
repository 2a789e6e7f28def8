package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"latchkey/core/agent"
	"latchkey/core/otp"
	"latchkey/core/store"
	"latchkey/core/testenv"
)

const agentPass = "agent test passphrase"

// agentHome is a file store with one account, alice, and the variables a
// latchkey process needs to use it with its own agent folder. Short
// paths: a socket's path must fit in 108 bytes.
type agentHome struct {
	home, run string
	env       []string // without LATCHKEY_PASSPHRASE
	secret    otp.Secret
}

func newAgentHome(t *testing.T) *agentHome {
	t.Helper()
	h := emptyAgentHome(t)
	s, err := store.Open(context.Background(), store.Options{Home: h.home, Backend: store.File, WorkFactor: 10,
		Passphrase: func() ([]byte, error) { return []byte(agentPass), nil }})
	if err != nil {
		t.Fatal(err)
	}
	h.secret, _ = otp.NewSecret(otp.SHA1)
	if _, err := s.Add(context.Background(), store.Account{Issuer: "Example", Name: "alice"}, h.secret, false); err != nil {
		t.Fatal(err)
	}
	s.Close()
	return h
}

// emptyAgentHome is newAgentHome before any vault: a home and a runtime
// folder of their own, and the environment that names them.
func emptyAgentHome(t *testing.T) *agentHome {
	t.Helper()
	dir, err := os.MkdirTemp("", "lka")
	if err != nil {
		t.Fatal(err)
	}
	h := &agentHome{home: filepath.Join(dir, "home"), run: filepath.Join(dir, "run")}
	os.Mkdir(h.run, 0o700)
	h.env = []string{"LATCHKEY_HOME=" + h.home, "XDG_RUNTIME_DIR=" + h.run, "LATCHKEY_STORE=", "LATCHKEY_AGENT=", "LATCHKEY_PASSPHRASE="}
	t.Cleanup(func() {
		h.stop(t)
		os.RemoveAll(dir)
	})
	return h
}

func (h *agentHome) with(kv ...string) []string {
	return append(append([]string(nil), h.env...), kv...)
}

func (h *agentHome) socket(t testing.TB) string {
	p, err := agent.SocketPath(h.home, func(k string) string {
		if k == "XDG_RUNTIME_DIR" {
			return h.run
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// status asks the agent of h; ok is false when none answers.
func (h *agentHome) status(t testing.TB) (agent.Status, bool) {
	c, err := agent.Dial(context.Background(), h.socket(t))
	if err != nil {
		return agent.Status{}, false
	}
	defer c.Close()
	st, err := c.Status(context.Background())
	return st, err == nil
}

// stop ends h's agent, if one runs, and waits until its socket is gone.
func (h *agentHome) stop(t testing.TB) {
	st, ok := h.status(t)
	if !ok {
		return
	}
	syscall.Kill(st.PID, syscall.SIGTERM)
	for range 200 {
		if _, ok := h.status(t); !ok {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *agentHome) log(t *testing.T) string {
	b, _ := os.ReadFile(strings.TrimSuffix(h.socket(t), ".sock") + ".log")
	return string(b)
}

// listOff lists the vault without an agent.
func (h *agentHome) listOff(t *testing.T, bin string) []store.Account {
	t.Helper()
	out, errOut, code := binRun(t, bin, h.with("LATCHKEY_AGENT=off", "LATCHKEY_PASSPHRASE="+agentPass), "list", "--json")
	if code != 0 {
		t.Fatalf("list --json: %d %s", code, errOut)
	}
	var as []store.Account
	if err := json.Unmarshal([]byte(out), &as); err != nil {
		t.Fatal(err)
	}
	return as
}

// TestAgentOnDemand: the first command that unlocks the vault starts the
// agent; the next ones need no passphrase; a locked agent makes a command
// without a terminal fail at once with one line; LATCHKEY_AGENT=off
// starts none.
func TestAgentOnDemand(t *testing.T) {
	bin := buildLatchkey(t)
	h := newAgentHome(t)

	if _, errOut, code := binRun(t, bin, h.with("LATCHKEY_AGENT=off", "LATCHKEY_PASSPHRASE="+agentPass), "code", "alice"); code != 0 {
		t.Fatalf("code with LATCHKEY_AGENT=off: %d %s", code, errOut)
	}
	if _, ok := h.status(t); ok {
		t.Fatal("LATCHKEY_AGENT=off started an agent")
	}

	out, errOut, code := binRun(t, bin, h.with("LATCHKEY_PASSPHRASE="+agentPass), "code", "alice")
	if code != 0 || len(strings.TrimSpace(out)) != 6 {
		t.Fatalf("code: %d %q %s", code, out, errOut)
	}
	st, ok := h.status(t)
	if !ok || st.Locked {
		t.Fatalf("after the first code: agent %+v, answering %v; want one unlocked", st, ok)
	}
	if fi, err := os.Stat(h.socket(t)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket: %v %v", fi, err)
	}
	if _, errOut, code := binRun(t, bin, h.env, "code", "alice"); code != 0 {
		t.Fatalf("code without the passphrase through the agent: %d %s", code, errOut)
	}
	if out, _, _ := binRun(t, bin, h.env, "lock"); out != "locked\n" {
		t.Fatalf("lock: %q", out)
	}
	start := time.Now()
	_, errOut, code = binRun(t, bin, h.env, "code", "alice")
	if code != 1 || errOut != "latchkey: "+errNoPassphrase.Error()+"\n" || time.Since(start) > 5*time.Second {
		t.Fatalf("code on a locked agent without a terminal: %d %q after %v; want one line, at once", code, errOut, time.Since(start))
	}
	if _, errOut, code := binRun(t, bin, h.with("LATCHKEY_PASSPHRASE=wrong"), "unlock"); code != 1 || !strings.Contains(errOut, "wrong passphrase") {
		t.Fatalf("unlock with a wrong passphrase: %d %q", code, errOut)
	}
	if out, errOut, code := binRun(t, bin, h.with("LATCHKEY_PASSPHRASE="+agentPass), "unlock"); code != 0 || !strings.HasPrefix(out, fmt.Sprintf("unlocked (agent pid %d)", st.PID)) {
		t.Fatalf("unlock: %d %q %s", code, out, errOut)
	}
}

// TestAgentConcurrentAdds: 8 processes add at once, with no agent
// running at first (they race to start one; one serves them all), and
// no account is lost. The agent's log holds no secret, passphrase or
// code.
func TestAgentConcurrentAdds(t *testing.T) {
	bin := buildLatchkey(t)
	h := newAgentHome(t)
	const n = 8
	secrets := make([]otp.Secret, n)
	var wg sync.WaitGroup
	errs := make([]string, n)
	for i := range n {
		secrets[i], _ = otp.NewSecret(otp.SHA1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(bin, "add", "--secret", secrets[i].Base32(), "--name", fmt.Sprintf("user%d", i))
			cmd.Env = append(os.Environ(), h.with("LATCHKEY_PASSPHRASE="+agentPass)...)
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Sprintf("%v: %s", err, out)
			}
		}()
	}
	wg.Wait()
	for i, e := range errs {
		if e != "" {
			t.Errorf("add %d: %s", i, e)
		}
	}
	as := h.listOff(t, bin)
	if len(as) != n+1 {
		t.Fatalf("the vault holds %d accounts, want %d", len(as), n+1)
	}
	st, ok := h.status(t)
	if !ok || st.Locked {
		t.Fatalf("agent %+v %v", st, ok)
	}
	code, _, _ := binRun(t, bin, h.env, "code", "user3")
	log := h.log(t)
	if strings.Count(log, "agent started") != 1 {
		t.Errorf("want one agent, the log says:\n%s", log)
	}
	for _, s := range append(secrets, h.secret) {
		if strings.Contains(log, s.Base32()) {
			t.Errorf("the agent's log holds a secret:\n%s", log)
		}
	}
	if strings.Contains(log, agentPass) || strings.Contains(log, strings.TrimSpace(code)) {
		t.Errorf("the agent's log holds the passphrase or a code:\n%s", log)
	}
}

// TestAgentSIGKILL: every add the agent acknowledged is in the vault after
// the agent is killed with SIGKILL in the middle of them.
func TestAgentSIGKILL(t *testing.T) {
	bin := buildLatchkey(t)
	h := newAgentHome(t)
	if _, errOut, code := binRun(t, bin, h.with("LATCHKEY_PASSPHRASE="+agentPass), "unlock"); code != 0 {
		t.Fatal(errOut)
	}
	st, _ := h.status(t)
	var acked []string
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 6 {
			name := fmt.Sprintf("kill%d", i)
			sec, _ := otp.NewSecret(otp.SHA1)
			cmd := exec.Command(bin, "add", "--secret", sec.Base32(), "--name", name)
			// No passphrase: once the agent is gone, the adds fail rather
			// than start another.
			cmd.Env = append(os.Environ(), h.env...)
			if cmd.Run() == nil {
				mu.Lock()
				acked = append(acked, name)
				mu.Unlock()
			}
		}
	}()
	for {
		mu.Lock()
		k := len(acked)
		mu.Unlock()
		if k >= 2 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	syscall.Kill(st.PID, syscall.SIGKILL)
	<-done
	have := map[string]bool{}
	for _, a := range h.listOff(t, bin) {
		have[a.Name] = true
	}
	for _, name := range acked {
		if !have[name] {
			t.Errorf("%s was acknowledged but is not in the vault", name)
		}
	}
	t.Logf("%d adds acknowledged before and after the kill", len(acked))
}

// TestAgentTwoHomes: two LATCHKEY_HOMEs get two agents.
func TestAgentTwoHomes(t *testing.T) {
	bin := buildLatchkey(t)
	a, b := newAgentHome(t), newAgentHome(t)
	b.run = a.run // one runtime folder, as for one user
	b.env = b.with("XDG_RUNTIME_DIR=" + a.run)
	for _, h := range []*agentHome{a, b} {
		if _, errOut, code := binRun(t, bin, h.with("LATCHKEY_PASSPHRASE="+agentPass), "unlock"); code != 0 {
			t.Fatal(errOut)
		}
	}
	sa, oka := a.status(t)
	sb, okb := b.status(t)
	if !oka || !okb || sa.PID == sb.PID || a.socket(t) == b.socket(t) || sa.Home == sb.Home {
		t.Fatalf("two homes: %+v and %+v", sa, sb)
	}
}

// TestAgentIdleLock: an agent started with --timeout locks itself once
// idle that long.
func TestAgentIdleLock(t *testing.T) {
	bin := buildLatchkey(t)
	h := newAgentHome(t)
	cmd := exec.Command(bin, "agent", "--timeout", "500ms")
	cmd.Env = append(os.Environ(), h.env...)
	var logb bytes.Buffer
	cmd.Stderr = &logb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	for range 500 {
		if _, ok := h.status(t); ok {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, errOut, code := binRun(t, bin, h.with("LATCHKEY_PASSPHRASE="+agentPass), "unlock"); code != 0 {
		t.Fatal(errOut)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, ok := h.status(t)
		if ok && st.Locked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the agent did not lock after 500 ms idle")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAgentOtherUser: a process of another user that reaches the socket
// (its folder and mode opened up on purpose) is refused by the peer-uid
// check, and the agent stays unlocked. Needs root, runuser and nobody.
func TestAgentOtherUser(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Missing(t, "root, to run a process as another user")
	}
	runuser := testenv.Tool(t, "runuser")
	bin := buildLatchkey(t)
	h := newAgentHome(t)
	if _, errOut, code := binRun(t, bin, h.with("LATCHKEY_PASSPHRASE="+agentPass), "unlock"); code != 0 {
		t.Fatal(errOut)
	}
	// The other user needs the binary and a way to the socket.
	pub, err := os.MkdirTemp("", "lkpub")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(pub)
	os.Chmod(pub, 0o755)
	data, _ := os.ReadFile(bin)
	other := filepath.Join(pub, "latchkey")
	if err := os.WriteFile(other, data, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := h.socket(t)
	for _, p := range []string{filepath.Dir(h.run), h.run, filepath.Dir(sock)} {
		os.Chmod(p, 0o755)
	}
	os.Chmod(sock, 0o666)

	cmd := exec.Command(runuser, "-u", "nobody", "--", "env", "LATCHKEY_HOME="+h.home, "XDG_RUNTIME_DIR="+h.run, other, "lock")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if err == nil || !strings.Contains(errb.String(), agent.ErrRefused.Error()) {
		t.Fatalf("lock as nobody: %v, stdout %q, stderr %q; want refused", err, out.String(), errb.String())
	}
	if st, ok := h.status(t); !ok || st.Locked {
		t.Fatalf("after another user's lock: %+v %v; want still unlocked", st, ok)
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	if log := h.log(t); !strings.Contains(log, "refused a connection from another user") || !strings.Contains(log, "uid="+nobody.Uid) {
		t.Errorf("the log does not name the refused uid:\n%s", log)
	}
}

// TestAgentTerminal runs the binary on a real terminal (tmux): the first
// code asks for the passphrase and starts the agent, the second asks
// nothing, and after `latchkey lock` the next one asks again.
func TestAgentTerminal(t *testing.T) {
	bin := buildLatchkey(t)
	h := newAgentHome(t)
	script := fmt.Sprintf("%[1]s code alice; echo ONE=$?; %[1]s code alice; echo TWO=$?; %[1]s lock; %[1]s code alice; echo THREE=$?; sleep 60", bin)
	tt := tuiTmux(t, h.env, 150, 30, "sh", "-c", script)
	prompts := func(n int) func(string) bool {
		return func(s string) bool { return strings.Count(s, "Vault passphrase:") >= n }
	}
	tt.waitFor("the passphrase prompt", 30*time.Second, prompts(1))
	tt.key(agentPass)
	tt.key("Enter")
	s := tt.waitFor("TWO=0", 30*time.Second, func(s string) bool { return strings.Contains(s, "TWO=0") })
	if before, _, _ := strings.Cut(s, "TWO=0"); !strings.Contains(before, "ONE=0") || strings.Count(before, "Vault passphrase:") != 1 {
		t.Fatalf("want one prompt for two codes:\n%s", before)
	}
	tt.waitFor("the prompt after the lock", 30*time.Second, prompts(2))
	tt.key(agentPass)
	tt.key("Enter")
	s = tt.waitFor("THREE=0", 30*time.Second, func(s string) bool { return strings.Contains(s, "THREE=0") })
	if !strings.Contains(s, "locked") || strings.Contains(s, agentPass) {
		t.Fatalf("screen:\n%s", s)
	}
}

// TestAgentCannotStartTerminal: when the agent cannot start (its folder
// in XDG_RUNTIME_DIR is open to others, which it refuses), a command on a
// terminal says so, opens the vault itself with the passphrase typed
// once, and prints the code, without waiting for the agent.
func TestAgentCannotStartTerminal(t *testing.T) {
	bin := buildLatchkey(t)
	h := newAgentHome(t)
	dir := filepath.Join(h.run, "latchkey")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755) // past the umask
	tt := tuiTmux(t, h.env, 150, 30, "sh", "-c", bin+" code alice; echo ONE=$?; sleep 60")
	tt.waitText("the passphrase prompt", "Vault passphrase:")
	tt.key(agentPass)
	tt.key("Enter")
	s := tt.waitText("the command's end", "ONE=")
	opts := otp.Options{Algorithm: otp.SHA1, Digits: 6, Period: 30}
	code, err := otp.TOTPCode(h.secret, time.Now(), opts)
	if err != nil {
		t.Fatal(err)
	}
	prev, _ := otp.TOTPCode(h.secret, time.Now().Add(-30*time.Second), opts)
	if !strings.Contains(s, "ONE=0") || strings.Count(s, "Vault passphrase:") != 1 || !strings.Contains(s, code) && !strings.Contains(s, prev) {
		t.Fatalf("want the code after one prompt:\n%s", s)
	}
	if !strings.Contains(s, "could not start the agent") || !strings.Contains(s, "ended at once") {
		t.Fatalf("no warning that the agent ended at once:\n%s", s)
	}
	if st, ok := h.status(t); ok {
		t.Fatalf("an agent answers: %+v", st)
	}
	log, _ := os.ReadFile(filepath.Join(dir, strings.TrimSuffix(filepath.Base(h.socket(t)), ".sock")+".log"))
	if !strings.Contains(string(log), "agent not started") || !strings.Contains(string(log), "is mode 0755 (want 0700)") {
		t.Errorf("the agent's log does not say why it did not start:\n%s", log)
	}
}

// TestAgentTUINewVault: a new user creates the file store's vault in the
// terminal UI (its first add); from then on the UI goes through an agent
// it started, unlocked, so a command in another terminal lists the
// account without asking for the passphrase. (TestAgentTUI shows the rest
// of the UI on the agent.)
func TestAgentTUINewVault(t *testing.T) {
	bin := buildLatchkey(t)
	h := emptyAgentHome(t)
	tt := tuiTmux(t, append(h.with("NO_COLOR=1"), "LATCHKEY_STORE=file"), 100, 30, bin)
	tt.waitText("the empty list", "0 accounts · file store")
	addFirstAccount(t, tt, agentPass)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if st, ok := h.status(t); ok && !st.Locked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no unlocked agent after the vault was created; screen:\n%s", tt.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, errOut, code := binRun(t, bin, h.env, "list")
	if code != 0 || !strings.Contains(out, "carol") {
		t.Fatalf("latchkey list without a passphrase: %d %q %q; want carol, added in the UI", code, out, errOut)
	}
}

// TestAgentTUI runs the terminal UI on a real terminal (tmux) beside the
// CLI: the UI asks for the passphrase once and starts the agent with it;
// an account the UI adds is listed by the CLI at once without a
// passphrase; one the CLI adds shows in the UI at its next reload; and
// after `latchkey lock` the UI asks for the passphrase again.
func TestAgentTUI(t *testing.T) {
	bin := buildLatchkey(t)
	h := newAgentHome(t)
	tt := tuiTmux(t, append(h.with("NO_COLOR=1"), "LATCHKEY_STORE=file"), 100, 30, bin)
	tt.waitFor("the UI's passphrase prompt", 30*time.Second, func(s string) bool { return strings.Contains(s, "Unlock the file store") })
	if _, ok := h.status(t); ok {
		t.Fatal("an agent runs before the passphrase was typed")
	}
	tt.key(agentPass)
	tt.key("Enter")
	tt.waitFor("alice", 30*time.Second, func(s string) bool { return strings.Contains(s, "alice") && strings.Contains(s, "1 account") })
	if st, ok := h.status(t); !ok || st.Locked {
		t.Fatalf("after the UI's unlock the agent is %+v (running %v); want one unlocked", st, ok)
	}

	tt.key("a")
	tt.key("otpauth://totp/ACME:carol?secret=JBSWY3DPEHPK3PXP&issuer=ACME")
	tt.key("Enter")
	tt.waitFor("the UI's add", 30*time.Second, func(s string) bool { return strings.Contains(s, "Added ACME:carol.") })
	out, errOut, code := binRun(t, bin, h.env, "list")
	if code != 0 || !strings.Contains(out, "carol") {
		t.Fatalf("latchkey list without a passphrase: %d %q %q; want carol, added in the UI", code, out, errOut)
	}

	if _, errOut, code := binRun(t, bin, h.env, "add", "--issuer", "Shell", "--name", "bob", "--secret", "JBSWY3DPEHPK3PXP"); code != 0 {
		t.Fatalf("latchkey add: %d %s", code, errOut)
	}
	tt.waitFor("bob at the UI's reload", 30*time.Second, func(s string) bool { return strings.Contains(s, "bob") && strings.Contains(s, "3 accounts") })

	if out, _, code := binRun(t, bin, h.env, "lock"); code != 0 || !strings.Contains(out, "locked") {
		t.Fatalf("latchkey lock: %d %q", code, out)
	}
	s := tt.waitFor("the prompt after the lock", 30*time.Second, func(s string) bool { return strings.Contains(s, "Unlock the file store") })
	if strings.Contains(s, "alice") {
		t.Fatalf("the accounts stay on screen after the lock:\n%s", s)
	}
	tt.key(agentPass)
	tt.key("Enter")
	tt.waitFor("the accounts again", 30*time.Second, func(s string) bool { return strings.Contains(s, "3 accounts") })
	if log := h.log(t); strings.Contains(log, agentPass) || strings.Contains(log, "JBSWY3DPEHPK3PXP") {
		t.Fatalf("a secret in the agent's log:\n%s", log)
	}
}
