package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"latchkey/core/enroll"
	"latchkey/core/otpauth"
	"latchkey/core/qr"
	"latchkey/core/testenv"
)

// webDriver speaks the W3C WebDriver protocol to chromedriver over HTTP:
// the few commands the helpdesk test needs, with no library between.
type webDriver struct {
	t       *testing.T
	base    string // chromedriver's URL
	session string
	hc      *http.Client
}

// elementKey is the W3C name of an element reference in JSON.
const elementKey = "element-6066-11e4-a52e-4f735466cecf"

func (d *webDriver) do(method, path string, body any) json.RawMessage {
	d.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, d.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.hc.Do(req)
	if err != nil {
		d.t.Fatalf("webdriver %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out struct {
		Value json.RawMessage `json:"value"`
	}
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &out); err != nil || resp.StatusCode != http.StatusOK {
		d.t.Fatalf("webdriver %s %s: %d %s", method, path, resp.StatusCode, data)
	}
	return out.Value
}

func (d *webDriver) s(path string) string { return "/session/" + d.session + path }

func (d *webDriver) open(url string) { d.do("POST", d.s("/url"), map[string]string{"url": url}) }

// find returns the element matching a CSS selector, waiting up to 10 s
// for it (pages load after clicks).
func (d *webDriver) find(css string) string {
	d.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v := d.do("POST", d.s("/elements"), map[string]string{"using": "css selector", "value": css})
		var els []map[string]string
		json.Unmarshal(v, &els)
		if len(els) > 0 {
			return els[0][elementKey]
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("no element %q on %s", css, d.url())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *webDriver) typeInto(el, text string) {
	d.do("POST", d.s("/element/"+el+"/value"), map[string]string{"text": text})
}

func (d *webDriver) click(el string) { d.do("POST", d.s("/element/"+el+"/click"), map[string]any{}) }

func (d *webDriver) text(el string) string {
	var s string
	json.Unmarshal(d.do("GET", d.s("/element/"+el+"/text"), nil), &s)
	return s
}

func (d *webDriver) attr(el, name string) string {
	var s string
	json.Unmarshal(d.do("GET", d.s("/element/"+el+"/attribute/"+name), nil), &s)
	return s
}

func (d *webDriver) script(js string) string {
	var s string
	json.Unmarshal(d.do("POST", d.s("/execute/sync"), map[string]any{"script": js, "args": []any{}}), &s)
	return s
}

func (d *webDriver) url() string {
	var s string
	json.Unmarshal(d.do("GET", d.s("/url"), nil), &s)
	return s
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startChromium starts chromedriver and a headless Chromium session.
func startChromium(t *testing.T) *webDriver {
	t.Helper()
	chromium := testenv.Tool(t, "chromium")
	driver := testenv.Tool(t, "chromedriver")
	port := freePort(t)
	cmd := exec.Command(driver, fmt.Sprintf("--port=%d", port), "--allowed-ips=127.0.0.1")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &webDriver{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port), hc: &http.Client{Timeout: 60 * time.Second}}
	t.Cleanup(func() {
		if d.session != "" {
			req, _ := http.NewRequest("DELETE", d.base+"/session/"+d.session, nil)
			if resp, err := d.hc.Do(req); err == nil {
				resp.Body.Close()
			}
		}
		cmd.Process.Kill()
		cmd.Wait()
	})
	for deadline := time.Now().Add(15 * time.Second); ; {
		resp, err := http.Get(d.base + "/status")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("chromedriver did not start: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome",
		"goog:chromeOptions": map[string]any{
			"binary": chromium,
			"args": []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
				"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
				"--user-data-dir=" + t.TempDir(), "--window-size=1280,1100"},
		},
	}}}
	var sess struct {
		SessionID string `json:"sessionId"`
	}
	if err := json.Unmarshal(d.do("POST", "/session", caps), &sess); err != nil || sess.SessionID == "" {
		t.Fatalf("no session: %v", err)
	}
	d.session = sess.SessionID
	return d
}

