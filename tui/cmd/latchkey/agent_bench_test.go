package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"latchkey/core/otp"
	"latchkey/core/store"
	"latchkey/core/testenv"
)

// BenchmarkAgentCode measures `latchkey code QUERY` on the file store (200
// accounts, a vault at age's default scrypt work factor) through the
// agent, and without it (LATCHKEY_AGENT=off: every run pays the scrypt
// unlock), beside oathtool computing the same code with no store, as
// medians of interleaved runs in the same process (31 through the agent
// and of oathtool, 7 without the agent). The figure to watch is
// x-oathtool (through the agent; budget: at most 10).
func BenchmarkAgentCode(b *testing.B) {
	oathtool := testenv.Tool(b, "oathtool")
	bin := buildLatchkey(b)
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "lkb")
	if err != nil {
		b.Fatal(err)
	}
	home, run := dir+"/home", dir+"/run"
	os.Mkdir(run, 0o700)
	const pass = "benchmark passphrase"
	s, err := store.Open(ctx, store.Options{Home: home, Backend: store.File, Passphrase: func() ([]byte, error) { return []byte(pass), nil }})
	if err != nil {
		b.Fatal(err)
	}
	items := make([]store.NewAccount, 200)
	for i := range items {
		sec, _ := otp.NewSecret(otp.SHA1)
		items[i] = store.NewAccount{Account: store.Account{Issuer: fmt.Sprintf("Issuer%03d", i), Name: "user@example.com"}, Secret: sec}
	}
	if _, err := s.AddMany(ctx, items); err != nil {
		b.Fatal(err)
	}
	s.Close()
	h := &agentHome{home: home, run: run, env: []string{"LATCHKEY_HOME=" + home, "XDG_RUNTIME_DIR=" + run, "LATCHKEY_STORE=", "LATCHKEY_AGENT=", "LATCHKEY_PASSPHRASE="}}
	b.Cleanup(func() {
		h.stop(b)
		os.RemoveAll(dir)
	})
	b32 := items[137].Secret.Base32()
	code := func(env ...string) (string, time.Duration) {
		cmd := exec.Command(bin, "code", "issuer137")
		cmd.Env = append(os.Environ(), h.with(env...)...)
		start := time.Now()
		out, err := cmd.Output()
		d := time.Since(start)
		if err != nil {
			b.Fatalf("latchkey code: %v", err)
		}
		return strings.TrimSpace(string(out)), d
	}
	oath := func() (string, time.Duration) {
		start := time.Now()
		out, err := exec.Command(oathtool, "--totp", "-b", b32).Output()
		d := time.Since(start)
		if err != nil {
			b.Fatalf("oathtool: %v", err)
		}
		return strings.TrimSpace(string(out)), d
	}
	// The first run starts and unlocks the agent; then the same code from
	// all three (retry once if a period boundary fell between).
	code("LATCHKEY_PASSPHRASE=" + pass)
	for try := 0; ; try++ {
		viaAgent, _ := code()
		direct, _ := code("LATCHKEY_AGENT=off", "LATCHKEY_PASSPHRASE="+pass)
		want, _ := oath()
		if viaAgent == want && direct == want {
			break
		}
		if try == 1 {
			b.Fatalf("agent %s, without %s, oathtool %s", viaAgent, direct, want)
		}
	}
	var ag, off, ot []time.Duration
	for i := range 31 {
		_, d := code()
		ag = append(ag, d)
		_, d = oath()
		ot = append(ot, d)
		if i%5 == 0 && len(off) < 7 {
			_, d = code("LATCHKEY_AGENT=off", "LATCHKEY_PASSPHRASE="+pass)
			off = append(off, d)
		}
	}
	if st, ok := h.status(b); !ok || st.Locked {
		b.Fatal("the runs did not go through one unlocked agent")
	}
	ma, mo, mt := median(ag), median(off), median(ot)
	for b.Loop() {
		code()
	}
	b.ReportMetric(float64(ma)/float64(mt), "x-oathtool")
	b.ReportMetric(ms(ma), "agent-ms")
	b.ReportMetric(ms(mo), "no-agent-ms")
	b.ReportMetric(ms(mt), "oathtool-ms")
}
