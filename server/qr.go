package server

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"

	"github.com/skip2/go-qrcode"
)

// qrScale is the size of one QR module in pixels: large enough for a
// phone camera and zbarimg, small enough to keep the PNG near 2 KB.
const qrScale = 6

// qrPNG renders content as a QR code (medium error correction, with its
// quiet zone) in a 1-bit paletted PNG.
func qrPNG(content string) ([]byte, error) {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	bm := q.Bitmap()
	n := len(bm) * qrScale
	img := image.NewPaletted(image.Rect(0, 0, n, n), color.Palette{color.White, color.Black})
	for y, row := range bm {
		line := img.Pix[y*qrScale*img.Stride : y*qrScale*img.Stride+n]
		for x, dark := range row {
			if dark {
				for i := range qrScale {
					line[x*qrScale+i] = 1
				}
			}
		}
		for i := 1; i < qrScale; i++ {
			copy(img.Pix[(y*qrScale+i)*img.Stride:], line)
		}
	}
	// BestSpeed plus a 1-bit paletted image makes a QR cost a fraction of
	// a millisecond, where go-qrcode's own PNG (RGBA, default compression)
	// costs several.
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	var buf bytes.Buffer
	buf.Grow(4 << 10)
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	return buf.Bytes(), nil
}
