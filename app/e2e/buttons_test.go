package e2e

import (
	"image"
	"image/color"
	"slices"
	"strings"
	"testing"
)

// button is a filled rectangle the window shows, with its caption.
type button struct {
	box     image.Rectangle
	caption string
}

// buttons finds the filled rectangles of img as a user sees buttons: areas
// of one flat colour other than the background, at least 60x24 pixels and
// mostly filled (the caption and icon are the rest), smallest first, and
// reads each one's caption by OCR. Tesseract skips text inside a filled
// box when it reads the whole window, so each is read on its own, as it
// is and inverted (dark captions on light fills and light on dark).
func buttons(tb testing.TB, img *image.NRGBA) []button {
	tb.Helper()
	b := img.Bounds()
	bg, _ := dominant(img)
	seen := make([]bool, b.Dx()*b.Dy())
	at := func(p image.Point) int { return (p.Y-b.Min.Y)*b.Dx() + p.X - b.Min.X }
	var out []button
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			p := image.Pt(x, y)
			if seen[at(p)] {
				continue
			}
			c := img.NRGBAAt(x, y)
			box, n := fill(img, p, c, seen, at)
			if c == bg || box.Dx() < 60 || box.Dy() < 24 || n*2 < box.Dx()*box.Dy() {
				continue
			}
			inner := box.Inset(2)
			text := tesseract(tb, crop(img, inner), false) + " " + tesseract(tb, crop(img, inner), true)
			out = append(out, button{box, strings.Join(strings.Fields(text), " ")})
		}
	}
	slices.SortFunc(out, func(a, b button) int { return a.box.Dx()*a.box.Dy() - b.box.Dx()*b.box.Dy() })
	return out
}

// fill marks the 4-connected area of colour c around p as seen and
// returns its bounding box and size.
func fill(img *image.NRGBA, p image.Point, c color.NRGBA, seen []bool, at func(image.Point) int) (image.Rectangle, int) {
	box := image.Rectangle{p, p.Add(image.Pt(1, 1))}
	n := 0
	stack := []image.Point{p}
	seen[at(p)] = true
	for len(stack) > 0 {
		q := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n++
		box = box.Union(image.Rectangle{q, q.Add(image.Pt(1, 1))})
		for _, d := range []image.Point{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
			r := q.Add(d)
			if r.In(img.Bounds()) && !seen[at(r)] && img.NRGBAAt(r.X, r.Y) == c {
				seen[at(r)] = true
				stack = append(stack, r)
			}
		}
	}
	return box, n
}
