package server

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
)

// verifiedCred enrolls a credential named Laptop for user through the
// admin API and confirms it; the fake clock then moves one step on, so
// that its next code is fresh.
func (h *hdServer) verifiedCred(t *testing.T, user string) (string, *otp.Generator) {
	t.Helper()
	c := h.createCred(t, user)
	k, err := otpauth.Parse(c.OTPAuthURI)
	if err != nil {
		t.Fatal(err)
	}
	g, err := k.Generator()
	if err != nil {
		t.Fatal(err)
	}
	status, body := h.do(t, "POST", "/api/v1/users/"+user+"/credentials/"+c.ID+"/verify", hdAdminToken, map[string]string{"code": g.At(h.now())})
	if status != http.StatusOK {
		t.Fatalf("verify: %d %s", status, body)
	}
	h.clock.Add(30 * time.Second)
	return c.ID, g
}

// row is the HTML of the table row of id (credential or device).
func row(t *testing.T, body, id string) string {
	t.Helper()
	i := strings.Index(body, `<tr data-id="`+id+`">`)
	if i < 0 {
		t.Fatalf("no row %s in the page", id)
	}
	j := strings.Index(body[i:], "</tr>")
	return body[i : i+j]
}

// auditHas waits for an audit record of user (they are written in
// batches) and fails the test when none comes.
func auditHas(t *testing.T, h *hdServer, user, action, client, outcome string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		evs, err := h.store.AuditLog(context.Background(), user, 200)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.Action == action && ev.Client == client && ev.Outcome == outcome {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no audit record %s/%s/%s of %s in %+v", action, client, outcome, user, evs)
		}
	}
}

var pairingLinkRE = regexp.MustCompile(`<code id="pairing-link">([^<]+)</code>`)

// TestHelpdeskPairingLink: a verified credential's Pairing link shows a
// link (and its QR) that pairs the user's Latchkey through the real
// pairing API; an unverified credential has no such action and the
// server's refusal reads clearly; forged and signed-out forms issue
// nothing.
func TestHelpdeskPairingLink(t *testing.T) {
	h := newHDServer(t, openTestSQLite(t))
	const user = "pia@example.com"
	id, g := h.verifiedCred(t, user)
	pending := h.createCred(t, user)
	b := newBrowser(t, h)
	b.signIn(hdAdminToken)

	p := b.get("/helpdesk?user=" + url.QueryEscape(user))
	if !strings.Contains(row(t, p.body, id), `action="/helpdesk/pairing-link"`) {
		t.Error("the verified credential has no Pairing link action")
	}
	if strings.Contains(row(t, p.body, pending.ID), "pairing-link") {
		t.Error("an unverified credential offers a Pairing link")
	}
	if !strings.Contains(p.body, `id="no-devices"`) {
		t.Error("no word that the user has no paired device")
	}

	t.Run("forged", func(t *testing.T) {
		p := b.post("/helpdesk/pairing-link", url.Values{"csrf": {""}, "user": {user}, "id": {id}})
		if p.status != http.StatusForbidden || strings.Contains(p.body, "/pair#") {
			t.Errorf("without a CSRF token: %d", p.status)
		}
		p = b.post("/helpdesk/pairing-link", url.Values{"user": {user}, "id": {id}}, "Sec-Fetch-Site", "cross-site")
		if p.status != http.StatusForbidden || strings.Contains(p.body, "/pair#") {
			t.Errorf("cross-site: %d", p.status)
		}
	})
	t.Run("signed out", func(t *testing.T) {
		anon := newBrowser(t, h)
		anon.get("/helpdesk")
		p := anon.post("/helpdesk/pairing-link", url.Values{"user": {user}, "id": {id}})
		if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "login-form") || strings.Contains(p.body, "/pair#") {
			t.Errorf("signed out: %d", p.status)
		}
	})
	t.Run("unverified", func(t *testing.T) {
		p := b.post("/helpdesk/pairing-link", url.Values{"user": {user}, "id": {pending.ID}})
		if p.status != http.StatusConflict || !strings.Contains(p.body, "cannot be paired: the credential is not verified yet") ||
			strings.Contains(p.body, "/pair#") {
			t.Errorf("unverified credential: %d %s", p.status, p.body)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		if p := b.post("/helpdesk/pairing-link", url.Values{"user": {user}, "id": {"nope"}}); p.status != http.StatusNotFound {
			t.Errorf("unknown credential: %d", p.status)
		}
	})

	p = b.post("/helpdesk/pairing-link", url.Values{"user": {user}, "id": {id}})
	if p.status != http.StatusOK || p.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("pairing link page: %d, Cache-Control %q", p.status, p.header.Get("Cache-Control"))
	}
	m := pairingLinkRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no link on the page: %s", p.body)
	}
	link := html.UnescapeString(m[1])
	if !strings.HasPrefix(link, h.url+"/pair#") {
		t.Fatalf("pairing link %q", link)
	}
	if got := qrText(t, p.body); got != link {
		t.Errorf("the QR holds %q, the page prints %q", got, link)
	}
	if !strings.Contains(html.UnescapeString(p.body), "latchkey pair '"+link+"'") || !strings.Contains(p.body, "Settings → Sign-ins") {
		t.Error("the page does not say how to use the link")
	}
	if !strings.Contains(p.body, "expires at 2026-11-23 12:10 UTC") || !strings.Contains(p.body, `data-remaining="600"`) {
		t.Errorf("expiry missing: %s", p.body)
	}
	auditHas(t, h, user, "pairing_link", "helpdesk", "issued")

	// The link works: Latchkey reads what it is for, then pairs.
	tok := link[strings.Index(link, "#")+1:]
	status, body := h.do(t, "POST", "/api/v1/pair/info", "", map[string]string{"token": tok})
	var info PairingInfo
	if json.Unmarshal(body, &info); status != http.StatusOK || info.Credential != id || info.User != user {
		t.Fatalf("pair info: %d %s", status, body)
	}
	pub, _ := newDeviceKey(t)
	status, body = h.do(t, "POST", "/api/v1/pair", "", map[string]string{"token": tok, "code": g.At(h.clock.Now()), "public_key": b64url(pub)})
	var paired pairedResponse
	if json.Unmarshal(body, &paired); status != http.StatusOK || paired.Device == "" {
		t.Fatalf("pair: %d %s", status, body)
	}

	// The user's page lists the device by its credential's name.
	p = b.get("/helpdesk?user=" + url.QueryEscape(user))
	r := row(t, p.body, paired.Device)
	if !strings.Contains(r, ">"+paired.Device[:8]+"…<") || !strings.Contains(r, `<td class="name">Laptop</td>`) ||
		!strings.Contains(r, "2026-11-23 12:00 UTC") || strings.Contains(p.body, `id="no-devices"`) {
		t.Errorf("device row: %s", r)
	}
}