// TestHelpdeskChromium drives the helpdesk page in headless Chromium: sign
// in with the keyboard, type a user, enroll, read the QR back from the
// page's image, compute the code, confirm it, and see the credential
// verified through the API.
func TestHelpdeskChromium(t *testing.T) {
	h := newHDServer(t, openTestSQLite(t), func(c *Config) { c.Now = time.Now })
	d := startChromium(t)
	const user = "web.user@example.com"

	d.open(h.url + "/helpdesk")
	secret := d.find("#secret")
	if got := d.script("return document.activeElement.id"); got != "secret" {
		t.Errorf("focus on the sign-in page is on %q, want the token field", got)
	}
	d.typeInto(secret, hdAdminToken+"\uE007") // Enter submits the form
	d.typeInto(d.find("#user"), user+"\uE007")
	d.find("#no-credentials")
	d.typeInto(d.find("#cred-name"), "Browser")
	d.click(d.find("#enroll"))

	img := d.find("img#qr")
	src := d.attr(img, "src")
	b64, ok := strings.CutPrefix(src, "data:image/png;base64,")
	if !ok {
		t.Fatalf("QR src is %.40q", src)
	}
	png, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	texts, err := qr.Decode(png)
	if err != nil || len(texts) != 1 {
		t.Fatalf("decoding the page's QR: %v %v", texts, err)
	}
	k, err := otpauth.Parse(texts[0])
	if err != nil {
		t.Fatal(err)
	}
	if k.Account != user {
		t.Errorf("QR account %q", k.Account)
	}
	if got := strings.Join(strings.Fields(d.text(d.find("#secret"))), ""); got != k.Secret.Base32() {
		t.Error("the secret in words differs from the QR's")
	}
	if w := d.script("return String(document.getElementById('qr').getBoundingClientRect().width)"); len(w) < 3 {
		t.Errorf("the QR is only %s px wide", w)
	}
	if got := d.script("return document.activeElement.id"); got != "code" {
		t.Errorf("focus on the QR screen is on %q, want the code field", got)
	}
	// The countdown script ran under the page's Content-Security-Policy.
	if cd := d.text(d.find("#countdown")); !regexp.MustCompile(`expires in 1[45]:\d\d`).MatchString(cd) {
		t.Errorf("countdown reads %q", cd)
	}

	// A wrong code first: the page says so and offers the same QR again.
	d.typeInto(d.find("#code"), "000000\uE007")
	msg := d.text(d.find("#message"))
	if !strings.Contains(msg, "not accepted") {
		t.Errorf("after a wrong code the page says %q", msg)
	}
	g, _ := k.Generator()
	d.typeInto(d.find("#code"), g.At(time.Now()))
	d.click(d.find("#confirm"))
	if got := d.text(d.find("#verified-message")); !strings.Contains(got, "verified") {
		t.Errorf("confirmation page says %q", got)
	}
	status, body := h.do(t, "GET", "/api/v1/users/"+user+"/credentials", hdAdminToken, nil)
	var list struct {
		Credentials []struct {
			Name     string `json:"name"`
			Verified bool   `json:"verified"`
		} `json:"credentials"`
	}
	json.Unmarshal(body, &list)
	if status != http.StatusOK || len(list.Credentials) != 1 || !list.Credentials[0].Verified || list.Credentials[0].Name != "Browser" {
		t.Fatalf("API after the browser enrollment: %d %s", status, body)
	}

	// Back to the list with the keyboard-reachable link; sign out.
	d.click(d.find("#back"))
	if got := d.text(d.find("td.verified")); got != "Yes" {
		t.Errorf("listed as verified: %q", got)
	}

	// A pairing link for the verified credential: its QR holds the link
	// the page prints, and the link pairs; the device is then listed and
	// revoked from the page.
	d.find("#no-devices")
	d.click(d.find("button.pairing-link"))
	plink := d.text(d.find("#pairing-link"))
	if !strings.HasPrefix(plink, h.url+"/pair#") {
		t.Fatalf("pairing link %q", plink)
	}
	png, err = base64.StdEncoding.DecodeString(strings.TrimPrefix(d.attr(d.find("img#qr"), "src"), "data:image/png;base64,"))
	if err != nil {
		t.Fatal(err)
	}
	if texts, err := qr.Decode(png); err != nil || len(texts) != 1 || texts[0] != plink {
		t.Errorf("the pairing QR decodes to %q (%v), the page prints %q", texts, err, plink)
	}
	if got := d.text(d.find("#pair-command")); got != "latchkey pair '"+plink+"'" {
		t.Errorf("the command reads %q", got)
	}
	if cd := d.text(d.find("#countdown")); !regexp.MustCompile(`pairing link expires in (10:00|9:[0-5]\d)`).MatchString(cd) {
		t.Errorf("pairing countdown reads %q", cd)
	}
	d.shot("pairing-link")
	tok := plink[strings.Index(plink, "#")+1:]
	pub, _ := newDeviceKey(t)
	// The confirmation used this step's code; the next step's is fresh.
	status, body = h.do(t, "POST", "/api/v1/pair", "", map[string]string{"token": tok, "code": g.At(time.Now().Add(30 * time.Second)), "public_key": b64url(pub)})
	var paired pairedResponse
	if json.Unmarshal(body, &paired); status != http.StatusOK || paired.Device == "" {
		t.Fatalf("pairing with the page's link: %d %s", status, body)
	}
	d.click(d.find("#back"))
	dev := d.find(`#devices tr[data-id="` + paired.Device + `"]`)
	if got := d.text(dev); !strings.Contains(got, paired.Device[:8]) || !strings.Contains(got, "Browser") {
		t.Errorf("the device's row reads %q", got)
	}
	d.shot("devices")
	// With Rename, Pairing link and Revoke… the credentials table still
	// fits the page's column (its actions wrap).
	if got := d.script("var m = document.querySelector('main').getBoundingClientRect(), c = document.getElementById('credentials').getBoundingClientRect(); return c.right <= m.right ? 'fits' : 'table ends at ' + c.right + ', main at ' + m.right"); got != "fits" {
		t.Errorf("credentials table: %s", got)
	}
	d.click(d.find(`#devices tr[data-id="` + paired.Device + `"] a.danger`))
	d.click(d.find("#revoke-device"))
	d.find("#no-devices")
	if got := d.text(d.find("#message")); !strings.Contains(got, "device was revoked") {
		t.Errorf("after revoking the device the page says %q", got)
	}
	if _, body := h.do(t, "GET", "/api/v1/users/"+user+"/devices", hdAdminToken, nil); strings.Contains(string(body), paired.Device) {
		t.Error("the device is still paired")
	}

	// The QR can carry an enrollment link instead: Latchkey redeems it and
	// the open page sees the confirmation by itself.
	d.click(d.find(`input[name="qr"][value="link"]`))
	d.click(d.find("#enroll"))
	link := d.text(d.find("#enroll-link"))
	if !strings.HasPrefix(link, h.url+"/enroll#") {
		t.Fatalf("enrollment link %q", link)
	}
	if _, err := enroll.Enroll(context.Background(), enroll.Client{}, link, &memSaver{}, enroll.Options{}); err != nil {
		t.Fatal(err)
	}
	st := d.find("#link-status")
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(d.text(st), "confirmed"); {
		if time.Now().After(deadline) {
			t.Fatalf("the page never saw the confirmation: %q", d.text(st))
		}
		time.Sleep(200 * time.Millisecond)
	}

	// An admin's header links to the OAuth clients: listed, no secret.
	status, body = h.do(t, "POST", "/api/v1/clients", hdAdminToken, map[string]any{"name": "Web shop", "grant_types": []string{"client_credentials"}})
	var cl struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	if err := json.Unmarshal(body, &cl); status != http.StatusCreated || err != nil || cl.Secret == "" {
		t.Fatalf("creating a client: %d %s", status, body)
	}
	d.click(d.find("#nav-clients"))
	row := d.find(`#clients tr[data-id="` + cl.ID + `"]`)
	if got := d.text(row); !strings.Contains(got, "Web shop") || !strings.Contains(got, "client_credentials") || !strings.Contains(got, "client_secret_basic") {
		t.Errorf("the client's row reads %q", got)
	}
	if strings.Contains(d.script("return document.documentElement.outerHTML"), cl.Secret) {
		t.Error("the clients page holds the client's secret")
	}
	d.shot("clients")

	d.click(d.find("header form button"))
	d.find("#login-form")
}

