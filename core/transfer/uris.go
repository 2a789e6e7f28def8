package transfer

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	"latchkey/core/otpauth"
)

// ParseURIs reads an otpauth URI list: one URI per line, blank lines and
// lines starting with # skipped. otpauth-migration:// lines (Google
// Authenticator exports) are read too, their batches gathered as
// [ParseMigration] does. Warnings say what is worth telling the user
// (a missing migration batch, a label that disagrees with its issuer).
func ParseURIs(data []byte) (entries []Entry, warnings []string, err error) {
	return parseLines(data, "line")
}

// parseLines is ParseURIs naming each line with unit ("line", "QR code").
func parseLines(data []byte, unit string) (entries []Entry, warnings []string, err error) {
	var migration []string
	var migrationWhere []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		where := fmt.Sprintf("%s %d", unit, line)
		if hasScheme(s, "otpauth-migration:") {
			migration = append(migration, s)
			migrationWhere = append(migrationWhere, where)
			continue
		}
		k, err := otpauth.Parse(s)
		if err != nil {
			return nil, nil, &EntryError{Where: where, Err: err}
		}
		e := Entry{Key: *k}
		for _, w := range k.Warnings {
			warnings = append(warnings, fmt.Sprintf("%s (%s): %s", where, k.Label(), w))
		}
		e.Key.Warnings = nil
		if err := check(&e); err != nil {
			return nil, nil, &EntryError{Where: where, Label: e.Label(), Err: err}
		}
		entries = append(entries, e)
		if len(entries) > MaxEntries {
			return nil, nil, tooMany()
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s %d: %w: longer than %d bytes", unit, line+1, ErrTooLarge, maxLine)
	}
	if len(migration) > 0 {
		m, w, err := parseMigration(migration, migrationWhere)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, m...)
		warnings = append(warnings, w...)
		if len(entries) > MaxEntries {
			return nil, nil, tooMany()
		}
	}
	if len(entries) == 0 {
		return nil, nil, fmt.Errorf("%w: no otpauth:// or otpauth-migration:// URI found", ErrFormat)
	}
	return entries, warnings, nil
}

// WriteURIs writes one otpauth URI per line. Every entry an otpauth URI
// can carry is written; unsupported entries are skipped.
func WriteURIs(entries []Entry) ([]byte, []Skipped) {
	var b bytes.Buffer
	var skipped []Skipped
	for i := range entries {
		e := &entries[i]
		if e.Unsupported != "" {
			skipped = append(skipped, Skipped{e.Label(), e.Unsupported})
			continue
		}
		b.WriteString(e.Key.String())
		b.WriteByte('\n')
	}
	return b.Bytes(), skipped
}

func hasScheme(s, scheme string) bool {
	return len(s) >= len(scheme) && strings.EqualFold(s[:len(scheme)], scheme)
}

// maxLine bounds one line of a URI list; a migration URI holding a whole
// export can be long, a real one is a few KiB.
const maxLine = 1 << 20
