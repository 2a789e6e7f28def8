package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"latchkey/server/oidc/grants/ciba"
)

// Pairing makes a user's Latchkey the device that approves CIBA
// sign-ins (server/oidc/grants/ciba). A device pairs in one of two ways:
//
//   - with an enrollment link: POST /api/v1/enroll/confirm also takes
//     {"public_key"}, and confirming the first code registers it;
//   - later, for a credential enrolled by QR or by hand, with a pairing
//     link the helpdesk issues for a verified credential
//     (POST /api/v1/users/{user}/credentials/{id}/pairing-link ->
//     https://HOST/pair#TOKEN): POST /api/v1/pair {"token", "code",
//     "public_key"} proves the device holds the secret with the current
//     code (replay rules and throttling apply) and registers the key.
//
// A pairing link is single use, lives LinkTTL, and is stored as its
// SHA-256 only, as an enrollment link is. A wrong code leaves it usable
// (the user's failure count grows) so that a typo does not need the
// helpdesk again.

// ErrInvalidPairingLink is every pairing link that cannot be used.
var ErrInvalidPairingLink = errors.New("the pairing link is invalid, expired or already used")

// PairingLinkURL is the pairing link for token on the server at base.
func PairingLinkURL(base, token string) string {
	return strings.TrimRight(base, "/") + "/pair#" + token
}

// NewPairingLink issues a pairing link token for a verified credential.
func (s *Server) NewPairingLink(ctx context.Context, user, id, actor string) (string, time.Time, error) {
	c, err := s.store.Credential(ctx, user, id)
	if err != nil {
		return "", time.Time{}, err
	}
	if !c.Verified {
		return "", time.Time{}, invalidf("the credential is not verified yet; pair it with its enrollment link")
	}
	b := make([]byte, linkTokenBytes)
	rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	l := Link{Hash: hashToken(token), User: user, Credential: id, Expires: now.Add(LinkTTL)}
	if err := s.store.CreatePairingLink(ctx, l, now.Add(-linkKeep)); err != nil {
		return "", time.Time{}, err
	}
	s.audit.add(Event{Time: now, User: user, Credential: id, Client: actor, Action: "pairing_link", Outcome: "issued"})
	return token, l.Expires, nil
}

// PairingInfo is what a pairing link is for, so that the device can pick
// the account it pairs.
type PairingInfo struct {
	User       string `json:"user"`
	Credential string `json:"credential_id"`
	Issuer     string `json:"issuer"`
	Name       string `json:"name"`
}

func (s *Server) pairingLink(ctx context.Context, token string) (Link, Credential, error) {
	if !validToken(token) {
		return Link{}, Credential{}, ErrInvalidPairingLink
	}
	l, err := s.store.PairingLink(ctx, hashToken(token), s.now())
	if errors.Is(err, ErrNotFound) {
		return Link{}, Credential{}, ErrInvalidPairingLink
	}
	if err != nil {
		return Link{}, Credential{}, err
	}
	c, err := s.store.Credential(ctx, l.User, l.Credential)
	if errors.Is(err, ErrNotFound) || (err == nil && !c.Verified) {
		return Link{}, Credential{}, ErrInvalidPairingLink
	}
	return l, c, err
}

// Pair redeems a pairing link: code must be the credential's current
// code, and pub becomes the credential's device key.
func (s *Server) Pair(ctx context.Context, token, code string, pub []byte) (ciba.Device, error) {
	l, _, err := s.pairingLink(ctx, token)
	if err != nil {
		return ciba.Device{}, err
	}
	if len(pub) != 32 {
		return ciba.Device{}, invalidf("public_key must be an Ed25519 public key (32 bytes, base64url)")
	}
	if err := s.checkCode(ctx, l.User, l.Credential, code, "pair"); err != nil {
		return ciba.Device{}, err
	}
	won, err := s.store.RedeemPairingLink(ctx, l.Hash, s.now())
	if err != nil {
		return ciba.Device{}, err
	}
	if !won {
		return ciba.Device{}, ErrInvalidPairingLink
	}
	return s.ciba.RegisterDevice(ctx, l.User, l.Credential, pub, "pair")
}

