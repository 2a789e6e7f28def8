package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"latchkey/assets"
	"latchkey/core/otp"
	"latchkey/core/otpauth"
)

// The helpdesk page (/helpdesk) is the web face of the admin API for
// people: sign in with the admin token or the helpdesk password, type a
// user, see their credentials, enroll one with a full-screen QR and
// confirm it with the user's first code, rename or revoke; give a
// verified credential a pairing link and revoke paired devices
// (helpdesk_pairing.go).
//
// Sessions live in the database: the cookie holds 256 random bits (in
// their one canonical base64url form), the database their SHA-256 with an
// expiry and the id of the key derived from the admin token and the
// helpdesk password. So sign-out ends a session on every instance, and
// changing the token or the password ends them all. Every form of a
// signed-in page carries a CSRF token bound to the session (an HMAC of
// its id); the sign-in form's is bound to a random per-browser cookie.
// The cookies are HttpOnly, SameSite=Strict and Secure under TLS (or an
// https Config.PublicURL).

const (
	sessionCookie = "latchkey_helpdesk"
	csrfCookie    = "latchkey_csrf"
	// SessionTTL is how long a helpdesk sign-in lasts.
	SessionTTL = 8 * time.Hour
	// maxForm bounds a helpdesk form body.
	maxForm = 16 << 10
)

// helpdesk serves the /helpdesk pages.
type helpdesk struct {
	s      *Server
	tmpl   *template.Template
	static http.Handler
	key    []byte // HMAC key of CSRF tokens
	// keyID names key in stored sessions opened with the helpdesk
	// password, adminKeyID in those opened with the admin token: the
	// stored session says which, so the admin-only pages (the OAuth
	// clients) need no other column.
	keyID, adminKeyID []byte
}

// Failed sign-ins slow further attempts from the same source address
// down: after loginFree consecutive failures each one closes the form for
// that address for a doubling delay (at most loginMaxDelay), so a
// helpdesk password cannot be guessed at speed, while an attacker slows
// only themselves. The count is in the database (per address, across
// instances and restarts) and resets on success.
const (
	loginFree     = 5
	loginMaxDelay = 5 * time.Minute
)

// loginDelay is how long the form closes after the n-th consecutive
// failure (zero while n <= loginFree).
func loginDelay(n int) time.Duration {
	if n <= loginFree {
		return 0
	}
	return min(time.Second<<min(n-loginFree-1, 20), loginMaxDelay)
}

