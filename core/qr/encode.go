package qr

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"

	goqr "github.com/skip2/go-qrcode"
)

// Level is the error correction of a code: how much of it may be damaged
// and still read. More correction takes more modules for the same text.
type Level int

const (
	// Medium restores 15% of the code: the default, for codes that may be
	// printed, saved or photographed at an angle.
	Medium Level = iota
	// Low restores 7%: for codes read straight off a screen. An otpauth
	// URI then takes version 6 (41 modules) instead of Medium's version 8
	// (49): larger modules in the same space, easier to scan.
	Low
)

// Quiet is the light border around a code, in modules, that ISO/IEC
// 18004 asks for.
const Quiet = 4

// Code is an encoded QR code: a square of modules, without its quiet zone.
type Code struct {
	dark [][]bool // [y][x]; true for a dark module
}

// Encode encodes text (its bytes, in the most compact modes) at level.
func Encode(text string, level Level) (*Code, error) {
	rl := goqr.Medium
	if level == Low {
		rl = goqr.Low
	}
	q, err := goqr.New(text, rl)
	if err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	q.DisableBorder = true
	return &Code{dark: q.Bitmap()}, nil
}

// Size returns the width of the code in modules, without a quiet zone.
func (c *Code) Size() int { return len(c.dark) }

// Dark reports whether module (x, y) is dark. (0, 0) is the top left
// module of the code; modules outside the code (its quiet zone) are light.
func (c *Code) Dark(x, y int) bool {
	n := len(c.dark)
	return x >= 0 && y >= 0 && x < n && y < n && c.dark[y][x]
}

// Image draws the code with quiet light modules around it, black on white
// in a size x size image with a two-colour palette (a 1-bit PNG). Each
// pixel shows its nearest module, so when size is not a multiple of the
// width in modules some modules are a pixel wider than others. A size
// below one pixel per module is raised to that.
func (c *Code) Image(quiet, size int) *image.Paletted {
	n := c.Size() + 2*quiet
	size = max(size, n)
	img := image.NewPaletted(image.Rect(0, 0, size, size), color.Palette{color.White, color.Black})
	// at[p] is the module (quiet zone included) that pixel row or column
	// p shows; float64 arithmetic, as go-qrcode does, keeps the images
	// it used to draw here pixel for pixel.
	at := make([]int, size)
	perPixel := float64(n) / float64(size)
	for p := range at {
		at[p] = int(float64(p)*perPixel) - quiet
	}
	for y := range size {
		row := img.Pix[y*img.Stride : y*img.Stride+size]
		if y > 0 && at[y] == at[y-1] {
			copy(row, img.Pix[(y-1)*img.Stride:])
			continue
		}
		for x := range row {
			if c.Dark(at[x], at[y]) {
				row[x] = 1
			}
		}
	}
	return img
}

// PNG encodes Image(quiet, size) as a PNG file.
func (c *Code) PNG(quiet, size int) ([]byte, error) {
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&b, c.Image(quiet, size)); err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	return b.Bytes(), nil
}

// Blocks draws the code with quiet light modules around it as plain
// Unicode half blocks, two module rows per line, lines joined by "\n"
// (none at the end). A light module is a lit half: "█" both, "▀" the top,
// "▄" the bottom, " " neither; the caller styles it light on dark (the
// TUI does so with lipgloss). Below an odd last row nothing is lit.
func (c *Code) Blocks(quiet int) string {
	return c.halfBlocks(quiet, func(b *strings.Builder, top, bottom, hasBottom bool) {
		topLit, bottomLit := !top, hasBottom && !bottom
		switch {
		case topLit && bottomLit:
			b.WriteString("█")
		case topLit:
			b.WriteString("▀")
		case bottomLit:
			b.WriteString("▄")
		default:
			b.WriteByte(' ')
		}
	}, "\n", "")
}

// ANSI draws the code with quiet light modules around it as Unicode half
// blocks ("▀"), two module rows per line, each cell in explicit black or
// white ANSI colours so that it scans on dark and light terminals alike.
// Every line ends with a colour reset and "\n". Below an odd last row the
// cells are white.
func (c *Code) ANSI(quiet int) string {
	return c.halfBlocks(quiet, func(b *strings.Builder, top, bottom, _ bool) {
		// '▀' draws the top half in the foreground colour and the
		// bottom half in the background colour.
		fg, bg := "97", "107"
		if top {
			fg = "30"
		}
		if bottom {
			bg = "40"
		}
		b.WriteString("\x1b[" + fg + ";" + bg + "m▀")
	}, "", "\x1b[0m\n")
}

// halfBlocks walks the code with its quiet zone two module rows at a
// time, calling cell for each character cell with whether its top and
// bottom modules are dark (hasBottom is false below an odd last row).
// It writes sep before every line but the first, and end after each.
func (c *Code) halfBlocks(quiet int, cell func(b *strings.Builder, top, bottom, hasBottom bool), sep, end string) string {
	n := c.Size() + 2*quiet
	var b strings.Builder
	for y := 0; y < n; y += 2 {
		if y > 0 {
			b.WriteString(sep)
		}
		for x := range n {
			hasBottom := y+1 < n
			cell(&b, c.Dark(x-quiet, y-quiet), hasBottom && c.Dark(x-quiet, y+1-quiet), hasBottom)
		}
		b.WriteString(end)
	}
	return b.String()
}

// PNG draws text as a QR code (Medium error correction, a quiet zone of
// Quiet modules) in a PNG image of size x size pixels (256 when size <= 0).
func PNG(text string, size int) ([]byte, error) {
	if size <= 0 {
		size = 256
	}
	c, err := Encode(text, Medium)
	if err != nil {
		return nil, err
	}
	return c.PNG(Quiet, size)
}

// Terminal draws text as a QR code (Medium error correction, a quiet zone
// of Quiet modules) for a terminal, as ANSI does.
func Terminal(text string) (string, error) {
	c, err := Encode(text, Medium)
	if err != nil {
		return "", err
	}
	return c.ANSI(Quiet), nil
}
