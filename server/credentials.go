package server

import (
	"golang.org/x/text/unicode/norm"

	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
)

// cleanUser is how every face takes a user id from input: trimmed and
// in Unicode NFC, so that one name typed two ways is one user.
func cleanUser(u string) string {
	return norm.NFC.String(strings.TrimSpace(u))
}

// checkUser validates a user id after cleanUser: it refuses control,
// format (U+200B, U+FEFF...) and direction-changing (U+202E, U+2066...)
// characters, which would make two ids look alike or a log line lie.
func checkUser(u string) error {
	if u == "" || len(u) > 256 || !utf8.ValidString(u) {
		return fmt.Errorf("%w: user must be 1..256 bytes of UTF-8", ErrInvalidInput)
	}
	if u != strings.TrimSpace(u) || !norm.NFC.IsNormalString(u) {
		return fmt.Errorf("%w: user must be trimmed and in Unicode NFC", ErrInvalidInput)
	}
	for _, r := range u {
		if unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Bidi_Control, unicode.Zl, unicode.Zp) {
			return fmt.Errorf("%w: user must not contain control, invisible or direction-changing characters", ErrInvalidInput)
		}
	}
	return nil
}

func checkName(n string) error {
	if len(n) > 128 || !utf8.ValidString(n) {
		return fmt.Errorf("%w: name must be at most 128 bytes of UTF-8", ErrInvalidInput)
	}
	for _, r := range n {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: name must not contain control characters", ErrInvalidInput)
		}
	}
	return nil
}

// EnrollRequest describes a new credential; zero fields take the
// server's CredentialPolicy and issuer.
type EnrollRequest struct {
	// Name describes the credential ("Phone"); it defaults to the issuer.
	Name string `json:"name,omitempty"`
	// Label is the account name shown in authenticator apps; empty means
	// the user id.
	Label        string `json:"label,omitempty"`
	Algorithm    string `json:"algorithm,omitempty"`
	Digits       int    `json:"digits,omitempty"`
	Period       int    `json:"period,omitempty"`
	SecretLength int    `json:"secret_length,omitempty"`
	Issuer       string `json:"issuer,omitempty"`
	// Secret (base32) or OTPAuthURI imports a secret the caller holds
	// (a migration from another system) instead of generating one.
	Secret     string `json:"secret,omitempty"`
	OTPAuthURI string `json:"otpauth_uri,omitempty"`
	// Verified marks an imported credential verified at once (one
	// already in use); otherwise it is confirmed with a code.
	Verified bool `json:"verified,omitempty"`
	// QR set to false skips drawing the QR code: a caller that shows the
	// secret or the enrollment link another way saves the time, and the
	// QR stays at .../{id}/qr.png while the credential is unverified.
	// Absent means true.
	QR *bool `json:"qr,omitempty"`
}

// Imported reports whether the request brings its own secret.
func (r EnrollRequest) Imported() bool { return r.Secret != "" || r.OTPAuthURI != "" }

// Enrollment is a new credential as shown once to the helpdesk. An
// imported credential's Enrollment holds no secret, URI or QR: the
// caller has them already.
type Enrollment struct {
	ID       string     `json:"id"`
	Secret   otp.Secret `json:"-"`
	URI      string     `json:"-"`
	QR       []byte     `json:"-"` // nil when the request asked for no QR
	Expires  time.Time  `json:"expires"`
	Imported bool       `json:"-"`
	Verified bool       `json:"-"`
}