// loginSource is the address a sign-in is throttled by: the peer's IP
// (a proxy's headers are not trusted), IPv6 by its /64, which one host
// usually holds whole.
func loginSource(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

func newHelpdesk(s *Server) *helpdesk {
	tmpl := template.Must(template.New("").Funcs(templateFuncs).ParseFS(assets.Web, "web/templates/*.html"))
	sub, err := fs.Sub(assets.Web, "web/static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	pw := sha256.Sum256([]byte(s.cfg.HelpdeskPassword))
	m := hmac.New(sha256.New, s.admin[:])
	m.Write([]byte("latchkey helpdesk session v1\x00"))
	m.Write(pw[:])
	key := m.Sum(nil)
	id := sha256.Sum256(append([]byte("latchkey helpdesk key id\x00"), key...))
	adminID := sha256.Sum256(append([]byte("latchkey helpdesk admin key id\x00"), key...))
	return &helpdesk{s: s, tmpl: tmpl, static: http.StripPrefix("/helpdesk/static/", http.FileServerFS(sub)),
		key: key, keyID: id[:16], adminKeyID: adminID[:16]}
}

func (h *helpdesk) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, h.key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// signIn checks a typed secret against the admin token and the helpdesk
// password, in constant time; admin reports that it was the admin token.
func (h *helpdesk) signIn(secret string) (ok, admin bool) {
	secret = strings.TrimSpace(secret)
	if secret == "" {
		return false, false
	}
	admin = h.s.checkAdmin(secret)
	ok = admin
	if pw := h.s.cfg.HelpdeskPassword; pw != "" {
		a, b := sha256.Sum256([]byte(secret)), sha256.Sum256([]byte(pw))
		ok = subtle.ConstantTimeCompare(a[:], b[:]) == 1 || ok
	}
	return ok, admin
}

func (h *helpdesk) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/helpdesk", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: h.s.secureCookies(r)}
}

// sessionIDLen is the length of a session id in bytes.
const sessionIDLen = 32

// newSession opens a session valid until now+SessionTTL and returns its
// cookie value; admin marks one opened with the admin token.
func (h *helpdesk) newSession(ctx context.Context, admin bool) (string, error) {
	id := make([]byte, sessionIDLen)
	rand.Read(id)
	hash := sha256.Sum256(id)
	keyID := h.keyID
	if admin {
		keyID = h.adminKeyID
	}
	hs := HelpdeskSession{Hash: hash[:], KeyID: keyID, Expires: h.s.now().Add(SessionTTL)}
	if err := h.s.store.CreateSession(ctx, hs, h.s.now()); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(id), nil
}

// parseSessionID decodes a session cookie value; only the canonical
// encoding of sessionIDLen bytes is accepted.
func parseSessionID(v string) ([]byte, bool) {
	if len(v) != base64.RawURLEncoding.EncodedLen(sessionIDLen) {
		return nil, false
	}
	id, err := base64.RawURLEncoding.Strict().DecodeString(v)
	if err != nil || len(id) != sessionIDLen || base64.RawURLEncoding.EncodeToString(id) != v {
		return nil, false
	}
	return id, true
}

// session returns the id of r's session if it is open: stored, unexpired
// and opened under the current admin token and helpdesk password.
func (h *helpdesk) session(r *http.Request) (string, bool) {
	sid, _, ok := h.sessionRole(r)
	return sid, ok
}

// sessionRole is session that also reports whether the session was
// opened with the admin token.
func (h *helpdesk) sessionRole(r *http.Request) (sid string, admin, ok bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", false, false
	}
	id, ok := parseSessionID(c.Value)
	if !ok {
		return "", false, false
	}
	hash := sha256.Sum256(id)
	hs, err := h.s.store.Session(r.Context(), hash[:])
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			h.s.log.ErrorContext(r.Context(), "helpdesk session", "err", err)
		}
		return "", false, false
	}
	admin = hmac.Equal(hs.KeyID, h.adminKeyID)
	if !(admin || hmac.Equal(hs.KeyID, h.keyID)) || !h.s.now().Before(hs.Expires) {
		return "", false, false
	}
	return c.Value, admin, true
}

// admin reports whether r's session is open and was opened with the
// admin token.
func (h *helpdesk) admin(r *http.Request) bool {
	_, admin, ok := h.sessionRole(r)
	return ok && admin
}

// signedIn reports whether r carries an open session.
func (h *helpdesk) signedIn(r *http.Request) bool {
	_, ok := h.session(r)
	return ok
}

// csrfToken returns the form token: bound to r's session when there is
// one, else to r's CSRF cookie, which it sets when r has none (or rotate
// is set).
func (h *helpdesk) csrfToken(w http.ResponseWriter, r *http.Request, rotate bool) string {
	if sid, ok := h.session(r); ok && !rotate {
		return base64.RawURLEncoding.EncodeToString(h.mac("csrf session", sid))
	}
	var v string
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == 43 && !rotate {
		v = c.Value
	} else {
		b := make([]byte, 32)
		rand.Read(b)
		v = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(w, h.cookie(r, csrfCookie, v, int((24*time.Hour).Seconds())))
	}
	return base64.RawURLEncoding.EncodeToString(h.mac("csrf", v))
}

