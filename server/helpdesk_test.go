package server

import (
	"bufio"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"latchkey/core/enroll"
	"latchkey/core/otpauth"
	"latchkey/core/qr"
)

// browser is a cookie-keeping HTTP client that does not follow redirects.
type browser struct {
	t    *testing.T
	h    *hdServer
	c    *http.Client
	csrf string // the last page's form token
}

func newBrowser(t *testing.T, h *hdServer) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, h: h, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) read(resp *http.Response, err error) page {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return page{resp.StatusCode, resp.Header, string(body)}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	return b.read(b.c.Get(b.h.url + path))
}

// post submits a form with the current CSRF token unless form sets one.
func (b *browser) post(path string, form url.Values, hdr ...string) page {
	b.t.Helper()
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	req, _ := http.NewRequest("POST", b.h.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return b.read(b.c.Do(req))
}

func (b *browser) signIn(secret string) page {
	b.t.Helper()
	b.get("/helpdesk")
	p := b.post("/helpdesk/login", url.Values{"secret": {secret}})
	if p.status == http.StatusSeeOther {
		b.get("/helpdesk") // picks up the new CSRF token
	}
	return p
}

func cookieNamed(h http.Header, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestHelpdeskSignIn(t *testing.T) {
	h := newHDServer(t, openTestSQLite(t), func(c *Config) { c.HelpdeskPassword = "desk password" })
	tests := []struct {
		name, secret string
		ok           bool
	}{
		{"admin token", hdAdminToken, true},
		{"helpdesk password", "desk password", true},
		{"wrong", "nope", false},
		{"empty", "", false},
		{"token with spaces", " " + hdAdminToken + " ", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t, h)
			if p := b.get("/helpdesk"); p.status != 200 || !strings.Contains(p.body, `id="login-form"`) {
				t.Fatalf("signed-out page: %d", p.status)
			}
			p := b.signIn(tc.secret)
			sess := cookieNamed(p.header, sessionCookie)
			if !tc.ok {
				if p.status != http.StatusUnauthorized || sess != nil || !strings.Contains(p.body, "not right") {
					t.Fatalf("refused sign-in: %d, cookie %v", p.status, sess)
				}
				return
			}
			if p.status != http.StatusSeeOther || sess == nil {
				t.Fatalf("sign-in: %d, cookie %v", p.status, sess)
			}
			if !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Secure || sess.MaxAge <= 0 {
				t.Errorf("session cookie flags: %+v", sess)
			}
			if csrf := cookieNamed(p.header, csrfCookie); csrf == nil || !csrf.HttpOnly || csrf.SameSite != http.SameSiteStrictMode {
				t.Errorf("sign-in must set a fresh CSRF cookie: %+v", csrf)
			}
			if p := b.get("/helpdesk"); !strings.Contains(p.body, `id="user"`) || strings.Contains(p.body, "login-form") {
				t.Errorf("signed-in page is not the search page")
			}
		})
	}
}

// TestHelpdeskCookiesTLS: under TLS every cookie is Secure.
func TestHelpdeskCookiesTLS(t *testing.T) {
	h := newHDServer(t, openTestSQLite(t))
	ts := httptest.NewTLSServer(h.Server)
	defer ts.Close()
	b := newBrowser(t, &hdServer{Server: h.Server, url: ts.URL, clock: h.clock})
	b.c.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	first := b.get("/helpdesk")
	if c := cookieNamed(first.header, csrfCookie); c == nil || !c.Secure {
		t.Errorf("CSRF cookie under TLS: %+v", c)
	}
	p := b.post("/helpdesk/login", url.Values{"secret": {hdAdminToken}})
	if c := cookieNamed(p.header, sessionCookie); c == nil || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Errorf("session cookie under TLS: %+v", c)
	}
}

