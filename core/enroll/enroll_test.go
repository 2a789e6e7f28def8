package enroll

import (
	"errors"
	"strings"
	"testing"
)

const tok = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" // 43 characters, 32 zero bytes

func TestParseLink(t *testing.T) {
	tests := []struct {
		in, server string
		ok         bool
	}{
		{"https://auth.example.com/enroll#" + tok, "https://auth.example.com", true},
		{"  'http://127.0.0.1:8080/enroll#" + tok + "'\n", "http://127.0.0.1:8080", true},
		{"https://example.com/latchkey/enroll#" + tok, "https://example.com/latchkey", true},
		{"https://auth.example.com/enroll#" + tok[:42], "", false},
		{"https://auth.example.com/enroll#" + tok + "A", "", false},
		{"https://auth.example.com/enroll#" + tok[:42] + "*", "", false},
		{"https://auth.example.com/enroll?x=1#" + tok, "", false},
		{"https://auth.example.com/other#" + tok, "", false},
		{"ftp://auth.example.com/enroll#" + tok, "", false},
		// Plain http only to this computer: elsewhere the token and the
		// secret would cross the network in clear.
		{"http://auth.example.com/enroll#" + tok, "", false},
		{"http://10.0.0.1:8080/enroll#" + tok, "", false},
		{"http://localhost:8080/enroll#" + tok, "http://localhost:8080", true},
		{"http://[::1]:8080/enroll#" + tok, "http://[::1]:8080", true},
		{"http://127.1.2.3/enroll#" + tok, "http://127.1.2.3", true},
		{"https://user:pw@auth.example.com/enroll#" + tok, "", false},
		{"https:///enroll#" + tok, "", false},
		{"otpauth://totp/x?secret=AAAA", "", false},
		{"", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			l, err := ParseLink(tc.in)
			if !tc.ok {
				if !errors.Is(err, ErrInvalidLink) {
					t.Fatalf("err = %v, want ErrInvalidLink", err)
				}
				if strings.Contains(err.Error(), tok[:20]) {
					t.Errorf("error repeats the token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.Server != tc.server || l.Token != tok {
				t.Errorf("got %q %q", l.Server, l.Token)
			}
		})
	}
}

// TestParsePairingLink: a pairing link parses as an enrollment link does,
// and each error is one sentence about the pairing link with what is
// wrong (it once read "the pairing link is invalid...: the enrollment
// link is invalid...", without the reason).
func TestParsePairingLink(t *testing.T) {
	l, err := ParsePairingLink(" 'https://auth.example.com/idp/pair#" + tok + "'\n")
	if err != nil || l.Server != "https://auth.example.com/idp" || l.Token != tok {
		t.Fatalf("got %+v, %v", l, err)
	}
	for _, tc := range []struct{ in, reason string }{
		{"https://auth.example.com/enroll#" + tok, "the link must end in /pair#TOKEN"},
		{"https://auth.example.com/pair#" + tok[:42], "the token is missing or cut short"},
		{"https://auth.example.com/pair#" + tok[:42] + "*", "the token is damaged"},
		{"http://auth.example.com/pair#" + tok, ErrInsecure.Error()},
		{"otpauth://totp/x?secret=AAAA", "not an http(s) link"},
		{"", "not an http(s) link"},
	} {
		_, err := ParsePairingLink(tc.in)
		if !errors.Is(err, ErrInvalidPairingLink) || errors.Is(err, ErrInvalidLink) {
			t.Errorf("%q: err = %v, want ErrInvalidPairingLink alone", tc.in, err)
			continue
		}
		if want := ErrInvalidPairingLink.Error() + ": " + tc.reason; err.Error() != want {
			t.Errorf("%q:\n got %q\nwant %q", tc.in, err, want)
		}
		if strings.Contains(err.Error(), tok[:20]) {
			t.Errorf("error repeats the token: %v", err)
		}
	}
}

func FuzzParseLink(f *testing.F) {
	f.Add("https://auth.example.com/enroll#" + tok)
	f.Add("http://[::1]:80/a/b/enroll#" + tok)
	f.Add("https://x/enroll#")
	f.Add("%zz")
	f.Add("https://auth.example.com/pair#" + tok)
	f.Add("http://auth.example.com/pair#" + tok)
	f.Fuzz(func(t *testing.T, s string) {
		// Enrollment and pairing links: one parser, two paths and errors.
		for _, k := range []struct {
			parse   func(string) (Link, error)
			path    string
			invalid error
		}{{ParseLink, "/enroll", ErrInvalidLink}, {ParsePairingLink, "/pair", ErrInvalidPairingLink}} {
			l, err := k.parse(s)
			if err != nil {
				if !errors.Is(err, k.invalid) {
					t.Fatalf("error %v does not wrap %v", err, k.invalid)
				}
				if len(l.Token) > 0 {
					t.Fatal("token returned with an error")
				}
				if strings.Contains(err.Error(), "%!") {
					t.Fatalf("malformed message %q", err)
				}
				continue
			}
			// What parses rebuilds into a link that parses to the same.
			again, err := k.parse(l.Server + k.path + "#" + l.Token)
			if err != nil || again != l {
				t.Fatalf("round trip of %q: %+v, %v", s, again, err)
			}
		}
	})
}