// checkCSRF verifies a form's token against sid (the session's id) or,
// when sid is empty, the browser's CSRF cookie, and refuses requests a
// browser marks as cross-site.
func (h *helpdesk) checkCSRF(r *http.Request, sid string) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(r.PostFormValue("csrf"))
	if err != nil {
		return false
	}
	if sid != "" {
		return hmac.Equal(got, h.mac("csrf session", sid))
	}
	c, err := r.Cookie(csrfCookie)
	return err == nil && hmac.Equal(got, h.mac("csrf", c.Value))
}

// view is what every page template receives.
type view struct {
	Title, BodyClass string
	SignedIn         bool
	// Admin: the session was opened with the admin token (render sets
	// it), so the admin-only pages are offered.
	Admin         bool
	CSRF          string
	Error, Notice string
	// FieldError is a form's message shown beside its field (the QR
	// screen's code), not at the top of the page.
	FieldError  string
	User        string
	Recent      []string
	Credentials []credRow
	Clients     []clientRow
	// The QR screen and the confirmation pages.
	ID, Name, Issuer, Link, ExpiresAt string
	// QR is a data: URL of the QR PNG, built here, never from input.
	QR                                template.URL
	LinkMode                          bool
	QRSize, Digits, Period, Remaining int
	SecretGroups                      []string
	// Administration (helpdesk_admin.go): the enroll form's defaults, the
	// user's lock, a new set of recovery codes (shown once).
	Policy        CredentialPolicy
	LockedFor     string
	RecoveryCodes []string
	// The user's paired devices (helpdesk_pairing.go).
	Devices []deviceRow
}

// clientRow is an OAuth client as the clients page lists it: never a
// secret or its hash.
type clientRow struct {
	ID, Name, AuthMethod, Created string
	GrantTypes                    []string
}

type credRow struct {
	ID, Name, Created, LastUsed, Expires string
	Verified                             bool
}

func (h *helpdesk) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	if v.CSRF == "" {
		v.CSRF = h.csrfToken(w, r, false)
	}
	if v.SignedIn && !v.Admin {
		v.Admin = h.admin(r)
	}
	var buf bytes.Buffer
	if err := h.tmpl.ExecuteTemplate(&buf, name, v); err != nil {
		h.s.log.ErrorContext(r.Context(), "helpdesk template", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	setPageHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// problem renders a page that only says what went wrong.
func (h *helpdesk) problem(w http.ResponseWriter, r *http.Request, status int, title, user string) {
	h.render(w, r, status, "problem", &view{Title: title, SignedIn: h.signedIn(r), User: user})
}

// page wraps a GET page: signed-out visitors get the sign-in form.
func (h *helpdesk) page(next func(http.ResponseWriter, *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.signedIn(r) {
			h.render(w, r, http.StatusOK, "login", &view{Title: "Sign in"})
			return
		}
		next(w, r)
	})
}

// form wraps a POST form: it needs a valid CSRF token and a session.
func (h *helpdesk) form(next func(http.ResponseWriter, *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			h.problem(w, r, http.StatusBadRequest, "The form could not be read.", "")
			return
		}
		sid, ok := h.session(r)
		if !ok {
			h.render(w, r, http.StatusUnauthorized, "login", &view{Title: "Sign in", Error: "Your session ended. Sign in again."})
			return
		}
		if !h.checkCSRF(r, sid) {
			h.problem(w, r, http.StatusForbidden, "The form expired or came from another site. Reload the page and try again.", "")
			return
		}
		next(w, r)
	})
}

func seeOther(w http.ResponseWriter, r *http.Request, user, msg string) {
	q := url.Values{}
	if user != "" {
		q.Set("user", user)
	}
	if msg != "" {
		q.Set("msg", msg)
	}
	loc := "/helpdesk"
	if len(q) > 0 {
		loc += "?" + q.Encode()
	}
	http.Redirect(w, r, loc, http.StatusSeeOther)
}