// TestHelpdeskCSRF: forms without the right token, or marked cross-site,
// change nothing.
func TestHelpdeskCSRF(t *testing.T) {
	h := newHDServer(t, openTestSQLite(t))
	b := newBrowser(t, h)
	if p := b.signIn(hdAdminToken); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", p.status)
	}
	good := b.csrf
	other := newBrowser(t, h)
	other.get("/helpdesk")
	tests := []struct {
		name string
		csrf string
		hdr  []string
	}{
		{"missing", "", nil},
		{"garbage", "not-a-token", nil},
		{"another browser's", other.csrf, nil},
		{"cross-site", good, []string{"Sec-Fetch-Site", "cross-site"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := b.post("/helpdesk/enroll", url.Values{"csrf": {tc.csrf}, "user": {"mallory-victim"}}, tc.hdr...)
			if p.status != http.StatusForbidden {
				t.Errorf("status %d, want 403", p.status)
			}
			cs, _ := h.store.Credentials(context.Background(), "mallory-victim", h.clock.Now())
			if len(cs) != 0 {
				t.Fatalf("a forged form created a credential")
			}
		})
	}
	// Sign-in itself needs the token too (no login CSRF).
	anon := newBrowser(t, h)
	anon.get("/helpdesk")
	if p := anon.post("/helpdesk/login", url.Values{"csrf": {""}, "secret": {hdAdminToken}}); p.status != http.StatusForbidden || cookieNamed(p.header, sessionCookie) != nil {
		t.Errorf("sign-in without CSRF token: %d", p.status)
	}
	// With the right token the same form works.
	b.csrf = good
	if p := b.post("/helpdesk/enroll", url.Values{"user": {"mallory-victim"}}); p.status != http.StatusOK {
		t.Errorf("good token: %d", p.status)
	}
}

// TestHelpdeskSession: no session, a forged one or an expired one gets
// the sign-in form and no data.
func TestHelpdeskSession(t *testing.T) {
	h := newHDServer(t, openTestSQLite(t))
	h.createCred(t, "olga")
	b := newBrowser(t, h)
	b.get("/helpdesk")
	if p := b.post("/helpdesk/enroll", url.Values{"user": {"olga"}}); p.status != http.StatusUnauthorized || !strings.Contains(p.body, "login-form") {
		t.Errorf("enroll without a session: %d", p.status)
	}
	if p := b.get("/helpdesk?user=olga"); strings.Contains(p.body, "Laptop") || !strings.Contains(p.body, "login-form") {
		t.Error("credentials shown without a session")
	}
	if p := b.get("/helpdesk/status?user=olga&id=x"); p.status != http.StatusUnauthorized {
		t.Errorf("status without a session: %d", p.status)
	}
	u, _ := url.Parse(h.url + "/helpdesk")
	forged := strings.Join([]string{"99999999999", "AAAAAAAAAAAAAAAAAAAAAA", base64.RawURLEncoding.EncodeToString(make([]byte, 32))}, ".")
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: forged, Path: "/helpdesk"}})
	if p := b.get("/helpdesk?user=olga"); !strings.Contains(p.body, "login-form") {
		t.Error("a forged session was accepted")
	}
	b.signIn(hdAdminToken)
	if p := b.get("/helpdesk?user=olga"); !strings.Contains(p.body, "Laptop") {
		t.Fatalf("signed in, credentials missing: %s", p.body)
	}
	h.clock.Add(SessionTTL + time.Second)
	if p := b.get("/helpdesk?user=olga"); !strings.Contains(p.body, "login-form") {
		t.Error("an expired session was accepted")
	}
}

