package transfer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"filippo.io/age/armor"

	"latchkey/core/qr"
)

// Format names an import or export format.
type Format string

// The formats Read understands.
const (
	FormatURIs      Format = "uris"       // otpauth:// lines (otpauth-migration:// lines too)
	FormatMigration Format = "migration"  // otpauth-migration:// lines only
	FormatQR        Format = "qr"         // a PNG or JPEG image with QR codes
	FormatAegis     Format = "aegis"      // Aegis vault JSON, plain or encrypted
	FormatTwoFAS    Format = "2fas"       // 2FAS backup, plain or encrypted
	FormatBackup    Format = "backup"     // Latchkey's age-encrypted backup
	FormatAndOTP    Format = "andotp"     // andOTP backup, plain JSON or encrypted
	FormatFreeOTP   Format = "freeotp"    // FreeOTP+ JSON export
	FormatBitwarden Format = "bitwarden"  // Bitwarden JSON or CSV export
	FormatProton    Format = "protonpass" // Proton Pass CSV or JSON export
	FormatEnte      Format = "ente"       // Ente Auth plain-text export
	FormatKeePassXC Format = "keepassxc"  // KeePassXC CSV export
	FormatAuthPro   Format = "authpro"    // Authenticator Pro backup (plain JSON)
)

// Formats lists the formats Read accepts, for --format help.
var Formats = []Format{FormatURIs, FormatMigration, FormatQR, FormatAegis, FormatTwoFAS, FormatBackup,
	FormatAndOTP, FormatFreeOTP, FormatBitwarden, FormatProton, FormatEnte, FormatKeePassXC, FormatAuthPro}

// Encrypted reports whether f is a format whose files can be encrypted
// (and so may ask for a password).
func (f Format) Encrypted() bool {
	switch f {
	case FormatAegis, FormatTwoFAS, FormatBackup, FormatAndOTP:
		return true
	}
	return false
}

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
	case isAndOTPEncrypted(data):
		return FormatAndOTP, nil
	case len(t) > 0 && t[0] == '[':
		var list []map[string]json.RawMessage
		if err := json.Unmarshal(t, &list); err != nil {
			return "", fmt.Errorf("%w: JSON that does not parse (%s)", ErrFormat, jsonProblem(err))
		}
		if len(list) == 0 || (list[0]["secret"] != nil && list[0]["label"] != nil) {
			return FormatAndOTP, nil
		}
		return "", fmt.Errorf("%w: a JSON list that is not an andOTP backup", ErrFormat)
	case len(t) > 0 && t[0] == '{':
		var top map[string]json.RawMessage
		if err := json.Unmarshal(t, &top); err != nil {
			return "", fmt.Errorf("%w: JSON that does not parse (%s)", ErrFormat, jsonProblem(err))
		}
		has := func(k string) bool { _, ok := top[k]; return ok }
		switch {
		case has("db") && has("header"):
			return FormatAegis, nil
		case has("services") || has("servicesEncrypted"):
			return FormatTwoFAS, nil
		case has("tokens"):
			return FormatFreeOTP, nil
		case has("Authenticators"):
			return FormatAuthPro, nil
		case has("vaults"):
			return FormatProton, nil
		case has("items") || (has("encrypted") && (has("passwordProtected") || has("encKeyValidation_DO_NOT_EDIT"))):
			return FormatBitwarden, nil
		}
		return "", fmt.Errorf("%w: JSON in none of the known layouts (Aegis, 2FAS, FreeOTP+, Authenticator Pro, Bitwarden, Proton Pass)", ErrFormat)
	}
	switch h := csvHeader(t); {
	case strings.Contains(h, "login_totp"):
		return FormatBitwarden, nil
	case strings.HasPrefix(h, "group,title,username,password,url,notes,totp"):
		return FormatKeePassXC, nil
	case strings.HasPrefix(h, "type,name,url,") && strings.Contains(h, ",totp,") && strings.Contains(h, "vault"):
		return FormatProton, nil
	}
	lower := bytes.ToLower(t[:min(len(t), 1<<20)])
	if bytes.Contains(lower, []byte("otpauth://")) || bytes.Contains(lower, []byte("otpauth-migration://")) {
		if bytes.Contains(lower, []byte("&codedisplay=")) || bytes.Contains(lower, []byte("?codedisplay=")) {
			return FormatEnte, nil
		}
		return FormatURIs, nil
	}
	return "", fmt.Errorf("%w: expected otpauth URIs, a QR image (PNG or JPEG), an export of Aegis, 2FAS, andOTP, FreeOTP+, Ente Auth, Authenticator Pro, Bitwarden, Proton Pass or KeePassXC, or a Latchkey backup", ErrFormat)
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
	Format  Format  // of the last input, for ReadFiles
	Entries []Entry // in input order, unsupported ones included
	// Warnings are worth showing the user but did not stop the import.
	Warnings []string
	// NoOTP counts the logins of password-manager exports (Bitwarden,
	// Proton Pass, KeePassXC) that have no one-time code: skipped, not
	// an error, and worth a line in the summary.
	NoOTP int
}

