// Package ui holds the desktop app's screens. It must not import
// fyne.io/fyne/v2/app, so that its tests run on Fyne's test driver with
// CGO_ENABLED=0.
package ui

import (
	"runtime/debug"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// Main returns the content of the main window.
func Main(w fyne.Window) fyne.CanvasObject {
	title := widget.NewLabelWithStyle("Latchkey", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	hint := widget.NewLabel("No accounts yet.")
	hint.Alignment = fyne.TextAlignCenter
	return container.NewVBox(title, hint)
}

// Version returns the module version the binary was built from.
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
