package common

import "testing"

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