func qrText(t *testing.T, body string) string {
	t.Helper()
	m := regexp.MustCompile(`src="data:image/png;base64,([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no QR image in the page")
	}
	png, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	texts, err := qr.Decode(png)
	if err != nil || len(texts) != 1 {
		t.Fatalf("decode QR: %v %v", texts, err)
	}
	return texts[0]
}

// TestHelpdeskEnrollFlow: enroll, read the QR back, a wrong code and then
// the right one, rename, revoke with confirmation.
func TestHelpdeskEnrollFlow(t *testing.T) {
	h := newHDServer(t, openTestSQLite(t))
	b := newBrowser(t, h)
	b.signIn(hdAdminToken)
	p := b.post("/helpdesk/enroll", url.Values{"user": {"pat@example.com"}, "name": {"Phone"}, "qr": {"otpauth"}})
	if p.status != 200 || !strings.Contains(p.body, `class="qr-screen"`) {
		t.Fatalf("enroll: %d", p.status)
	}
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "Referrer-Policy"} {
		if p.header.Get(h) == "" {
			t.Errorf("missing %s", h)
		}
	}
	if p.header.Get("Cache-Control") != "no-store" {
		t.Error("the QR page may be cached")
	}
	k, err := otpauth.Parse(qrText(t, p.body))
	if err != nil {
		t.Fatal(err)
	}
	if k.Account != "pat@example.com" || k.Issuer != DefaultIssuer {
		t.Errorf("QR key %v", k)
	}
	b32 := k.Secret.Base32()
	if !strings.Contains(p.body, "<span>"+b32[:4]+"</span> <span>"+b32[4:8]+"</span>") {
		t.Error("secret not shown in groups of four")
	}
	if !strings.Contains(p.body, `data-remaining="900"`) || !strings.Contains(p.body, `<span class="issuer">Latchkey</span> · account <span class="user">pat@example.com</span>`) {
		t.Errorf("countdown or issuer/user words missing: %s", p.body)
	}
	id := regexp.MustCompile(`name="id" value="([^"]+)"`).FindStringSubmatch(p.body)[1]
	g, _ := k.Generator()
	code := g.At(h.clock.Now())
	wrong := "000000"
	if wrong == code {
		wrong = "111111"
	}
	p = b.post("/helpdesk/confirm", url.Values{"user": {"pat@example.com"}, "id": {id}, "code": {wrong}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "That code was not accepted") || !strings.Contains(p.body, "qr-screen") {
		t.Fatalf("wrong code: %d", p.status)
	}
	if again, _ := otpauth.Parse(qrText(t, p.body)); again == nil || again.Secret.Base32() != b32 {
		t.Error("the retry page shows another QR")
	}
	p = b.post("/helpdesk/confirm", url.Values{"user": {"pat@example.com"}, "id": {id}, "code": {code[:3] + " " + code[3:]}})
	if p.status != 200 || !strings.Contains(p.body, `id="verified-message"`) {
		t.Fatalf("right code: %d %s", p.status, p.body)
	}
	if !h.verified(t, "pat@example.com", id) {
		t.Fatal("not verified through the API")
	}
	p = b.get("/helpdesk?user=pat%40example.com")
	if !strings.Contains(p.body, `<td class="verified">Yes</td>`) || !strings.Contains(p.body, "<td>2026-11-23 12:00 UTC</td>\n<td>2026-11-23 12:00 UTC</td>") {
		t.Errorf("list after confirm lacks verified/last used: %s", p.body)
	}
	// Rename.
	p = b.post("/helpdesk/rename", url.Values{"user": {"pat@example.com"}, "id": {id}, "name": {"Work phone"}})
	if p.status != http.StatusSeeOther || !strings.Contains(p.header.Get("Location"), "msg=renamed") {
		t.Fatalf("rename: %d", p.status)
	}
	if p = b.get(p.header.Get("Location")); !strings.Contains(p.body, "Work phone") || !strings.Contains(p.body, "was renamed") {
		t.Error("renamed credential not listed")
	}
	if p = b.post("/helpdesk/rename", url.Values{"user": {"pat@example.com"}, "id": {id}, "name": {"  "}}); p.status != http.StatusBadRequest {
		t.Errorf("empty name: %d", p.status)
	}
	// Revoke asks first, then deletes.
	p = b.get("/helpdesk/revoke?user=pat%40example.com&id=" + id)
	if !strings.Contains(p.body, `id="revoke-form"`) || !strings.Contains(p.body, "Work phone") {
		t.Fatal("no confirmation page")
	}
	if cs, _ := h.store.Credentials(context.Background(), "pat@example.com", h.clock.Now()); len(cs) != 1 {
		t.Fatal("asking deleted the credential")
	}
	p = b.post("/helpdesk/revoke", url.Values{"user": {"pat@example.com"}, "id": {id}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", p.status)
	}
	if cs, _ := h.store.Credentials(context.Background(), "pat@example.com", h.clock.Now()); len(cs) != 0 {
		t.Error("revoked credential still there")
	}
	if p = b.post("/helpdesk/revoke", url.Values{"user": {"pat@example.com"}, "id": {id}}); p.status != http.StatusNotFound {
		t.Errorf("second revoke: %d", p.status)
	}
}

// TestHelpdeskUniformMessages: a wrong code, a code from outside the
// window and a code typed again after it was accepted never tell the
// person at the desk about replays.
func TestHelpdeskUniformMessages(t *testing.T) {
	h := newHDServer(t, openTestSQLite(t))
	b := newBrowser(t, h)
	b.signIn(hdAdminToken)
	msg := regexp.MustCompile(`<p class="message error" role="alert" id="message">([^<]*)</p>`)
	p := b.post("/helpdesk/enroll", url.Values{"user": {"quinn"}})
	k, _ := otpauth.Parse(qrText(t, p.body))
	id := regexp.MustCompile(`name="id" value="([^"]+)"`).FindStringSubmatch(p.body)[1]
	g, _ := k.Generator()
	now := h.clock.Now()
	wrong := b.post("/helpdesk/confirm", url.Values{"user": {"quinn"}, "id": {id}, "code": {"12345678"}})
	old := b.post("/helpdesk/confirm", url.Values{"user": {"quinn"}, "id": {id}, "code": {g.At(now.Add(-70 * time.Second))}})
	m1, m2 := msg.FindStringSubmatch(wrong.body), msg.FindStringSubmatch(old.body)
	if m1 == nil || m2 == nil || m1[1] != m2[1] || wrong.status != old.status {
		t.Fatalf("messages differ: %q (%d) vs %q (%d)", m1, wrong.status, m2, old.status)
	}
	if ok := b.post("/helpdesk/confirm", url.Values{"user": {"quinn"}, "id": {id}, "code": {g.At(now)}}); ok.status != 200 {
		t.Fatalf("right code: %d", ok.status)
	}
	again := b.post("/helpdesk/confirm", url.Values{"user": {"quinn"}, "id": {id}, "code": {g.At(now)}})
	for _, pg := range []page{wrong, old, again} {
		low := strings.ToLower(pg.body)
		if strings.Contains(low, "replay") || strings.Contains(low, "already used") {
			t.Errorf("a page talks about replays: %s", pg.body)
		}
	}
	if again.status != http.StatusConflict {
		t.Errorf("code typed again: %d", again.status)
	}
}

// TestHelpdeskLinkMode: the QR can carry the enrollment link, and the
// status endpoint sees Latchkey's confirmation.
func TestHelpdeskLinkMode(t *testing.T) {
	h := newHDServer(t, openTestSQLite(t))
	b := newBrowser(t, h)
	b.signIn(hdAdminToken)
	p := b.post("/helpdesk/enroll", url.Values{"user": {"rita"}, "qr": {"link"}})
	link := qrText(t, p.body)
	if !strings.HasPrefix(link, h.url+"/enroll#") || !strings.Contains(p.body, link) {
		t.Fatalf("QR carries %q", link)
	}
	if strings.Contains(p.body, `id="secret"`) {
		t.Error("link mode also shows the secret")
	}
	id := regexp.MustCompile(`data-id="([^"]+)"`).FindStringSubmatch(p.body)[1]
	if p := b.get("/helpdesk/status?user=rita&id=" + id); !strings.Contains(p.body, `"verified":false`) {
		t.Errorf("status before: %s", p.body)
	}
	if _, err := enroll.Enroll(context.Background(), enroll.Client{}, link, &memSaver{}, enroll.Options{Now: h.clock.Now}); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/helpdesk/status?user=rita&id=" + id); !strings.Contains(p.body, `"verified":true`) {
		t.Errorf("status after: %s", p.body)
	}
}

