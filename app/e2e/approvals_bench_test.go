package e2e

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"latchkey/core/store"
	"latchkey/core/testenv"
)

// cardSamples is how many sign-in requests one iteration of
// BenchmarkApprovalCard sends; it reports their median.
const cardSamples = 7

// cardPause is the pause between two samples of the screen while waiting
// for a card, so that sampling does not take the CPU the app needs.
const cardPause = 10 * time.Millisecond

// BenchmarkApprovalCard measures the time from a client's bc-authorize to
// the card on screen in the real latchkey-desktop (paired with a real
// `latchkey serve` by `latchkey enroll`), beside the time to `latchkey
// requests --wait` printing the same request (the same long-poll without
// a window) in the same run. The card counts as on screen when the
// window, captured with xwd every cardPause plus the capture's own time
// (sample-ms says how long a sample took in all), shows the Approve
// button's green. Each card is then denied with a click on the red Deny
// button, and the next request waits until both listeners are back in
// their long-polls.
func BenchmarkApprovalCard(b *testing.B) {
	display := testenv.Env(b, "DISPLAY")
	testenv.Tool(b, "xwd")
	testenv.Tool(b, "xdotool")
	bins := build(b)
	cli := buildCLI(b)
	srv := serve(b, cli)
	storeHome := filepath.Join(b.TempDir(), "latchkey")
	srv.pair(cli, storeHome, "alice")
	p := start(b, bins.desktop, display, storeHome)
	win, _ := p.firstFrame(b, display, 60*time.Second)
	p.avatar(b, display, win, "Latchkey", 60*time.Second)
	green, red := themeColors(b, theme.ColorNameSuccess), themeColors(b, theme.ColorNameError)

	var card, printed []float64
	var samples int
	var sampling time.Duration
	for i := range b.N * cardSamples {
		// The command opens the vault (a scrypt unlock) before its
		// long-poll; the pause covers that, and the app's listener's
		// new long-poll after the previous answer.
		cmd := exec.Command(cli, "requests", "--wait", "--json", "--timeout", "60s")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + b.TempDir(), "LATCHKEY_HOME=" + storeHome,
			"LATCHKEY_STORE=file", "LATCHKEY_PASSPHRASE=" + passphrase, "LATCHKEY_AGENT=off"}
		out, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		got := make(chan time.Time, 1)
		go func() {
			if _, err := bufio.NewReader(out).Peek(1); err != nil {
				got <- time.Time{} // it ended without printing
			} else {
				got <- time.Now()
			}
			_ = cmd.Wait()
		}()
		time.Sleep(4 * time.Second)
		img, err := xwd(display, win)
		if err != nil {
			b.Fatal(err)
		}
		if n := countAny(img, green); n > 500 {
			b.Fatalf("the window shows the Approve green (%d pixels) before any request", n)
		}

		asked := time.Now()
		srv.authorize("alice", fmt.Sprintf("Benchmark %d", i), 0)
		for {
			img, err = xwd(display, win)
			samples++
			if err == nil && countAny(img, green) >= 2000 {
				break
			}
			p.alive(b)
			if time.Since(asked) > 30*time.Second {
				b.Fatalf("no card within 30 s of bc-authorize (xwd: %v)", err)
			}
			time.Sleep(cardPause)
		}
		seen := time.Since(asked)
		sampling += seen
		card = append(card, float64(seen.Microseconds())/1000)
		select {
		case at := <-got:
			if at.IsZero() {
				b.Fatal("latchkey requests --wait ended without printing")
			}
			printed = append(printed, float64(at.Sub(asked).Microseconds())/1000)
		case <-time.After(30 * time.Second):
			b.Fatal("latchkey requests --wait printed nothing within 30 s")
		}

		// Deny: a click in the middle of the red button, on a fresh
		// capture (the one that saw the card may hold a frame half drawn).
		time.Sleep(200 * time.Millisecond)
		if img, err = xwd(display, win); err != nil {
			b.Fatal(err)
		}
		r := largest(img, red)
		if r.Dx() < 60 || r.Dy() < 24 {
			b.Fatalf("no Deny button beside the card (largest red area %v)", r)
		}
		c := r.Min.Add(r.Size().Div(2)).Sub(img.Bounds().Min)
		xdotool(b, display, "windowfocus", "--sync", win)
		xdotool(b, display, "mousemove", "--window", win, fmt.Sprint(c.X), fmt.Sprint(c.Y), "click", "1",
			"mousemove", "--window", win, "410", "630") // off the next card's buttons
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if img, err := xwd(display, win); err == nil && countAny(img, green) < 500 {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("the card stayed after a click on Deny at %v (red %v)", c, r)
			}
		}
	}
	b.ReportMetric(median(card), "card-ms")
	b.ReportMetric(card[0], "first-card-ms") // the run's first card draws its fonts and icons anew
	b.ReportMetric(median(printed), "requests-wait-ms")
	b.ReportMetric(median(card)/median(printed), "card/requests-wait")
	b.ReportMetric(float64(sampling.Microseconds())/1000/float64(samples), "sample-ms")
	b.ReportMetric(0, "ns/op")
	b.Logf("bc-authorize to the card on screen (ms): %v; to `latchkey requests --wait` printing it: %v", card, printed)
}

