package store

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// decodeAccountsFast reads accounts.json in the shape Latchkey writes it,
// several times faster than encoding/json (no reflection): `latchkey code`
// reads the whole file before it can ask the keyring for one secret, so
// this sits on the path of every code. It understands a strict subset of
// JSON: the known keys spelled exactly, each once, plain strings without
// escapes, integers, and tags as an array of strings. For anything else
// (escapes, null, other keys, any doubt) it reports !ok and the caller
// uses encoding/json, which gives the same result or the error;
// FuzzDecodeAccountsFast holds the two to that.
func decodeAccountsFast(b []byte) (accountsFile, bool) {
	p := jsonParser{b: b, s: string(b)}
	var f accountsFile
	var seenVersion, seenAccounts bool
	ok := p.object(func(key []byte) bool {
		switch {
		case string(key) == "version" && !seenVersion:
			seenVersion = true
			n, ok := p.int(strconv.IntSize)
			f.Version = int(n)
			return ok
		case string(key) == "accounts" && !seenAccounts:
			seenAccounts = true
			// One allocation: every account has an "id" (an estimate is
			// enough, append copes with more).
			f.Accounts = make([]Account, 0, bytes.Count(b, []byte(`"id"`)))
			return p.array(func() bool {
				a, ok := p.account()
				f.Accounts = append(f.Accounts, a)
				return ok
			})
		}
		return false
	})
	p.space()
	return f, ok && p.i == len(b)
}

// decodeConfigFast reads config.json, {"backend":"..."}, on the same
// terms as decodeAccountsFast: !ok means "ask encoding/json".
func decodeConfigFast(b []byte) (config, bool) {
	p := jsonParser{b: b}
	var c config
	seen := false
	ok := p.object(func(key []byte) bool {
		if string(key) != "backend" || seen {
			return false
		}
		seen = true
		s, ok := p.string()
		c.Backend = Backend(s)
		return ok
	})
	p.space()
	return c, ok && p.i == len(b)
}

// jsonParser is the cursor of decodeAccountsFast; every method reports
// !ok on input outside the subset.
type jsonParser struct {
	b []byte
	s string // b as a string, when set (one copy for all the values)
	i int
}

func (p *jsonParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) byte(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// object reads {"key": value, ...}, calling member after each key's colon
// to read its value.
func (p *jsonParser) object(member func(key []byte) bool) bool {
	if !p.byte('{') {
		return false
	}
	if p.byte('}') {
		return true
	}
	for {
		key, ok := p.rawString()
		if !ok || !p.byte(':') || !member(key) {
			return false
		}
		if p.byte('}') {
			return true
		}
		if !p.byte(',') {
			return false
		}
	}
}

// array reads [value, ...], calling elem to read each value.
func (p *jsonParser) array(elem func() bool) bool {
	if !p.byte('[') {
		return false
	}
	if p.byte(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if p.byte(']') {
			return true
		}
		if !p.byte(',') {
			return false
		}
	}
}

// rawString returns the bytes between quotes of a string with no escape
// and no control character, in valid UTF-8 (encoding/json would replace
// invalid bytes; the fallback does that).
func (p *jsonParser) rawString() ([]byte, bool) {
	if !p.byte('"') {
		return nil, false
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			return s, utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return nil, false
		}
		p.i++
	}
	return nil, false
}

// string returns a string value; with p.s set, as a substring of it,
// which costs no allocation.
func (p *jsonParser) string() (string, bool) {
	raw, ok := p.rawString()
	if !ok || p.s == "" {
		return string(raw), ok
	}
	end := p.i - 1 // the closing quote
	return p.s[end-len(raw) : end], true
}

// uint reads an integer without sign, fraction or exponent that fits in
// bits.
func (p *jsonParser) uint(bits int) (uint64, bool) {
	p.space()
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	digits := p.b[start:p.i]
	if len(digits) == 0 || len(digits) > 1 && digits[0] == '0' || p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		return 0, false
	}
	n, err := strconv.ParseUint(string(digits), 10, bits)
	return n, err == nil
}

// int reads an integer without fraction or exponent that fits in bits.
func (p *jsonParser) int(bits int) (int64, bool) {
	p.space()
	neg := p.i < len(p.b) && p.b[p.i] == '-'
	if neg {
		p.i++
		if p.i == len(p.b) || p.b[p.i] < '0' || p.b[p.i] > '9' {
			return 0, false
		}
	}
	u, ok := p.uint(64)
	if !ok {
		return 0, false
	}
	limit := uint64(1) << (bits - 1)
	switch {
	case neg && u <= limit:
		return -int64(u), true
	case !neg && u < limit:
		return int64(u), true
	}
	return 0, false
}

// account reads one account object, decoding each field as encoding/json
// would (the enum and time fields through their own UnmarshalText).
func (p *jsonParser) account() (Account, bool) {
	var a Account
	var seen [11]bool
	once := func(i int) bool {
		if seen[i] {
			return false
		}
		seen[i] = true
		return true
	}
	ok := p.object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "id":
			if ok = once(0); ok {
				a.ID, ok = p.string()
			}
		case "issuer":
			if ok = once(1); ok {
				a.Issuer, ok = p.string()
			}
		case "name":
			if ok = once(2); ok {
				a.Name, ok = p.string()
			}
		case "type":
			var s []byte
			if s, ok = p.rawString(); ok && once(3) {
				ok = a.Type.UnmarshalText(s) == nil
			} else {
				ok = false
			}
		case "algorithm":
			var s []byte
			if s, ok = p.rawString(); ok && once(4) {
				ok = a.Algorithm.UnmarshalText(s) == nil
			} else {
				ok = false
			}
		case "digits":
			var n int64
			if ok = once(5); ok {
				n, ok = p.int(strconv.IntSize)
				a.Digits = int(n)
			}
		case "period":
			var n int64
			if ok = once(6); ok {
				n, ok = p.int(strconv.IntSize)
				a.Period = int(n)
			}
		case "counter":
			if ok = once(7); ok {
				a.Counter, ok = p.uint(64)
			}
		case "tags":
			if ok = once(8); ok {
				a.Tags = []string{}
				ok = p.array(func() bool {
					s, ok := p.string()
					a.Tags = append(a.Tags, s)
					return ok
				})
			}
		case "order":
			var n int64
			if ok = once(9); ok {
				n, ok = p.int(strconv.IntSize)
				a.Order = int(n)
			}
		case "created":
			var s []byte
			if s, ok = p.rawString(); ok && once(10) {
				ok = a.Created.UnmarshalText(s) == nil
			} else {
				ok = false
			}
		}
		return ok
	})
	return a, ok
}
