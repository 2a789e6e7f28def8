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

// EnrollRequest describes a new credential; zero fields take defaults
// (SHA1, 6 digits, 30 s, the server's issuer).
type EnrollRequest struct {
	Name      string `json:"name,omitempty"`
	Algorithm string `json:"algorithm,omitempty"`
	Digits    int    `json:"digits,omitempty"`
	Period    int    `json:"period,omitempty"`
	Issuer    string `json:"issuer,omitempty"`
	// QR set to false skips drawing the QR code: a caller that shows the
	// secret or the enrollment link another way saves the time, and the
	// QR stays at .../{id}/qr.png while the credential is unverified.
	// Absent means true.
	QR *bool `json:"qr,omitempty"`
}

// Enrollment is a new credential as shown once to the helpdesk.
type Enrollment struct {
	ID      string     `json:"id"`
	Secret  otp.Secret `json:"-"`
	URI     string     `json:"-"`
	QR      []byte     `json:"-"` // nil when the request asked for no QR
	Expires time.Time  `json:"expires"`
}

// CreateCredential issues a new unverified TOTP credential for user: a
// random secret of the hash's size, sealed and committed before this
// returns. actor names who asked (for the audit log). The returned
// Enrollment holds the only copy of the secret outside the store.
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
	if strings.Contains(req.Issuer, ":") {
		// The otpauth label is "issuer:account"; apps would split there.
		return nil, fmt.Errorf("%w: issuer must not contain ':'", ErrInvalidInput)
	}
	alg := otp.SHA1
	if req.Algorithm != "" {
		a, err := otp.ParseAlgorithm(req.Algorithm)
		if err != nil {
			return nil, fmt.Errorf("%w: algorithm must be SHA1, SHA256 or SHA512", ErrInvalidInput)
		}
		alg = a
	}
	if req.Digits == 0 {
		req.Digits = otp.DefaultDigits
	}
	if req.Digits < otp.MinDigits || req.Digits > otp.MaxDigits {
		return nil, fmt.Errorf("%w: digits must be 6, 7 or 8", ErrInvalidInput)
	}
	if req.Period == 0 {
		req.Period = otp.DefaultPeriod
	}
	if req.Period < 10 || req.Period > 300 {
		return nil, fmt.Errorf("%w: period must be 10..300 seconds (authenticator apps expect 30)", ErrInvalidInput)
	}
	issuer := strings.TrimSpace(req.Issuer)
	if issuer == "" {
		issuer = s.cfg.Issuer
	}
	name := strings.TrimSpace(req.Name)
	if name == "" {
		name = issuer
	}
	secret, err := otp.NewSecret(alg)
	if err != nil {
		return nil, err
	}
	now := s.now()
	id := randomID(10)
	sealed, err := s.keys.Seal(secret, user, id)
	if err != nil {
		return nil, err
	}
	c := Credential{ID: id, User: user, Name: name, Issuer: issuer, Algorithm: alg.String(), Digits: req.Digits,
		Period: req.Period, Secret: sealed, Created: now, Expires: now.Add(s.cfg.EnrollTTL), LastStep: -1}
	key := &otpauth.Key{Type: otp.TOTP, Issuer: issuer, Account: user, Secret: secret, Algorithm: alg, Digits: req.Digits, Period: req.Period}
	uri := key.String()
	var qr []byte
	if req.QR == nil || *req.QR {
		if qr, err = s.qr.PNG(uri); err != nil {
			return nil, err
		}
	}
	ev := Event{Time: now, User: user, Credential: id, Client: actor, Action: "enroll", Outcome: "created"}
	if err := s.store.CreateCredential(ctx, c, ev); err != nil {
		return nil, err
	}
	s.metrics.enrollments.Inc()
	s.log.InfoContext(ctx, "credential created", "user", user, "credential", id, "algorithm", c.Algorithm, "digits", c.Digits, "period", c.Period)
	return &Enrollment{ID: id, Secret: secret, URI: uri, QR: qr, Expires: c.Expires}, nil
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
	key := &otpauth.Key{Type: otp.TOTP, Issuer: c.Issuer, Account: user, Secret: secret, Algorithm: alg, Digits: c.Digits, Period: c.Period}
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
