package ui

import (
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

func TestMainShowsTitle(t *testing.T) {
	test.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	c := Main(w)
	w.SetContent(c)
	found := false
	for _, o := range test.LaidOutObjects(c) {
		if l, ok := o.(*widget.Label); ok && l.Text == "Latchkey" {
			found = true
		}
	}
	if !found {
		t.Fatal("main screen has no Latchkey title")
	}
}
