package otp

import (
	"errors"
	"testing"
)

// TestCheckSecret: one rule for every face: under 80 bits is refused,
// under 128 warned about, in the same words.
func TestCheckSecret(t *testing.T) {
	for _, tt := range []struct {
		bytes      int
		warn, fail string
	}{
		{5, "", "the secret is too short: 40 bits, at least 80 needed"},
		{9, "", "the secret is too short: 72 bits, at least 80 needed"},
		{10, "the secret is only 80 bits; 128 or more is recommended (RFC 4226)", ""},
		{15, "the secret is only 120 bits; 128 or more is recommended (RFC 4226)", ""},
		{16, "", ""},
		{20, "", ""},
	} {
		warn, err := CheckSecret(make(Secret, tt.bytes))
		if warn != tt.warn {
			t.Errorf("%d bytes: warning %q, want %q", tt.bytes, warn, tt.warn)
		}
		switch {
		case tt.fail == "" && err != nil:
			t.Errorf("%d bytes: %v", tt.bytes, err)
		case tt.fail != "" && (err == nil || err.Error() != tt.fail || !errors.Is(err, ErrSecretTooShort)):
			t.Errorf("%d bytes: error %v, want %q wrapping ErrSecretTooShort", tt.bytes, err, tt.fail)
		}
	}
}
