package agent

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"latchkey/core/otp"
	"latchkey/core/store"
)

// vmLck is this process's locked memory in KiB (/proc/self/status).
func vmLck(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmLck:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no VmLck in /proc/self/status")
	return 0
}

// TestVaultInLockedMemory: unlocking maps and locks memory for the
// vault (its plaintext while read, its secrets), beside the passphrase's
// page; locking wipes and unmaps all of it.
func TestVaultInLockedMemory(t *testing.T) {
	ctx := context.Background()
	home, sec := vault(t)
	c, log, _ := serve(t, home, time.Hour)
	before := vmLck(t)
	if err := c.Unlock(ctx, []byte(pass)); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Secret(ctx, mustID(t, c)); err != nil || string(got) != string(sec) {
		t.Fatalf("Secret: %v", err)
	}
	if !strings.Contains(log.String(), "mlocked=true") {
		t.Fatalf("the vault is not in locked memory (RLIMIT_MEMLOCK?):\n%s", log)
	}
	page := os.Getpagesize() / 1024
	if d := vmLck(t) - before; d < arenaRegion/1024+page {
		t.Fatalf("locked memory grew by %d KiB on unlock; want the passphrase's page and a %d KiB region", d, arenaRegion/1024)
	}
	if err := c.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if after := vmLck(t); after != before {
		t.Fatalf("locked memory %d KiB after lock, %d before unlock: not all released", after, before)
	}
}

func mustID(t *testing.T, c *Client) string {
	t.Helper()
	as, err := c.List(context.Background())
	if err != nil || len(as) == 0 {
		t.Fatalf("List: %v, %v", as, err)
	}
	return as[0].ID
}

// TestVaultMemoryRenewed: an agent re-reads its vault whenever another
// process rewrote it, each time into new locked memory. Over a long
// session its locked memory must stay bounded and its secrets locked:
// the agent moves the vault to fresh memory and gives the old back,
// instead of filling its arena and keeping later reads on the heap.
func TestVaultMemoryRenewed(t *testing.T) {
	ctx := context.Background()
	home := shortDir(t)
	opts := store.Options{Home: home, Backend: store.File, WorkFactor: 2,
		Passphrase: func() ([]byte, error) { return []byte(pass), nil }}
	w, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// About 400 KiB of plaintext, which each re-read maps again: few
	// accounts, with long labels and many tags, read quicker than many.
	tags := make([]string, store.MaxTags)
	for i := range tags {
		tags[i] = strings.Repeat(string(rune('a'+i%26)), store.MaxTag-3) + strconv.Itoa(100+i)
	}
	items := make([]store.NewAccount, 80)
	secs := map[string]otp.Secret{}
	for i := range items {
		sec, _ := otp.NewSecret(otp.SHA1)
		items[i] = store.NewAccount{Account: store.Account{Issuer: strings.Repeat("Example ", 30) + strconv.Itoa(i),
			Name: strings.Repeat("alice", 50) + strconv.Itoa(i), Tags: tags}, Secret: sec}
	}
	added, err := w.AddMany(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range added {
		secs[a.ID] = items[i].Secret
	}
	c, log, _ := serve(t, home, time.Hour)
	before := vmLck(t)
	if err := c.Unlock(ctx, []byte(pass)); err != nil {
		t.Fatal(err)
	}
	unlocked := vmLck(t) - before
	if unlocked < arenaRegion/1024 {
		t.Fatalf("locked memory grew by %d KiB on unlock: the vault is not in locked memory (RLIMIT_MEMLOCK?)", unlocked)
	}
	// Enough rewrites to pass renewAt (half the arena) once.
	rewrites := renewAt(0) / 1024 * 6 / 5 / max(unlocked, 1)
	peak := 0
	for i := range rewrites {
		id := added[i%len(added)].ID
		if _, err := w.Update(ctx, id, func(a *store.Account) error { a.Name = "renamed " + strconv.Itoa(i); return nil }); err != nil {
			t.Fatal(err)
		}
		got, err := c.Secret(ctx, id) // re-reads the vault
		if err != nil || string(got) != string(secs[id]) {
			t.Fatalf("rewrite %d: Secret: %v", i, err)
		}
		peak = max(peak, vmLck(t)-before)
	}
	if strings.Contains(log.String(), "heap_fallback=true") || !strings.Contains(log.String(), "vault memory renewed") {
		t.Fatalf("after %d rewrites of a vault that needs %d KiB: no renewal, or secrets left on the heap:\n%s", rewrites, unlocked, lastLines(log.String(), 5))
	}
	if limit := arenaLimit/2/1024 + 2*unlocked; peak > limit {
		t.Fatalf("locked memory peaked at %d KiB over %d rewrites; want at most %d KiB (half the arena and a read)", peak, rewrites, limit)
	}
	t.Logf("%d rewrites: %d renewals, locked memory at most %d KiB", rewrites, strings.Count(log.String(), "vault memory renewed"), peak)
	as, err := c.List(ctx)
	if err != nil || len(as) != len(added) {
		t.Fatalf("List after renewals: %d accounts, %v", len(as), err)
	}
	if err := c.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if after := vmLck(t); after != before {
		t.Fatalf("locked memory %d KiB after lock, %d before unlock: not all released", after, before)
	}
}

// lastLines is the end of a log, for a failure's message.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
