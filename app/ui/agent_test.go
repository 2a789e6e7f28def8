package ui

import (
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"latchkey/core/agent"
	"latchkey/core/agent/agenttest"
	"latchkey/core/otp"
	"latchkey/core/store"
)

const agentPass = "correct horse battery"

// TestAgentStore: the desktop on the file store goes through the agent
// (ViaAgent, as the app wires it): it unlocks a locked agent with the
// passphrase; an account another process (the CLI) adds through the agent
// shows at the next poll; one the desktop adds the other process reads at
// once; when the agent locks behind the window the codes go and the lock
// screen unlocks it again; and the desktop's own lock locks the agent.
func TestAgentStore(t *testing.T) {
	ctx := context.Background()
	co := agenttest.Vault(t, agentPass)
	home := co.Home
	test.NewTempApp(t)
	clock := &fakeClock{now: t0}
	w := test.NewTempWindow(t, nil)
	w.Resize(fyne.NewSize(420, 400))
	u := New(w, Deps{
		Clock:      clock,
		Backend:    File,
		Passphrase: func() ([]byte, error) { return []byte(agentPass), nil },
		Open: func(ctx context.Context, b Backend, p Prompts) (Store, error) {
			s, err := store.Open(ctx, store.Options{Home: home, Backend: b, Passphrase: p.Passphrase, NewPassphrase: p.NewPassphrase})
			if err != nil {
				return nil, err
			}
			o := co
			o.Passphrase = p.Passphrase
			a, ok, err := ViaAgent(ctx, s, o)
			if ok || err != nil {
				return a, err
			}
			return s, nil
		},
	})
	u.async = func(f func()) { f() }
	u.Start(ctx)
	t.Cleanup(u.Stop)
	rows := func() string { return strings.Join(listed(w), "\n") }
	if !strings.Contains(rows(), "Example") {
		t.Fatalf("rows after start:\n%s\nscreen:\n%s", rows(), texts(w.Content()))
	}
	if _, ok := u.store.(*agentStore); !ok {
		t.Fatalf("the desktop's store is %T, not the agent", u.store)
	}

	path, _ := agent.SocketPath(home, co.Getenv)
	cli, err := agent.Dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if st, err := cli.Status(ctx); err != nil || st.Locked {
		t.Fatalf("agent %+v, %v; want unlocked by the desktop", st, err)
	}
	sec, _ := otp.NewSecret(otp.SHA1)
	if _, err := cli.Add(ctx, store.Account{Issuer: "Shell", Name: "bob"}, sec, false); err != nil {
		t.Fatal(err)
	}
	clock.advance(pollEvery)
	if !strings.Contains(rows(), "Shell") {
		t.Fatalf("the CLI's add is not listed after a poll:\n%s", rows())
	}

	f := u.newAddForm()
	f.uri.SetText("otpauth://totp/Slack:dave?secret=JBSWY3DPEHPK3PXP&issuer=Slack")
	f.submitURI()
	as, err := cli.List(ctx)
	if err != nil || len(as) != 3 || as[2].Label() != "Slack:dave" {
		t.Fatalf("the CLI lists %v, %v; want dave, added in the desktop", as, err)
	}

	if err := cli.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	clock.advance(pollEvery)
	if s := texts(w.Content()); !strings.Contains(s, "Latchkey is locked") {
		t.Fatalf("no lock screen after the agent locked:\n%s", s)
	}
	if len(u.gens) != 0 || u.store != nil {
		t.Fatalf("after the agent locked: %d generators, store %v", len(u.gens), u.store)
	}
	var pass *widget.Entry
	for _, o := range test.LaidOutObjects(w.Content()) {
		if e, ok := o.(*widget.Entry); ok && e.Password {
			pass = e
		}
	}
	if pass == nil {
		t.Fatal("no passphrase field on the lock screen")
	}
	pass.SetText(agentPass)
	test.Tap(button(t, w.Content(), "Unlock"))
	if r := rows(); !strings.Contains(r, "Slack") || !strings.Contains(r, "Shell") {
		t.Fatalf("rows after unlocking:\n%s\nscreen:\n%s", r, texts(w.Content()))
	}
	if st, err := cli.Status(ctx); err != nil || st.Locked {
		t.Fatalf("agent %+v, %v; want unlocked from the lock screen", st, err)
	}

	u.lock()
	if st, err := cli.Status(ctx); err != nil || !st.Locked {
		t.Fatalf("agent %+v, %v; want locked with the desktop", st, err)
	}
}

// TestAgentCannotStartAsksOnce: when the agent cannot start (its binary
// ends at once), the desktop opens the vault itself, with the passphrase
// already typed for the agent: one prompt, not two, and no wait for an
// agent that is gone.
func TestAgentCannotStartAsksOnce(t *testing.T) {
	ctx := context.Background()
	o := agenttest.Home(t, agentPass)
	broken, err := exec.LookPath("false") // a "latchkey" that ends at once
	if err != nil {
		t.Fatal(err)
	}
	var warned []string
	test.NewTempApp(t)
	w := newPromptWindow(t)
	u := New(w, Deps{
		Clock:   &fakeClock{now: t0},
		Backend: File,
		Open: func(ctx context.Context, b Backend, p Prompts) (Store, error) {
			s, err := store.Open(ctx, store.Options{Home: o.Home, Backend: b, Passphrase: p.Passphrase, NewPassphrase: p.NewPassphrase})
			if err != nil {
				return nil, err
			}
			o := o
			o.Passphrase = p.Passphrase
			o.Exe = func() (string, error) { return broken, nil }
			o.Warn = func(msg string) { warned = append(warned, msg) }
			a, ok, err := ViaAgent(ctx, s, o)
			if ok || err != nil {
				return a, err
			}
			return s, nil
		},
	})
	var wg sync.WaitGroup
	u.async = func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }
	returns(t, "Start", func() { u.Start(ctx) })
	t.Cleanup(u.Stop)
	d := w.prompt(t, "unlock dialog")
	e := passwordEntries(d)
	if len(e) != 1 {
		t.Fatalf("the unlock dialog:\n%s", texts(d))
	}
	test.Type(e[0], agentPass)
	returns(t, "Enter in the passphrase field", func() { e[0].OnSubmitted(e[0].Text) })
	opened := make(chan struct{})
	go func() { wg.Wait(); close(opened) }()
	select {
	case <-opened:
	case <-w.prompted:
		t.Fatalf("the passphrase is asked again after the agent could not start:\n%s", texts(overlay(t, w)))
	case <-time.After(30 * time.Second):
		t.Fatalf("not opened; the window shows:\n%s", texts(w.Content()))
	}
	if u.store == nil || len(u.all) != 1 {
		t.Fatalf("not unlocked; the window shows:\n%s", texts(w.Content()))
	}
	if _, ok := u.store.(*agentStore); ok {
		t.Fatal("the desktop uses an agent that could not start")
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "ended at once (exit status 1)") {
		t.Fatalf("warnings %q; want one saying the agent ended at once", warned)
	}
}
