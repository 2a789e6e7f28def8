package transfer

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"latchkey/core/otpauth"
)

// Ente Auth's plain-text export, as Ente documents it
// (docs/docs/auth/migration/export.md in ente-io/ente): one otpauth URI per
// line. Ente adds a codeDisplay parameter holding JSON
// (auth/lib/models/code_display.dart): {"pinned", "trashed",
// "lastUsedAt", "tapCount", "tags": [...], "note"}. Tags are kept; codes
// in Ente's trash are reported, not imported.

type enteDisplay struct {
	Trashed bool     `json:"trashed"`
	Tags    []string `json:"tags"`
}

// ParseEnte reads an Ente Auth plain-text export. Warnings are those of
// the otpauth URIs (see [ParseURIs]).
func ParseEnte(data []byte) (entries []Entry, warnings []string, err error) {
	lines, err := splitLines(data, "line")
	if err != nil {
		return nil, nil, err
	}
	for _, l := range lines {
		k, err := otpauth.Parse(l.text)
		if err != nil {
			return nil, nil, &EntryError{Where: l.where, Err: err}
		}
		e := Entry{Key: *k}
		for _, w := range k.Warnings {
			warnings = append(warnings, fmt.Sprintf("%s (%s): %s", l.where, k.Label(), w))
		}
		e.Key.Warnings = nil
		if err := check(&e); err != nil {
			return nil, nil, &EntryError{Where: l.where, Label: e.Label(), Err: err}
		}
		if d, ok := enteCodeDisplay(l.text); ok {
			for _, t := range d.Tags {
				if t = strings.TrimSpace(t); t != "" {
					e.Tags = append(e.Tags, t)
				}
			}
			if d.Trashed && e.Unsupported == "" {
				e.Unsupported = "it is in Ente's trash"
				e.Key.Secret = nil
			}
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return nil, nil, fmt.Errorf("%w: no otpauth:// URI found", ErrFormat)
	}
	return entries, warnings, nil
}

// enteCodeDisplay returns the codeDisplay parameter of an Ente URI. One
// that does not parse is ignored, as Ente itself does.
func enteCodeDisplay(uri string) (enteDisplay, bool) {
	var d enteDisplay
	_, query, ok := strings.Cut(uri, "?")
	if !ok {
		return d, false
	}
	q, _ := url.ParseQuery(query)
	raw := q.Get("codeDisplay")
	if raw == "" || json.Unmarshal([]byte(raw), &d) != nil {
		return enteDisplay{}, false
	}
	return d, true
}