// shots is where the Chromium tests save screenshots of the pages they
// check, to look at: go test ./server -run Chromium -shots DIR.
var shots = flag.String("shots", "", "save Chromium screenshots into `DIR`")

// shot saves a screenshot as DIR/name.png when -shots is set.
func (d *webDriver) shot(name string) {
	d.t.Helper()
	if *shots == "" {
		return
	}
	var b64 string
	json.Unmarshal(d.do("GET", d.s("/screenshot"), nil), &b64)
	png, err := base64.StdEncoding.DecodeString(b64)
	if err == nil {
		err = os.WriteFile(filepath.Join(*shots, name+".png"), png, 0o644)
	}
	if err != nil {
		d.t.Errorf("screenshot %s: %v", name, err)
	}
}

// resize sets the browser's viewport (the window less its frame, which
// headless Chromium counts too) and checks that it took.
func (d *webDriver) resize(w, h int) {
	d.t.Helper()
	d.do("POST", d.s("/window/rect"), map[string]int{"width": w, "height": h})
	var frame struct{ W, H int }
	json.Unmarshal(d.do("POST", d.s("/execute/sync"), map[string]any{"script": "return {W: outerWidth - innerWidth, H: outerHeight - innerHeight}", "args": []any{}}), &frame)
	d.do("POST", d.s("/window/rect"), map[string]int{"width": w + frame.W, "height": h + frame.H})
	if got, want := d.script("return innerWidth + 'x' + innerHeight"), fmt.Sprintf("%dx%d", w, h); got != want {
		d.t.Fatalf("viewport is %s, want %s", got, want)
	}
}