// File is one input of ReadFiles.
type File struct {
	Name string // for messages; may be empty
	Data []byte
}

// Read parses an import in any supported format. It either returns every
// entry of the input or an error: never part of it.
func Read(data []byte, opts Options) (*Result, error) {
	return ReadFiles([]File{{Data: data}}, opts)
}

// ReadFiles parses several inputs as one import, so that the batches of a
// Google Authenticator export saved as several QR images or text files
// are gathered. Entries from URI lists and QR images come after those of
// vaults and backups. It returns every entry or an error naming the file.
func ReadFiles(files []File, opts Options) (*Result, error) {
	res := &Result{}
	var lines []line
	total := 0
	for _, file := range files {
		prefix := ""
		if file.Name != "" {
			prefix = file.Name + ": "
		}
		fail := func(err error) (*Result, error) {
			if file.Name == "" {
				return nil, err
			}
			return nil, fmt.Errorf("%s: %w", file.Name, err)
		}
		// Editors on Windows like to start text files with a BOM.
		file.Data = bytes.TrimPrefix(file.Data, []byte("\ufeff"))
		total += len(file.Data)
		if total > MaxInput {
			return fail(fmt.Errorf("%w: more than %d MiB", ErrTooLarge, MaxInput>>20))
		}
		f := opts.Format
		if f == "" {
			var err error
			if f, err = Detect(file.Data); err != nil {
				return fail(err)
			}
		}
		res.Format = f
		var entries []Entry
		var err error
		switch f {
		case FormatURIs, FormatMigration:
			var ls []line
			if ls, err = splitLines(file.Data, prefix+"line"); err == nil {
				for _, l := range ls {
					if f == FormatMigration && !hasScheme(l.text, "otpauth-migration:") {
						return fail(&EntryError{Where: strings.TrimPrefix(l.where, prefix), Err: fmt.Errorf("%w: not an otpauth-migration:// URI", ErrFormat)})
					}
				}
				lines = append(lines, ls...)
			}
		case FormatQR:
			var ls []line
			if ls, err = qrLines(file.Data); err == nil {
				for i := range ls {
					ls[i].where = prefix + ls[i].where
				}
				lines = append(lines, ls...)
			}
		case FormatAegis:
			entries, err = ParseAegis(file.Data, opts.Passphrase)
		case FormatTwoFAS:
			entries, err = ParseTwoFAS(file.Data, opts.Passphrase)
		case FormatBackup:
			entries, err = ParseBackup(file.Data, opts.Passphrase)
		case FormatAndOTP:
			entries, err = ParseAndOTP(file.Data, opts.Passphrase)
		case FormatFreeOTP:
			entries, err = ParseFreeOTP(file.Data)
		case FormatAuthPro:
			entries, err = ParseAuthenticatorPro(file.Data)
		case FormatEnte:
			var warnings []string
			if entries, warnings, err = ParseEnte(file.Data); err == nil {
				for _, w := range warnings {
					res.Warnings = append(res.Warnings, prefix+w)
				}
			}
		case FormatBitwarden, FormatProton, FormatKeePassXC:
			parse := map[Format]func([]byte) ([]Entry, int, error){
				FormatBitwarden: ParseBitwarden, FormatProton: ParseProtonPass, FormatKeePassXC: ParseKeePassXC,
			}[f]
			var n int
			entries, n, err = parse(file.Data)
			res.NoOTP += n
		default:
			_, err = ParseFormat(string(f))
		}
		if err != nil {
			return fail(err)
		}
		res.Entries = append(res.Entries, entries...)
		if len(res.Entries)+len(lines) > MaxEntries {
			return nil, tooMany()
		}
	}
	if len(lines) > 0 {
		entries, warnings, err := parseLines(lines)
		if err != nil {
			return nil, err
		}
		res.Entries = append(res.Entries, entries...)
		res.Warnings = append(res.Warnings, warnings...)
		if len(res.Entries) > MaxEntries {
			return nil, tooMany()
		}
	}
	return res, nil
}

func qrLines(data []byte) ([]line, error) {
	texts, err := qr.Decode(data)
	if err != nil {
		return nil, err
	}
	lines := make([]line, 0, len(texts))
	for i, t := range texts {
		t = strings.TrimSpace(t)
		where := fmt.Sprintf("QR code %d", i+1)
		if !hasScheme(t, "otpauth:") && !hasScheme(t, "otpauth-migration:") {
			return nil, &EntryError{Where: where, Err: fmt.Errorf("%w: it holds something other than an otpauth:// or otpauth-migration:// URI", ErrFormat)}
		}
		lines = append(lines, line{where, t})
	}
	return lines, nil
}
