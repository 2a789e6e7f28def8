package e2e

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math/bits"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// decodeXWD decodes the output of `xwd` for a TrueColor visual with 24 or
// 32 bits per pixel, the format of Xvfb's 24-bit screens.
func decodeXWD(data []byte) (*image.NRGBA, error) {
	const headerLen = 100 // 25 CARD32 fields, most significant byte first
	if len(data) < headerLen {
		return nil, errors.New("xwd: short header")
	}
	f := func(i int) uint32 { return binary.BigEndian.Uint32(data[4*i:]) }
	hsize, width, height := f(0), f(4), f(5)
	byteOrder, bpp, bpl := f(7), f(11), f(12)
	rmask, gmask, bmask := f(14), f(15), f(16)
	ncolors := f(19)
	if bpp != 32 && bpp != 24 {
		return nil, fmt.Errorf("xwd: %d bits per pixel not supported", bpp)
	}
	off := int(hsize) + 12*int(ncolors)
	if width == 0 || height == 0 || off+int(bpl)*int(height) > len(data) {
		return nil, errors.New("xwd: truncated image")
	}
	img := image.NewNRGBA(image.Rect(0, 0, int(width), int(height)))
	channel := func(p, mask uint32) uint8 {
		return uint8((p & mask) >> bits.TrailingZeros32(mask))
	}
	step := int(bpp / 8)
	for y := 0; y < int(height); y++ {
		row := data[off+y*int(bpl):]
		for x := 0; x < int(width); x++ {
			var p uint32
			px := row[x*step : x*step+step]
			for i := range step {
				b := uint32(px[i])
				if byteOrder == 0 { // LSBFirst
					p |= b << (8 * i)
				} else {
					p = p<<8 | b
				}
			}
			img.SetNRGBA(x, y, color.NRGBA{channel(p, rmask), channel(p, gmask), channel(p, bmask), 0xff})
		}
	}
	return img, nil
}

// xwd captures a window (or the root window for "root") with xwd.
func xwd(display, window string) (*image.NRGBA, error) {
	args := []string{"-silent", "-display", display}
	if window == "root" {
		args = append(args, "-root")
	} else {
		args = append(args, "-id", window)
	}
	var out, errb bytes.Buffer
	cmd := exec.Command("xwd", args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("xwd: %v: %s", err, strings.TrimSpace(errb.String()))
	}
	return decodeXWD(out.Bytes())
}

// windowOf returns the id of the visible window of process pid, waiting up
// to timeout for it to be mapped.
func windowOf(display string, pid int, timeout time.Duration, alive func()) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		cmd := exec.Command("xdotool", "search", "--onlyvisible", "--pid", strconv.Itoa(pid))
		cmd.Env = append(cmd.Environ(), "DISPLAY="+display)
		out, _ := cmd.Output()
		if f := strings.Fields(string(out)); len(f) > 0 {
			return f[0], nil
		}
		alive()
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no window of process %d after %s", pid, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// geometry returns a window's position and size on the root window.
func geometry(display, window string) (image.Rectangle, error) {
	cmd := exec.Command("xdotool", "getwindowgeometry", "--shell", window)
	cmd.Env = append(cmd.Environ(), "DISPLAY="+display)
	out, err := cmd.Output()
	if err != nil {
		return image.Rectangle{}, fmt.Errorf("xdotool getwindowgeometry: %w", err)
	}
	v := map[string]int{}
	for _, line := range strings.Fields(string(out)) {
		k, val, _ := strings.Cut(line, "=")
		v[k], _ = strconv.Atoi(val)
	}
	return image.Rect(v["X"], v["Y"], v["X"]+v["WIDTH"], v["Y"]+v["HEIGHT"]), nil
}

// dominant returns the most frequent colour of img and its share.
func dominant(img *image.NRGBA) (color.NRGBA, float64) {
	counts := map[color.NRGBA]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			counts[img.NRGBAAt(x, y)]++
		}
	}
	var best color.NRGBA
	for c, n := range counts {
		if n > counts[best] {
			best = c
		}
	}
	return best, float64(counts[best]) / float64(b.Dx()*b.Dy())
}

// near reports whether two colours differ by at most tol per channel.
func near(a, b color.NRGBA, tol int) bool {
	d := func(x, y uint8) bool { return int(x)-int(y) <= tol && int(y)-int(x) <= tol }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B)
}

// count returns how many pixels of img are near c.
func count(img *image.NRGBA, c color.NRGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if near(img.NRGBAAt(x, y), c, 3) {
				n++
			}
		}
	}
	return n
}
