package ui

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"latchkey/core/enroll"
	"latchkey/core/otp"
	"latchkey/core/otpauth"
	"latchkey/core/qr"
	"latchkey/core/store"
	"latchkey/server"
)

const hdToken = "desktop-helpdesk-token"

// hdServer runs a real enrollment server (SQLite) on loopback.
func hdServer(t *testing.T) string {
	t.Helper()
	st, err := server.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "server.db"))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := server.NewKey()
	kr, err := server.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(server.Config{Store: st, Keyring: kr, AdminToken: hdToken})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(func() { hs.Close(); s.Close(); st.Close() })
	return hs.URL
}

// hdTestClock is a clock whose timers fire only when the test says.
type hdTestClock struct {
	mu  sync.Mutex
	now time.Time
	fns []func()
}

func (c *hdTestClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *hdTestClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fns = append(c.fns, f)
	return func() bool { return true }
}

// advance moves the clock and runs the timers that were waiting.
func (c *hdTestClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	fns := c.fns
	c.fns = nil
	c.mu.Unlock()
	for _, f := range fns {
		f()
	}
}

// memTokens is an in-memory TokenKeeper.
type memTokens struct{ m map[string]string }

func (k *memTokens) Load(_ context.Context, url string) (string, error) {
	if t, ok := k.m[url]; ok {
		return t, nil
	}
	return "", enroll.ErrNoToken
}
func (k *memTokens) Save(_ context.Context, url, token string) error { k.m[url] = token; return nil }

type hdSaver struct{ secrets []otp.Secret }

func (s *hdSaver) Add(_ context.Context, a store.Account, sec otp.Secret, _ bool) (store.Account, error) {
	s.secrets = append(s.secrets, append(otp.Secret(nil), sec...))
	a.ID = "x"
	return a, nil
}
func (s *hdSaver) Delete(context.Context, string) error { return nil }

func newHDView(t *testing.T, tokens TokenKeeper) (*helpdeskView, fyne.Window, *hdTestClock) {
	test.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	w.Resize(fyne.NewSize(600, 800))
	ck := &hdTestClock{now: time.Now()}
	v := newHelpdeskView(context.Background(), w, Helpdesk{
		Async:     func(f func()) { f() },
		Clock:     ck,
		Tokens:    tokens,
		NewWindow: func(string) fyne.Window { return test.NewTempWindow(t, nil) },
	}, func(string) string { return "" })
	w.SetContent(v.content())
	return v, w, ck
}

func TestHelpdeskConnect(t *testing.T) {
	url := hdServer(t)
	tokens := &memTokens{m: map[string]string{}}
	v, _, _ := newHDView(t, tokens)
	if v.work.Visible() {
		t.Fatal("the enroll controls show before connecting")
	}
	test.Type(v.serverURL, url)
	test.Type(v.token, "wrong")
	test.Tap(v.connect)
	if !strings.Contains(v.status.Text, "refused the admin token") || v.work.Visible() {
		t.Errorf("wrong token: status %q", v.status.Text)
	}
	v.token.SetText(hdToken)
	test.Tap(v.remember)
	test.Tap(v.connect)
	if !strings.HasPrefix(v.status.Text, "Connected to") || !v.work.Visible() {
		t.Fatalf("connect: status %q", v.status.Text)
	}
	if tokens.m[url] != hdToken {
		t.Error("the token was not remembered")
	}
	if v.token.Text != "" {
		t.Error("the token stays in the field after connecting")
	}
	// A second connection takes the remembered token.
	v2, _, _ := newHDView(t, tokens)
	test.Type(v2.serverURL, url+"/")
	test.Tap(v2.connect)
	if !strings.HasPrefix(v2.status.Text, "Connected to") {
		t.Errorf("remembered token: %q", v2.status.Text)
	}
	v3, _, _ := newHDView(t, nil)
	if v3.remember.Visible() {
		t.Error("Remember shown without a token keeper")
	}
	test.Type(v3.serverURL, "auth.example.com")
	test.Tap(v3.connect)
	if !strings.Contains(v3.status.Text, "https://") {
		t.Errorf("URL without a scheme: %q", v3.status.Text)
	}
}

