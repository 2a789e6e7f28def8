package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"latchkey/core/otp"
	"latchkey/core/store"
	"latchkey/core/testenv"
)

// BenchmarkTimeToCode measures `latchkey code QUERY` (the binary `make
// build` installs, keyring backend on the real Secret Service, 200 accounts
// stored) beside `secret-tool lookup` of the same item (libsecret's own
// tool reading one secret: the fair peer, and the budget) and oathtool
// computing the same code with no store at all, as medians of 61
// interleaved runs each; `latchkey version` is what the Go program pays to
// start. The figures are the ratios x-secret-tool (budget: at most 1) and
// x-oathtool.
func BenchmarkTimeToCode(b *testing.B) {
	testenv.Env(b, "LATCHKEY_TEST_SECRET_SERVICE")
	oathtool := testenv.Tool(b, "oathtool")
	bin := buildLatchkey(b)
	ctx := context.Background()
	home := b.TempDir()
	s, err := store.Open(ctx, store.Options{Home: home, Backend: store.Keyring})
	if err != nil {
		b.Fatal(err)
	}
	items := make([]store.NewAccount, 200)
	for i := range items {
		sec, _ := otp.NewSecret(otp.SHA1)
		items[i] = store.NewAccount{Account: store.Account{Issuer: fmt.Sprintf("Issuer%03d", i), Name: "user@example.com"}, Secret: sec}
	}
	added, err := s.AddMany(ctx, items)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		for _, a := range added {
			s.Delete(ctx, a.ID)
		}
	})
	const target = 137
	b32 := items[target].Secret.Base32()
	env := append(os.Environ(), "LATCHKEY_HOME="+home, "LATCHKEY_STORE=")
	latchkey := func() (string, time.Duration) {
		cmd := exec.Command(bin, "code", "issuer137")
		cmd.Env = env
		start := time.Now()
		out, err := cmd.Output()
		d := time.Since(start)
		if err != nil {
			b.Fatalf("latchkey code: %v", err)
		}
		return strings.TrimSpace(string(out)), d
	}
	timed := func(name string, args ...string) (string, time.Duration) {
		start := time.Now()
		out, err := exec.Command(name, args...).Output()
		d := time.Since(start)
		if err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		return strings.TrimSpace(string(out)), d
	}
	// Same code from both (retry once if a period boundary fell between).
	for try := 0; ; try++ {
		got, _ := latchkey()
		want, _ := timed(oathtool, "--totp", "-b", b32)
		if got == want {
			break
		}
		if try == 1 {
			b.Fatalf("latchkey %s, oathtool %s", got, want)
		}
	}
	secretTool := testenv.Tool(b, "secret-tool")
	lookup := []string{"lookup", "service", store.Service, "username", added[target].ID}
	if got, _ := timed(secretTool, lookup...); got != b32 {
		b.Fatal("secret-tool lookup does not find the account's item")
	}
	const runs = 61
	var lat, st, oath, ver []time.Duration
	for range runs {
		_, d := latchkey()
		lat = append(lat, d)
		_, d = timed(secretTool, lookup...)
		st = append(st, d)
		_, d = timed(oathtool, "--totp", "-b", b32)
		oath = append(oath, d)
		_, d = timed(bin, "version")
		ver = append(ver, d)
	}
	ml, ms2, mo, mv := median(lat), median(st), median(oath), median(ver)
	for b.Loop() {
		latchkey()
	}
	b.ReportMetric(float64(ml)/float64(ms2), "x-secret-tool")
	b.ReportMetric(float64(ml)/float64(mo), "x-oathtool")
	b.ReportMetric(ms(ml), "latchkey-ms")
	b.ReportMetric(ms(ms2), "secret-tool-ms")
	b.ReportMetric(ms(mo), "oathtool-ms")
	b.ReportMetric(ms(mv), "go-start-ms")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
