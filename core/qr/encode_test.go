package qr

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	goqr "github.com/skip2/go-qrcode"

	"latchkey/core/testenv"
)

// TestPNGSameAsGoQRCode checks PNG against go-qrcode's own drawing, which
// it replaced: the same pixels at every size, round or not.
func TestPNGSameAsGoQRCode(t *testing.T) {
	for _, size := range []int{0, 10, 64, 180, 256, 384, 512, 600} {
		data, err := PNG(uri, size)
		if err != nil {
			t.Fatal(err)
		}
		got, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		wantSize := size
		if size <= 0 {
			wantSize = 256
		}
		q, _ := goqr.New(uri, goqr.Medium)
		want := q.Image(wantSize)
		if got.Bounds() != want.Bounds() {
			t.Fatalf("size %d: bounds %v, want %v", size, got.Bounds(), want.Bounds())
		}
		for y := range want.Bounds().Dy() {
			for x := range want.Bounds().Dx() {
				if dark(got.At(x, y)) != dark(want.At(x, y)) {
					t.Fatalf("size %d: pixel (%d,%d) differs", size, x, y)
				}
			}
		}
	}
}

func dark(c interface{ RGBA() (r, g, b, a uint32) }) bool {
	r, _, _, _ := c.RGBA()
	return r < 0x8000
}

// TestBlocks reads the plain half-block drawing back into modules and
// compares them with go-qrcode's bitmap, for codes of even and odd width.
func TestBlocks(t *testing.T) {
	for _, content := range []string{"otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&issuer=A", strings.Repeat("x", 200)} {
		for _, quiet := range []int{0, 2, Quiet} {
			c, err := Encode(content, Low)
			if err != nil {
				t.Fatal(err)
			}
			q, _ := goqr.New(content, goqr.Low)
			q.DisableBorder = true
			bm := q.Bitmap()
			n := len(bm)
			if c.Size() != n {
				t.Fatalf("Size %d, want %d", c.Size(), n)
			}
			got := fromBlocks(t, c.Blocks(quiet), n+2*quiet)
			for y := range n + 2*quiet {
				for x := range n + 2*quiet {
					want := false
					if y >= quiet && x >= quiet && y < n+quiet && x < n+quiet {
						want = bm[y-quiet][x-quiet]
					}
					if got[y][x] != want {
						t.Fatalf("%d modules, quiet %d: module (%d,%d) = %v, want %v", n, quiet, x, y, got[y][x], want)
					}
				}
			}
		}
	}
}

// fromBlocks reads a plain half-block drawing back into modules (true =
// dark).
func fromBlocks(t *testing.T, art string, size int) [][]bool {
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

// TestZbarReadsEveryDrawing checks each drawing with an independent
// decoder: PNGs at Low and Medium, at whole and stretched module sizes,
// and the terminal drawings turned back into images.
func TestZbarReadsEveryDrawing(t *testing.T) {
	zbar := testenv.Tool(t, "zbarimg")
	read := func(t *testing.T, data []byte) string {
		t.Helper()
		f := filepath.Join(t.TempDir(), "qr.png")
		if err := os.WriteFile(f, data, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(zbar, "-q", "--raw", f).Output()
		if err != nil {
			t.Fatalf("zbarimg: %v", err)
		}
		return strings.TrimSuffix(string(out), "\n")
	}
	for _, level := range []Level{Low, Medium} {
		c, err := Encode(uri, level)
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []int{(c.Size() + 2*Quiet) * 4, 300} {
			data, err := c.PNG(Quiet, size)
			if err != nil {
				t.Fatal(err)
			}
			if got := read(t, data); got != uri {
				t.Fatalf("level %d, %d px: zbarimg read %q", level, size, got)
			}
		}
		var p bytes.Buffer
		png.Encode(&p, modulesImage(fromBlocks(t, c.Blocks(Quiet), c.Size()+2*Quiet)))
		if got := read(t, p.Bytes()); got != uri {
			t.Fatalf("level %d, blocks: zbarimg read %q", level, got)
		}
	}
	s, err := Terminal(uri)
	if err != nil {
		t.Fatal(err)
	}
	var p bytes.Buffer
	png.Encode(&p, fromTerminal(t, strings.Split(strings.TrimSuffix(s, "\n"), "\n")))
	if got := read(t, p.Bytes()); got != uri {
		t.Fatalf("terminal: zbarimg read %q", got)
	}
}

// modulesImage draws modules (true = dark) at 4 pixels each.
func modulesImage(m [][]bool) image.Image {
	c := &Code{dark: m}
	return c.Image(0, 4*len(m))
}

// BenchmarkPNG draws an otpauth URI as the server does (Low, 4 pixels a
// module) and as the CLI and the desktop app do (Medium, 512 pixels).
func BenchmarkPNG(b *testing.B) {
	b.Run("server", func(b *testing.B) {
		for b.Loop() {
			c, err := Encode(uri, Low)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.PNG(Quiet, (c.Size()+2*Quiet)*4); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("app", func(b *testing.B) {
		for b.Loop() {
			if _, err := PNG(uri, 512); err != nil {
				b.Fatal(err)
			}
		}
	})
}
