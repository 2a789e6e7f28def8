// Command emptywindow shows an empty Fyne window of the desktop app's size:
// the baseline that latchkey-desktop's start-up time and memory are
// measured against.
package main

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
)

func main() {
	a := app.NewWithID("dev.latchkey.emptywindow")
	w := a.NewWindow("Empty")
	w.Resize(fyne.NewSize(420, 640))
	w.ShowAndRun()
}
