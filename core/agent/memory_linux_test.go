package agent

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
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