// checkCode verifies the current code of one verified credential of
// user, with the replay rules and throttling of Verify: it returns nil,
// ErrInvalidCode (wrong or replayed, told apart only in the audit log),
// or a *LockedError.
func (s *Server) checkCode(ctx context.Context, user, id, code, actor string) error {
	now := s.now()
	c, err := s.store.Credential(ctx, user, id)
	if err != nil {
		return err
	}
	if !c.Verified {
		return ErrNotFound
	}
	g, err := s.generator(c)
	if err != nil {
		return err
	}
	// One atomic step of the user's throttling, as Verify's: the lock is
	// checked, the code checked and a failure counted together.
	r, err := s.attempt(ctx, user, id, actor, now, func() (Check, error) {
		step, ok := g.Verify(code, now, s.cfg.Window)
		if !ok {
			return Check{}, nil
		}
		return Check{Credential: id, Step: int64(step),
			Event: Event{Time: now, User: user, Credential: id, Client: actor, Action: "verify", Outcome: OutcomeValid}}, nil
	})
	if err != nil {
		return err
	}
	outcome := OutcomeInvalid
	switch r.Outcome {
	case AttemptLocked:
		return &LockedError{Until: r.State.LockedUntil}
	case AttemptAccepted:
		return nil // its audit record was written with the step
	case AttemptReplayed:
		outcome = OutcomeReplayed
	}
	s.audit.add(Event{Time: now, User: user, Credential: id, Client: actor, Action: "verify", Outcome: outcome})
	return ErrInvalidCode
}

// deviceCode is ciba's CheckCode: checkCode, with its errors told to the
// device.
func (s *Server) deviceCode(ctx context.Context, user, id, code string) error {
	err := s.checkCode(ctx, user, id, code, "ciba")
	var locked *LockedError
	switch {
	case errors.Is(err, ErrInvalidCode), errors.Is(err, ErrNotFound):
		return &ciba.CodeError{Status: http.StatusBadRequest, Code: "invalid_code", Desc: "the code is wrong or was already used"}
	case errors.As(err, &locked):
		return &ciba.CodeError{Status: http.StatusTooManyRequests, Code: "locked", Desc: "too many failed attempts; try again later"}
	}
	return err
}

// newCIBA builds the CIBA service on the server's store and provider.
func (s *Server) newCIBA() (*ciba.Service, error) {
	return ciba.New(ciba.Config{Store: s.store, Provider: s.oidc, Now: s.now, Logger: s.log,
		Interval: s.cfg.CIBAInterval, MaxExpiry: s.cfg.CIBAMaxExpiry, MaxWait: s.cfg.RequestTimeout - 2*time.Second,
		MaxBody: s.cfg.MaxBody, CheckCode: s.deviceCode, InScope: s.inScope,
		Audit: func(ev ciba.Event) {
			s.audit.add(Event{Time: s.now(), User: ev.User, Credential: ev.Credential, Client: ev.Client, Action: ev.Action, Outcome: ev.Outcome})
			s.metrics.cibaEvent(ev.Action, ev.Outcome)
		}})
}

// CIBA returns the server's CIBA service.
func (s *Server) CIBA() *ciba.Service { return s.ciba }

func decodeKey(s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 32 {
		return nil, invalidf("public_key must be an Ed25519 public key (32 bytes, base64url)")
	}
	return b, nil
}

// pairRequest is the body of POST /api/v1/pair and /api/v1/pair/info.
type pairRequest struct {
	Token     string `json:"token"`
	Code      string `json:"code,omitempty"`
	PublicKey string `json:"public_key,omitempty"`
}

// pairedResponse tells a device what it paired with.
type pairedResponse struct {
	Device     string `json:"device_id"`
	User       string `json:"user"`
	Credential string `json:"credential_id"`
	Verified   bool   `json:"verified,omitempty"`
}

