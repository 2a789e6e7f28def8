package assets

import "embed"

// Web holds the enrollment server's web pages: html/template files under
// web/templates and the static files (CSS, a little JavaScript) under
// web/static. Nothing is loaded from outside the binary.
//
//go:embed web
var Web embed.FS