// CreateCredential issues a new TOTP credential for user: a random
// secret (CredentialPolicy's length unless the request sets one) or the
// imported one, sealed and committed before this returns. It starts
// unverified unless an imported one is marked verified. actor names who
// asked (for the audit log). The returned Enrollment holds the only
// copy of a generated secret outside the store.
func (s *Server) CreateCredential(ctx context.Context, user string, req EnrollRequest, actor string) (*Enrollment, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	if err := checkName(req.Name); err != nil {
		return nil, err
	}
	if err := checkName(req.Issuer); err != nil {
		return nil, err
	}
	cp, err := s.cfg.Credentials.params(req)
	if err != nil {
		return nil, err
	}
	defer cp.secret.Wipe()
	if strings.Contains(cp.issuer, ":") {
		// The otpauth label is "issuer:account"; apps would split there.
		return nil, fmt.Errorf("%w: issuer must not contain ':'", ErrInvalidInput)
	}
	if cp.issuer == "" {
		cp.issuer = s.cfg.Issuer
	}
	name := strings.TrimSpace(req.Name)
	if name == "" {
		name = cp.issuer
	}
	imported := req.Imported()
	secret := cp.secret
	if !imported {
		if secret, err = otp.NewSecretSize(cp.secretLen); err != nil {
			return nil, err
		}
	}
	now := s.now()
	id := randomID(10)
	sealed, err := s.keys.Seal(secret, user, id)
	if err != nil {
		return nil, err
	}
	c := Credential{ID: id, User: user, Name: name, Label: cp.label, Issuer: cp.issuer, Algorithm: cp.alg.String(), Digits: cp.digits,
		Period: cp.period, Secret: sealed, Created: now, Expires: now.Add(s.cfg.EnrollTTL), LastStep: -1}
	outcome := "created"
	if imported {
		outcome = "imported"
		if req.Verified {
			c.Verified, c.Expires, outcome = true, time.Time{}, "imported_verified"
		}
	}
	e := &Enrollment{ID: id, Expires: c.Expires, Imported: imported, Verified: c.Verified}
	if !imported {
		key := &otpauth.Key{Type: otp.TOTP, Issuer: c.Issuer, Account: c.Account(), Secret: secret, Algorithm: cp.alg, Digits: c.Digits, Period: c.Period}
		e.Secret, e.URI = secret, key.String()
		if req.QR == nil || *req.QR {
			if e.QR, err = s.qr.PNG(e.URI); err != nil {
				return nil, err
			}
		}
	}
	ev := Event{Time: now, User: user, Credential: id, Client: actor, Action: "enroll", Outcome: outcome}
	if err := s.store.CreateCredential(ctx, c, ev); err != nil {
		return nil, err
	}
	s.metrics.enrollments.Inc()
	s.log.InfoContext(ctx, "credential created", "user", user, "credential", id, "algorithm", c.Algorithm, "digits", c.Digits,
		"period", c.Period, "imported", imported, "verified", c.Verified)
	return e, nil
}

// PendingQR returns the QR PNG of an unverified, unexpired credential.
func (s *Server) PendingQR(ctx context.Context, user, id string) ([]byte, error) {
	c, err := s.pending(ctx, user, id)
	if err != nil {
		return nil, err
	}
	secret, err := s.keys.Open(c.Secret, c.User, c.ID)
	if err != nil {
		return nil, err
	}
	defer secret.Wipe()
	alg, _ := otp.ParseAlgorithm(c.Algorithm)
	key := &otpauth.Key{Type: otp.TOTP, Issuer: c.Issuer, Account: c.Account(), Secret: secret, Algorithm: alg, Digits: c.Digits, Period: c.Period}
	return s.qr.PNG(key.String())
}

// pending returns an unverified credential that has not expired.
func (s *Server) pending(ctx context.Context, user, id string) (Credential, error) {
	c, err := s.store.Credential(ctx, user, id)
	if err != nil {
		return Credential{}, err
	}
	if c.Verified {
		return Credential{}, ErrAlreadyVerified
	}
	if !c.Expires.After(s.now()) {
		return Credential{}, ErrNotFound
	}
	return c, nil
}

// DeleteCredential removes a credential of user (verified or not).
func (s *Server) DeleteCredential(ctx context.Context, user, id, actor string) error {
	defer s.gens.drop(id)
	if err := s.store.DeleteCredential(ctx, user, id); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "credential deleted", "user", user, "credential", id)
	return s.store.Audit(ctx, Event{Time: s.now(), User: user, Credential: id, Client: actor, Action: "delete", Outcome: "ok"})
}

// SweepExpired deletes unverified credentials whose enrollment window
// has passed; Run calls it every minute.
func (s *Server) SweepExpired(ctx context.Context) (int, error) {
	return s.store.DeleteExpired(ctx, s.now())
}
