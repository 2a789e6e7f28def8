// Command latchkey-desktop is Latchkey's desktop authenticator (Fyne).
//
// It lives at the repository root because `fyne package` reads
// FyneApp.toml, and the icon it names, from the main package's directory.
// Everything else is in package app.
package main

import (
	"os"

	"latchkey/app"
)

// version is stamped at link time (the Makefile passes
// -ldflags -X main.version=...); empty means the module's build info.
var version = ""

func main() {
	os.Exit(app.Run(os.Args[1:], version))
}
