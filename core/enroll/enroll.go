// Package enroll is Latchkey's enrollment client. It redeems a single-use
// enrollment link from a Latchkey server, stores the account through
// core/store, computes the current code and confirms it with the server,
// so that the credential ends verified without anyone typing a code:
//
//	acc, err := enroll.Enroll(ctx, enroll.Client{}, "https://auth.example.com/enroll#TOKEN", st, enroll.Options{})
//
// A link is https://HOST/enroll#TOKEN: the token rides in the fragment,
// which HTTP clients never send, and is posted in a JSON body instead, so
// it stays out of server logs. Links and servers must be https, except
// plain http to this computer, and redirects are never followed. A reused, expired or wrong link fails with
// ErrInvalidLink and nothing else: the server tells them apart for no one.
//
// Admin is the helpdesk side of the same server's API (create, list,
// confirm, rename and delete credentials with the admin token), used by
// the desktop Helpdesk view. ClockSkew checks this computer's clock against
// the server's, which is the one codes are checked with.
package enroll

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"latchkey/core/device"
	"latchkey/core/label"
	"latchkey/core/otp"
	"latchkey/core/otpauth"
	"latchkey/core/store"
)

// Errors of enrollment. None of them holds a token, a secret or a code.
var (
	// ErrInvalidLink: the link is malformed, or the server refused it
	// (unknown, already used or expired; it does not say which).
	ErrInvalidLink = errors.New("the enrollment link is invalid, expired or already used; ask the helpdesk for a new one")
	// ErrCodeRejected: the server did not accept the code (wrong or
	// already used). Usually the computer's clock is off.
	ErrCodeRejected = errors.New("the server did not accept the code; check that this computer's clock is right")
	// ErrLocked: too many failed attempts for the user.
	ErrLocked = errors.New("too many failed attempts; try again later")
	// ErrUnauthorized: the admin token was refused.
	ErrUnauthorized = errors.New("the server refused the admin token")
	// ErrNotFound: no such credential (or it expired).
	ErrNotFound = errors.New("no such credential (or it expired)")
)

// maxResponse bounds what is read of a server's answer.
const maxResponse = 1 << 20

// tokenLen is the length of a link token: 32 bytes in unpadded base64url.
var tokenLen = base64.RawURLEncoding.EncodedLen(32)

// Link is a parsed enrollment link.
type Link struct {
	// Server is the server's base URL, e.g. "https://auth.example.com".
	Server string
	// Token is the single-use token. Never print or log it.
	Token string
}

// ParseLink reads an enrollment link (SERVER/enroll#TOKEN). Surrounding
// spaces and quotes are ignored. Errors never repeat the token.
func ParseLink(s string) (Link, error) {
	return parseLink(s, "/enroll", ErrInvalidLink)
}

// parseLink reads a link SERVER+path+"#"+TOKEN; its errors wrap invalid
// and add what is wrong, in one sentence.
func parseLink(s, path string, invalid error) (Link, error) {
	s = strings.Trim(strings.TrimSpace(s), `"'<>`)
	if len(s) > 4096 {
		return Link{}, fmt.Errorf("%w: too long", invalid)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return Link{}, fmt.Errorf("%w: not an http(s) link", invalid)
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return Link{}, fmt.Errorf("%w: %w", invalid, ErrInsecure)
	}
	base, ok := strings.CutSuffix(u.EscapedPath(), path)
	if !ok || u.RawQuery != "" {
		return Link{}, fmt.Errorf("%w: the link must end in %s#TOKEN", invalid, path)
	}
	tok := u.Fragment
	if len(tok) != tokenLen {
		return Link{}, fmt.Errorf("%w: the token is missing or cut short", invalid)
	}
	if _, err := base64.RawURLEncoding.DecodeString(tok); err != nil {
		return Link{}, fmt.Errorf("%w: the token is damaged", invalid)
	}
	return Link{Server: u.Scheme + "://" + u.Host + base, Token: tok}, nil
}

// Client talks to a Latchkey server for an end user. The zero value uses
// HTTPClient; whatever client is set, redirects are refused.
type Client struct {
	HTTP *http.Client
}

// Enrollment is a redeemed link: the account's key, once.
type Enrollment struct {
	User       string
	Credential string
	Key        *otpauth.Key
	Expires    time.Time
}

// apiError is a server's error body.
type apiError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// call posts body as JSON to base+path (with the bearer token when set)
// and decodes a 2xx answer into out. Other statuses become errors.
// The base must be https, or plain http to this computer; a redirect is
// an error, never followed.
func call(ctx context.Context, hc *http.Client, method, base, path, bearer string, body, out any) error {
	if bearer != "" {
		bearer = "Bearer " + bearer
	}
	return callAuth(ctx, hc, method, base, path, bearer, body, out)
}

