package form

import (
	"context"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"latchkey/core/enroll"
	"latchkey/core/otp"
	"latchkey/core/otpauth"
	"latchkey/tui/common"
)

func newForm() Model {
	c := common.New(context.Background(), nil, nil, nil)
	c.SetSize(60, 30)
	return New(c)
}

func typeInto(m Model, field int, text string) Model {
	m.inputs[m.focus].Blur()
	m.focus = field
	m.inputs[field].Focus()
	m.inputs[field].SetValue(text)
	return m
}

func submit(m Model) (Model, *otpauth.Key) {
	m, cmd := m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	if cmd == nil {
		return m, nil
	}
	if s, ok := cmd().(SubmitMsg); ok {
		return m, s.Key
	}
	return m, nil
}

func TestManualFields(t *testing.T) {
	for _, tt := range []struct {
		name   string
		fields map[int]string
		field  int // the field in error, -1 for none
		msg    string
	}{
		{"valid", map[int]string{Name: "bob", Secret: "JBSW Y3DP EHPK 3PXP"}, -1, ""},
		{"no name", map[int]string{Secret: "JBSWY3DPEHPK3PXP"}, Name, "required"},
		{"colon in issuer", map[int]string{Issuer: "a:b", Name: "bob", Secret: "JBSWY3DPEHPK3PXP"}, Issuer, "':'"},
		{"short secret", map[int]string{Name: "bob", Secret: "JBSWY3DP"}, Secret, "too short"},
		{"bad type", map[int]string{Name: "bob", Secret: "JBSWY3DPEHPK3PXP", Type: "motp"}, Type, "totp or hotp"},
		{"bad digits", map[int]string{Name: "bob", Secret: "JBSWY3DPEHPK3PXP", Digits: "5"}, Digits, "6, 7 or 8"},
		{"bad period", map[int]string{Name: "bob", Secret: "JBSWY3DPEHPK3PXP", Period: "3601"}, Period, "seconds"},
		{"bad counter", map[int]string{Name: "bob", Secret: "JBSWY3DPEHPK3PXP", Type: "hotp", Counter: "-1"}, Counter, "whole number"},
		{"bad uri", map[int]string{URI: "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=0"}, URI, "period"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newForm()
			for f, v := range tt.fields {
				m = typeInto(m, f, v)
			}
			m, k := submit(m)
			if tt.field < 0 {
				if k == nil {
					t.Fatalf("not submitted: %q", m.errs)
				}
				if k.Account != "bob" || k.Digits != 6 || k.Period != 30 || k.Type != otp.TOTP {
					t.Fatalf("key %+v", k)
				}
				return
			}
			if k != nil {
				t.Fatal("submitted an invalid form")
			}
			if m.Focused() != tt.field || !strings.Contains(m.Error(tt.field), tt.msg) {
				t.Fatalf("focus %d error %q, want field %d with %q", m.Focused(), m.Error(tt.field), tt.field, tt.msg)
			}
		})
	}
}

