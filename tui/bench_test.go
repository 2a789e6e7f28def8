package tui

import (
	"context"
	"fmt"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"latchkey/core/otp"
)

// benchModel is a ready model over n TOTP accounts at 100×50.
func benchModel(b *testing.B, n int, c *clock) tea.Model {
	b.Helper()
	s := newFakeStore()
	algs := []otp.Algorithm{otp.SHA1, otp.SHA256, otp.SHA512}
	for i := range n {
		s.put(Account{Issuer: fmt.Sprintf("Issuer %d", i), Name: fmt.Sprintf("user%d@example.com", i),
			Type: otp.TOTP, Algorithm: algs[i%3], Digits: 6 + i%3, Period: 30}, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
	}
	m := New(testCommon(c, 100, 50), Options{
		Open:     func(context.Context, OpenOptions) (Store, error) { return s, nil },
		Schedule: func(time.Duration) tea.Cmd { return nil },
	})
	var model tea.Model = m
	msg := m.open(OpenOptions{})()
	model, cmd := model.Update(msg)
	model, _ = model.Update(cmd())
	model, _ = model.Update(tea.WindowSizeMsg{Width: 100, Height: 50})
	if !model.(Model).Ready() {
		b.Fatal("not ready")
	}
	return model
}

// BenchmarkTick is one second of the UI: Update(TickMsg) then View, with
// 1,000 accounts. "boundary" crosses a period boundary on every tick, so
// every code is recomputed (the worst case, once per period); "codes" is
// the baseline of computing 1,000 codes and nothing else.
func BenchmarkTick(b *testing.B) {
	for _, tc := range []struct {
		name string
		step time.Duration
	}{{"accounts=1000", time.Second}, {"accounts=1000/boundary", 30 * time.Second}} {
		b.Run(tc.name, func(b *testing.B) {
			c := &clock{t: time.Unix(1_700_000_000, 0)}
			m := benchModel(b, 1000, c)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				c.t = c.t.Add(tc.step)
				m, _ = m.Update(TickMsg{Time: c.t})
				_ = m.View()
			}
		})
	}
	b.Run("codes=1000", func(b *testing.B) {
		sec, _ := otp.DecodeSecret("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
		gens := make([]*otp.Generator, 1000)
		for i := range gens {
			gens[i], _ = otp.NewGenerator(sec, otp.Options{Algorithm: otp.Algorithm(i % 3), Digits: 6 + i%3})
		}
		t := time.Unix(1_700_000_000, 0)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			t = t.Add(30 * time.Second)
			for _, g := range gens {
				_ = g.At(t)
			}
		}
	})
}