// notices are the fixed messages a redirect can ask for by name, so that
// nothing from the URL is reflected as text.
var notices = map[string]string{
	"renamed":        "The credential was renamed.",
	"revoked":        "The credential was revoked.",
	"unlocked":       "The user was unlocked: the failure count starts again from zero.",
	"device-revoked": "The device was revoked: it no longer approves sign-ins.",
}

// handleIndex answers / (only /): a page that points to the helpdesk
// and the docs, rather than a bare 404.
func handleIndex(h *helpdesk) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.render(w, r, http.StatusOK, "index", &view{Title: "Enrollment server"})
	})
}

func handleHelpdeskLogin(h *helpdesk) http.Handler {
	return h.formNoSession(func(w http.ResponseWriter, r *http.Request) {
		source, now := loginSource(r), h.s.now()
		a, err := h.s.store.BeginLogin(r.Context(), source, now, loginFree, loginMaxDelay)
		if err != nil {
			h.fail(w, r, err, "")
			return
		}
		if !a.Allowed {
			wait := max(time.Second, a.RetryAt.Sub(now))
			setRetryAfter(w, wait)
			h.render(w, r, http.StatusTooManyRequests, "login", &view{Title: "Sign in",
				Error: "Too many failed sign-ins. Wait " + wait.Round(time.Second).String() + ", then try again."})
			return
		}
		ok, admin := h.signIn(r.PostFormValue("secret"))
		var closed time.Time
		if d := loginDelay(a.N); !ok && d > 0 {
			closed = now.Add(d)
		}
		if err := h.s.store.EndLogin(r.Context(), source, ok, closed); err != nil {
			h.fail(w, r, err, "")
			return
		}
		if !ok {
			h.s.audit.add(Event{Time: h.s.now(), Client: "helpdesk", Action: "helpdesk_login", Outcome: "refused"})
			h.render(w, r, http.StatusUnauthorized, "login", &view{Title: "Sign in", Error: "That token or password is not right."})
			return
		}
		h.s.audit.add(Event{Time: h.s.now(), Client: "helpdesk", Action: "helpdesk_login", Outcome: "ok"})
		sid, err := h.newSession(r.Context(), admin)
		if err != nil {
			h.fail(w, r, err, "")
			return
		}
		http.SetCookie(w, h.cookie(r, sessionCookie, sid, int(SessionTTL.Seconds())))
		h.csrfToken(w, r, true) // a new sign-in CSRF cookie for the next sign-in
		http.Redirect(w, r, "/helpdesk", http.StatusSeeOther)
	})
}

// formNoSession is form without the session check (the sign-in form).
func (h *helpdesk) formNoSession(next func(http.ResponseWriter, *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			h.problem(w, r, http.StatusBadRequest, "The form could not be read.", "")
			return
		}
		if sid, _ := h.session(r); !h.checkCSRF(r, "") && (sid == "" || !h.checkCSRF(r, sid)) {
			h.render(w, r, http.StatusForbidden, "login", &view{Title: "Sign in", Error: "The form expired. Try again."})
			return
		}
		next(w, r)
	})
}

func handleHelpdeskLogout(h *helpdesk) http.Handler {
	return h.form(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(sessionCookie); err == nil {
			if id, ok := parseSessionID(c.Value); ok {
				hash := sha256.Sum256(id)
				if err := h.s.store.DeleteSession(r.Context(), hash[:]); err != nil {
					h.fail(w, r, err, "")
					return
				}
			}
		}
		http.SetCookie(w, h.cookie(r, sessionCookie, "", -1))
		http.Redirect(w, r, "/helpdesk", http.StatusSeeOther)
	})
}

const timeLayout = "2006-01-02 15:04 MST"

