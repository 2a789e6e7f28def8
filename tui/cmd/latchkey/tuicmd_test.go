package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/muesli/termenv"

	"latchkey/core/otp"
	"latchkey/core/store"
	"latchkey/core/testenv"
	"latchkey/tui"
	"latchkey/tui/common"
)

// tuiTerm is the real binary running in a private tmux server.
type tuiTerm struct {
	tb     testing.TB
	tmux   string
	socket string
}

// tuiTmux runs argv in a detached width×height tmux session on a
// private server (tmux -L), killed when the test ends.
func tuiTmux(tb testing.TB, env []string, width, height int, argv ...string) *tuiTerm {
	tb.Helper()
	tt := &tuiTerm{tb: tb, tmux: testenv.Tool(tb, "tmux"), socket: fmt.Sprintf("latchkey-test-%d-%d", os.Getpid(), time.Now().UnixNano())}
	args := []string{"-L", tt.socket, "-f", "/dev/null", "new-session", "-d", "-x", strconv.Itoa(width), "-y", strconv.Itoa(height)}
	for _, kv := range env {
		args = append(args, "-e", kv)
	}
	args = append(args, argv...)
	cmd := exec.Command(tt.tmux, args...)
	cmd.Env = append(os.Environ(), "TERM=xterm-256color")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	tb.Cleanup(func() { exec.Command(tt.tmux, "-L", tt.socket, "kill-server").Run() })
	return tt
}

// screen is the pane's text (capture-pane drops colours).
func (tt *tuiTerm) screen() string {
	out, err := exec.Command(tt.tmux, "-L", tt.socket, "capture-pane", "-p").Output()
	if err != nil {
		return ""
	}
	return string(out)
}

// key sends one key and pauses: Bubble Tea v1 merges keys that arrive
// together.
func (tt *tuiTerm) key(k string) {
	tt.tb.Helper()
	if out, err := exec.Command(tt.tmux, "-L", tt.socket, "send-keys", k).CombinedOutput(); err != nil {
		tt.tb.Fatalf("send-keys %q: %v\n%s", k, err, out)
	}
	time.Sleep(150 * time.Millisecond)
}