// FuzzForm types arbitrary text into every field: the form never panics,
// never echoes the secret, and a key it accepts makes codes.
func FuzzForm(f *testing.F) {
	f.Add("", "GitHub", "alice", "JBSWY3DPEHPK3PXP", "totp", "SHA1", "6", "30", "0")
	f.Add("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP", "", "", "", "", "", "", "", "")
	f.Add("", "", "x", "jbsw y3dp ehpk 3pxp====", "HOTP", "sha-512", "8", "1", "18446744073709551615")
	f.Add("https://auth.example.com/enroll#AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "", "", "", "", "", "", "", "")
	f.Add("HTTP://x/enroll#short", "", "x", "JBSWY3DPEHPK3PXP", "", "", "", "", "")
	f.Add("otpauth://hotp/%ZZ", "é", "\x00", "0189", "", "md5", "99", "-1", "x")
	f.Fuzz(func(t *testing.T, uri, issuer, name, secret, typ, alg, digits, period, counter string) {
		m := newForm()
		for i, v := range []string{uri, issuer, name, secret, typ, alg, digits, period, counter} {
			m = typeInto(m, i, v)
		}
		m, k := submit(m)
		view := m.View()
		// The same text typed into a field that is shown is no leak.
		shown := strings.Join([]string{issuer, name, typ, alg, digits, period, counter}, "\n")
		if len(secret) >= 8 && strings.Contains(view, secret) && !strings.Contains(shown, secret) {
			t.Fatalf("the view shows the secret")
		}
		if l, err := enroll.ParseLink(uri); err == nil && strings.Contains(view, l.Token) {
			t.Fatalf("the view shows the link's token")
		}
		if k == nil {
			return
		}
		g, err := k.Generator()
		if err != nil {
			t.Fatalf("accepted a key that makes no codes: %v", err)
		}
		_ = g.Code(k.Counter)
	})
}

// TestLink: an enrollment link in the URI field submits an EnrollMsg
// with it (no key), the description names the server and not the token,
// and a broken link is a URI error naming what is wrong.
func TestLink(t *testing.T) {
	const tok = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	for _, tt := range []struct {
		text, err string
	}{
		{"https://auth.example.com/enroll#" + tok, ""},
		{" 'Http://127.0.0.1:8080/sub/enroll#" + tok + "' ", ""},
		{"http://10.0.0.1:8080/sub/enroll#" + tok, "enrollment link: the server's address must be https (plain http only reaches this computer)"},
		{"https://auth.example.com/enroll#" + tok[:40], "enrollment link: the token is missing or cut short"},
		{"https://auth.example.com/enroll?x=1#" + tok, "enrollment link: the link must end in /enroll#TOKEN"},
		{"https://auth.example.com/enroll#" + tok[:42] + "*", "enrollment link: the token is damaged"},
	} {
		t.Run(tt.text, func(t *testing.T) {
			m := typeInto(newForm(), URI, tt.text)
			view := m.View()
			if strings.Contains(view, tok[:10]) {
				t.Fatal("the view shows the token")
			}
			m, cmd := m.Update(tea.KeyMsg{Type: tea.KeyEnter})
			if tt.err != "" {
				if m.Error(URI) != tt.err {
					t.Fatalf("URI error %q, want %q", m.Error(URI), tt.err)
				}
				if cmd != nil {
					if _, ok := cmd().(EnrollMsg); ok {
						t.Fatal("submitted a broken link")
					}
				}
				return
			}
			if !strings.Contains(view, "→ enrollment link from ") {
				t.Fatalf("no description:\n%s", view)
			}
			if cmd == nil {
				t.Fatalf("not submitted: %q", m.Error(URI))
			}
			msg, ok := cmd().(EnrollMsg)
			if !ok || msg.Link != strings.Trim(strings.TrimSpace(tt.text), "'") {
				t.Fatalf("submitted %#v", msg)
			}
		})
	}
}

// TestShortSecretRule: the form applies core's one rule (otp.CheckSecret)
// to a typed secret and to a URI's, in its words: refused under 80 bits,
// a warning under 128.
func TestShortSecretRule(t *testing.T) {
	const refused = "the secret is too short: 64 bits, at least 80 needed"
	const warned = "the secret is only 80 bits; 128 or more is recommended (RFC 4226)"
	m := typeInto(typeInto(newForm(), Name, "bob"), Secret, "JBSWY3DPEHPK3")
	m, k := submit(m)
	if k != nil || m.Error(Secret) != refused {
		t.Fatalf("64 bits typed: key %v, error %q", k, m.Error(Secret))
	}
	m = typeInto(newForm(), URI, "otpauth://totp/bob?secret=JBSWY3DPEHPK3")
	m, k = submit(m)
	if k != nil || m.Error(URI) != refused {
		t.Fatalf("64 bits in a URI: key %v, error %q", k, m.Error(URI))
	}
	for _, m := range []Model{
		typeInto(typeInto(newForm(), Name, "bob"), Secret, "JBSWY3DPEHPK3PXP"),
		typeInto(newForm(), URI, "otpauth://totp/bob?secret=JBSWY3DPEHPK3PXP"),
	} {
		if v := m.View(); !strings.Contains(strings.Join(strings.Fields(v), " "), warned) {
			t.Fatalf("no warning for 80 bits:\n%s", v)
		}
		if _, k := submit(m); k == nil {
			t.Fatal("80 bits refused")
		}
	}
	m = typeInto(typeInto(newForm(), Name, "bob"), Secret, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
	if strings.Contains(m.View(), "recommended") {
		t.Fatalf("a warning for 160 bits:\n%s", m.View())
	}
}

func press(m Model, keys ...tea.KeyMsg) Model {
	for _, k := range keys {
		m, _ = m.Update(k)
	}
	return m
}

var (
	right = tea.KeyMsg{Type: tea.KeyRight}
	left  = tea.KeyMsg{Type: tea.KeyLeft}
	tab   = tea.KeyMsg{Type: tea.KeyTab}
)

func runes(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }

// TestChoices: Type, Algorithm and Digits are choices shown with their
// options (←/→ or a first letter picks one; other typing does nothing);
// Counter shows only for HOTP and Period only for time-based types.
func TestChoices(t *testing.T) {
	m := typeInto(typeInto(newForm(), Name, "bob"), Secret, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
	v := m.View()
	for _, want := range []string{"[TOTP]  HOTP  Steam", "[SHA1]  SHA256  SHA512", "[6]  7  8"} {
		if !strings.Contains(v, want) {
			t.Fatalf("no %q in\n%s", want, v)
		}
	}
	if strings.Contains(v, "Counter") {
		t.Fatalf("Counter shown for TOTP:\n%s", v)
	}
	m = press(m, tab) // to Type
	if m.Focused() != Type {
		t.Fatalf("focus %d after tab from Secret", m.Focused())
	}
	m = press(m, runes("x"), right) // x picks nothing
	if v := m.View(); !strings.Contains(v, "TOTP  [HOTP]  Steam") || !strings.Contains(v, "Counter") || strings.Contains(v, "Period") {
		t.Fatalf("HOTP: want Counter, not Period:\n%s", v)
	}
	m = press(m, tab, left, tab, runes("8"))
	m = press(m, tab) // Counter, after Digits (Period hidden)
	if m.Focused() != Counter {
		t.Fatalf("focus %d, want Counter", m.Focused())
	}
	m = press(m, runes("5"))
	m, k := submit(m)
	if k == nil {
		t.Fatalf("not submitted: %q", m.errs)
	}
	if k.Type != otp.HOTP || k.Algorithm != otp.SHA512 || k.Digits != 8 || k.Counter != 5 {
		t.Fatalf("key %+v", k)
	}
	// A hidden field's text does not block: TOTP ignores the counter.
	m = typeInto(typeInto(typeInto(newForm(), Name, "bob"), Secret, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), Counter, "x")
	if _, k := submit(m); k == nil || k.Type != otp.TOTP {
		t.Fatalf("TOTP with a hidden bad counter: %+v", k)
	}
}
