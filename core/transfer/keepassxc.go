package transfer

import (
	"net/url"
	"strings"

	"latchkey/core/otp"
)

// KeePassXC CSV exports, as KeePassXC's CsvExporter writes them (recent
// versions): "Group","Title","Username","Password","URL","Notes","TOTP",
// "Icon","Last Modified","Created". The TOTP column holds what
// Totp::writeSettings stores (src/core/Totp.cpp): an otpauth URI, or the
// KeeOtp settings form key=BASE32&size=DIGITS&step=SECONDS with an
// optional otpHashMode=SHA256|SHA512. The group is the path from the
// root group ("Root/Work"); the part below the root becomes a tag.

// ParseKeePassXC reads a KeePassXC CSV export. It returns an entry per
// row with a TOTP and the number of rows without one.
func ParseKeePassXC(data []byte) ([]Entry, int, error) {
	rows, err := readCSV(data, "keepassxc")
	if err != nil {
		return nil, 0, err
	}
	var entries []Entry
	noOTP := 0
	for _, r := range rows {
		field := strings.TrimSpace(r["totp"])
		if field == "" {
			noOTP++
			continue
		}
		var e Entry
		if hasScheme(field, "otpauth:") {
			e = otpField(field, r["title"], r["username"])
		} else {
			e = keeOTP(field, r["title"], r["username"])
		}
		if _, sub, ok := strings.Cut(r["group"], "/"); ok && strings.TrimSpace(sub) != "" {
			e.Tags = []string{strings.TrimSpace(sub)}
		}
		entries = append(entries, e)
		if len(entries) > MaxEntries {
			return nil, 0, tooMany()
		}
	}
	return entries, noOTP, nil
}

// keeOTP reads the key=...&size=...&step=... settings form.
func keeOTP(field, issuer, account string) Entry {
	q, err := url.ParseQuery(field)
	if err != nil || q.Get("key") == "" {
		e := Entry{Unsupported: "its TOTP is neither an otpauth URI nor key=...&step=...&size=... settings"}
		e.Key.Issuer, e.Key.Account = strings.TrimSpace(issuer), strings.TrimSpace(account)
		return e
	}
	e := otpField(q.Get("key"), issuer, account)
	if e.Unsupported != "" {
		return e
	}
	k := &e.Key
	if s := q.Get("otpHashMode"); s != "" {
		a, err := otp.ParseAlgorithm(s)
		if err != nil {
			e.Unsupported = "algorithm " + clip(s) + " is not supported (SHA1, SHA256 and SHA512 are)"
			k.Secret = nil
			return e
		}
		k.Algorithm = a
	}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"size", &k.Digits}, {"step", &k.Period}} {
		if s := q.Get(p.name); s != "" {
			n, ok := smallInt(s)
			if !ok {
				e.Unsupported = p.name + " " + clip(s) + " is not a number"
				k.Secret = nil
				return e
			}
			*p.dst = n
		}
	}
	// otpField filled in defaults; check again with the settings given.
	if err := check(&e); err != nil {
		e.Unsupported, k.Secret = err.Error(), nil
	}
	if e.Unsupported != "" {
		k.Secret = nil
	}
	return e
}

func smallInt(s string) (int, bool) {
	n := 0
	if s == "" || len(s) > 6 {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
