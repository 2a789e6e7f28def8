// Package common holds what every component of the terminal UI shares:
// the size of the screen, the styles, the key map, the logger and the clock.
// One value is built by New and passed to each component's constructor; no
// component reads package-level state.
package common

import (
	"context"
	"log/slog"
	"time"

	"latchkey/tui/keymap"
	"latchkey/tui/styles"
)

// Common is embedded (by value) in each component.
type Common struct {
	Ctx           context.Context
	Width, Height int
	Styles        *styles.Styles
	KeyMap        *keymap.KeyMap
	Logger        *slog.Logger
	Now           func() time.Time
}

// New returns a Common with the default key map. A nil logger discards; a
// nil clock is time.Now.
func New(ctx context.Context, st *styles.Styles, logger *slog.Logger, now func() time.Time) Common {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	if st == nil {
		st = styles.DefaultStyles(nil)
	}
	return Common{Ctx: ctx, Styles: st, KeyMap: keymap.DefaultKeyMap(), Logger: logger, Now: now}
}

// SetSize records the size of the screen.
func (c *Common) SetSize(width, height int) {
	c.Width, c.Height = width, height
}
