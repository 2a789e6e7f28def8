package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/draw"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"latchkey/app/ui"
	"latchkey/core/otp"
	"latchkey/core/store"
	"latchkey/core/testenv"
)

const passphrase = "e2e passphrase"

// binaries are the programs the tests start.
type binaries struct {
	desktop, empty string
}

// build compiles latchkey-desktop and the empty-window baseline (the GL
// driver's C code is in the build cache after the first time).
func build(tb testing.TB) binaries {
	tb.Helper()
	goTool := testenv.Tool(tb, "go")
	dir := tb.TempDir()
	bins := binaries{desktop: filepath.Join(dir, "latchkey-desktop"), empty: filepath.Join(dir, "emptywindow")}
	for _, c := range [][2]string{{bins.desktop, "latchkey"}, {bins.empty, "./testdata/emptywindow"}} {
		cmd := exec.Command(goTool, "build", "-o", c[0], c[1])
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("go build %s: %v\n%s", c[1], err, out)
		}
	}
	return bins
}

// seeded is an account put in the store, with its secret for checking codes.
type seeded struct {
	account store.Account
	secret  otp.Secret
}

// seed creates a file store in home holding accounts, through core/store.
func seed(tb testing.TB, home string, accounts []store.Account) []seeded {
	tb.Helper()
	ctx := context.Background()
	pass := func() ([]byte, error) { return []byte(passphrase), nil }
	s, err := store.Open(ctx, store.Options{Home: home, Backend: store.File, Passphrase: pass, NewPassphrase: pass})
	if err != nil {
		tb.Fatalf("open the store to seed: %v", err)
	}
	defer s.Close()
	items := make([]store.NewAccount, len(accounts))
	for i, a := range accounts {
		sec, err := otp.NewSecret(a.Algorithm)
		if err != nil {
			tb.Fatal(err)
		}
		items[i] = store.NewAccount{Account: a, Secret: sec}
	}
	added, err := s.AddMany(ctx, items)
	if err != nil {
		tb.Fatalf("seed the store: %v", err)
	}
	out := make([]seeded, len(added))
	for i, a := range added {
		out[i] = seeded{a, items[i].Secret}
	}
	return out
}

// proc is a started GUI process.
type proc struct {
	cmd     *exec.Cmd
	started time.Time
	out     *bytes.Buffer
	exited  chan struct{} // closed when the process has ended
}

// stop kills the process (it was started by this test) and waits for it.
func (p *proc) stop() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// alive fails the test if the process has ended.
func (p *proc) alive(tb testing.TB) {
	tb.Helper()
	select {
	case <-p.exited:
		tb.Fatalf("%s exited: %v", filepath.Base(p.cmd.Path), p.cmd.ProcessState)
	default:
	}
}

// start runs bin with a fresh temporary HOME (Fyne keeps preferences and
// caches there) on display; storeHome, when set, is the seeded store;
// env is more of the environment (KEY=VALUE).
func start(tb testing.TB, bin, display, storeHome string, env ...string) *proc {
	tb.Helper()
	home := tb.TempDir()
	p := &proc{out: &bytes.Buffer{}}
	cmd := exec.Command(bin)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"XDG_DATA_HOME=" + filepath.Join(home, ".local", "share"),
		"DISPLAY=" + display,
		"LANG=C.UTF-8",
	}
	if xa := os.Getenv("XAUTHORITY"); xa != "" {
		cmd.Env = append(cmd.Env, "XAUTHORITY="+xa)
	}
	if storeHome != "" {
		cmd.Env = append(cmd.Env,
			"LATCHKEY_HOME="+storeHome,
			"LATCHKEY_STORE=file",
			"LATCHKEY_PASSPHRASE="+passphrase,
		)
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = p.out, p.out
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", bin, err)
	}
	p.cmd = cmd
	p.exited = make(chan struct{})
	go func() { _ = cmd.Wait(); close(p.exited) }()
	tb.Cleanup(func() {
		p.stop()
		if tb.Failed() {
			tb.Logf("output of %s:\n%s", filepath.Base(bin), p.out)
		}
	})
	return p
}

// backgrounds returns the colours of Fyne's default theme background, dark
// and light (the theme needs an app: Fyne's test app will do).
func backgrounds(tb testing.TB) []color.NRGBA {
	test.NewTempApp(tb)
	return []color.NRGBA{
		nrgba(theme.DefaultTheme().Color(theme.ColorNameBackground, theme.VariantDark)),
		nrgba(theme.DefaultTheme().Color(theme.ColorNameBackground, theme.VariantLight)),
	}
}

func nrgba(c color.Color) color.NRGBA { return color.NRGBAModel.Convert(c).(color.NRGBA) }

