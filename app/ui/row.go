package ui

import (
	"hash/fnv"
	"image/color"
	"math"
	"strings"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// rowView is what one account row shows.
type rowView struct {
	Title    string  // issuer, or the name when there is no issuer
	Subtitle string  // the name under an issuer, and tags
	Code     string  // grouped code, or a hint for HOTP
	Next     string  // the next code, set in the last seconds of a period
	Frac     float32 // the part of the period left, 0..1 (TOTP)
	Secs     string  // the seconds left, as a number: "17 s" (TOTP)
	Warn     bool    // the last seconds of the period
	HOTP     bool
	Broken   bool // the secret is missing: Code says so
	Selected bool
}

// codeRow is one account in the list: an initial avatar, issuer and name,
// the current code, a countdown bar and, near the end of a period, the next
// code. Taps are reported to the owner; the widget holds no account data.
type codeRow struct {
	widget.BaseWidget
	view        rowView
	onTap       func()
	onSecondary func(pos fyne.Position)
	// onDrop is called when a drag ends, with the rows moved (negative is
	// up), for reordering by drag and drop.
	onDrop func(rows int)

	dragging bool
	dragY    float32 // total vertical drag so far
	home     fyne.Position
}

func newCodeRow() *codeRow {
	r := &codeRow{}
	r.ExtendBaseWidget(r)
	return r
}

func (r *codeRow) set(v rowView) {
	if r.view == v {
		return
	}
	r.view = v
	r.Refresh()
}

// Tapped copies the code (via the owner).
func (r *codeRow) Tapped(*fyne.PointEvent) {
	if r.onTap != nil {
		r.onTap()
	}
}

// TappedSecondary opens the account's action menu.
func (r *codeRow) TappedSecondary(e *fyne.PointEvent) {
	if r.onSecondary != nil {
		r.onSecondary(e.AbsolutePosition)
	}
}

// Dragged moves the row with the pointer, over its neighbours.
func (r *codeRow) Dragged(e *fyne.DragEvent) {
	if !r.dragging {
		r.dragging, r.dragY, r.home = true, 0, r.Position()
	}
	r.dragY += e.Dragged.DY
	r.Move(r.home.AddXY(0, r.dragY))
}

// DragEnd puts the row back and reports how many rows it was dragged.
func (r *codeRow) DragEnd() {
	if !r.dragging {
		return
	}
	r.dragging = false
	r.Move(r.home)
	// Rows are laid out one row height plus a separator apart.
	step := r.Size().Height + theme.SeparatorThicknessSize() + theme.Padding()
	rows := int(math.Round(float64(r.dragY / step)))
	if rows != 0 && r.onDrop != nil {
		r.onDrop(rows)
	}
}

// CreateRenderer builds the row's canvas objects.
func (r *codeRow) CreateRenderer() fyne.WidgetRenderer {
	rr := &codeRowRenderer{
		row:      r,
		sel:      canvas.NewRectangle(color.Transparent),
		avatar:   canvas.NewCircle(color.Transparent),
		initial:  canvas.NewText("", color.White),
		title:    canvas.NewText("", color.Black),
		subtitle: canvas.NewText("", color.Black),
		code:     canvas.NewText("", color.Black),
		next:     canvas.NewText("", color.Black),
		secs:     canvas.NewText("", color.Black),
		track:    canvas.NewRectangle(color.Transparent),
		bar:      canvas.NewRectangle(color.Transparent),
	}
	rr.sel.CornerRadius = 4
	rr.initial.TextStyle.Bold = true
	rr.initial.Alignment = fyne.TextAlignCenter
	rr.title.TextStyle.Bold = true
	rr.code.TextStyle.Monospace = true
	rr.code.TextStyle.Bold = true
	rr.code.Alignment = fyne.TextAlignTrailing
	rr.next.TextStyle.Monospace = true
	rr.next.Alignment = fyne.TextAlignTrailing
	rr.secs.TextStyle.Monospace = true
	rr.secs.Alignment = fyne.TextAlignTrailing
	rr.objects = []fyne.CanvasObject{rr.sel, rr.avatar, rr.initial, rr.title, rr.subtitle, rr.code, rr.next, rr.secs, rr.track, rr.bar}
	rr.Refresh()
	return rr
}

type codeRowRenderer struct {
	row                                  *codeRow
	sel, track, bar                      *canvas.Rectangle
	avatar                               *canvas.Circle
	initial, title, subtitle, code, next *canvas.Text
	secs                                 *canvas.Text // seconds left, beside the bar
	objects                              []fyne.CanvasObject
}

const (
	avatarSize = 36
	barHeight  = 3
	// minTextWidth is the least room kept for the issuer and name, which
	// are shortened with an ellipsis to fit.
	minTextWidth = 80
)

func (rr *codeRowRenderer) Destroy()                     {}
func (rr *codeRowRenderer) Objects() []fyne.CanvasObject { return rr.objects }

func (rr *codeRowRenderer) MinSize() fyne.Size {
	p := theme.Padding()
	textH := rr.title.MinSize().Height + rr.subtitle.MinSize().Height
	h := max(avatarSize, textH, rr.code.MinSize().Height+rr.next.MinSize().Height)
	return fyne.NewSize(avatarSize+4*p+minTextWidth+rr.codeWidth(), h+2*p+max(barHeight, rr.secs.MinSize().Height))
}

// codeWidth is the width of the code column: the widest of the code and
// the next code as they are drawn.
func (rr *codeRowRenderer) codeWidth() float32 {
	return max(rr.code.MinSize().Width, rr.next.MinSize().Width)
}

func (rr *codeRowRenderer) Layout(size fyne.Size) {
	p := theme.Padding()
	rr.sel.Resize(size)
	sh0 := rr.secs.MinSize().Height
	body := size.Height - max(barHeight, sh0)
	ay := (body - avatarSize) / 2
	rr.avatar.Move(fyne.NewPos(p, ay))
	rr.avatar.Resize(fyne.NewSquareSize(avatarSize))
	ih := rr.initial.MinSize().Height
	rr.initial.Move(fyne.NewPos(p, ay+(avatarSize-ih)/2))
	rr.initial.Resize(fyne.NewSize(avatarSize, ih))

	x := 2*p + avatarSize
	codeW := rr.codeWidth()
	textW := max(size.Width-x-codeW-2*p, 0)
	v := rr.row.view
	rr.title.Text = ellipsize(v.Title, textW, rr.title.TextSize, rr.title.TextStyle)
	rr.subtitle.Text = ellipsize(v.Subtitle, textW, rr.subtitle.TextSize, rr.subtitle.TextStyle)
	th, sh := rr.title.MinSize().Height, rr.subtitle.MinSize().Height
	ty := (body - th - sh) / 2
	rr.title.Move(fyne.NewPos(x, ty))
	rr.title.Resize(fyne.NewSize(textW, th))
	rr.subtitle.Move(fyne.NewPos(x, ty+th))
	rr.subtitle.Resize(fyne.NewSize(textW, sh))

	ch, nh := rr.code.MinSize().Height, rr.next.MinSize().Height
	cx := size.Width - codeW - p
	cy := (body - ch - nh) / 2
	rr.code.Move(fyne.NewPos(cx, cy))
	rr.code.Resize(fyne.NewSize(codeW, ch))
	rr.next.Move(fyne.NewPos(cx, cy+ch))
	rr.next.Resize(fyne.NewSize(codeW, nh))

	// The bar, and the seconds left as a number at its end.
	sw := rr.secs.MinSize().Width
	rr.secs.Move(fyne.NewPos(size.Width-p-sw, body-(sh0-barHeight)/2))
	rr.secs.Resize(fyne.NewSize(sw, sh0))
	barW := max(size.Width-x-2*p-sw, 0)
	rr.track.Move(fyne.NewPos(x, body))
	rr.track.Resize(fyne.NewSize(barW, barHeight))
	rr.bar.Move(fyne.NewPos(x, body))
	frac := v.Frac
	if v.HOTP || v.Broken {
		frac = 0
	}
	rr.bar.Resize(fyne.NewSize(barW*min(max(frac, 0), 1), barHeight))
}

// ellipsize shortens s with "…" until it is at most width wide when drawn
// at size in style.
func ellipsize(s string, width, size float32, style fyne.TextStyle) string {
	if s == "" || fyne.MeasureText(s, size, style).Width <= width {
		return s
	}
	r := []rune(s)
	lo, hi := 0, len(r) // the longest prefix that fits is r[:lo]
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if fyne.MeasureText(string(r[:mid])+"…", size, style).Width <= width {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return strings.TrimRightFunc(string(r[:lo]), unicode.IsSpace) + "…"
}

func (rr *codeRowRenderer) Refresh() {
	v := rr.row.view
	th := rr.row.Theme()
	variant := fyne.CurrentApp().Settings().ThemeVariant()
	fg := th.Color(theme.ColorNameForeground, variant)
	dim := th.Color(theme.ColorNamePlaceHolder, variant)
	size := th.Size(theme.SizeNameText)

	if v.Selected {
		rr.sel.FillColor = th.Color(theme.ColorNameSelection, variant)
	} else {
		rr.sel.FillColor = color.Transparent
	}
	rr.avatar.FillColor = AvatarColor(v.Title)
	rr.initial.Text = initial(v.Title)
	rr.initial.TextSize = size * 1.2
	rr.title.Color, rr.title.TextSize = fg, size // the texts are set, shortened, by Layout
	rr.subtitle.Color, rr.subtitle.TextSize = dim, size*0.9
	rr.code.Text, rr.code.TextSize = v.Code, size*1.6
	rr.code.Color = fg
	if v.HOTP && !strings.ContainsAny(v.Code, "0123456789") {
		rr.code.TextSize = size
		rr.code.Color = dim
	}
	if v.Broken {
		rr.code.TextSize = size * 0.9
		rr.code.Color = th.Color(theme.ColorNameError, variant)
	}
	rr.next.Text, rr.next.Color, rr.next.TextSize = v.Next, dim, size*0.85
	rr.secs.Text, rr.secs.Color, rr.secs.TextSize = v.Secs, dim, size*0.8
	rr.track.FillColor = th.Color(theme.ColorNameInputBorder, variant)
	rr.bar.FillColor = th.Color(theme.ColorNamePrimary, variant)
	if v.Warn {
		rr.bar.FillColor = th.Color(theme.ColorNameError, variant)
	}
	if v.Warn {
		rr.secs.Color = th.Color(theme.ColorNameError, variant)
	}
	noBar := v.HOTP || v.Broken
	rr.track.Hidden, rr.bar.Hidden, rr.secs.Hidden = noBar, noBar, noBar
	rr.Layout(rr.row.Size())
	for _, o := range rr.objects {
		o.Refresh()
	}
}

// initial is the avatar letter: the first letter or digit of s.
func initial(s string) string {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return strings.ToUpper(string(r))
		}
	}
	return "?"
}

var avatarPalette = []color.NRGBA{
	{0x1e, 0x88, 0xe5, 0xff}, {0x43, 0xa0, 0x47, 0xff}, {0xe5, 0x39, 0x35, 0xff},
	{0x8e, 0x24, 0xaa, 0xff}, {0xfb, 0x8c, 0x00, 0xff}, {0x00, 0x89, 0x7b, 0xff},
	{0x6d, 0x4c, 0x41, 0xff}, {0x39, 0x49, 0xab, 0xff},
}

// AvatarColor is the colour of the initial avatar of a row titled s (the
// issuer, or the name without one); stable, so people learn it.
func AvatarColor(s string) color.NRGBA {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(s)))
	return avatarPalette[h.Sum32()%uint32(len(avatarPalette))]
}
