package common

import (
	"io"
	"testing"

	"github.com/charmbracelet/lipgloss"
)

func TestFit(t *testing.T) {
	for _, tt := range []struct {
		in   string
		w    int
		want string
	}{
		{"abc", 5, "abc  "},
		{"abcdef", 4, "abc…"},
		{"abc", 3, "abc"},
		{"日本語", 4, "日… "},
		{"abc", 0, ""},
		{"", 2, "  "},
	} {
		if got := Fit(tt.in, tt.w); got != tt.want {
			t.Errorf("Fit(%q, %d) = %q, want %q", tt.in, tt.w, got, tt.want)
		}
		if got := Width(Fit(tt.in, tt.w)); got != tt.w {
			t.Errorf("Fit(%q, %d) is %d cells", tt.in, tt.w, got)
		}
	}
}

func TestWrap(t *testing.T) {
	for _, tt := range []struct {
		in   string
		w    int
		want string
	}{
		{"one two three", 7, "one two\nthree"},
		{"one two three", 100, "one two three"},
		{"averyveryverylongword x", 5, "aver…\nx"},
		{"a\nb", 10, "a\nb"},
	} {
		if got := Wrap(tt.in, tt.w); got != tt.want {
			t.Errorf("Wrap(%q, %d) = %q, want %q", tt.in, tt.w, got, tt.want)
		}
	}
}

// TestMark draws the marked letters of what Fit or Truncate kept, and
// nothing past it.
func TestMark(t *testing.T) {
	r := lipgloss.NewRenderer(io.Discard)
	base := r.NewStyle().Transform(func(s string) string { return "(" + s + ")" })
	mark := r.NewStyle().Transform(func(s string) string { return "[" + s + "]" })
	for _, tt := range []struct {
		s      string
		w      int
		marked []int
		want   string
	}{
		{"GitHub", 8, []int{0, 3}, "[G](it)[H](ub  )"},
		{"GitHub", 8, nil, "(GitHub  )"},
		{"GitHub", 8, []int{0, 1, 2}, "[Git](Hub  )"},
		{"GitHub.com", 5, []int{0, 3, 7}, "[G](it)[H](…)"},
		{"日本語", 4, []int{0, 3}, "[日](… )"},
		{"ab", 2, []int{5}, "(ab)"},
	} {
		if got := Mark(Fit(tt.s, tt.w), tt.s, tt.marked, base, mark); got != tt.want {
			t.Errorf("Mark(Fit(%q, %d), %v) = %q, want %q", tt.s, tt.w, tt.marked, got, tt.want)
		}
	}
	if got := Mark(Truncate("GitHub · alice", 9), "GitHub · alice", []int{0, 11}, base, mark); got != "[G](itHub ·…)" {
		t.Errorf("truncated: %q", got)
	}
}
