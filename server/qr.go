package server

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sync"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/encoder"
)

// qrScale is the size of one QR module in pixels: large enough for a
// phone camera and zbarimg at natural size (pages may scale it up with
// image-rendering: pixelated), small enough to keep the PNG near 1 KB.
const qrScale = 4

// qrRenderer draws QR codes as 1-bit greyscale PNGs. It writes the PNG
// itself: each module row becomes one packed scanline (a bit per pixel),
// repeated qrScale times into a pooled zlib writer at BestSpeed, so no
// image is built pixel by pixel and no compressor is allocated per image.
// The QR encoding itself (which tries all eight masks) is most of what
// remains.
type qrRenderer struct {
	zw sync.Pool // *zlib.Writer
}

func newQRRenderer() *qrRenderer { return &qrRenderer{} }

// qrQuiet is the quiet zone around the code, in modules (ISO/IEC 18004
// asks for four).
const qrQuiet = 4

// PNG renders content as a QR code with its quiet zone. Error correction
// is level L (7%): the code is shown on a screen, not printed where it
// can be smudged, and L gives an otpauth URI version 6 (41 modules)
// instead of M's version 8 (49): larger modules at the same size, easier
// to scan, and less work to encode.
//
// The module matrix comes from gozxing's encoder (the same library that
// decodes QR images elsewhere in Latchkey): on this workload it costs
// about two thirds of go-qrcode's, which keeps a whole QR under 1 ms.
func (r *qrRenderer) PNG(content string) ([]byte, error) {
	var hints map[gozxing.EncodeHintType]interface{}
	if !isLatin1(content) {
		hints = map[gozxing.EncodeHintType]interface{}{gozxing.EncodeHintType_CHARACTER_SET: "UTF-8"}
	}
	code, err := encoder.Encoder_encode(content, decoder.ErrorCorrectionLevel_L, hints)
	if err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	return r.encode(code.GetMatrix())
}

// encode writes the matrix, with its quiet zone, as a PNG: greyscale at
// bit depth 1, where a 0 bit is black.
func (r *qrRenderer) encode(m *encoder.ByteMatrix) ([]byte, error) {
	size := m.GetWidth() + 2*qrQuiet
	n := size * qrScale
	stride := 1 + (n+7)/8 // filter byte + packed pixels

	var idat bytes.Buffer
	idat.Grow(1 << 10)
	zw, _ := r.zw.Get().(*zlib.Writer)
	if zw == nil {
		zw, _ = zlib.NewWriterLevel(&idat, zlib.BestSpeed)
	} else {
		zw.Reset(&idat)
	}
	defer r.zw.Put(zw)

	row := make([]byte, stride)
	blank := make([]byte, stride)
	for i := 1; i < stride; i++ {
		blank[i] = 0xff
	}
	for range qrQuiet * qrScale {
		zw.Write(blank)
	}
	for y := 0; y < m.GetHeight(); y++ {
		copy(row, blank)
		for x := 0; x < m.GetWidth(); x++ {
			if m.Get(x, y) != 1 {
				continue
			}
			for p := (x + qrQuiet) * qrScale; p < (x+qrQuiet+1)*qrScale; p++ {
				row[1+p/8] &^= 0x80 >> (p % 8)
			}
		}
		for range qrScale {
			zw.Write(row)
		}
	}
	for range qrQuiet * qrScale {
		zw.Write(blank)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}

	out := make([]byte, 0, idat.Len()+64)
	out = append(out, "\x89PNG\r\n\x1a\n"...)
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(n))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(n))
	ihdr[8] = 1 // bit depth; colour type 0 (greyscale), deflate, filter 0, no interlace
	out = pngChunk(out, "IHDR", ihdr[:])
	out = pngChunk(out, "IDAT", idat.Bytes())
	out = pngChunk(out, "IEND", nil)
	return out, nil
}

// pngChunk appends a PNG chunk: length, type, data, CRC of type and data.
func pngChunk(b []byte, typ string, data []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	start := len(b)
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[start:]))
}

func isLatin1(s string) bool {
	for _, r := range s {
		if r > 0xff {
			return false
		}
	}
	return true
}
