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

func main() {
	os.Exit(app.Run(os.Args[1:]))
}
