package server

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"latchkey/core/testenv"
)

// TestQRPNG checks the server's QR PNG: Go's decoder reads it at the
// expected size, gozxing reads the content back, for ASCII and
// non-Latin-1 content, and zbarimg reads the ASCII content back.
// go-qrcode writes non-ASCII text as UTF-8 bytes without an ECI header,
// which leaves readers to guess the charset (zbarimg takes "Zürich €"
// for Shift JIS); what the server draws is always ASCII: otpauth URIs
// percent-encode their labels, and enrollment links are ASCII.
func TestQRPNG(t *testing.T) {
	zbarimg := testenv.Tool(t, "zbarimg")
	r := newQRRenderer()
	for _, content := range []string{
		benchURI,
		"https://auth.example.com/enroll#" + strings.Repeat("A", 43),
		"otpauth://totp/Zürich%20€:bob?secret=JBSWY3DPEHPK3PXP", // kept as typed: not a valid URI, just bytes
		"日本語のラベル",
	} {
		b, err := r.PNG(content)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%q: image/png cannot read it: %v", content, err)
		}
		if w := img.Bounds().Dx(); w%qrScale != 0 || w != img.Bounds().Dy() || w < (21+2*qrQuiet)*qrScale {
			t.Fatalf("%q: odd size %v", content, img.Bounds())
		}
		bmp, _ := gozxing.NewBinaryBitmapFromImage(img)
		res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
		if err != nil || res.GetText() != content {
			t.Fatalf("gozxing read %v, %v; want %q", res, err, content)
		}
		if !isASCII(content) {
			continue
		}
		f := filepath.Join(t.TempDir(), "qr.png")
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(zbarimg, "-q", "--raw", f).Output()
		if err != nil || strings.TrimSuffix(string(out), "\n") != content {
			t.Fatalf("zbarimg read %q, %v; want %q", out, err, content)
		}
	}
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// TestEnrollWithoutQR: "qr": false leaves qr_png out of the answer; the
// QR is still served at .../qr.png while the credential is unverified.
func TestEnrollWithoutQR(t *testing.T) {
	ts := newTestServer(t, openTestSQLite(t))
	r := ts.do("POST", "/api/v1/users/alice/credentials", ts.admin(), `{"name":"phone","qr":false}`)
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil || r.status != 201 {
		t.Fatalf("enroll: %d %s", r.status, r.body)
	}
	if _, ok := m["qr_png"]; ok {
		t.Fatalf("qr_png in the answer: %s", r.body)
	}
	id, _ := m["id"].(string)
	q := ts.do("GET", "/api/v1/users/alice/credentials/"+id+"/qr.png", ts.admin(), "")
	if q.status != 200 || decodeQR(t, q.body) != m["otpauth_uri"] {
		t.Fatalf("qr.png: %d", q.status)
	}
	// Absent means true.
	e := ts.enroll("bob", `{"name":"phone"}`)
	if decodeQR(t, e.QR) != e.URI {
		t.Fatal("no QR by default")
	}
}