// TestHelpdeskLinkExpiry: the link-mode QR screen counts down the link's
// lifetime, and the page a browser shows for a link says the same number
// and names the desktop app's Link tab; a shorter enroll_ttl shortens both.
func TestHelpdeskLinkExpiry(t *testing.T) {
	for _, tc := range []struct {
		ttl       time.Duration
		remaining string
		words     string
	}{
		{0, `data-remaining="600"`, "within 10 minutes"},
		{5 * time.Minute, `data-remaining="300"`, "within 5 minutes"},
	} {
		t.Run(tc.words, func(t *testing.T) {
			h := newHDServer(t, openTestSQLite(t), func(c *Config) { c.EnrollTTL = tc.ttl })
			b := newBrowser(t, h)
			b.signIn(hdAdminToken)
			p := b.post("/helpdesk/enroll", url.Values{"user": {"rita"}, "qr": {"link"}})
			if !strings.Contains(p.body, tc.remaining) {
				t.Errorf("link-mode countdown: want %s in %s", tc.remaining, regexp.MustCompile(`data-remaining="\d+"`).FindString(p.body))
			}
			exp := h.clock.Now().Add(min(LinkTTL, cmp.Or(tc.ttl, DefaultEnrollTTL))).UTC().Format(timeLayout)
			if !strings.Contains(p.body, "expires at "+exp) {
				t.Errorf("link-mode expiry: want %s", exp)
			}
			link := b.get("/enroll")
			for _, want := range []string{tc.words, `"Link" tab`, "latchkey enroll"} {
				if !strings.Contains(link.body, want) {
					t.Errorf("/enroll lacks %q: %s", want, link.body)
				}
			}
		})
	}
}

