package tui

import (
	"context"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"latchkey/core/agent"
	"latchkey/core/agent/agenttest"
	"latchkey/core/otp"
	"latchkey/core/store"
)

const agentPass = "correct horse battery"

// TestAgentStore: the UI on a locked agent asks for the passphrase and
// unlocks the agent with it; then what another process (the CLI) adds
// through the agent shows at the next reload, what the UI adds the other
// process reads at once, and when the agent locks behind the UI (idle,
// 'latchkey lock', the session's lock) the codes go and the prompt comes
// back.
func TestAgentStore(t *testing.T) {
	ctx := context.Background()
	co := agenttest.Vault(t, agentPass)
	open := func(ctx context.Context, o OpenOptions) (Store, error) {
		c := co
		c.Passphrase = o.Passphrase
		return agent.Connect(ctx, c)
	}
	h := newHarness(t, harnessOpts{open: open})
	h.wantView("Unlock the file store")
	h.keys("wrong", "enter")
	h.wantView("Wrong passphrase")
	h.keys("ctrl+u", agentPass, "enter")
	h.wantView("Example", "alice", "1 account")
	if _, ok := h.model().Store().(*agent.Client); !ok {
		t.Fatalf("the UI's store is %T, not the agent", h.model().Store())
	}

	// The CLI's side: its own connection, no passphrase needed.
	cli, err := agent.Dial(ctx, socket(t, co))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	sec, _ := otp.NewSecret(otp.SHA1)
	if _, err := cli.Add(ctx, store.Account{Issuer: "Shell", Name: "bob"}, sec, false); err != nil {
		t.Fatal(err)
	}
	h.clock.t = h.clock.t.Add(ReloadEvery)
	h.send(TickMsg{Time: h.clock.t})
	h.wantView("Shell", "bob", "2 accounts")

	h.keys("a")
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("otpauth://totp/ACME:carol?secret=JBSWY3DPEHPK3PXP&issuer=ACME"), Paste: true})
	h.keys("enter")
	h.wantView("Added ACME:carol.")
	as, err := cli.List(ctx)
	if err != nil || len(as) != 3 || as[2].Label() != "ACME:carol" {
		t.Fatalf("the CLI lists %v, %v; want carol added by the UI", as, err)
	}

	if err := cli.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	h.clock.t = h.clock.t.Add(ReloadEvery)
	h.send(TickMsg{Time: h.clock.t})
	h.wantView("Unlock the file store")
	if n := len(h.model().list.Items()); n != 0 {
		t.Fatalf("%d accounts kept after the agent locked", n)
	}
	h.keys(agentPass, "enter")
	h.wantView("ACME", "carol", "3 accounts")
	if st, err := cli.Status(ctx); err != nil || st.Locked {
		t.Fatalf("agent status %+v, %v; want unlocked by the UI", st, err)
	}

	// A change tried on a locked agent brings the prompt at once, and
	// changes nothing.
	if err := cli.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	h.keys("d", "y")
	h.wantView("Unlock the file store")
	h.keys(agentPass, "enter")
	h.wantView("3 accounts")
}

func socket(t *testing.T, co agent.ConnectOptions) string {
	t.Helper()
	p, err := agent.SocketPath(co.Home, co.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