func handleHelpdeskHome(h *helpdesk) http.Handler {
	return h.page(func(w http.ResponseWriter, r *http.Request) {
		v := &view{Title: "Helpdesk", SignedIn: true, Notice: notices[r.URL.Query().Get("msg")]}
		v.User = cleanUser(r.URL.Query().Get("user"))
		v.Recent = h.recentUsers(r.Context())
		if v.User == "" {
			h.render(w, r, http.StatusOK, "home", v)
			return
		}
		if err := checkUser(v.User); err != nil {
			v.Error, v.User = "That user name is not valid: at most 256 characters, no control characters.", ""
			h.render(w, r, http.StatusBadRequest, "home", v)
			return
		}
		v.Title = v.User
		cs, err := h.s.store.Credentials(r.Context(), v.User, h.s.now())
		if err != nil {
			h.fail(w, r, err, v.User)
			return
		}
		for _, c := range cs {
			row := credRow{ID: c.ID, Name: c.Name, Verified: c.Verified, Created: c.Created.UTC().Format(timeLayout)}
			if !c.LastUsed.IsZero() {
				row.LastUsed = c.LastUsed.UTC().Format(timeLayout)
			}
			if !c.Verified {
				row.Expires = c.Expires.UTC().Format(timeLayout)
			}
			v.Credentials = append(v.Credentials, row)
		}
		if err := h.adminView(r, v); err != nil {
			h.fail(w, r, err, v.User)
			return
		}
		if err := h.devicesView(r, v, cs); err != nil {
			h.fail(w, r, err, v.User)
			return
		}
		h.render(w, r, http.StatusOK, "home", v)
	})
}

// recentUsers suggests the users of the latest audit events.
func (h *helpdesk) recentUsers(ctx context.Context) []string {
	evs, err := h.s.store.AuditLog(ctx, "", 200)
	if err != nil {
		return nil
	}
	var out []string
	for _, ev := range evs {
		if ev.User != "" && !slices.Contains(out, ev.User) {
			out = append(out, ev.User)
			if len(out) == 20 {
				break
			}
		}
	}
	return out
}

// fail maps a service error to a page: the helpdesk's one place for it.
// A wrong code and a replayed one read the same.
func (h *helpdesk) fail(w http.ResponseWriter, r *http.Request, err error, user string) {
	var locked *LockedError
	switch {
	case errors.Is(err, ErrInvalidCode):
		h.problem(w, r, http.StatusBadRequest, "That code was not accepted.", user)
	case errors.As(err, &locked):
		h.problem(w, r, http.StatusTooManyRequests, "Too many wrong codes for this user. Wait a few minutes, then try again.", user)
	case errors.Is(err, ErrNotFound):
		h.problem(w, r, http.StatusNotFound, "That credential does not exist any more (an unconfirmed enrollment expires after a while). Start a new one.", user)
	case errors.Is(err, ErrAlreadyVerified):
		h.problem(w, r, http.StatusConflict, "That credential is already verified.", user)
	case errors.Is(err, ErrInvalidInput):
		h.problem(w, r, http.StatusBadRequest, "Check the form: "+strings.TrimPrefix(err.Error(), ErrInvalidInput.Error()+": ")+".", user)
	default:
		h.s.log.ErrorContext(r.Context(), "helpdesk request failed", "path", r.URL.Path, "err", err)
		h.problem(w, r, http.StatusInternalServerError, "Something went wrong on the server. Try again; if it persists, ask an administrator to read the server log.", user)
	}
}

// groups splits s into groups of four for reading aloud or typing.
func groups(s string) []string {
	var out []string
	for len(s) > 4 {
		out = append(out, s[:4])
		s = s[4:]
	}
	return append(out, s)
}