// TestHelpdeskDeviceRevoke: Revoke… asks first; the form then revokes the
// device as the API does, audited as the helpdesk's; forged and
// signed-out forms revoke nothing.
func TestHelpdeskDeviceRevoke(t *testing.T) {
	h := newHDServer(t, openTestSQLite(t))
	const user = "rob"
	id, _ := h.verifiedCred(t, user)
	pub, _ := newDeviceKey(t)
	d, err := h.CIBA().RegisterDevice(context.Background(), user, id, pub, "test")
	if err != nil {
		t.Fatal(err)
	}
	devices := func() string {
		status, body := h.do(t, "GET", "/api/v1/users/"+user+"/devices", hdAdminToken, nil)
		if status != http.StatusOK {
			t.Fatalf("devices: %d %s", status, body)
		}
		return string(body)
	}
	b := newBrowser(t, h)
	b.signIn(hdAdminToken)
	p := b.get("/helpdesk?user=" + user)
	if !strings.Contains(row(t, p.body, d.ID), `href="/helpdesk/device-revoke?user=rob&amp;device=`+d.ID+`"`) {
		t.Fatal("the device row has no Revoke…")
	}
	p = b.get("/helpdesk/device-revoke?user=" + user + "&device=" + d.ID)
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="device-revoke-form"`) || !strings.Contains(p.body, "<strong>Laptop</strong>") {
		t.Fatalf("confirmation page: %d %s", p.status, p.body)
	}
	if !strings.Contains(devices(), d.ID) {
		t.Fatal("asking revoked the device")
	}

	if p := b.post("/helpdesk/device-revoke", url.Values{"csrf": {""}, "user": {user}, "device": {d.ID}}); p.status != http.StatusForbidden {
		t.Errorf("without a CSRF token: %d", p.status)
	}
	anon := newBrowser(t, h)
	anon.get("/helpdesk")
	if p := anon.post("/helpdesk/device-revoke", url.Values{"user": {user}, "device": {d.ID}}); p.status != http.StatusUnauthorized {
		t.Errorf("signed out: %d", p.status)
	}
	if p := anon.get("/helpdesk/device-revoke?user=" + user + "&device=" + d.ID); !strings.Contains(p.body, "login-form") || strings.Contains(p.body, d.ID) {
		t.Error("a signed-out visitor sees the confirmation page")
	}
	if !strings.Contains(devices(), d.ID) {
		t.Fatal("a refused form revoked the device")
	}

	p = b.post("/helpdesk/device-revoke", url.Values{"user": {user}, "device": {d.ID}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/helpdesk?msg=device-revoked&user=rob" {
		t.Fatalf("revoke: %d %s", p.status, p.header.Get("Location"))
	}
	if strings.Contains(devices(), d.ID) {
		t.Error("the device is still paired")
	}
	auditHas(t, h, user, "device_revoke", "helpdesk", d.ID)
	p = b.get("/helpdesk?msg=device-revoked&user=" + user)
	if !strings.Contains(p.body, "The device was revoked") || !strings.Contains(p.body, `id="no-devices"`) || strings.Contains(p.body, d.ID) {
		t.Errorf("after revoking, the page: %s", p.body)
	}

	// Gone: both steps say so.
	if p := b.post("/helpdesk/device-revoke", url.Values{"user": {user}, "device": {d.ID}}); p.status != http.StatusNotFound || !strings.Contains(p.body, "not paired any more") {
		t.Errorf("revoking again: %d", p.status)
	}
	if p := b.get("/helpdesk/device-revoke?user=" + user + "&device=" + d.ID); p.status != http.StatusNotFound || !strings.Contains(p.body, "not paired any more") {
		t.Errorf("asking again: %d", p.status)
	}
}
