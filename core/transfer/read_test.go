package transfer

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"latchkey/core/qr"
	"latchkey/core/testenv"
)

// TestMigrationQRImages exports a Google Authenticator migration as one
// QR image per batch, then imports the images together.
func TestMigrationQRImages(t *testing.T) {
	var want []Entry
	for range 3 {
		want = append(want, sample(t)...)
	}
	uris, _, err := MigrationURIs(want, 6)
	if err != nil || len(uris) != 3 {
		t.Fatalf("err %v, %d batches", err, len(uris))
	}
	var files []File
	for i, u := range uris {
		png, err := qr.PNG(u, 400)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, File{Name: fmt.Sprintf("batch%d.png", i+1), Data: png})
	}
	res, err := ReadFiles(files, Options{})
	if err != nil || len(res.Warnings) != 0 {
		t.Fatalf("err %v warnings %v", err, res.Warnings)
	}
	same(t, res.Entries, want, false)

	res, err = ReadFiles(files[:2], Options{})
	if err != nil || len(res.Warnings) != 1 {
		t.Fatalf("two of three: err %v warnings %v", err, res.Warnings)
	}
}

// TestQrencodeImport reads a QR image made by the qrencode CLI, and
// checks our migration QR with zbarimg.
func TestQrencodeImport(t *testing.T) {
	qrencode := testenv.Tool(t, "qrencode")
	zbar := testenv.Tool(t, "zbarimg")
	uris, _, err := MigrationURIs(sample(t), 0)
	if err != nil || len(uris) != 1 {
		t.Fatal(err)
	}
	img, err := exec.Command(qrencode, "-t", "PNG", "-s", "3", "-o", "-", uris[0]).Output()
	if err != nil {
		t.Fatalf("qrencode: %v", err)
	}
	res, err := Read(img, Options{})
	if err != nil || res.Format != FormatQR {
		t.Fatalf("format %v err %v", res, err)
	}
	same(t, res.Entries, sample(t), false)

	ours, err := qr.PNG(uris[0], 500)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(zbar, "-q", "--raw", "-")
	cmd.Stdin = bytes.NewReader(ours)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	if strings.TrimSpace(string(out)) != uris[0] {
		t.Fatal("zbarimg read something else")
	}
}

func TestReadFilesErrorsNameTheFile(t *testing.T) {
	good := []byte("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP\n")
	bad := []byte("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP\notpauth://totp/C:d?digits=9&secret=JBSWY3DPEHPK3PXP\n")
	res, err := ReadFiles([]File{{"a.txt", good}, {"b.txt", bad}}, Options{})
	if err == nil || res != nil || !strings.Contains(err.Error(), "b.txt: line 2") || !strings.Contains(err.Error(), "digits") {
		t.Fatalf("err %v", err)
	}
	vault := []byte(`{"version":1,"header":{},"db":{"version":3,"entries":[{"type":"totp","name":"n","issuer":"i","info":{"secret":"!!"}}]}}`)
	_, err = ReadFiles([]File{{"a.txt", good}, {"v.json", vault}}, Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "v.json: entry 1 (i:n): secret") {
		t.Fatalf("err %v", err)
	}
	_, err = ReadFiles([]File{{"a.txt", good}}, Options{Format: FormatMigration})
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "a.txt: line 1") {
		t.Fatalf("forced migration: %v", err)
	}
	text, _ := qr.PNG("https://example.com", 200)
	_, err = ReadFiles([]File{{"shot.png", text}}, Options{})
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "shot.png: QR code 1") {
		t.Fatalf("not an otpauth QR: %v", err)
	}
}

// --format overrides detection: a file forced into another format fails
// with that format's complaint, and each name parses in any case.
func TestFormatOverride(t *testing.T) {
	for _, f := range Formats {
		if g, err := ParseFormat(strings.ToUpper(string(f))); g != f || err != nil {
			t.Errorf("%s: %q %v", f, g, err)
		}
	}
	tests := []struct {
		format Format
		in     string
	}{
		{FormatAndOTP, bitwardenCSV},
		{FormatFreeOTP, andotpBackup},
		{FormatAuthPro, "otpauth://totp/A:b?secret=JBSWY3DP"},
		{FormatEnte, bitwardenJSON},
	}
	for _, tt := range tests {
		if res, err := Read([]byte(tt.in), Options{Format: tt.format}); err == nil {
			t.Errorf("%s accepted another format: %d entries", tt.format, len(res.Entries))
		}
	}
	// A Bitwarden CSV forced as KeePassXC finds no TOTP column: every
	// row counts as a login without a code, nothing is imported.
	res, err := Read([]byte(bitwardenCSV), Options{Format: FormatKeePassXC})
	if err != nil || len(res.Entries) != 0 || res.NoOTP != 7 {
		t.Fatalf("err %v, %d entries, %d without a code", err, len(res.Entries), res.NoOTP)
	}
}