// qrView fills the QR screen of a pending credential: the otpauth URI as
// a QR with the secret in groups, or (link set) the enrollment link.
// png, when set, is the QR already drawn for that content.
func (h *helpdesk) qrView(c Credential, secret otp.Secret, link string, png []byte) (*view, error) {
	alg, err := otp.ParseAlgorithm(c.Algorithm)
	if err != nil {
		return nil, err
	}
	v := &view{Title: "Enroll " + c.User, BodyClass: "qr-screen", SignedIn: true, User: c.User, ID: c.ID, Name: c.Name,
		Issuer: c.Issuer, Digits: c.Digits, Period: c.Period}
	v.expires(c.Expires, h.s.now())
	content := link
	if link != "" {
		v.LinkMode, v.Link = true, link
	} else {
		key := &otpauth.Key{Type: otp.TOTP, Issuer: c.Issuer, Account: c.Account(), Secret: secret, Algorithm: alg, Digits: c.Digits, Period: c.Period}
		content = key.String()
		v.SecretGroups = groups(secret.Base32())
	}
	if png == nil {
		var err error
		if png, err = h.s.qr.PNG(content); err != nil {
			return nil, err
		}
	}
	v.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
	v.QRSize = 480
	return v, nil
}

// expires sets the QR screen's countdown to end at t.
func (v *view) expires(t, now time.Time) {
	v.ExpiresAt, v.Remaining = t.UTC().Format(timeLayout), max(0, int(t.Sub(now).Seconds()))
}

func handleHelpdeskEnroll(h *helpdesk) http.Handler {
	return h.form(func(w http.ResponseWriter, r *http.Request) {
		user := cleanUser(r.PostFormValue("user"))
		req, err := enrollForm(r)
		if err != nil {
			h.fail(w, r, err, user)
			return
		}
		e, err := h.s.CreateCredential(r.Context(), user, req, "helpdesk")
		if err != nil {
			h.fail(w, r, err, user)
			return
		}
		defer e.Secret.Wipe()
		var link string
		var linkExpires time.Time
		if r.PostFormValue("qr") == "link" {
			if link, linkExpires, err = h.s.enrollmentLink(r, user, e.ID); err != nil {
				h.fail(w, r, err, user)
				return
			}
		}
		c, err := h.s.store.Credential(r.Context(), user, e.ID)
		if err != nil {
			h.fail(w, r, err, user)
			return
		}
		var png []byte // CreateCredential drew the otpauth QR already
		if link == "" {
			png = e.QR
		}
		v, err := h.qrView(c, e.Secret, link, png)
		if err != nil {
			h.fail(w, r, err, user)
			return
		}
		if link != "" { // the link ends first (linkTTL <= EnrollTTL)
			v.expires(linkExpires, h.s.now())
		}
		v.CSRF = h.csrfToken(w, r, false)
		h.render(w, r, http.StatusOK, "enroll", v)
	})
}

func handleHelpdeskConfirm(h *helpdesk) http.Handler {
	return h.form(func(w http.ResponseWriter, r *http.Request) {
		user, id := r.PostFormValue("user"), r.PostFormValue("id")
		code := strings.ReplaceAll(strings.TrimSpace(r.PostFormValue("code")), " ", "")
		if len(code) > maxCodeLen {
			code = ""
		}
		err := ErrInvalidCode
		if code != "" {
			err = h.s.ConfirmCredential(r.Context(), user, id, code, "helpdesk")
		}
		if err == nil {
			c, _ := h.s.store.Credential(r.Context(), user, id)
			h.render(w, r, http.StatusOK, "done", &view{Title: "Enrollment confirmed", SignedIn: true, User: user, Name: c.Name})
			return
		}
		if !errors.Is(err, ErrInvalidCode) {
			h.fail(w, r, err, user)
			return
		}
		// Show the QR screen again with the reason, so the user can retry.
		c, perr := h.s.pending(r.Context(), user, id)
		if perr != nil {
			h.fail(w, r, perr, user)
			return
		}
		secret, perr := h.s.keys.Open(c.Secret, c.User, c.ID)
		if perr != nil {
			h.fail(w, r, perr, user)
			return
		}
		defer secret.Wipe()
		v, perr := h.qrView(c, secret, "", nil)
		if perr != nil {
			h.fail(w, r, perr, user)
			return
		}
		v.FieldError = "That code was not accepted. Wait for the next code in the app and type it; if it fails again, check that the device's clock is right."
		h.render(w, r, http.StatusBadRequest, "enroll", v)
	})
}