// firstFrame waits until the window shows a Fyne frame (mostly the theme
// background, not X's empty window) and returns the time since start.
func (p *proc) firstFrame(tb testing.TB, display string, timeout time.Duration) (string, time.Duration) {
	tb.Helper()
	deadline := p.started.Add(timeout)
	bgs := backgrounds(tb)
	win, err := windowOf(display, p.cmd.Process.Pid, timeout, func() { p.alive(tb) })
	if err != nil {
		tb.Fatal(err)
	}
	for {
		img, err := xwd(display, win)
		if err == nil {
			c, share := dominant(img)
			for _, bg := range bgs {
				if share > 0.4 && near(c, bg, 2) {
					return win, time.Since(p.started)
				}
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no Fyne frame in window %s after %s (last error %v)", win, timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// screen captures the whole screen (what X really shows, as `xwd -root`)
// and returns the part covered by window win.
func screen(display, win string) (*image.NRGBA, error) {
	root, err := xwd(display, "root")
	if err != nil {
		return nil, err
	}
	r, err := geometry(display, win)
	if err != nil {
		return nil, err
	}
	return crop(root, r), nil
}

// ocrScale is how much a screenshot is enlarged before tesseract reads it:
// its models are trained on text about 30 pixels high, twice Fyne's.
const ocrScale = 3

// ocr returns the text tesseract reads in img: the pixels are turned to
// grey, scaled ocrScale times and made dark on light (the dark theme draws
// light text on dark), which is what tesseract reads best. Larger Fyne
// scales (FYNE_SCALE=2) read worse: the avatar beside the issuer then
// merges with it.
func ocr(tb testing.TB, img *image.NRGBA) string {
	tb.Helper()
	return tesseract(tb, img, darkBackground(img))
}

// darkBackground reports whether img is mostly dark (the dark theme).
func darkBackground(img *image.NRGBA) bool {
	bg, _ := dominant(img)
	return int(bg.R)+int(bg.G)+int(bg.B) < 3*128
}

// tesseract returns the text tesseract reads in img prepared as ocr
// says, inverted when invert is set.
func tesseract(tb testing.TB, img *image.NRGBA, invert bool) string {
	tb.Helper()
	tess := testenv.Tool(tb, "tesseract")
	b := img.Bounds()
	grey := image.NewGray(image.Rect(0, 0, b.Dx()*ocrScale, b.Dy()*ocrScale))
	draw.CatmullRom.Scale(grey, grey.Rect, img, b, draw.Src, nil)
	if invert {
		for i, v := range grey.Pix {
			grey.Pix[i] = 255 - v
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, grey); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(tess, "stdin", "stdout", "--psm", "4") // lines of varied sizes
	cmd.Stdin = &buf
	cmd.Env = append(cmd.Environ(), "OMP_THREAD_LIMIT=1") // one core: the machine is shared
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("tesseract: %v: %s", err, errb.String())
	}
	return string(out)
}

// avatarColumn is the width of the rows' avatar column, in pixels
// (padding, the 36-pixel avatar, padding): OCR reads right of it, since an
// avatar's initial beside the issuer garbles both; the avatars are
// checked by colour instead.
const avatarColumn = 46

// read OCRs window win until ok accepts the text (or timeout passes, which
// fails the test) and returns the accepted text.
func (p *proc) read(tb testing.TB, display, win string, timeout time.Duration, what string, ok func(text string) bool) string {
	tb.Helper()
	return p.readFrom(tb, display, win, avatarColumn, timeout, what, ok)
}

// readFrom is read of the part of the window right of x = left (0: the
// whole width, as for a sign-in card, which spans it).
func (p *proc) readFrom(tb testing.TB, display, win string, left int, timeout time.Duration, what string, ok func(text string) bool) string {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		img, err := screen(display, win)
		var text string
		if err == nil {
			b := img.Bounds()
			text = ocr(tb, crop(img, image.Rect(b.Min.X+left, b.Min.Y, b.Max.X, b.Max.Y)))
			if ok(text) {
				return text
			}
		}
		p.alive(tb)
		if time.Now().After(deadline) {
			tb.Fatalf("the window did not show %s within %s; it reads:\n%s\n(last error %v)", what, timeout, text, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// avatar waits until window win draws the avatar of the row titled
// issuer and returns the time since start.
func (p *proc) avatar(tb testing.TB, display, win, issuer string, timeout time.Duration) time.Duration {
	tb.Helper()
	deadline := p.started.Add(timeout)
	c := ui.AvatarColor(issuer)
	for {
		if img, err := screen(display, win); err == nil && count(img, c) >= 300 {
			return time.Since(p.started)
		}
		p.alive(tb)
		if time.Now().After(deadline) {
			tb.Fatalf("the avatar of %s was not drawn within %s", issuer, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rss returns the resident set size of the process in bytes.
func (p *proc) rss(tb testing.TB) float64 {
	tb.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb * 1024
		}
	}
	tb.Fatal("no VmRSS in /proc status")
	return 0
}

// crop returns the part of img inside r.
func crop(img *image.NRGBA, r image.Rectangle) *image.NRGBA {
	return img.SubImage(r.Intersect(img.Bounds())).(*image.NRGBA)
}