// BenchmarkIdleListener measures, in one run, the idle CPU time and
// memory of two latchkey-desktop windows side by side over idleWindow:
// one whose store has an account paired with a real server (its listener
// long-polls), and one whose store has the same account unpaired (its
// listener has nothing to poll).
func BenchmarkIdleListener(b *testing.B) {
	const idleWindow = 30 * time.Second
	display := testenv.Env(b, "DISPLAY")
	testenv.Tool(b, "xwd")
	testenv.Tool(b, "xdotool")
	bins := build(b)
	cli := buildCLI(b)
	srv := serve(b, cli)
	paired := filepath.Join(b.TempDir(), "latchkey")
	srv.pair(cli, paired, "alice")
	unpaired := filepath.Join(b.TempDir(), "latchkey")
	seed(b, unpaired, []store.Account{{Issuer: "Latchkey", Name: "alice"}})

	var cpu, rss [2]float64
	for range b.N {
		var ps [2]*proc
		for i, home := range []string{paired, unpaired} {
			ps[i] = start(b, bins.desktop, display, home)
			win, _ := ps[i].firstFrame(b, display, 60*time.Second)
			xdotool(b, display, "windowmove", win, fmt.Sprint(500*i), "0") // side by side
			ps[i].avatar(b, display, win, "Latchkey", 60*time.Second)
		}
		time.Sleep(5 * time.Second) // settle
		var before [2]float64
		for i, p := range ps {
			before[i] = p.cpu(b)
		}
		time.Sleep(idleWindow)
		for i, p := range ps {
			cpu[i] += 100 * (p.cpu(b) - before[i]) / idleWindow.Seconds()
			rss[i] += p.rss(b) / (1 << 20)
			p.stop()
		}
	}
	n := float64(b.N)
	b.ReportMetric(cpu[0]/n, "listener-CPU-%")
	b.ReportMetric(cpu[1]/n, "no-listener-CPU-%")
	b.ReportMetric(rss[0]/n, "listener-RSS-MiB")
	b.ReportMetric(rss[1]/n, "no-listener-RSS-MiB")
	b.ReportMetric(cpu[0]/cpu[1], "CPU-ratio")
	b.ReportMetric(rss[0]/rss[1], "RSS-ratio")
	b.ReportMetric(0, "ns/op")
}

// cpu returns the process's CPU time so far (user and system), in
// seconds, from /proc/PID/stat.
func (p *proc) cpu(tb testing.TB) float64 {
	tb.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		tb.Fatal(err)
	}
	// The fields after the command name, which is in parentheses: state
	// is the first, utime and stime the 12th and 13th (in clock ticks).
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		tb.Fatalf("short /proc stat: %q", s)
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / clockTicks(tb)
}

// clockTicks is the kernel's clock ticks per second (getconf CLK_TCK).
func clockTicks(tb testing.TB) float64 {
	tb.Helper()
	out, err := exec.Command(testenv.Tool(tb, "getconf"), "CLK_TCK").Output()
	if err != nil {
		tb.Fatal(err)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil || v <= 0 {
		tb.Fatalf("getconf CLK_TCK: %q", out)
	}
	return v
}

// themeColors returns a colour of Fyne's default theme, dark and light.
func themeColors(tb testing.TB, name fyne.ThemeColorName) []color.NRGBA {
	test.NewTempApp(tb)
	return []color.NRGBA{
		nrgba(theme.DefaultTheme().Color(name, theme.VariantDark)),
		nrgba(theme.DefaultTheme().Color(name, theme.VariantLight)),
	}
}

// countAny returns how many pixels of img are near one of cs.
func countAny(img *image.NRGBA, cs []color.NRGBA) int {
	n := 0
	for _, c := range cs {
		n += count(img, c)
	}
	return n
}

// largest returns the bounding box of the largest area of one flat
// colour near one of cs (a button's fill).
func largest(img *image.NRGBA, cs []color.NRGBA) image.Rectangle {
	b := img.Bounds()
	seen := make([]bool, b.Dx()*b.Dy())
	at := func(p image.Point) int { return (p.Y-b.Min.Y)*b.Dx() + p.X - b.Min.X }
	var best image.Rectangle
	most := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			p := image.Pt(x, y)
			px := img.NRGBAAt(x, y)
			if seen[at(p)] || !slices.ContainsFunc(cs, func(c color.NRGBA) bool { return near(px, c, 3) }) {
				continue
			}
			if box, n := fill(img, p, px, seen, at); n > most {
				best, most = box, n
			}
		}
	}
	return best
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
