package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
)

// Enrollment links let Latchkey enroll without a camera: creating a
// credential also returns a link
//
//	https://HOST/enroll#TOKEN
//
// whose token (256 bits from crypto/rand) is stored only as its SHA-256.
// The token sits in the fragment, which browsers and HTTP clients never
// send, so it stays out of access logs and Referer headers. Redeeming it
// (POST /api/v1/enroll {"token"}) returns the secret once, within
// LinkTTL; the redeemer then confirms with its first code (POST
// /api/v1/enroll/confirm {"token", "code"}), so the credential ends
// verified. A reused, expired or unknown token gets one answer that
// reveals nothing about which it was.

// LinkTTL is how long an enrollment link can be redeemed, at most: never
// longer than the credential it enrolls lives (Config.EnrollTTL).
const LinkTTL = 10 * time.Minute

// linkTTL is how long this server's links last: LinkTTL, or EnrollTTL
// when shorter. The helpdesk's countdown and the page a browser shows for
// a link both say this number.
func (s *Server) linkTTL() time.Duration { return min(LinkTTL, s.cfg.EnrollTTL) }

// minutes says d in words, "10 minutes".
func minutes(d time.Duration) string {
	switch {
	case d == time.Minute:
		return "1 minute"
	case d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}

// linkTokenBytes is the token's size: 256 bits, unguessable.
const linkTokenBytes = 32

// linkKeep is how long a link row stays after it expires: long enough to
// confirm a credential just after redeeming its link.
const linkKeep = time.Hour

// ErrInvalidLink is the one error of a link that cannot be redeemed or
// confirmed: unknown, already used, expired, or its credential is gone.
var ErrInvalidLink = errors.New("the enrollment link is invalid, expired or already used")

// Link is an enrollment link as stored: the token's hash, never the token.
type Link struct {
	Hash       []byte // SHA-256 of the token
	User       string
	Credential string
	Expires    time.Time
	Redeemed   bool
}

// hashToken returns the stored form of a link token.
func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// validToken reports whether token has the shape of a link token, so that
// garbage never reaches the database.
func validToken(token string) bool {
	if len(token) != base64.RawURLEncoding.EncodedLen(linkTokenBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil
}

// NewLink issues a single-use enrollment link token for an unverified
// credential of user. Any earlier link of that credential stops working.
func (s *Server) NewLink(ctx context.Context, user, id string) (token string, expires time.Time, err error) {
	b := make([]byte, linkTokenBytes)
	rand.Read(b) // never fails
	token = base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	expires = now.Add(s.linkTTL())
	l := Link{Hash: hashToken(token), User: user, Credential: id, Expires: expires}
	if err := s.store.CreateLink(ctx, l, now.Add(-linkKeep)); err != nil {
		return "", time.Time{}, err
	}
	return token, expires, nil
}

// LinkURL is the enrollment link for token on the server at base
// ("https://host:port").
func LinkURL(base, token string) string {
	return strings.TrimRight(base, "/") + "/enroll#" + token
}

// baseURL is the server's own URL: Config.PublicURL, else as the
// request reached it.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// secureCookies reports whether cookies set in answer to r must be
// Secure: under TLS, or behind a proxy whose public URL is https.
func (s *Server) secureCookies(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(s.cfg.PublicURL, "https://")
}

// enrollmentLink issues a link for a new credential and returns its URL
// and expiry.
func (s *Server) enrollmentLink(r *http.Request, user, id string) (string, time.Time, error) {
	token, expires, err := s.NewLink(r.Context(), user, id)
	if err != nil {
		return "", time.Time{}, err
	}
	return LinkURL(s.baseURL(r), token), expires, nil
}

// Redeemed is what redeeming a link returns: the credential's secret,
// once.
type Redeemed struct {
	User       string
	Credential string
	Key        *otpauth.Key
	Expires    time.Time // when the unverified credential expires
}

// RedeemLink marks the link of token used and returns its credential's
// key. Of concurrent redemptions exactly one succeeds; every failure is
// ErrInvalidLink.
func (s *Server) RedeemLink(ctx context.Context, token string) (*Redeemed, error) {
	if !validToken(token) {
		return nil, ErrInvalidLink
	}
	now := s.now()
	l, err := s.store.RedeemLink(ctx, hashToken(token), now)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrInvalidLink
	}
	if err != nil {
		return nil, err
	}
	c, err := s.pending(ctx, l.User, l.Credential)
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrAlreadyVerified) {
		return nil, ErrInvalidLink
	}
	if err != nil {
		return nil, err
	}
	secret, err := s.keys.Open(c.Secret, c.User, c.ID)
	if err != nil {
		return nil, err
	}
	alg, err := otp.ParseAlgorithm(c.Algorithm)
	if err != nil {
		return nil, fmt.Errorf("credential %s: %w", c.ID, err)
	}
	key := &otpauth.Key{Type: otp.TOTP, Issuer: c.Issuer, Account: c.Account(), Secret: secret, Algorithm: alg, Digits: c.Digits, Period: c.Period}
	s.audit.add(Event{Time: now, User: c.User, Credential: c.ID, Client: "link", Action: "link_redeem", Outcome: "ok"})
	s.log.InfoContext(ctx, "enrollment link redeemed", "user", c.User, "credential", c.ID)
	return &Redeemed{User: c.User, Credential: c.ID, Key: key, Expires: c.Expires}, nil
}

