package server

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"sync"

	"github.com/skip2/go-qrcode"
)

// qrScale is the size of one QR module in pixels: large enough for a
// phone camera and zbarimg at natural size (pages may scale it up with
// image-rendering: pixelated), small enough to keep the PNG near 1 KB.
const qrScale = 4

// qrRenderer draws QR codes as 1-bit paletted PNGs. Its encoder reuses
// the zlib state between images (png.EncoderBufferPool): allocating a
// fresh compressor costs more than compressing a QR code. With BestSpeed
// and one bit per pixel, a PNG costs a small fraction of what go-qrcode's
// own PNG output costs; the QR encoding itself (go-qrcode, which tries
// all eight masks) is most of what remains.
type qrRenderer struct {
	enc png.Encoder
}

func newQRRenderer() *qrRenderer {
	return &qrRenderer{enc: png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &pngPool{}}}
}

// pngPool keeps png encoder buffers (with their zlib writers) for reuse.
type pngPool struct{ p sync.Pool }

func (p *pngPool) Get() *png.EncoderBuffer {
	b, _ := p.p.Get().(*png.EncoderBuffer)
	return b
}

func (p *pngPool) Put(b *png.EncoderBuffer) { p.p.Put(b) }

// PNG renders content as a QR code with its quiet zone. Error correction
// is level L (7%): the code is shown on a screen, not printed where it
// can be smudged, and L gives an otpauth URI version 6 (41 modules)
// instead of M's version 8 (49): larger modules at the same size, easier
// to scan, and about a third less work to encode.
func (r *qrRenderer) PNG(content string) ([]byte, error) {
	q, err := qrcode.New(content, qrcode.Low)
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
	var buf bytes.Buffer
	buf.Grow(2 << 10)
	if err := r.enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	return buf.Bytes(), nil
}
