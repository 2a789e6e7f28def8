package transfer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"filippo.io/age/armor"

	"latchkey/core/transfer/qr"
)

// Format names an import or export format.
type Format string

// The formats Read understands.
const (
	FormatURIs      Format = "uris"      // otpauth:// lines (otpauth-migration:// lines too)
	FormatMigration Format = "migration" // otpauth-migration:// lines only
	FormatQR        Format = "qr"        // a PNG or JPEG image with QR codes
	FormatAegis     Format = "aegis"     // Aegis vault JSON, plain or encrypted
	FormatTwoFAS    Format = "2fas"      // 2FAS backup, plain or encrypted
	FormatBackup    Format = "backup"    // Latchkey's age-encrypted backup
)

// Formats lists the formats Read accepts, for --format help.
var Formats = []Format{FormatURIs, FormatMigration, FormatQR, FormatAegis, FormatTwoFAS, FormatBackup}

// ParseFormat accepts a format name in any case.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if strings.EqualFold(s, string(f)) {
			return f, nil
		}
	}
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return "", fmt.Errorf("%w: %q (use one of %s)", ErrFormat, clip(s), strings.Join(names, ", "))
}

// Detect guesses the format of data from its content.
func Detect(data []byte) (Format, error) {
	t := bytes.TrimLeft(data, " \t\r\n\ufeff")
	t = bytes.TrimPrefix(t, []byte("\ufeff"))
	switch {
	case qr.IsImage(data):
		return FormatQR, nil
	case bytes.HasPrefix(data, []byte("age-encryption.org/")) || bytes.HasPrefix(t, []byte(armor.Header)):
		return FormatBackup, nil
	case len(t) > 0 && t[0] == '{':
		var top map[string]json.RawMessage
		if err := json.Unmarshal(t, &top); err != nil {
			return "", fmt.Errorf("%w: JSON that does not parse (%s)", ErrFormat, jsonProblem(err))
		}
		if _, ok := top["db"]; ok {
			if _, ok := top["header"]; ok {
				return FormatAegis, nil
			}
		}
		for _, k := range []string{"services", "servicesEncrypted"} {
			if _, ok := top[k]; ok {
				return FormatTwoFAS, nil
			}
		}
		return "", fmt.Errorf("%w: JSON that is neither an Aegis vault nor a 2FAS backup", ErrFormat)
	}
	lower := bytes.ToLower(t[:min(len(t), 1<<20)])
	if bytes.Contains(lower, []byte("otpauth://")) || bytes.Contains(lower, []byte("otpauth-migration://")) {
		return FormatURIs, nil
	}
	return "", fmt.Errorf("%w: expected otpauth URIs, a QR image (PNG or JPEG), an Aegis or 2FAS export, or a Latchkey backup", ErrFormat)
}

// Options tune Read.
type Options struct {
	// Format forces a format; empty means Detect.
	Format Format
	// Passphrase is called once, only when the input is encrypted.
	Passphrase func() ([]byte, error)
}

// Result is what Read found.
type Result struct {
	Format  Format
	Entries []Entry // in input order, unsupported ones included
	// Warnings are worth showing the user but did not stop the import.
	Warnings []string
}

// Read parses an import in any supported format. It either returns every
// entry of the input or an error: never part of it.
func Read(data []byte, opts Options) (*Result, error) {
	if len(data) > MaxInput {
		return nil, fmt.Errorf("%w: more than %d MiB", ErrTooLarge, MaxInput>>20)
	}
	f := opts.Format
	if f == "" {
		var err error
		if f, err = Detect(data); err != nil {
			return nil, err
		}
	}
	res := &Result{Format: f}
	var err error
	switch f {
	case FormatURIs:
		res.Entries, res.Warnings, err = ParseURIs(data)
	case FormatMigration:
		var lines []string
		for _, l := range strings.Split(string(data), "\n") {
			l = strings.TrimSpace(l)
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			lines = append(lines, l)
		}
		if len(lines) == 0 {
			return nil, fmt.Errorf("%w: no otpauth-migration:// URI found", ErrFormat)
		}
		res.Entries, res.Warnings, err = ParseMigration(lines)
	case FormatQR:
		res.Entries, res.Warnings, err = readQR(data)
	case FormatAegis:
		res.Entries, err = ParseAegis(data, opts.Passphrase)
	case FormatTwoFAS:
		res.Entries, err = ParseTwoFAS(data, opts.Passphrase)
	case FormatBackup:
		res.Entries, err = ParseBackup(data, opts.Passphrase)
	default:
		_, err = ParseFormat(string(f))
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

func readQR(data []byte) ([]Entry, []string, error) {
	texts, err := qr.Decode(data)
	if err != nil {
		return nil, nil, err
	}
	var b strings.Builder
	for i, t := range texts {
		t = strings.TrimSpace(t)
		if !hasScheme(t, "otpauth:") && !hasScheme(t, "otpauth-migration:") {
			return nil, nil, &EntryError{Where: fmt.Sprintf("QR code %d", i+1), Err: fmt.Errorf("%w: it holds something other than an otpauth:// or otpauth-migration:// URI", ErrFormat)}
		}
		b.WriteString(t)
		b.WriteByte('\n')
	}
	return parseLines([]byte(b.String()), "QR code")
}