// TestHelpdeskIndexPage: / points to the helpdesk and the docs (other
// unknown paths stay 404), and the sign-in page says where the admin
// token is.
func TestHelpdeskIndexPage(t *testing.T) {
	h := newHDServer(t, openTestSQLite(t))
	b := newBrowser(t, h)
	p := b.get("/")
	if p.status != http.StatusOK || !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") || p.header.Get("Content-Security-Policy") == "" {
		t.Fatalf("GET /: %d %s", p.status, p.header.Get("Content-Type"))
	}
	for _, want := range []string{`href="/helpdesk"`, "docs/server.md"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("/ lacks %q: %s", want, p.body)
		}
	}
	if p := b.get("/no-such-page"); p.status != http.StatusNotFound {
		t.Errorf("an unknown path answers %d", p.status)
	}
	p = b.get("/helpdesk")
	for _, want := range []string{"LATCHKEY_ADMIN_TOKEN", "admin-token", "data folder"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the sign-in page lacks %q", want)
		}
	}
}

// TestHelpdeskClients: a signed-in admin sees the OAuth clients (name,
// client_id, grants, auth method, created) and never a secret; a session
// opened with the helpdesk password sees neither the page nor its link.
func TestHelpdeskClients(t *testing.T) {
	h := newHDServer(t, openTestSQLite(t), func(c *Config) { c.HelpdeskPassword = "front desk 42" })
	type created struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	var secrets []string
	var ids []string
	for _, body := range []map[string]any{
		{"name": "Payroll <app>"},
		{"name": "Intranet", "grant_types": []string{"client_credentials"}, "token_endpoint_auth_method": "client_secret_post"},
	} {
		status, out := h.do(t, "POST", "/api/v1/clients", hdAdminToken, body)
		var c created
		if err := json.Unmarshal(out, &c); status != http.StatusCreated || err != nil || c.Secret == "" {
			t.Fatalf("creating a client: %d %s", status, out)
		}
		secrets, ids = append(secrets, c.Secret), append(ids, c.ID)
	}

	if p := newBrowser(t, h).get("/helpdesk/clients"); !strings.Contains(p.body, `id="login-form"`) || strings.Contains(p.body, ids[0]) {
		t.Fatalf("signed out: %d", p.status)
	}

	admin := newBrowser(t, h)
	admin.signIn(hdAdminToken)
	if p := admin.get("/helpdesk"); !strings.Contains(p.body, `href="/helpdesk/clients"`) {
		t.Error("an admin's pages do not link to the clients")
	}
	p := admin.get("/helpdesk/clients")
	if p.status != http.StatusOK || p.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("clients page: %d", p.status)
	}
	row := regexp.MustCompile(`(?s)<tr data-id="` + ids[1] + `">(.*?)</tr>`).FindStringSubmatch(p.body)
	if row == nil {
		t.Fatalf("no row for %s: %s", ids[1], p.body)
	}
	for _, want := range []string{"Intranet", "<code>" + ids[1] + "</code>", "client_credentials", "client_secret_post", "2026-11-23 12:00 UTC"} {
		if !strings.Contains(row[1], want) {
			t.Errorf("the row lacks %q: %s", want, row[1])
		}
	}
	if !strings.Contains(p.body, "Payroll &lt;app&gt;") || !strings.Contains(p.body, "client_secret_basic") || !strings.Contains(p.body, ids[0]) {
		t.Errorf("the first client is not listed (escaped): %s", p.body)
	}
	for _, sec := range secrets {
		if strings.Contains(p.body, sec) {
			t.Fatal("the clients page shows a client secret")
		}
	}
	if strings.Contains(strings.ToLower(p.body), "secret_hash") {
		t.Error("the clients page names the secret hash")
	}

	staff := newBrowser(t, h)
	staff.signIn("front desk 42")
	if p := staff.get("/helpdesk"); !strings.Contains(p.body, `id="user"`) || strings.Contains(p.body, `href="/helpdesk/clients"`) {
		t.Error("a helpdesk-password session is not signed in, or is offered the clients page")
	}
	if p := staff.get("/helpdesk/clients"); p.status != http.StatusForbidden || strings.Contains(p.body, ids[0]) || strings.Contains(p.body, "Intranet") {
		t.Errorf("a helpdesk-password session reads the clients: %d", p.status)
	}
}

func TestHelpdeskStatic(t *testing.T) {
	h := newHDServer(t, openTestSQLite(t))
	b := newBrowser(t, h)
	for path, ct := range map[string]string{"/helpdesk/static/helpdesk.css": "text/css", "/helpdesk/static/helpdesk.js": "text/javascript"} {
		p := b.get(path)
		if p.status != 200 || !strings.HasPrefix(p.header.Get("Content-Type"), ct) || len(p.body) < 100 {
			t.Errorf("%s: %d %s", path, p.status, p.header.Get("Content-Type"))
		}
	}
	if p := b.get("/helpdesk/static/../../server.go"); p.status == 200 {
		t.Error("static files escape their folder")
	}
	if p := b.get("/helpdesk/static/"); p.status != http.StatusNotFound || strings.Contains(p.body, "helpdesk.css") {
		t.Errorf("the static folder is listed: %d", p.status)
	}
}

