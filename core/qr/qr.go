// Package qr is Latchkey's one place for QR codes. It reads them from PNG
// and JPEG images (a QR code alone or somewhere inside a larger
// screenshot, several at once) with gozxing, and encodes them with
// go-qrcode and draws them as PNG images or as terminal half blocks
// (encode.go). The CLI, the TUI, the desktop app and the server all draw
// their codes here.
package qr

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // JPEG screenshots and photos
	_ "image/png"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/multi/qrcode"
	zqr "github.com/makiuchi-d/gozxing/qrcode"
)

// MaxPixels bounds the images Decode accepts (a 5K screenshot is 14.7
// million pixels), which bounds its memory use.
const MaxPixels = 24_000_000

// MaxInput bounds the encoded image size Decode accepts.
const MaxInput = 32 << 20

// Errors returned by Decode.
var (
	ErrNoCode   = errors.New("no QR code found in the image")
	ErrImage    = errors.New("not a PNG or JPEG image")
	ErrTooLarge = errors.New("image too large")
)

// IsImage reports whether data starts like a PNG or JPEG file.
func IsImage(data []byte) bool {
	return bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) || bytes.HasPrefix(data, []byte{0xff, 0xd8, 0xff})
}

// Decode returns the text of every QR code found in a PNG or JPEG image,
// in reading order (top to bottom, then left to right).
func Decode(data []byte) (texts []string, err error) {
	if len(data) > MaxInput {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxInput)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, ErrImage
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > MaxPixels || cfg.Width > 1<<15 || cfg.Height > 1<<15 {
		return nil, fmt.Errorf("%w: %dx%d pixels (at most %d million)", ErrTooLarge, cfg.Width, cfg.Height, MaxPixels/1_000_000)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrImage, err)
	}
	// gozxing is a port of Java code that signals some failures by
	// panicking on malformed input; a bad image must not crash the caller.
	defer func() {
		if r := recover(); r != nil {
			texts, err = nil, ErrNoCode
		}
	}()
	return decodeImage(img)
}

func decodeImage(img image.Image) ([]string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return nil, ErrImage
	}
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	if rs, err := qrcode.NewQRCodeMultiReader().DecodeMultiple(bmp, hints); err == nil && len(rs) > 0 {
		return texts(rs), nil
	}
	if r, err := zqr.NewQRCodeReader().Decode(bmp, hints); err == nil {
		return []string{r.GetText()}, nil
	}
	// A clean, computer-made QR code (no perspective, a quiet zone) is
	// read most reliably in pure-barcode mode.
	hints[gozxing.DecodeHintType_PURE_BARCODE] = true
	if r, err := zqr.NewQRCodeReader().Decode(bmp, hints); err == nil {
		return []string{r.GetText()}, nil
	}
	return nil, ErrNoCode
}

func texts(rs []*gozxing.Result) []string {
	type found struct {
		x, y float64
		text string
	}
	fs := make([]found, 0, len(rs))
	for _, r := range rs {
		f := found{text: r.GetText()}
		if pts := r.GetResultPoints(); len(pts) > 0 {
			f.x, f.y = pts[0].GetX(), pts[0].GetY()
		}
		fs = append(fs, f)
	}
	// Insertion sort: a screenshot holds a handful of codes at most.
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && less(fs[j].y, fs[j].x, fs[j-1].y, fs[j-1].x); j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
	out := make([]string, 0, len(fs))
	seen := map[string]bool{}
	for _, f := range fs {
		if !seen[f.text] {
			seen[f.text] = true
			out = append(out, f.text)
		}
	}
	return out
}

// less orders by rows of 50 pixels, then by x.
func less(y1, x1, y2, x2 float64) bool {
	r1, r2 := int(y1/50), int(y2/50)
	if r1 != r2 {
		return r1 < r2
	}
	return x1 < x2
}
