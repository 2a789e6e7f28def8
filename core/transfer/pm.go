package transfer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
)

// Password managers (Bitwarden, Proton Pass, KeePassXC) keep a one-time
// code as one free-form field of a login: an otpauth URI, or a bare
// base32 secret meaning TOTP, SHA1, 6 digits, 30 s. Logins without one
// are not accounts for Latchkey: their parsers count them (Result.NoOTP)
// instead of returning entries. A field that holds something else makes
// the entry unsupported with the reason, so the rest of the vault still
// imports and the summary names the login.

// otpField turns a login's one-time-code field into an entry. issuer and
// account (the login's name and user name) fill what the field does not
// say.
func otpField(field, issuer, account string) Entry {
	field = strings.TrimSpace(field)
	issuer, account = strings.TrimSpace(issuer), strings.TrimSpace(account)
	var e Entry
	if hasScheme(field, "otpauth:") {
		k, err := otpauth.Parse(field)
		if err != nil {
			e.Key.Issuer, e.Key.Account = issuer, account
			e.Unsupported = unsupportedField(err)
			return e
		}
		e.Key = *k
		e.Key.Warnings = nil
		if e.Key.Issuer == "" && e.Key.Account == "" {
			e.Key.Issuer, e.Key.Account = issuer, account
		} else if e.Key.Issuer == "" {
			e.Key.Issuer = issuer
		}
	} else {
		typ := otp.TOTP
		if hasScheme(field, "steam://") {
			// Bitwarden's form for Steam Guard keys.
			typ, field = otp.Steam, field[len("steam://"):]
		}
		e.Key = otpauth.Key{Type: typ, Issuer: issuer, Account: account}
		s, err := otp.DecodeSecret(field)
		if err != nil {
			e.Unsupported = unsupportedField(err)
			return e
		}
		e.Key.Secret = s
	}
	if err := check(&e); err != nil {
		e.Unsupported = unsupportedField(err)
		e.Key.Secret = nil
	}
	return e
}

func unsupportedField(err error) string {
	return "its one-time code field is neither an otpauth URI nor a base32 secret (" + err.Error() + ")"
}

// readCSV reads a CSV export with a header line, returning the rows as
// maps from the lower-cased column name to the value.
func readCSV(data []byte, name string) ([]map[string]string, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.ReuseRecord = false
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: no CSV header", ErrCorrupt, name)
	}
	for i := range header {
		header[i] = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff")))
	}
	var rows []map[string]string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("%w: %s: line %d: %v", ErrCorrupt, name, pe.Line, pe.Err)
			}
			return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, name, err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		row := make(map[string]string, len(header))
		for i, v := range rec {
			if i < len(header) {
				row[header[i]] = v
			}
		}
		rows = append(rows, row)
		// Rows without a code are cheap, but the input bounds them anyway.
		if len(rows) > 10*MaxEntries {
			return nil, tooMany()
		}
	}
	return rows, nil
}

// csvHeader returns the lower-cased first line of data, for detection.
func csvHeader(data []byte) string {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	s := strings.ToLower(strings.TrimSpace(string(line)))
	return strings.ReplaceAll(s, `"`, "")
}

// trimJSON drops the white space and byte order mark before a JSON value.
func trimJSON(data []byte) []byte {
	return bytes.TrimLeft(data, " \t\r\n\ufeff")
}