func (s *Server) writePairError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrInvalidPairingLink) {
		encode(w, http.StatusNotFound, apiError{"invalid_link", ErrInvalidPairingLink.Error()})
		return
	}
	s.writeError(w, r, err)
}

func handlePairInfo(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[pairRequest](w, r, s.cfg.MaxBody)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		_, c, err := s.pairingLink(r.Context(), req.Token)
		if err != nil {
			s.writePairError(w, r, err)
			return
		}
		encode(w, http.StatusOK, PairingInfo{User: c.User, Credential: c.ID, Issuer: c.Issuer, Name: c.Name})
	})
}

func handlePair(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[pairRequest](w, r, s.cfg.MaxBody)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		pub, err := decodeKey(req.PublicKey)
		if err == nil && !plausibleCode(req.Code) {
			err = ErrInvalidCode
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		d, err := s.Pair(r.Context(), req.Token, req.Code, pub)
		if err != nil {
			s.writePairError(w, r, err)
			return
		}
		encode(w, http.StatusOK, pairedResponse{Device: d.ID, User: d.User, Credential: d.Credential})
	})
}

// handlePairPage answers a browser that opened a pairing link.
func handlePairPage(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setPageHeaders(w)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("This is a Latchkey pairing link. Copy the whole link and run\n\n" +
			"    latchkey pair 'LINK'\n\n" +
			"on the computer whose Latchkey holds the account. The link works once, for ten minutes.\n"))
	})
}

func handleCreatePairingLink(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, id := r.PathValue("user"), r.PathValue("id")
		token, exp, err := s.NewPairingLink(r.Context(), user, id, actor(r.Context()))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusCreated, map[string]any{"pairing_link": PairingLinkURL(s.baseURL(r), token), "expires": exp.UTC()})
	})
}

// deviceView is a paired device as the admin API lists it.
type deviceView struct {
	ID         string    `json:"id"`
	Credential string    `json:"credential_id"`
	PublicKey  string    `json:"public_key"`
	Created    time.Time `json:"created"`
}

func handleListDevices(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ds, err := s.ciba.Devices(r.Context(), r.PathValue("user"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := make([]deviceView, 0, len(ds))
		for _, d := range ds {
			out = append(out, deviceView{ID: d.ID, Credential: d.Credential, PublicKey: base64.RawURLEncoding.EncodeToString(d.PublicKey), Created: d.Created.UTC()})
		}
		encode(w, http.StatusOK, map[string]any{"devices": out})
	})
}

func handleRevokeDevice(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := s.ciba.RevokeDevice(r.Context(), r.PathValue("user"), r.PathValue("device"), actor(r.Context()))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// cibaClientSettings is the body of PUT /api/v1/clients/{id}/ciba.
type cibaClientSettings struct {
	RequireOTP bool `json:"ciba_require_otp"`
}

func handleCIBAClient(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if _, err := s.oidc.Client(r.Context(), id); err != nil {
			s.writeError(w, r, err)
			return
		}
		if r.Method == http.MethodPut {
			req, err := decode[cibaClientSettings](w, r, s.cfg.MaxBody)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			if err := s.store.SetCIBARequireOTP(r.Context(), id, req.RequireOTP); err != nil {
				s.writeError(w, r, err)
				return
			}
			s.audit.add(Event{Time: s.now(), Client: actor(r.Context()), Action: "client_ciba", Outcome: id})
		}
		on, err := s.store.CIBARequireOTP(r.Context(), id)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, cibaClientSettings{RequireOTP: on})
	})
}

// pairLink registers pub for the credential of a just-confirmed
// enrollment link.
func (s *Server) pairLink(ctx context.Context, token string, pub []byte) (ciba.Device, error) {
	l, err := s.store.Link(ctx, hashToken(token))
	if err != nil {
		return ciba.Device{}, err
	}
	return s.ciba.RegisterDevice(ctx, l.User, l.Credential, pub, "link")
}
