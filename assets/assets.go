// Package assets holds the files embedded in Latchkey's binaries: the
// application icon and, for the server, its web templates and static files.
package assets

import _ "embed"

// Icon is the application icon, a 512x512 PNG. FyneApp.toml points at the
// same file for packaging.
//
//go:embed icon.png
var Icon []byte
