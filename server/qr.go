package server

import "latchkey/core/qr"

// qrScale is the size of one QR module in pixels: large enough for a
// phone camera and zbarimg at natural size (pages may scale it up with
// image-rendering: pixelated), small enough to keep the PNG near 1 KB.
const qrScale = 4

// qrQuiet is the quiet zone around the code, in modules.
const qrQuiet = qr.Quiet

// qrRenderer draws the server's QR codes with core/qr.
type qrRenderer struct{}

func newQRRenderer() *qrRenderer { return &qrRenderer{} }

// PNG renders content as a QR code with its quiet zone, qrScale pixels a
// module. Error correction is Low (7%): the code is shown on a screen,
// not printed where it can be smudged, and Low gives an otpauth URI
// larger modules at the same size, easier to scan.
func (*qrRenderer) PNG(content string) ([]byte, error) {
	c, err := qr.Encode(content, qr.Low)
	if err != nil {
		return nil, err
	}
	return c.PNG(qrQuiet, (c.Size()+2*qrQuiet)*qrScale)
}