func handleHelpdeskRename(h *helpdesk) http.Handler {
	return h.form(func(w http.ResponseWriter, r *http.Request) {
		user, id := r.PostFormValue("user"), r.PostFormValue("id")
		name := strings.TrimSpace(r.PostFormValue("name"))
		if name == "" {
			h.fail(w, r, invalidf("a name is required"), user)
			return
		}
		if err := checkName(name); err != nil {
			h.fail(w, r, err, user)
			return
		}
		if err := h.s.store.RenameCredential(r.Context(), user, id, name); err != nil {
			h.fail(w, r, err, user)
			return
		}
		h.s.audit.add(Event{Time: h.s.now(), User: user, Credential: id, Client: "helpdesk", Action: "rename", Outcome: "ok"})
		seeOther(w, r, user, "renamed")
	})
}

func handleHelpdeskRevokeAsk(h *helpdesk) http.Handler {
	return h.page(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		c, err := h.s.store.Credential(r.Context(), q.Get("user"), q.Get("id"))
		if err != nil {
			h.fail(w, r, err, q.Get("user"))
			return
		}
		h.render(w, r, http.StatusOK, "revoke", &view{Title: "Revoke " + c.Name, SignedIn: true, User: c.User, ID: c.ID, Name: c.Name})
	})
}

func handleHelpdeskRevoke(h *helpdesk) http.Handler {
	return h.form(func(w http.ResponseWriter, r *http.Request) {
		user, id := r.PostFormValue("user"), r.PostFormValue("id")
		if err := h.s.DeleteCredential(r.Context(), user, id, "helpdesk"); err != nil {
			h.fail(w, r, err, user)
			return
		}
		seeOther(w, r, user, "revoked")
	})
}

// handleHelpdeskClients lists the OAuth clients (GET /api/v1/clients in
// words) for a session opened with the admin token: name, client_id,
// grants, token endpoint auth method, created; never a secret.
func handleHelpdeskClients(h *helpdesk) http.Handler {
	return h.page(func(w http.ResponseWriter, r *http.Request) {
		if !h.admin(r) {
			h.problem(w, r, http.StatusForbidden, "Only an admin sees the OAuth clients: sign in with the admin token.", "")
			return
		}
		cs, err := h.s.oidc.Clients(r.Context())
		if err != nil {
			h.fail(w, r, err, "")
			return
		}
		v := &view{Title: "OAuth clients", SignedIn: true, Admin: true, Clients: make([]clientRow, 0, len(cs))}
		for _, c := range cs {
			v.Clients = append(v.Clients, clientRow{ID: c.ID, Name: c.Name, GrantTypes: c.GrantTypes,
				AuthMethod: c.AuthMethod, Created: c.Created.UTC().Format(timeLayout)})
		}
		h.render(w, r, http.StatusOK, "clients", v)
	})
}

// handleHelpdeskStatus tells the QR screen whether Latchkey confirmed an
// enrollment link yet.
func handleHelpdeskStatus(h *helpdesk) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.signedIn(r) {
			encode(w, http.StatusUnauthorized, apiError{"unauthorized", "sign in to the helpdesk"})
			return
		}
		q := r.URL.Query()
		c, err := h.s.store.Credential(r.Context(), q.Get("user"), q.Get("id"))
		w.Header().Set("Cache-Control", "no-store")
		switch {
		case errors.Is(err, ErrNotFound):
			encode(w, http.StatusOK, map[string]bool{"verified": false, "expired": true})
		case err != nil:
			h.s.writeError(w, r, err)
		default:
			encode(w, http.StatusOK, map[string]bool{"verified": c.Verified, "expired": !c.Verified && !c.Expires.After(h.s.now())})
		}
	})
}

func handleHelpdeskStatic(h *helpdesk) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") { // files only, never a folder listing
			http.NotFound(w, r)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.static.ServeHTTP(w, r)
	})
}
