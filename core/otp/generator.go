package otp

import (
	"crypto/subtle"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

// pow10 holds 10^d for d in 0..MaxDigits.
var pow10 = [MaxDigits + 1]uint32{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// Generator computes and verifies the codes of one secret. It decodes the
// options once and keeps a prepared HMAC, so Value, AppendCode and Verify
// allocate nothing. A Generator is safe for concurrent use.
type Generator struct {
	opts Options

	mu  sync.Mutex // guards mac
	mac *mac
}

// NewGenerator prepares a generator for secret with opts (zero fields take
// their defaults). The secret is copied into the HMAC state; the caller may
// wipe its slice afterwards.
func NewGenerator(secret []byte, opts Options) (*Generator, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if len(secret) == 0 || len(secret) > MaxSecretSize {
		return nil, ErrSecret
	}
	return &Generator{opts: o, mac: newMAC(o.Algorithm.Hash(), secret)}, nil
}

// Wipe clears the key material the generator holds (the HMAC states
// derived from the secret), for when its account is deleted or the store
// locked. The generator must not be used afterwards: its codes would be
// wrong.
func (g *Generator) Wipe() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.mac.wipe()
}

// Options returns the generator's options with defaults filled in.
func (g *Generator) Options() Options { return g.opts }

// Value returns the code at counter as a number (RFC 4226 §5.3 dynamic
// truncation, reduced modulo 10^digits, or modulo 26^5 for Steam codes).
func (g *Generator) Value(counter uint64) uint32 {
	g.mu.Lock()
	v := g.value(counter)
	g.mu.Unlock()
	return v
}

// value is Value with g.mu held.
func (g *Generator) value(counter uint64) uint32 {
	h := g.mac.compute(counter)
	off := h[len(h)-1] & 0x0f
	bin := binary.BigEndian.Uint32(h[off:off+4]) & 0x7fffffff
	if g.opts.Steam {
		return bin % steamModulus
	}
	return bin % pow10[g.opts.Digits]
}

// steamModulus is 26^SteamDigits: a Steam code writes the value's low
// SteamDigits base-26 digits, so values equal modulo it give equal codes.
const steamModulus = 26 * 26 * 26 * 26 * 26

// AppendCode appends the code at counter to dst: zero-padded digits, or
// the Steam Guard characters with Options.Steam.
func (g *Generator) AppendCode(dst []byte, counter uint64) []byte {
	if g.opts.Steam {
		return appendSteam(dst, g.Value(counter))
	}
	return appendDigits(dst, g.Value(counter), g.opts.Digits)
}

// Code returns the code at counter (HOTP).
func (g *Generator) Code(counter uint64) string {
	var buf [MaxDigits]byte
	return string(g.AppendCode(buf[:0], counter))
}

// At returns the TOTP code at time t.
func (g *Generator) At(t time.Time) string {
	return g.Code(g.Step(t))
}

// Step returns the time step of t for the generator's period.
func (g *Generator) Step(t time.Time) uint64 { return Step(t, g.opts.Period) }

// Verify checks a TOTP code entered at time t against the steps within
// window steps either side of t's step (window is clamped to 0..MaxWindow).
// It returns the matching step, so that the caller can refuse a step that
// was already used (RFC 6238 §5.2).
//
// Surrounding white space and a single space or dash grouping the digits
// ("123 456") are tolerated; a code of the wrong length never matches.
// Steam codes are read in either case.
// Every step in the window is computed and compared in constant time, so
// the time taken does not tell which step, if any, matched.
func (g *Generator) Verify(code string, t time.Time, window int) (step uint64, ok bool) {
	want, valid := g.parse(code)
	if window < 0 {
		window = 0
	}
	if window > MaxWindow {
		window = MaxWindow
	}
	center := g.Step(t)
	matched := 0
	g.mu.Lock()
	defer g.mu.Unlock()
	for d := -window; d <= window; d++ {
		s := center + uint64(int64(d))
		if d < 0 && uint64(-d) > center {
			continue
		}
		eq := subtle.ConstantTimeEq(int32(g.value(s)), int32(want))
		// Keep the first match without branching on the comparison.
		take := eq & (matched ^ 1)
		step = uint64(subtle.ConstantTimeSelect(take, 1, 0))*s + uint64(subtle.ConstantTimeSelect(take, 0, 1))*step
		matched |= eq
	}
	if !valid || matched == 0 {
		return 0, false
	}
	return step, true
}

// Check reports whether code is the HOTP code at counter, comparing in
// constant time and tolerating the same formatting as Verify.
func (g *Generator) Check(code string, counter uint64) bool {
	want, valid := g.parse(code)
	eq := subtle.ConstantTimeEq(int32(g.Value(counter)), int32(want))
	return valid && eq == 1
}

// parse reads a code in the generator's format as its Value.
func (g *Generator) parse(code string) (uint32, bool) {
	if g.opts.Steam {
		return parseSteam(code)
	}
	return parseCode(code, g.opts.Digits)
}

// parseCode reads a code of exactly digits digits, skipping surrounding
// white space and at most one inner space or dash. It never allocates.
func parseCode(code string, digits int) (uint32, bool) {
	start, end := 0, len(code)
	for start < end && isSpace(code[start]) {
		start++
	}
	for end > start && isSpace(code[end-1]) {
		end--
	}
	var v uint32
	n, seps := 0, 0
	for i := start; i < end; i++ {
		c := code[i]
		switch {
		case c >= '0' && c <= '9':
			if n == digits {
				return 0, false
			}
			v = v*10 + uint32(c-'0')
			n++
		case (c == ' ' || c == '-') && n > 0 && seps == 0:
			seps++
		default:
			return 0, false
		}
	}
	if n != digits || (end > start && !isDigit(code[end-1])) {
		return 0, false
	}
	return v, true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// appendDigits appends v zero-padded to n digits.
func appendDigits(dst []byte, v uint32, n int) []byte {
	var buf [MaxDigits]byte
	for i := n - 1; i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, buf[:n]...)
}

// appendSteam appends v as a Steam Guard code: SteamDigits characters of
// SteamAlphabet, least significant first.
func appendSteam(dst []byte, v uint32) []byte {
	for range SteamDigits {
		dst = append(dst, SteamAlphabet[v%uint32(len(SteamAlphabet))])
		v /= uint32(len(SteamAlphabet))
	}
	return dst
}

// parseSteam reads a Steam Guard code (either case, surrounding white
// space skipped) as the value appendSteam writes. It never allocates.
func parseSteam(code string) (uint32, bool) {
	start, end := 0, len(code)
	for start < end && isSpace(code[start]) {
		start++
	}
	for end > start && isSpace(code[end-1]) {
		end--
	}
	if end-start != SteamDigits {
		return 0, false
	}
	var v uint32
	for i := end - 1; i >= start; i-- {
		c := code[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		d := strings.IndexByte(SteamAlphabet, c)
		if d < 0 {
			return 0, false
		}
		v = v*uint32(len(SteamAlphabet)) + uint32(d)
	}
	return v, true
}

// Group formats a code for reading: "123 456", "1234 567", "1234 5678".
// Shorter codes, such as 5-character Steam codes, are returned unchanged.
func Group(code string) string {
	if len(code) < 6 {
		return code
	}
	h := (len(code) + 1) / 2
	return code[:h] + " " + code[h:]
}

// Equal compares two codes in constant time (for equal lengths).
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