// FuzzHelpdeskSession: a session cookie is accepted only in the one
// canonical encoding of a 32-byte id.
func FuzzHelpdeskSession(f *testing.F) {
	f.Add(base64.RawURLEncoding.EncodeToString(make([]byte, 32)))
	f.Add(strings.Repeat("A", 42) + "B")
	f.Add(base64.URLEncoding.EncodeToString(make([]byte, 32)))
	f.Add("..")
	f.Fuzz(func(t *testing.T, v string) {
		id, ok := parseSessionID(v)
		if ok && (len(id) != sessionIDLen || base64.RawURLEncoding.EncodeToString(id) != v) {
			t.Fatalf("non-canonical session cookie %q accepted", v)
		}
	})
}

// TestHelpdeskSessionEnds: sign-out ends the session for a saved copy of
// its cookie; a new admin token or helpdesk password ends every session;
// the CSRF token belongs to one session; a non-canonical cookie is
// refused.
func TestHelpdeskSessionEnds(t *testing.T) {
	st := openTestSQLite(t)
	h := newHDServer(t, st)
	h.createCred(t, "olga")
	u, _ := url.Parse(h.url + "/helpdesk")
	b := newBrowser(t, h)
	b.signIn(hdAdminToken)
	saved := b.c.Jar.Cookies(u)
	oldCSRF := b.csrf
	if p := b.get("/helpdesk?user=olga"); !strings.Contains(p.body, "Laptop") {
		t.Fatal("not signed in")
	}
	// A non-canonical spelling of the same id is refused.
	var sess string
	for _, c := range saved {
		if c.Name == sessionCookie {
			sess = c.Value
		}
	}
	// 43 characters carry 258 bits: the last one's two low bits are
	// padding, zero in the canonical form.
	alt := sess[:42] + string(base64URLAlphabet[strings.IndexByte(base64URLAlphabet, sess[42])^1])
	other := newBrowser(t, h)
	other.c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: alt, Path: "/helpdesk"}})
	if p := other.get("/helpdesk?user=olga"); !strings.Contains(p.body, "login-form") {
		t.Errorf("non-canonical session cookie %q accepted", alt)
	}
	if p := b.post("/helpdesk/logout", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", p.status)
	}
	replay := newBrowser(t, h)
	replay.c.Jar.SetCookies(u, saved)
	if p := replay.get("/helpdesk?user=olga"); strings.Contains(p.body, "Laptop") || !strings.Contains(p.body, "login-form") {
		t.Fatal("a saved cookie still works after sign-out")
	}
	// The CSRF token of the ended session does not serve the next one.
	b.signIn(hdAdminToken)
	b.csrf = oldCSRF
	if p := b.post("/helpdesk/enroll", url.Values{"user": {"olga"}}); p.status != http.StatusForbidden {
		t.Errorf("another session's CSRF token: %d", p.status)
	}
	// A server with another admin token (same database) ends the session.
	saved = b.c.Jar.Cookies(u)
	h2 := newHDServer(t, st, func(c *Config) { c.AdminToken = hdAdminToken + "-rotated" })
	moved := newBrowser(t, h2)
	u2, _ := url.Parse(h2.url + "/helpdesk")
	moved.c.Jar.SetCookies(u2, saved)
	if p := moved.get("/helpdesk?user=olga"); !strings.Contains(p.body, "login-form") {
		t.Error("a session survived an admin token change")
	}
}

