package ui

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"latchkey/core/transfer"
	"latchkey/core/transfer/storeio"
)

// Transfer connects the Import/Export menu; zero fields take the
// defaults, which suit the real store.
type Transfer struct {
	// Import adds parsed entries to s in one all-or-nothing step; nil
	// means StoreImport.
	Import func(ctx context.Context, s Store, entries []transfer.Entry) (storeio.Summary, error)
	// Export returns every account of s with its secret; nil means
	// StoreExport.
	Export func(ctx context.Context, s Store) ([]transfer.Entry, error)
	// OpenFile asks for a file to import and calls done with its content,
	// or with nil when the user cancels; nil means Fyne's file dialog.
	OpenFile func(w fyne.Window, done func(*transfer.File, error))
	// SaveFile asks where to write an export (name is the suggested file
	// name) and calls done with the path, or "" when the user cancels;
	// nil means Fyne's save dialog.
	SaveFile func(w fyne.Window, name string, done func(path string, err error))
	// WriteFile writes an export readable by the owner only, atomically;
	// nil means transfer.WriteFile.
	WriteFile func(path string, data []byte) error
	// WorkFactor is the scrypt log2 N of backups; 0 means age's default.
	// Tests lower it.
	WorkFactor int
}

func (t Transfer) withDefaults() Transfer {
	if t.Import == nil {
		t.Import = StoreImport
	}
	if t.Export == nil {
		t.Export = StoreExport
	}
	if t.OpenFile == nil {
		t.OpenFile = openFileDialog
	}
	if t.SaveFile == nil {
		t.SaveFile = saveFileDialog
	}
	if t.WriteFile == nil {
		t.WriteFile = transfer.WriteFile
	}
	return t
}

// transferButton is the toolbar's Import/Export button and its menu.
func (u *App) transferButton() *toolButton {
	var b *toolButton
	b = newToolButton(theme.StorageIcon(), "Import/Export accounts", u.deps.Clock, func() {
		pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(b)
		widget.ShowPopUpMenuAtPosition(u.transferMenu(), u.w.Canvas(), pos.Add(fyne.NewPos(0, b.Size().Height)))
	})
	return b
}

// transferMenu offers import and export.
func (u *App) transferMenu() *fyne.Menu {
	return fyne.NewMenu("Import/Export",
		fyne.NewMenuItem("Import accounts…", u.showImport),
		fyne.NewMenuItem("Export accounts…", u.showExport),
	)
}
