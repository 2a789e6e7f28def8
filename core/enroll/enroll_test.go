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

func FuzzParseLink(f *testing.F) {
	f.Add("https://auth.example.com/enroll#" + tok)
	f.Add("http://[::1]:80/a/b/enroll#" + tok)
	f.Add("https://x/enroll#")
	f.Add("%zz")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLink(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidLink) {
				t.Fatalf("error %v does not wrap ErrInvalidLink", err)
			}
			if len(l.Token) > 0 {
				t.Fatal("token returned with an error")
			}
			return
		}
		// What parses rebuilds into a link that parses to the same.
		again, err := ParseLink(l.Server + "/enroll#" + l.Token)
		if err != nil || again != l {
			t.Fatalf("round trip of %q: %+v, %v", s, again, err)
		}
	})
}
