package server

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
	"latchkey/core/qr"
)

// TestHelpdeskAdminChromium drives the helpdesk page's administration
// parts in headless Chromium: the enroll form's choices (the server's
// defaults preselected), a locked user shown locked and unlocked, and
// recovery codes shown once.
func TestHelpdeskAdminChromium(t *testing.T) {
	h := newHDServer(t, openTestSQLite(t), func(c *Config) {
		c.Now = time.Now
		c.MaxFailures = 1
		c.Credentials = CredentialPolicy{Algorithm: "sha256", Period: 60}
	})
	d := startChromium(t)
	const user = "5f0c2a9e-0000-4000-8000-000000000001"

	d.open(h.url + "/helpdesk")
	d.typeInto(d.find("#secret"), hdAdminToken+"\uE007")
	d.typeInto(d.find("#user"), user+"\uE007")
	d.find("#no-credentials")
	if got := d.script("return [document.getElementById('algorithm').value, document.getElementById('digits').value, document.getElementById('period').value].join(' ')"); got != "SHA256 6 60" {
		t.Errorf("preselected settings: %q", got)
	}
	d.typeInto(d.find("#cred-label"), "web@example.com")
	d.click(d.find(`#algorithm option[value="SHA512"]`))
	d.click(d.find(`#digits option[value="8"]`))
	d.click(d.find("#enroll"))
	src := d.attr(d.find("img#qr"), "src")
	png, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(src, "data:image/png;base64,"))
	if err != nil {
		t.Fatal(err)
	}
	texts, err := qr.Decode(png)
	if err != nil || len(texts) != 1 {
		t.Fatalf("decoding the QR: %v %v", texts, err)
	}
	k, err := otpauth.Parse(texts[0])
	if err != nil {
		t.Fatal(err)
	}
	if k.Algorithm != otp.SHA512 || k.Digits != 8 || k.Period != 60 || k.Account != "web@example.com" || len(k.Secret) != 64 {
		t.Errorf("enrolled %+v, account %q, %d-byte secret", k.Options(), k.Account, len(k.Secret))
	}

	// A locked user shows as locked, with the time left, and unlocks.
	if _, err := h.store.Attempt(context.Background(), user, time.Now(), h.lockout(), func() (Check, error) { return Check{}, nil }); err != nil {
		t.Fatal(err)
	}
	d.open(h.url + "/helpdesk?user=" + user)
	if got := d.text(d.find("#locked")); !strings.Contains(got, "locked") || !strings.Contains(got, "left") {
		t.Errorf("locked user reads %q", got)
	}
	d.click(d.find("#unlock"))
	got := ""
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got = d.script("return document.body.innerText"); strings.Contains(got, "was unlocked") {
			break // the next page has loaded
		}
	}
	if !strings.Contains(got, "was unlocked") || strings.Contains(got, "is locked") {
		t.Errorf("after unlock the page says %q", got)
	}
	if until, _ := h.LockedUntil(context.Background(), user); !until.IsZero() {
		t.Error("still locked")
	}

	// Recovery codes: shown once.
	d.click(d.find("#new-recovery-codes"))
	d.find("#recovery-codes code") // the next page has loaded
	codes := strings.Fields(d.script("return Array.from(document.querySelectorAll('#recovery-codes code')).map(e => e.textContent).join(' ')"))
	if len(codes) != 10 {
		t.Fatalf("page shows %d codes: %s", len(codes), d.script("return document.body.innerText"))
	}
	v, err := h.verifyFor(context.Background(), Client{ID: "test"}, user, codes[3])
	if err != nil || !v.recovery || v.remaining != 9 {
		t.Errorf("a code from the page: %+v %v", v, err)
	}
	d.click(d.find("#back"))
	if got := d.script("return document.documentElement.outerHTML"); strings.Contains(got, codes[0]) {
		t.Error("the codes show again")
	}
}
