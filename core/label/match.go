package label

import (
	"slices"
	"strings"
)

// Rank is how well an account matches a search text.
type Rank int

const (
	NoMatch    Rank = iota
	PartMatch       // the label ("Issuer:Name") or a tag contains the text
	ExactMatch      // the issuer, the name or the whole label is the text
)

// Match ranks an account, by its issuer, name and tags, against the
// search text q, as every face's filter does (the desktop's search, the
// TUI's /): case-insensitive; the accounts whose issuer, name or whole
// "Issuer:Name" is q come first, then those whose label or a tag
// contains it; letters scattered across a label match nothing. q must be
// lower case and not empty.
func Match(issuer, name string, tags []string, q string) Rank {
	issuer, name = strings.ToLower(issuer), strings.ToLower(name)
	full := name
	if issuer != "" {
		full = issuer + ":" + name
	}
	switch {
	case issuer == q || name == q || full == q:
		return ExactMatch
	case strings.Contains(full, q),
		slices.ContainsFunc(tags, func(t string) bool { return strings.Contains(strings.ToLower(t), q) }):
		return PartMatch
	}
	return NoMatch
}