// callAuth is call with a whole Authorization header value (a device's
// signature, see pair.go).
func callAuth(ctx context.Context, hc *http.Client, method, base, path, authorization string, body, out any) error {
	if err := checkBase(base); err != nil {
		return err
	}
	hc = safe(hc)
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := hc.Do(req)
	if errors.Is(err, ErrRedirect) {
		return ErrRedirect
	}
	if err != nil {
		// *url.Error repeats the URL, which never holds a token here.
		return fmt.Errorf("enroll: cannot reach the server: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("enroll: reading the answer: %w", err)
	}
	if resp.StatusCode/100 == 2 {
		if out == nil || resp.StatusCode == http.StatusNoContent {
			return nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("enroll: the server's answer is not valid JSON: %w", err)
		}
		return nil
	}
	var e apiError
	json.Unmarshal(data, &e)
	switch {
	case e.Error == "invalid_link" && strings.HasPrefix(path, "/api/v1/pair"):
		return ErrInvalidPairingLink
	case e.Error == "invalid_link":
		return ErrInvalidLink
	case e.Error == "invalid_code":
		return ErrCodeRejected
	case e.Error == "locked" || resp.StatusCode == http.StatusTooManyRequests:
		return ErrLocked
	case e.Error == "invalid_device":
		return ErrDeviceRefused
	case e.Error == "answer_refused" || e.Error == "expired_token" || e.Error == "code_required":
		return fmt.Errorf("%w: %s", ErrAnswerRefused, label.Line(clip(e.Description)))
	case resp.StatusCode == http.StatusUnauthorized:
		return ErrUnauthorized
	case e.Error == "not_found":
		return ErrNotFound
	case e.Description != "":
		return fmt.Errorf("enroll: the server answered %d: %s", resp.StatusCode, label.Line(clip(e.Description)))
	}
	return fmt.Errorf("enroll: the server answered %s", resp.Status)
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// Redeem spends the link and returns the account's key. It works once.
func (c Client) Redeem(ctx context.Context, l Link) (*Enrollment, error) {
	var out struct {
		User       string    `json:"user"`
		Credential string    `json:"credential_id"`
		URI        string    `json:"otpauth_uri"`
		Expires    time.Time `json:"expires"`
	}
	if err := call(ctx, c.HTTP, http.MethodPost, l.Server, "/api/v1/enroll", "", map[string]string{"token": l.Token}, &out); err != nil {
		return nil, err
	}
	k, err := otpauth.Parse(out.URI)
	if err != nil {
		return nil, fmt.Errorf("enroll: the server sent a bad key: %w", err)
	}
	if k.Type != otp.TOTP {
		return nil, errors.New("enroll: the server sent a key that is not TOTP")
	}
	return &Enrollment{User: out.User, Credential: out.Credential, Key: k, Expires: out.Expires}, nil
}

// Confirm sends the first code of a redeemed link's credential.
func (c Client) Confirm(ctx context.Context, l Link, code string) error {
	_, err := c.confirm(ctx, l, code, nil)
	return err
}

// confirm sends the first code and, with pub, the device key to pair.
func (c Client) confirm(ctx context.Context, l Link, code string, pub ed25519.PublicKey) (paired, error) {
	body := map[string]string{"token": l.Token, "code": code}
	if pub != nil {
		body["public_key"] = base64.RawURLEncoding.EncodeToString(pub)
	}
	var out paired
	err := call(ctx, c.HTTP, http.MethodPost, l.Server, "/api/v1/enroll/confirm", "", body, &out)
	return out, err
}

// Saver is the part of core/store that Enroll needs; *store.Store has it.
type Saver interface {
	Add(ctx context.Context, a store.Account, secret otp.Secret, force bool) (store.Account, error)
	Delete(ctx context.Context, id string) error
}

var _ Saver = (*store.Store)(nil)

// Options tune Enroll; the zero value is the default.
type Options struct {
	// Force stores the account even if one with the same issuer and name
	// exists.
	Force bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Enroll redeems link, stores the account in s, computes the current code
// and confirms it with the server. If the server refuses the code, the
// stored account is removed again, so nothing is left half done (the
// unverified credential expires on the server by itself).
func Enroll(ctx context.Context, c Client, link string, s Saver, o Options) (store.Account, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	l, err := ParseLink(link)
	if err != nil {
		return store.Account{}, err
	}
	e, err := c.Redeem(ctx, l)
	if err != nil {
		return store.Account{}, err
	}
	defer e.Key.Secret.Wipe()
	k := e.Key
	acc := store.Account{Issuer: k.Issuer, Name: k.Account, Type: k.Type, Algorithm: k.Algorithm, Digits: k.Digits, Period: k.Period}
	g, err := k.Generator()
	if err != nil {
		return store.Account{}, fmt.Errorf("enroll: %w", err)
	}
	saved, err := s.Add(ctx, acc, k.Secret, o.Force)
	if err != nil {
		return store.Account{}, fmt.Errorf("enroll: storing the account: %w", err)
	}
	// A store that keeps device keys pairs the account as it confirms
	// (pair.go): the server registers the public key with the first code.
	pairer, pairs := s.(Pairer)
	var seed []byte
	var pub ed25519.PublicKey
	if pairs {
		seed, pub = device.NewKey()
		defer clear(seed)
	}
	paired, err := c.confirm(ctx, l, g.At(o.Now()), pub)
	if err != nil {
		if derr := s.Delete(context.WithoutCancel(ctx), saved.ID); derr != nil {
			return store.Account{}, fmt.Errorf("enroll: %w (and removing the stored account failed: %v)", err, derr)
		}
		return store.Account{}, err
	}
	if pairs && paired.Device != "" {
		p := store.Pairing{Server: l.Server, User: paired.User, Credential: paired.Credential, Device: paired.Device}
		if err := pairer.SetPairing(ctx, saved.ID, p, seed); err != nil {
			return saved, fmt.Errorf("%w: %w", ErrNotPaired, err)
		}
		saved.Pairing = &p
	}
	return saved, nil
}