// outside names the elements (CSS selectors) that are missing or not
// wholly inside the viewport, and says so if the page is scrolled or
// larger than the viewport (it would scroll).
func (d *webDriver) outside(css ...string) []string {
	d.t.Helper()
	sel, _ := json.Marshal(css)
	var out []string
	v := d.do("POST", d.s("/execute/sync"), map[string]any{"script": `
		var out = [];
		if (scrollX !== 0 || scrollY !== 0) { out.push("page scrolled to " + scrollX + "," + scrollY); }
		var de = document.documentElement;
		if (de.scrollHeight > innerHeight || de.scrollWidth > innerWidth) { out.push("page is " + de.scrollWidth + "x" + de.scrollHeight); }
		arguments[0].forEach(function (s) {
			var el = document.querySelector(s);
			if (!el) { out.push(s + " missing"); return; }
			var r = el.getBoundingClientRect();
			if (r.width === 0 || r.height === 0 || r.left < 0 || r.top < 0 || r.right > innerWidth || r.bottom > innerHeight) {
				out.push(s + " at " + [r.left, r.top, r.right, r.bottom].map(Math.round).join(","));
			}
		});
		return out;`, "args": []any{json.RawMessage(sel)}})
	json.Unmarshal(v, &out)
	return out
}

// TestHelpdeskPageFitsChromium: on a 1366x768 display the QR screen shows
// the QR, the key and the code field whole without scrolling, on load and
// after a wrong code, whose message stands beside the field.
func TestHelpdeskPageFitsChromium(t *testing.T) {
	h := newHDServer(t, openTestSQLite(t), func(c *Config) { c.Now = time.Now })
	d := startChromium(t)
	d.resize(1366, 768)

	d.open(h.url + "/")
	d.shot("index-1366x768")
	d.click(d.find("#helpdesk-link"))
	d.find("#token-hint")
	d.shot("login-1366x768")
	d.typeInto(d.find("#secret"), hdAdminToken+"\uE007")
	d.typeInto(d.find("#user"), "fit.user@example.com\uE007")
	d.click(d.find("#enroll"))
	d.find("img#qr")
	d.shot("qr-1366x768")
	if bad := d.outside("#qr", "#secret", "#code", "#confirm"); len(bad) > 0 {
		t.Errorf("on load, outside the 1366x768 viewport: %v", bad)
	}
	if got := d.script("return document.activeElement.id"); got != "code" {
		t.Errorf("focus is on %q, want the code field", got)
	}

	d.typeInto(d.find("#code"), "000000\uE007")
	msg := d.find("#message")
	if !strings.Contains(d.text(msg), "not accepted") {
		t.Fatalf("after a wrong code the page says %q", d.text(msg))
	}
	d.shot("qr-wrong-code-1366x768")
	if bad := d.outside("#qr", "#secret", "#code", "#confirm", "#message"); len(bad) > 0 {
		t.Errorf("after a wrong code, outside the 1366x768 viewport: %v", bad)
	}
	if got := d.script("return document.getElementById('confirm-form').contains(document.getElementById('message')) ? 'in form' : 'elsewhere'"); got != "in form" {
		t.Errorf("the wrong-code message is %s, not beside the code field", got)
	}
	if got := d.attr(d.find("#code"), "aria-describedby"); !strings.Contains(got, "message") {
		t.Errorf("the code field is not described by the message: %q", got)
	}

	// A pairing link fits too.
	id, _ := h.verifiedCred(t, "fit.user@example.com")
	d.open(h.url + "/helpdesk?user=fit.user%40example.com")
	d.click(d.find(`tr[data-id="` + id + `"] button.pairing-link`))
	d.find("#pairing-link")
	d.shot("pairing-link-1366x768")
	if bad := d.outside("#qr", "#pair-command", "#pair-desktop", "#pairing-link", "#countdown", "#back"); len(bad) > 0 {
		t.Errorf("pairing link, outside the 1366x768 viewport: %v", bad)
	}

	// Link mode: the QR and the link fit too.
	d.open(h.url + "/helpdesk?user=fit.user%40example.com")
	d.click(d.find(`input[name="qr"][value="link"]`))
	d.click(d.find("#enroll"))
	d.find("#enroll-link")
	d.shot("qr-link-1366x768")
	if bad := d.outside("#qr", "#enroll-link", "#link-status", "#countdown"); len(bad) > 0 {
		t.Errorf("link mode, outside the 1366x768 viewport: %v", bad)
	}
}
