package server

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"unicode/utf8"

	"latchkey/assets"
)

// MinTokenBits is the least strength of an admin token: its length times
// log2 of the size of the alphabet its characters come from, so at least
// 22 characters of base64url, 26 of base32 or 32 of hex.
const MinTokenBits = 128

// MinPasswordLen is the least length of a helpdesk password, in
// characters (NIST SP 800-63B asks for at least 8; an operator's password
// guards every user's enrollment).
const MinPasswordLen = 12

// alphabets are the character sets a token is counted against, smallest
// first: a token is as strong as the smallest one that holds it.
var alphabets = []struct {
	size  int
	chars string
}{
	{10, "0123456789"},
	{16, "0123456789abcdef"},
	{16, "0123456789ABCDEF"},
	{32, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"},
	{32, "abcdefghijklmnopqrstuvwxyz234567"},
	{62, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"},
	{64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"},
	{64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="},
}

// tokenBits is the strength of token as MinTokenBits counts it; a token
// with other characters counts against the 95 printable ASCII ones.
func tokenBits(token string) float64 {
	size := 95
	for _, a := range alphabets {
		if strings.Trim(token, a.chars) == "" {
			size = a.size
			break
		}
	}
	return float64(utf8.RuneCountInString(token)) * math.Log2(float64(size))
}

func checkAdminToken(token string) error {
	if bits := tokenBits(token); bits < MinTokenBits {
		return fmt.Errorf("server: the admin token is too weak (about %.0f bits, at least %d needed: e.g. 22 characters of base64url or 32 of hex; `openssl rand -base64 32`)", bits, MinTokenBits)
	}
	return nil
}

var commonPasswords = sync.OnceValue(func() map[string]bool {
	m := make(map[string]bool, 30000)
	for _, p := range strings.Split(assets.CommonPasswords, "\n") {
		if p != "" {
			m[p] = true
		}
	}
	return m
})

func checkHelpdeskPassword(pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordLen {
		return fmt.Errorf("server: the helpdesk password is too short (at least %d characters)", MinPasswordLen)
	}
	if commonPasswords()[strings.ToLower(pw)] {
		return fmt.Errorf("server: the helpdesk password is on the list of the most common passwords; choose another")
	}
	return nil
}
