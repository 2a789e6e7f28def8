package transfer

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestBackupRoundTrip(t *testing.T) {
	want := append(sample(t), steamEntry())
	for i := range want {
		want[i].ID = fmt.Sprintf("%016x", 0xa0+i)
		want[i].Order = len(want) - i
		want[i].Created = time.Date(2026, 1, 2, 3, 4, i, 0, time.UTC)
	}
	var buf bytes.Buffer
	if _, err := WriteBackup(&buf, want, []byte("hunter2 hunter2"), BackupOptions{WorkFactor: 10}); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("GitHub")) || bytes.Contains(buf.Bytes(), []byte(want[0].Key.Secret.Base32())) {
		t.Fatal("backup is not encrypted")
	}
	res, err := Read(buf.Bytes(), Options{Passphrase: pw("hunter2 hunter2")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != FormatBackup {
		t.Fatalf("format %q", res.Format)
	}
	same(t, res.Entries, want, true)
	for i := range want {
		if res.Entries[i].ID != want[i].ID || res.Entries[i].Order != want[i].Order || !res.Entries[i].Created.Equal(want[i].Created) {
			t.Errorf("entry %d: id %q order %d created %v", i, res.Entries[i].ID, res.Entries[i].Order, res.Entries[i].Created)
		}
	}
	checkSteam(t, &res.Entries[len(want)-1])

	if _, err := ParseBackup(buf.Bytes(), pw("hunter3")); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("wrong password: %v", err)
	}
	damaged := slices.Clone(buf.Bytes())
	damaged[len(damaged)-5] ^= 1
	if _, err := ParseBackup(damaged, pw("hunter2 hunter2")); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged: %v", err)
	}
	if _, err := WriteBackup(&buf, want, nil, BackupOptions{}); err == nil {
		t.Fatal("empty password accepted")
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		in   string
		want Format
	}{
		{"otpauth://totp/x?secret=A", FormatURIs},
		{"# list\nOTPAUTH-MIGRATION://offline?data=AA", FormatURIs},
		{"\x89PNG\r\n\x1a\nrest", FormatQR},
		{"\xff\xd8\xff\xe0rest", FormatQR},
		{"age-encryption.org/v1\n-> scrypt", FormatBackup},
		{"\n-----BEGIN AGE ENCRYPTED FILE-----\n", FormatBackup},
		{`{"version":1,"header":{},"db":"x"}`, FormatAegis},
		{`{"servicesEncrypted":"a:b:c"}`, FormatTwoFAS},
		{`{"other":1}`, ""},
		{`{"broken`, ""},
		{"hello", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := Detect([]byte(tt.in))
		if got != tt.want || (tt.want == "") != (err != nil) {
			t.Errorf("Detect(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if err != nil && !errors.Is(err, ErrFormat) {
			t.Errorf("Detect(%q) error %v does not wrap ErrFormat", tt.in, err)
		}
	}
	res, err := Read([]byte("\ufeff"+`{"services": [{"name": "X", "secret": "JBSWY3DPEHPK3PXP", "otp": {"account": "a"}}]}`), Options{})
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("2fas with a BOM: %v", err)
	}
	if _, err := ParseFormat("AEGIS"); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseFormat("keepass"); !errors.Is(err, ErrFormat) {
		t.Fatal(err)
	}
}