// ConfirmLink confirms the credential of a redeemed link with its first
// code, as ConfirmCredential does.
func (s *Server) ConfirmLink(ctx context.Context, token, code string) error {
	if !validToken(token) {
		return ErrInvalidLink
	}
	l, err := s.store.Link(ctx, hashToken(token))
	if errors.Is(err, ErrNotFound) || (err == nil && !l.Redeemed) {
		return ErrInvalidLink
	}
	if err != nil {
		return err
	}
	err = s.ConfirmCredential(ctx, l.User, l.Credential, code, "link")
	if errors.Is(err, ErrNotFound) {
		return ErrInvalidLink
	}
	return err
}

// linkRequest is the body of POST /api/v1/enroll and .../confirm.
type linkRequest struct {
	Token string `json:"token"`
	Code  string `json:"code,omitempty"`
	// PublicKey, on confirm, pairs the redeemer's device (pairing.go).
	PublicKey string `json:"public_key,omitempty"`
}

// redeemResponse holds the secret: it is answered once per link.
type redeemResponse struct {
	User       string    `json:"user"`
	Credential string    `json:"credential_id"`
	OTPAuthURI string    `json:"otpauth_uri"`
	Expires    time.Time `json:"expires"`
}

// writeLinkError answers ErrInvalidLink with one status and body whatever
// the cause, and everything else as writeError does.
func (s *Server) writeLinkError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrInvalidLink) {
		encode(w, http.StatusNotFound, apiError{"invalid_link", ErrInvalidLink.Error()})
		return
	}
	s.writeError(w, r, err)
}

func handleRedeemLink(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[linkRequest](w, r, s.cfg.MaxBody)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		red, err := s.RedeemLink(r.Context(), req.Token)
		if err != nil {
			s.writeLinkError(w, r, err)
			return
		}
		defer red.Key.Secret.Wipe()
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusOK, redeemResponse{User: red.User, Credential: red.Credential, OTPAuthURI: red.Key.String(), Expires: red.Expires.UTC()})
	})
}

func handleConfirmLink(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[linkRequest](w, r, s.cfg.MaxBody)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if !plausibleCode(req.Code) {
			s.writeError(w, r, ErrInvalidCode)
			return
		}
		var pub []byte
		if req.PublicKey != "" {
			if pub, err = decodeKey(req.PublicKey); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		if err := s.ConfirmLink(r.Context(), req.Token, req.Code); err != nil {
			s.writeLinkError(w, r, err)
			return
		}
		if pub == nil {
			encode(w, http.StatusOK, map[string]bool{"verified": true})
			return
		}
		d, err := s.pairLink(r.Context(), req.Token, pub)
		if err != nil {
			s.writeLinkError(w, r, err)
			return
		}
		encode(w, http.StatusOK, pairedResponse{Device: d.ID, User: d.User, Credential: d.Credential, Verified: true})
	})
}

// handleLinkPage answers a browser that opened an enrollment link: the
// token is in the fragment, so this page never sees it and spends nothing.
// It names the desktop app's add dialog and its "Link" tab (app/ui/add.go).
func handleLinkPage(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setPageHeaders(w)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "This is a one-time Latchkey enrollment link. Copy the whole link from the\n"+
			"address bar, then either\n\n"+
			"  - in the Latchkey desktop app, open \"Add account\" (the + button, or Ctrl+N),\n"+
			"    paste it on the \"Link\" tab and press Add; or\n"+
			"  - in a terminal, run\n\n"+
			"        latchkey enroll 'LINK'\n\n"+
			"The link works once, within %s of being made.\n", minutes(s.linkTTL()))
	})
}

// setPageHeaders sets the headers of every page the server renders for a
// browser: no caching, no framing, no outside resources, no referrer.
func setPageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self' data:; style-src 'self'; script-src 'self'; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
}
