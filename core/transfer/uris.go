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
	lines, err := splitLines(data, "line")
	if err != nil {
		return nil, nil, err
	}
	return parseLines(lines)
}

// line is one URI and where it came from ("line 3", "shot.png QR code 2").
type line struct{ where, text string }

// splitLines returns the URI lines of data, naming each with unit and
// its line number, without blank lines and # comments.
func splitLines(data []byte, unit string) ([]line, error) {
	var out []line
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	n := 0
	for sc.Scan() {
		n++
		s := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		out = append(out, line{fmt.Sprintf("%s %d", unit, n), s})
		if len(out) > MaxEntries {
			return nil, tooMany()
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s %d: %w: longer than %d bytes", unit, n+1, ErrTooLarge, maxLine)
	}
	return out, nil
}

// parseLines reads otpauth:// lines in place and gathers the
// otpauth-migration:// ones, whose batches belong together.
func parseLines(lines []line) (entries []Entry, warnings []string, err error) {
	var migration, migrationWhere []string
	for _, l := range lines {
		where, s := l.where, l.text
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
