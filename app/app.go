// Package app is Latchkey's desktop application. Run starts it with Fyne's
// GL driver; the screens it shows live in packages that do not import
// fyne.io/fyne/v2/app, so they are tested on Fyne's test driver without cgo.
package app

import (
	"fmt"
	"os"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"latchkey/app/ui"
	"latchkey/assets"
)

// ID is the application identifier, as in FyneApp.toml.
const ID = "dev.latchkey.desktop"

// Run starts the desktop app and returns the process exit status.
func Run(args []string) int {
	if len(args) > 0 && (args[0] == "--version" || args[0] == "version") {
		fmt.Println("latchkey-desktop", ui.Version())
		return 0
	}
	a := fyneapp.NewWithID(ID)
	a.SetIcon(fyne.NewStaticResource("icon.png", assets.Icon))
	w := a.NewWindow("Latchkey")
	w.SetContent(ui.Main(w))
	w.Resize(fyne.NewSize(420, 640))
	w.ShowAndRun()
	_ = os.Stdout.Sync()
	return 0
}
