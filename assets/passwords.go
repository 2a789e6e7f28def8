package assets

import _ "embed"

// CommonPasswords is a list of the 30,000 most common passwords, one a
// line, lower-cased (zxcvbn's list; see passwords/README.md for its
// source and licence).
//
//go:embed passwords/common.txt
var CommonPasswords string