const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// TestHelpdeskPasswordFromConfig runs the server through Run with a
// config file naming a helpdesk password, and signs in with it.
func TestHelpdeskPasswordFromConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfg, []byte(`{"helpdesk_password": "front desk 42"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	getenv := func(k string) string {
		return map[string]string{"LATCHKEY_HOME": dir, "LATCHKEY_ADMIN_TOKEN": runToken}[k]
	}
	go func() {
		done <- Run(ctx, []string{"--addr", "127.0.0.1:0", "--config", cfg}, getenv, strings.NewReader(""), pw, io.Discard)
		pw.Close()
	}()
	defer func() { cancel(); <-done }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	_, base, _ := strings.Cut(strings.TrimSpace(line), "listening on ")
	b := newBrowser(t, &hdServer{url: base})
	if p := b.signIn("front desk 42"); p.status != http.StatusSeeOther || cookieNamed(p.header, sessionCookie) == nil {
		t.Fatalf("sign-in with the configured password: %d", p.status)
	}
	if p := b.get("/helpdesk"); !strings.Contains(p.body, `id="user"`) {
		t.Error("not signed in")
	}
	if p := newBrowser(t, &hdServer{url: base}).signIn("front desk 43"); p.status != http.StatusUnauthorized {
		t.Errorf("a wrong password: %d", p.status)
	}
}

// TestHelpdeskLoginThrottleSource: one address's failures close sign-in
// for that address only, and the closure outlives a restart.
func TestHelpdeskLoginThrottleSource(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			st := be.open(t)
			h := newHDServer(t, st)
			attacker := newBrowser(t, h)
			attacker.get("/helpdesk")
			for range loginFree + 3 {
				attacker.post("/helpdesk/login", url.Values{"secret": {"guess"}})
			}
			if p := attacker.post("/helpdesk/login", url.Values{"secret": {hdAdminToken}}); p.status != http.StatusTooManyRequests {
				t.Fatalf("attacker not slowed: %d", p.status)
			}
			// Staff on another address sign in at once.
			staff := newBrowser(t, h)
			staff.c.Transport = &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext}
			if p := staff.signIn(hdAdminToken); p.status != http.StatusSeeOther {
				t.Fatalf("staff from another address: %d", p.status)
			}
			// A restarted server (same database) keeps the attacker out.
			h2 := newHDServer(t, st)
			again := newBrowser(t, h2)
			again.get("/helpdesk")
			if p := again.post("/helpdesk/login", url.Values{"secret": {hdAdminToken}}); p.status != http.StatusTooManyRequests {
				t.Fatalf("after a restart: %d", p.status)
			}
		})
	}
}

// TestHelpdeskLoginThrottle: after a few failures each further one
// closes sign-in for a doubling delay, even for the right token; a
// success resets it.
func TestHelpdeskLoginThrottle(t *testing.T) {
	h := newHDServer(t, openTestSQLite(t))
	b := newBrowser(t, h)
	b.get("/helpdesk")
	for i := range loginFree {
		if p := b.post("/helpdesk/login", url.Values{"secret": {"guess"}}); p.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, p.status)
		}
	}
	if p := b.post("/helpdesk/login", url.Values{"secret": {"guess"}}); p.status != http.StatusUnauthorized {
		t.Fatalf("failure %d: %d", loginFree, p.status)
	}
	p := b.post("/helpdesk/login", url.Values{"secret": {hdAdminToken}})
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") != "1" || cookieNamed(p.header, sessionCookie) != nil {
		t.Fatalf("while closed: %d, Retry-After %q", p.status, p.header.Get("Retry-After"))
	}
	h.clock.Add(time.Second)
	b.post("/helpdesk/login", url.Values{"secret": {"guess"}})
	if p := b.post("/helpdesk/login", url.Values{"secret": {hdAdminToken}}); p.header.Get("Retry-After") != "2" {
		t.Errorf("second delay: Retry-After %q, want 2", p.header.Get("Retry-After"))
	}
	h.clock.Add(2 * time.Second)
	if p := b.post("/helpdesk/login", url.Values{"secret": {hdAdminToken}}); p.status != http.StatusSeeOther {
		t.Fatalf("after the delay: %d", p.status)
	}
	b.get("/helpdesk")
	if p := b.post("/helpdesk/login", url.Values{"secret": {"guess"}}); p.status != http.StatusUnauthorized {
		t.Errorf("after a success the count starts again: %d", p.status)
	}
}

// BenchmarkEnrollFaces compares enrolling through the helpdesk page (a
// credential, an HTML page with its QR inline) and through a link
// (create, then redeem) with the JSON API's create call, the baseline, on
// SQLite in-process.
func BenchmarkEnrollFaces(b *testing.B) {
	kr, _ := NewKeyring(testKey(9))
	s, err := New(Config{Store: openTestSQLite(b), Keyring: kr, AdminToken: hdAdminToken})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	serve := func(r *http.Request) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	apiCreate := func(i int) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", fmt.Sprintf("/api/v1/users/bench%d/credentials", i), nil)
		r.Header.Set("Authorization", "Bearer "+hdAdminToken)
		w := serve(r)
		if w.Code != http.StatusCreated {
			b.Fatalf("create: %d", w.Code)
		}
		return w
	}
	b.Run("api-create", func(b *testing.B) {
		for i := range b.N {
			apiCreate(i)
		}
	})
	b.Run("link-create-and-redeem", func(b *testing.B) {
		for i := range b.N {
			var c enroll.Created
			json.Unmarshal(apiCreate(1_000_000+i).Body.Bytes(), &c)
			body := `{"token":"` + c.EnrollmentLink[strings.Index(c.EnrollmentLink, "#")+1:] + `"}`
			if w := serve(httptest.NewRequest("POST", "/api/v1/enroll", strings.NewReader(body))); w.Code != http.StatusOK {
				b.Fatalf("redeem: %d", w.Code)
			}
		}
	})
	b.Run("helpdesk-page", func(b *testing.B) {
		w := serve(httptest.NewRequest("GET", "/helpdesk", nil))
		csrf := cookieNamed(w.Header(), csrfCookie)
		token := csrfRE.FindStringSubmatch(w.Body.String())[1]
		login := httptest.NewRequest("POST", "/helpdesk/login", strings.NewReader(url.Values{"csrf": {token}, "secret": {hdAdminToken}}.Encode()))
		login.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		login.AddCookie(csrf)
		w = serve(login)
		sess, csrf2 := cookieNamed(w.Header(), sessionCookie), cookieNamed(w.Header(), csrfCookie)
		r := httptest.NewRequest("GET", "/helpdesk", nil)
		r.AddCookie(sess)
		r.AddCookie(csrf2)
		token = csrfRE.FindStringSubmatch(serve(r).Body.String())[1]
		b.ResetTimer()
		for i := range b.N {
			form := url.Values{"csrf": {token}, "user": {fmt.Sprintf("page%d", i)}}.Encode()
			r := httptest.NewRequest("POST", "/helpdesk/enroll", strings.NewReader(form))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.AddCookie(sess)
			r.AddCookie(csrf2)
			if w := serve(r); w.Code != http.StatusOK {
				b.Fatalf("enroll page: %d", w.Code)
			}
		}
	})
}

