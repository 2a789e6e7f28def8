// Package label keeps text that comes from outside (an account's issuer,
// name and tags from an otpauth URI, a QR image, an import file or an
// enrollment server; a server's error message) from driving the terminal
// or the reader's eye.
//
// Two rules, one package:
//
//   - Clean is for labels on the way in: C0 and C1 control characters
//     (ESC, BEL, newline...), Unicode format characters (bidi overrides
//     and isolates such as U+202E, zero-width characters such as U+200B)
//     and line or paragraph separators are removed (white-space ones
//     become a space), invalid UTF-8 becomes U+FFFD, and the result is
//     trimmed. The store applies it to every label it keeps.
//   - Terminal and Line are for text on the way out, for what was never
//     cleaned (errors, server messages, labels stored by older versions):
//     every such character is shown escaped (\x1b, \u202e) instead of
//     being sent to the terminal. Terminal keeps newlines and tabs, for
//     messages of several lines; Line escapes them too, for one row.
package label

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// unsafe reports whether r must not reach a terminal as it is.
func unsafe(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}

// space reports whether an unsafe r stands for white space.
func space(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', '\u0085', '\u2028', '\u2029':
		return true
	}
	return false
}

// Clean returns s without control, format and separator characters (the
// white-space ones become a space), with invalid UTF-8 replaced and
// surrounding space trimmed, and whether anything but that trimming
// changed.
func Clean(s string) (string, bool) {
	if isClean(s) {
		t := strings.TrimSpace(s)
		return t, false
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !validAt(s, i):
			b.WriteRune(utf8.RuneError)
		case unsafe(r) && space(r):
			b.WriteByte(' ')
		case unsafe(r):
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String()), true
}

// validAt reports whether s[i:] starts with a real U+FFFD rather than an
// invalid byte that range decoded as one.
func validAt(s string, i int) bool {
	_, n := utf8.DecodeRuneInString(s[i:])
	return n == 3
}

func isClean(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unsafe(r) {
			return false
		}
	}
	return true
}

// Terminal returns s with every control, format and separator character
// escaped except newline and tab, and invalid UTF-8 shown as U+FFFD, so
// that it can be printed to a terminal as it is.
func Terminal(s string) string { return escape(s, true) }

// Line is Terminal for one row: newlines and tabs are escaped too.
func Line(s string) string { return escape(s, false) }

func escape(s string, keepLines bool) string {
	if isClean(s) && (keepLines || !strings.ContainsAny(s, "\n\t")) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !validAt(s, i):
			b.WriteRune(utf8.RuneError)
		case keepLines && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case unsafe(r) && r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafe(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