// TestHelpdeskEnrollDesktop: enroll on the QR window, read the QR back,
// a wrong code then the right one, and the credential is verified.
func TestHelpdeskEnrollDesktop(t *testing.T) {
	url := hdServer(t)
	v, _, ck := newHDView(t, nil)
	test.Type(v.serverURL, url)
	test.Type(v.token, hdToken)
	test.Tap(v.connect)
	test.Tap(v.enroll)
	if !strings.Contains(v.status.Text, "Type a user") {
		t.Errorf("enroll without a user: %q", v.status.Text)
	}
	test.Type(v.user, "dana@example.com")
	test.Tap(v.show)
	if !strings.Contains(v.status.Text, "0 credential") {
		t.Errorf("list: %q", v.status.Text)
	}
	test.Type(v.credName, "Phone")
	test.Tap(v.enroll)
	q := v.qrWin
	if q == nil {
		t.Fatalf("no QR window: %q", v.status.Text)
	}
	if !q.w.FullScreen() {
		t.Error("the QR window is not full screen")
	}
	texts, err := qr.Decode(q.image.Resource.Content())
	if err != nil || len(texts) != 1 {
		t.Fatalf("decode the window's QR: %v %v", texts, err)
	}
	k, err := otpauth.Parse(texts[0])
	if err != nil || k.Account != "dana@example.com" {
		t.Fatalf("QR key %v %v", k, err)
	}
	if !strings.HasPrefix(q.countdown.Text, "This enrollment expires in 1") {
		t.Errorf("countdown %q", q.countdown.Text)
	}
	ck.advance(14*time.Minute + 30*time.Second)
	if !strings.Contains(q.countdown.Text, "in 0:") {
		t.Errorf("countdown after 14:30: %q", q.countdown.Text)
	}
	ck.advance(-(14*time.Minute + 30*time.Second))
	test.Type(q.code, "000000")
	test.Tap(q.confirm)
	if !strings.Contains(q.message.Text, "not accepted") || q.code.Text != "" {
		t.Errorf("wrong code: %q", q.message.Text)
	}
	g, _ := k.Generator()
	test.Type(q.code, g.At(time.Now()))
	test.Tap(q.confirm)
	if !strings.Contains(q.message.Text, "Enrollment confirmed") {
		t.Fatalf("right code: %q", q.message.Text)
	}
	if q.image.Visible() || q.detail.Visible() || q.code.Visible() {
		t.Error("the QR and the secret stay on the screen after the enrollment was confirmed")
	}
	cs, err := enroll.Admin{Server: url, Token: hdToken}.Credentials(context.Background(), "dana@example.com")
	if err != nil || len(cs) != 1 || !cs[0].Verified || cs[0].Name != "Phone" {
		t.Fatalf("API after the desktop enrollment: %+v %v", cs, err)
	}
	if rows := credRows(v); len(rows) != 1 || !strings.HasPrefix(rows[0], "Phone — verified — created ") {
		t.Errorf("list not refreshed: %q", rows)
	}
	// Revoke asks first.
	v.askRevoke("dana@example.com", cs[0])
	if v.w.Canvas().Overlays().Top() == nil {
		t.Error("revoke did not ask")
	}
	v.revoke("dana@example.com", cs[0])
	if cs, _ := (enroll.Admin{Server: url, Token: hdToken}).Credentials(context.Background(), "dana@example.com"); len(cs) != 0 {
		t.Error("revoke left the credential")
	}
}

// TestHelpdeskLinkDesktop: the QR can carry the enrollment link, which
// Latchkey redeems and confirms.
func TestHelpdeskLinkDesktop(t *testing.T) {
	url := hdServer(t)
	v, _, _ := newHDView(t, nil)
	test.Type(v.serverURL, url)
	test.Type(v.token, hdToken)
	test.Tap(v.connect)
	test.Type(v.user, "eve")
	v.qrKind.SetSelected(qrLink)
	test.Tap(v.enroll)
	texts, err := qr.Decode(v.qrWin.image.Resource.Content())
	if err != nil || len(texts) != 1 || !strings.HasPrefix(texts[0], url+"/enroll#") {
		t.Fatalf("link QR: %v %v", texts, err)
	}
	if _, err := enroll.Enroll(context.Background(), enroll.Client{}, texts[0], &hdSaver{}, enroll.Options{}); err != nil {
		t.Fatal(err)
	}
	test.Tap(v.show)
	if rows := credRows(v); len(rows) != 1 || !strings.Contains(rows[0], " — verified — ") {
		t.Errorf("rows after Latchkey confirmed: %q", rows)
	}
}

// credRows returns the texts of the credential rows.
func credRows(v *helpdeskView) []string {
	var out []string
	for _, o := range v.creds.Objects {
		if c, ok := o.(*fyne.Container); ok {
			if l, ok := c.Objects[0].(*widget.Label); ok {
				out = append(out, l.Text)
			}
		}
	}
	return out
}

// TestLocalServer starts the embedded server as the desktop view does.
func TestLocalServer(t *testing.T) {
	home := t.TempDir()
	url, token, stop, err := LocalServer(context.Background(), func(k string) string {
		if k == "LATCHKEY_HOME" {
			return home
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := enroll.Admin{Server: url, Token: token}.Credentials(context.Background(), "nobody")
	if err != nil || len(cs) != 0 {
		t.Fatalf("local server: %v %v", cs, err)
	}
	if _, err := (enroll.Admin{Server: url, Token: "wrong"}).Credentials(context.Background(), "nobody"); !errors.Is(err, enroll.ErrUnauthorized) {
		t.Errorf("wrong token: %v", err)
	}
	stop()
	if _, err := (enroll.Admin{Server: url, Token: token}).Credentials(context.Background(), "nobody"); err == nil {
		t.Error("the server still answers after stop")
	}
}

// TestShowHelpdesk: the main window's shortcut opens the view in a
// window of its own.
func TestShowHelpdesk(t *testing.T) {
	a := test.NewTempApp(t)
	home := t.TempDir()
	u := &App{ctx: context.Background(), deps: Deps{Helpdesk: Helpdesk{Getenv: func(k string) string {
		if k == "LATCHKEY_HOME" {
			return home
		}
		return ""
	}}}}
	u.deps.defaults()
	u.showHelpdesk()
	var titles []string
	for _, w := range a.Driver().AllWindows() {
		titles = append(titles, w.Title())
	}
	if !strings.Contains(strings.Join(titles, "|"), "Latchkey Helpdesk") {
		t.Errorf("windows: %q", titles)
	}
}
