package qrview

import (
	"strings"
	"testing"

	qrcode "github.com/skip2/go-qrcode"
)

// decode reads a half-block drawing back into modules (true = dark).
func decode(t *testing.T, art string, size int) [][]bool {
	t.Helper()
	out := make([][]bool, size)
	for i := range out {
		out[i] = make([]bool, size)
	}
	for y, line := range strings.Split(art, "\n") {
		x := 0
		for _, r := range line {
			top, bottom := false, false
			switch r {
			case '█':
				top, bottom = true, true
			case '▀':
				top = true
			case '▄':
				bottom = true
			case ' ':
			default:
				t.Fatalf("unexpected %q", r)
			}
			out[2*y][x] = !top
			if 2*y+1 < size {
				out[2*y+1][x] = !bottom
			} else if bottom {
				t.Fatal("a lit half below the last row")
			}
			x++
		}
		if x != size {
			t.Fatalf("row %d is %d cells, want %d", y, x, size)
		}
	}
	return out
}

func TestRenderRoundTrip(t *testing.T) {
	for _, content := range []string{"otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&issuer=A", strings.Repeat("x", 200)} {
		q, err := qrcode.New(content, qrcode.Low)
		if err != nil {
			t.Fatal(err)
		}
		q.DisableBorder = true
		bm := q.Bitmap()
		n := len(bm)
		got := decode(t, Render(bm, Quiet), n+2*Quiet)
		for y := range n + 2*Quiet {
			for x := range n + 2*Quiet {
				want := false
				if y >= Quiet && x >= Quiet && y < n+Quiet && x < n+Quiet {
					want = bm[y-Quiet][x-Quiet]
				}
				if got[y][x] != want {
					t.Fatalf("%d modules: module (%d,%d) = %v, want %v", n, x, y, got[y][x], want)
				}
			}
		}
	}
}