// waitFor polls the screen until ok accepts it.
func (tt *tuiTerm) waitFor(what string, timeout time.Duration, ok func(string) bool) string {
	tt.tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := tt.screen()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			tt.tb.Fatalf("waiting for %s; the screen is:\n%s", what, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (tt *tuiTerm) alive() bool {
	return exec.Command(tt.tmux, "-L", tt.socket, "has-session").Run() == nil
}

var tuiCodeRe = regexp.MustCompile(`(\d{3,4}) (\d{3,4})`)

// tuiRowCode is the first grouped code on the screen line that holds label.
func tuiRowCode(screen, label string) string {
	for _, line := range strings.Split(screen, "\n") {
		if strings.Contains(line, label) {
			if m := tuiCodeRe.FindStringSubmatch(line); m != nil {
				return m[1] + m[2]
			}
		}
	}
	return ""
}

// tuiSeed writes n TOTP accounts to a new file store in one vault
// write (the store's AddMany), with the default scrypt work factor, so that
// opening it costs what it costs a user.
func tuiSeed(tb testing.TB, home, passphrase string, n int) {
	tb.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, store.Options{Home: home, Backend: store.File,
		Passphrase: func() ([]byte, error) { return []byte(passphrase), nil }})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	items := make([]store.NewAccount, n)
	for i := range items {
		sec, err := otp.NewSecret(otp.SHA1)
		if err != nil {
			tb.Fatal(err)
		}
		items[i] = store.NewAccount{Account: store.Account{Issuer: fmt.Sprintf("Issuer%03d", i), Name: fmt.Sprintf("user%03d@example.com", i),
			Type: otp.TOTP, Algorithm: otp.SHA1, Digits: 6, Period: 30}, Secret: sec}
	}
	if _, err := s.AddMany(ctx, items); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkStartup measures, with 200 accounts on the file store and the
// passphrase from LATCHKEY_PASSPHRASE, the time from starting the TUI in
// tmux to its first full frame (the header counts 200 accounts and the
// first row shows a code), against the baseline of "latchkey list" on the
// same store (open, decrypt, print 200 codes, exit).
func BenchmarkStartup(b *testing.B) {
	testenv.Tool(b, "tmux")
	bin := buildLatchkey(b)
	home := filepath.Join(b.TempDir(), "home")
	const pass = "bench passphrase"
	tuiSeed(b, home, pass, 200)
	env := []string{"LATCHKEY_HOME=" + home, "LATCHKEY_STORE=file", "LATCHKEY_PASSPHRASE=" + pass}
	// The two are interleaved so that both see the same machine load.
	var tuiTime, listTime time.Duration
	for range b.N {
		start := time.Now()
		tt := tuiTmux(b, env, 100, 40, bin)
		tt.waitFor("the first frame", 60*time.Second, func(s string) bool {
			return strings.Contains(s, "200 accounts") && tuiRowCode(s, "Issuer000") != ""
		})
		tuiTime += time.Since(start)
		exec.Command(tt.tmux, "-L", tt.socket, "kill-server").Run()

		start = time.Now()
		cmd := exec.Command(bin, "list")
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("latchkey list: %v\n%s", err, out)
		}
		listTime += time.Since(start)
	}
	b.ReportMetric(float64(tuiTime.Milliseconds())/float64(b.N), "tui-ms/op")
	b.ReportMetric(float64(listTime.Milliseconds())/float64(b.N), "list-ms/op")
	b.ReportMetric(float64(tuiTime)/float64(listTime), "tui/list")
}

func TestTUIFlagsStartTheUI(t *testing.T) {
	for _, tt := range []struct {
		arg  string
		want bool
	}{{"--log", true}, {"-log=x", true}, {"--store=file", true}, {"-store", true}, {"--logs", false}, {"log", false}, {"--help", false}, {"list", false}} {
		if got := tuiFlag(tt.arg); got != tt.want {
			t.Errorf("tuiFlag(%q) = %v, want %v", tt.arg, got, tt.want)
		}
	}
	// Off a terminal the UI refuses with a usage error; no arguments print
	// the usage instead, for scripts.
	out, errOut, code := call(t, "--log", filepath.Join(t.TempDir(), "log"))
	if code != 2 || out != "" || !strings.Contains(errOut, "needs a terminal") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if out, _, code := call(t); code != 0 || !strings.Contains(out, "Usage:") {
		t.Fatalf("no arguments off a terminal: exit %d, %q", code, out)
	}
	if _, errOut, code := call(t, "--store", "floppy"); code != 2 || !strings.Contains(errOut, "needs a terminal") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

func TestTUIStylesHonourNoColor(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tt := range []struct {
		noColor string
		plain   bool
	}{{"1", true}, {"", false}} {
		e := &env{getenv: func(k string) string {
			switch k {
			case "NO_COLOR":
				return tt.noColor
			case "TERM":
				return "xterm-256color"
			}
			return ""
		}}
		st := tuiStyles(e, f)
		if got := st.Renderer.ColorProfile() == termenv.Ascii; tt.noColor != "" && !got {
			t.Errorf("NO_COLOR=%q: profile %v, want Ascii", tt.noColor, st.Renderer.ColorProfile())
		}
		if got := st.Code.Render("1"); tt.plain && got != "1" {
			t.Errorf("NO_COLOR=%q: styled %q", tt.noColor, got)
		}
	}
}

// tuiDrive feeds msg to m and then every message its commands yield, in
// order, running the commands synchronously (the UI's ticks are switched
// off by the caller).
func tuiDrive(m tea.Model, msg tea.Msg) tea.Model {
	queue := []tea.Msg{msg}
	for len(queue) > 0 {
		var cmd tea.Cmd
		m, cmd = m.Update(queue[0])
		queue = append(queue[1:], tuiRun(cmd)...)
	}
	return m
}

func tuiRun(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	switch msg := cmd().(type) {
	case nil:
		return nil
	case tea.BatchMsg:
		var out []tea.Msg
		for _, c := range msg {
			out = append(out, tuiRun(c)...)
		}
		return out
	default:
		return []tea.Msg{msg}
	}
}

// TestTUIEnrollLink redeems a link from a running server through the
// terminal UI's add form, with the enroller tuiOptions builds and a real
// file store: the account is stored, the server holds the credential as
// verified, and pasting the spent link again is refused with core/enroll's
// one message, storing nothing.
func TestTUIEnrollLink(t *testing.T) {
	ctx := context.Background()
	adm := enrollServer(t)
	created, err := adm.Create(ctx, "bob@example.com", "TUI")
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	vars := map[string]string{"LATCHKEY_HOME": home, "LATCHKEY_PASSPHRASE": "correct horse"}
	e := &env{getenv: func(k string) string { return vars[k] }, stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, now: time.Now}
	opts, err := tuiOptions(e, "file", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if opts.Enroll == nil {
		t.Fatal("tuiOptions built no enroller")
	}
	// The same store as tuiOptions opens, with a cheap scrypt for the test.
	opts.Open = func(ctx context.Context, o tui.OpenOptions) (tui.Store, error) {
		s, err := store.Open(ctx, store.Options{Home: home, Backend: store.File, Passphrase: o.Passphrase, NewPassphrase: o.NewPassphrase, WorkFactor: 2})
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	opts.Schedule = func(time.Duration) tea.Cmd { return nil }
	// tuiRun runs commands one after another, and the sign-in listener's
	// wait for news never ends; TestTUIApprovalEndToEnd covers it.
	if opts.Approvals.Listen == nil || opts.Approvals.Answer == nil {
		t.Fatal("tuiOptions connected no sign-in requests")
	}
	opts.Approvals = tui.Approvals{}
	c := common.New(ctx, nil, nil, time.Now)
	c.SetSize(120, 30)
	var m tea.Model = tui.New(c, opts)
	for _, msg := range tuiRun(m.Init()) {
		m = tuiDrive(m, msg)
	}
	if !m.(tui.Model).Ready() {
		t.Fatalf("the UI did not open the store:\n%s", m.View())
	}
	t.Cleanup(func() { m.(tui.Model).Store().(io.Closer).Close() })

	paste := func(link string) {
		m = tuiDrive(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("a")})
		m = tuiDrive(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(link), Paste: true})
		m = tuiDrive(m, tea.KeyMsg{Type: tea.KeyEnter})
	}
	paste(created.EnrollmentLink)
	view := strings.Join(strings.Fields(m.View()), " ")
	if !strings.Contains(view, "Enrolled and confirmed Latchkey:bob@example.com.") || !strings.Contains(view, "1 account ·") {
		t.Fatalf("after enrolling:\n%s", m.View())
	}
	cs, err := adm.Credentials(ctx, "bob@example.com")
	if err != nil || len(cs) != 1 || !cs[0].Verified {
		t.Fatalf("credentials after enrolling in the UI: %+v, %v", cs, err)
	}
	as, err := m.(tui.Model).Store().List(ctx)
	if err != nil || len(as) != 1 || as[0].Label() != "Latchkey:bob@example.com" {
		t.Fatalf("stored accounts: %+v, %v", as, err)
	}

	// The link is spent: the form says so, and nothing more is stored.
	paste(created.EnrollmentLink)
	view = strings.Join(strings.Fields(m.View()), " ")
	if !strings.Contains(view, "Not enrolled: the enrollment link is invalid, expired or already used") {
		t.Fatalf("second redemption:\n%s", m.View())
	}
	if tok := created.EnrollmentLink[strings.Index(created.EnrollmentLink, "#")+1:]; strings.Contains(m.View(), tok[:12]) {
		t.Error("the view shows the token")
	}
	if as, err := m.(tui.Model).Store().List(ctx); err != nil || len(as) != 1 {
		t.Errorf("stored accounts after the spent link: %d, %v", len(as), err)
	}
}