// FuzzHelpdeskForms posts arbitrary bodies to every helpdesk form with a
// valid session and CSRF token: a form the server cannot use is a 4xx
// page, never a 500 or a panic.
func FuzzHelpdeskForms(f *testing.F) {
	kr, _ := NewKeyring(testKey(9))
	s, err := New(Config{Store: openTestSQLite(f), Keyring: kr, AdminToken: hdAdminToken})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	serve := func(r *http.Request) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	w := serve(httptest.NewRequest("GET", "/helpdesk", nil))
	csrf := cookieNamed(w.Header(), csrfCookie)
	token := csrfRE.FindStringSubmatch(w.Body.String())[1]
	login := httptest.NewRequest("POST", "/helpdesk/login", strings.NewReader(url.Values{"csrf": {token}, "secret": {hdAdminToken}}.Encode()))
	login.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	login.AddCookie(csrf)
	w = serve(login)
	sess, csrf2 := cookieNamed(w.Header(), sessionCookie), cookieNamed(w.Header(), csrfCookie)
	r := httptest.NewRequest("GET", "/helpdesk", nil)
	r.AddCookie(sess)
	r.AddCookie(csrf2)
	token = csrfRE.FindStringSubmatch(serve(r).Body.String())[1]
	paths := []string{"/helpdesk/enroll", "/helpdesk/confirm", "/helpdesk/rename", "/helpdesk/revoke", "/helpdesk/logout",
		"/helpdesk/pairing-link", "/helpdesk/device-revoke"}

	f.Add(uint8(0), "user=alice&name=Phone&qr=link")
	f.Add(uint8(1), "user=alice&id=abc&code=123456")
	f.Add(uint8(2), "user=alice&id=abc&name=%00")
	f.Add(uint8(3), "user=&id=")
	f.Add(uint8(0), "user=%ff%fe&name="+strings.Repeat("x", 200))
	f.Add(uint8(1), "code=1&code=2&user=a;b")
	f.Add(uint8(5), "user=alice&id=abc")
	f.Add(uint8(6), "user=alice&device=abc")
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		path := paths[int(which)%len(paths)]
		r := httptest.NewRequest("POST", path, strings.NewReader(body+"&csrf="+url.QueryEscape(token)))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if path != "/helpdesk/logout" { // signed in, it would end the session the other inputs use
			r.AddCookie(sess)
		}
		r.AddCookie(csrf2)
		if w := serve(r); w.Code >= 500 {
			t.Fatalf("POST %s %q: %d", path, body, w.Code)
		}
	})
}
