package ui

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

// tooltipDelay is how long the pointer rests on a toolbar button before
// its name shows.
const tooltipDelay = 500 * time.Millisecond

// toolButton is an icon button of the toolbar that names itself: its
// Label shows in a tooltip while the pointer rests on it, and its menu or
// dialog carries the same words. Fyne 2.7 has neither tooltips nor an
// accessibility API (no accessible names to set), so the label lives here,
// one per button, ready for either.
type toolButton struct {
	widget.Button
	// Label names what the button does, with its shortcut if any.
	Label string

	clock Clock
	stop  func() bool
	tip   *widget.PopUp
}

func newToolButton(icon fyne.Resource, label string, clock Clock, tapped func()) *toolButton {
	b := &toolButton{Label: label, clock: clock}
	b.Icon, b.OnTapped = icon, tapped
	b.ExtendBaseWidget(b)
	return b
}

var _ desktop.Hoverable = (*toolButton)(nil)

// MouseIn starts the tooltip's delay.
func (b *toolButton) MouseIn(e *desktop.MouseEvent) {
	b.Button.MouseIn(e)
	b.cancel()
	b.stop = b.clock.AfterFunc(tooltipDelay, func() { fyne.Do(b.showTip) })
}

// MouseOut hides the tooltip.
func (b *toolButton) MouseOut() {
	b.Button.MouseOut()
	b.hideTip()
}

// Tapped hides the tooltip and acts.
func (b *toolButton) Tapped(e *fyne.PointEvent) {
	b.hideTip()
	b.Button.Tapped(e)
}

func (b *toolButton) cancel() {
	if b.stop != nil {
		b.stop()
		b.stop = nil
	}
}

func (b *toolButton) hideTip() {
	b.cancel()
	if b.tip != nil {
		b.tip.Hide()
		b.tip = nil
	}
}

// showTip shows the label under the button, kept inside the window.
func (b *toolButton) showTip() {
	c := fyne.CurrentApp().Driver().CanvasForObject(b)
	if c == nil || b.tip != nil || !b.Visible() {
		return
	}
	tip := widget.NewPopUp(container.NewPadded(widget.NewLabel(b.Label)), c)
	size := tip.MinSize()
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(b).AddXY(0, b.Size().Height)
	pos.X = max(min(pos.X, c.Size().Width-size.Width), 0)
	tip.ShowAtPosition(pos)
	b.tip = tip
}
