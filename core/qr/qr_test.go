package qr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"latchkey/core/testenv"
)

const uri = "otpauth://totp/ACME%20Co:alice@example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"

func decodeOne(t *testing.T, data []byte) string {
	t.Helper()
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d codes: %q", len(got), got)
	}
	return got[0]
}

func TestPNGDecodes(t *testing.T) {
	for _, size := range []int{0, 180, 512} {
		png, err := PNG(uri, size)
		if err != nil {
			t.Fatal(err)
		}
		if got := decodeOne(t, png); got != uri {
			t.Fatalf("size %d: %q", size, got)
		}
	}
}

// TestZbarReadsPNG checks our PNGs with an independent decoder.
func TestZbarReadsPNG(t *testing.T) {
	zbar := testenv.Tool(t, "zbarimg")
	data, err := PNG(uri, 300)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "qr.png")
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(zbar, "-q", "--raw", f).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != uri {
		t.Fatalf("zbarimg read %q", got)
	}
}

// TestDecodeQrencode decodes images made by an independent encoder.
func TestDecodeQrencode(t *testing.T) {
	qrencode := testenv.Tool(t, "qrencode")
	for _, level := range []string{"L", "M", "H"} {
		out, err := exec.Command(qrencode, "-t", "PNG", "-l", level, "-s", "4", "-o", "-", uri).Output()
		if err != nil {
			t.Fatalf("qrencode: %v", err)
		}
		if got := decodeOne(t, out); got != uri {
			t.Fatalf("level %s: %q", level, got)
		}
	}
}

// screenshot places QR images at the given offsets on a larger noisy
// background, as in a screenshot of a web page.
func screenshot(t testing.TB, w, h int, codes map[image.Point][]byte) image.Image {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.RGBA{236, 240, 244, 255}}, image.Point{}, draw.Src)
	r := rand.New(rand.NewPCG(1, 2))
	for range 60 { // text-like grey blocks
		x, y := r.IntN(w-120), r.IntN(h-14)
		draw.Draw(img, image.Rect(x, y, x+20+r.IntN(100), y+10), &image.Uniform{color.Gray{uint8(40 + r.IntN(120))}}, image.Point{}, draw.Src)
	}
	for at, data := range codes {
		q, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		draw.Draw(img, q.Bounds().Add(at), q, q.Bounds().Min, draw.Src)
	}
	return img
}

func TestDecodeInsideScreenshot(t *testing.T) {
	code, err := PNG(uri, 220)
	if err != nil {
		t.Fatal(err)
	}
	img := screenshot(t, 1600, 1000, map[image.Point][]byte{{1130, 610}: code})
	var p, j bytes.Buffer
	if err := png.Encode(&p, img); err != nil {
		t.Fatal(err)
	}
	if got := decodeOne(t, p.Bytes()); got != uri {
		t.Fatalf("png: %q", got)
	}
	if err := jpeg.Encode(&j, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	if got := decodeOne(t, j.Bytes()); got != uri {
		t.Fatalf("jpeg: %q", got)
	}
}

func TestDecodeSeveral(t *testing.T) {
	a, _ := PNG(uri, 220)
	other := strings.Replace(uri, "alice", "bob", 1)
	b, _ := PNG(other, 220)
	img := screenshot(t, 900, 400, map[image.Point][]byte{{600, 90}: b, {60, 100}: a})
	var p bytes.Buffer
	png.Encode(&p, img)
	got, err := Decode(p.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != uri || got[1] != other {
		t.Fatalf("got %q", got)
	}
}

func TestDecodeErrors(t *testing.T) {
	blank := image.NewGray(image.Rect(0, 0, 300, 300))
	var p bytes.Buffer
	png.Encode(&p, blank)
	huge := image.NewGray(image.Rect(0, 0, 1, 1))
	var h bytes.Buffer
	png.Encode(&h, huge)
	// Patch the IHDR size to 40000x40000 and fix its CRC.
	hb := h.Bytes()
	copy(hb[16:24], []byte{0, 0, 0x9c, 0x40, 0, 0, 0x9c, 0x40})
	binary.BigEndian.PutUint32(hb[29:33], crc32.ChecksumIEEE(hb[12:29]))
	tests := []struct {
		name string
		in   []byte
		is   error
	}{
		{"no code", p.Bytes(), ErrNoCode},
		{"not an image", []byte("hello"), ErrImage},
		{"truncated png", p.Bytes()[:40], ErrImage},
		{"too many pixels", hb, ErrTooLarge},
		{"too many bytes", make([]byte, MaxInput+1), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.in)
			if !errors.Is(err, tt.is) || got != nil {
				t.Fatalf("got %q, %v; want %v", got, err, tt.is)
			}
		})
	}
}

func TestTerminal(t *testing.T) {
	s, err := Terminal(uri)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) < 15 || !strings.Contains(s, "▀") || !strings.HasSuffix(lines[0], "\x1b[0m") {
		t.Fatalf("%d lines", len(lines))
	}
	// Rebuild the module grid from the colours and decode it: the
	// terminal drawing must be the same code.
	grid := fromTerminal(t, lines)
	var p bytes.Buffer
	png.Encode(&p, grid)
	if got := decodeOne(t, p.Bytes()); got != uri {
		t.Fatalf("terminal QR reads %q", got)
	}
}

// fromTerminal turns half-block lines back into an image, 4 pixels per
// module.
func fromTerminal(t *testing.T, lines []string) image.Image {
	t.Helper()
	var rows [][]bool
	for _, l := range lines {
		var top, bottom []bool
		for _, cell := range strings.Split(l, "m▀")[:strings.Count(l, "▀")] {
			i := strings.LastIndex(cell, "\x1b[")
			fg, bg, _ := strings.Cut(cell[i+2:], ";")
			top = append(top, fg == "30")
			bottom = append(bottom, bg == "40")
		}
		rows = append(rows, top, bottom)
	}
	const s = 4
	img := image.NewGray(image.Rect(0, 0, len(rows[0])*s, len(rows)*s))
	for y, r := range rows {
		for x, dark := range r {
			c := color.Gray{255}
			if dark {
				c = color.Gray{0}
			}
			draw.Draw(img, image.Rect(x*s, y*s, x*s+s, y*s+s), &image.Uniform{c}, image.Point{}, draw.Src)
		}
	}
	return img
}

func FuzzDecode(f *testing.F) {
	code, _ := PNG(uri, 64)
	f.Add(code)
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add([]byte{0xff, 0xd8, 0xff, 0xe0})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Decode(data)
		if err != nil && got != nil {
			t.Fatalf("texts with an error")
		}
	})
}

// BenchmarkDecodeCode is the baseline for BenchmarkDecodeScreenshot: a
// QR image alone.
func BenchmarkDecodeCode(b *testing.B) {
	data, _ := PNG(uri, 220)
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeScreenshot finds the same code in a 1600x1000 screenshot.
func BenchmarkDecodeScreenshot(b *testing.B) {
	code, _ := PNG(uri, 220)
	img := screenshot(b, 1600, 1000, map[image.Point][]byte{{1130, 610}: code})
	var p bytes.Buffer
	png.Encode(&p, img)
	for b.Loop() {
		if _, err := Decode(p.Bytes()); err != nil {
			b.Fatal(err)
		}
	}
}
