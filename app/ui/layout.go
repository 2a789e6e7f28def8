package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// minWindow is the smallest window the app allows (the GL driver keeps a
// window at least as large as its content's MinSize). Every screen and
// dialog is laid out to fit it without clipping, as well as the default
// size the app opens at.
var minWindow = fyne.NewSize(360, 480)

// atLeastMinWindow makes o's MinSize the app's minimum window size, so that
// the window cannot be made smaller than the screens are laid out for.
func atLeastMinWindow(o fyne.CanvasObject) fyne.CanvasObject {
	r := canvas.NewRectangle(color.Transparent)
	r.SetMinSize(minWindow)
	return container.NewStack(r, o)
}

// wrapped is a label whose text wraps at word boundaries.
func wrapped(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// fitDialog resizes d to want, or to the window less a margin where the
// window is smaller: a dialog wider than its window is cut at the right.
func fitDialog(d dialog.Dialog, w fyne.Window, want fyne.Size) {
	c := w.Canvas().Size()
	m := 4 * theme.Padding()
	d.Resize(fyne.NewSize(min(want.Width, c.Width-m), min(want.Height, c.Height-m)))
}
