package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"latchkey/core/store"
	"latchkey/core/testenv"
)

// TestAgentPairingCommands: with the agent unlocked, `pair`, `requests`,
// `approve`, `deny` and `store migrate --to keyring` read and write the
// vault through it: no passphrase, no terminal. Without the agent
// (LATCHKEY_AGENT=off) the same command needs the passphrase.
func TestAgentPairingCommands(t *testing.T) {
	bin := buildLatchkey(t)
	h := newAgentHome(t)
	base, adm, id, secret := cibaServer(t)
	if out, errOut, code := binRun(t, bin, h.with("LATCHKEY_PASSPHRASE="+agentPass), "unlock"); code != 0 {
		t.Fatalf("unlock: %d %q %q", code, out, errOut)
	}
	run := func(args ...string) (string, string, int) { return binRun(t, bin, h.env, args...) }

	link := pairingLinkFor(t, base, adm, "bob", run)
	if out, errOut, code := run("pair", link); code != 0 || !strings.Contains(out, "paired Latchkey:bob") {
		t.Fatalf("pair through the agent: %d %q %q", code, out, errOut)
	}

	ask := func(msg string) string { return cibaAsk(t, base, id, secret, "bob", msg, nil) }
	rid := ask("Order 7")
	if _, errOut, code := binRun(t, bin, h.with("LATCHKEY_AGENT=off"), "requests"); code == 0 || !strings.Contains(errOut, "passphrase") {
		t.Fatalf("requests without the agent or a passphrase: %d %q; want the passphrase asked for", code, errOut)
	}
	if out, errOut, code := run("requests"); code != 0 || !strings.Contains(out, rid) || !strings.Contains(out, `"Order 7"`) {
		t.Fatalf("requests through the agent: %d %q %q", code, out, errOut)
	}
	if out, errOut, code := run("approve", rid); code != 0 || !strings.HasPrefix(out, "approved sign-in to Shop") {
		t.Fatalf("approve through the agent: %d %q %q", code, out, errOut)
	}
	if m := cibaPoll(t, base, id, secret, rid); m["id_token"] == nil {
		t.Errorf("token after approve: %v", m)
	}
	rid = ask("Order 8")
	if out, errOut, code := run("deny", rid); code != 0 || !strings.HasPrefix(out, "denied") {
		t.Fatalf("deny through the agent: %d %q %q", code, out, errOut)
	}

	// The move to the keyring runs in the agent, which then locks.
	testenv.Env(t, "LATCHKEY_TEST_SECRET_SERVICE")
	out, errOut, code := run("store", "migrate", "--to", "keyring")
	if code != 0 || out != "moved 2 accounts from file to keyring\n" {
		t.Fatalf("store migrate through the agent: %d %q %q", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(h.home, store.VaultFile)); !os.IsNotExist(err) {
		t.Fatalf("the vault is still there after the move: %v", err)
	}
	if st, ok := h.status(t); !ok || !st.Locked {
		t.Fatalf("agent %+v (running %v) after the move; want locked", st, ok)
	}
	out, errOut, code = run("list")
	if code != 0 || !strings.Contains(out, "alice") || !strings.Contains(out, "bob") {
		t.Fatalf("list from the keyring: %d %q %q", code, out, errOut)
	}
	for _, name := range []string{"alice", "bob"} {
		run("rm", name, "--yes") // the test keyring is shared
	}
}
