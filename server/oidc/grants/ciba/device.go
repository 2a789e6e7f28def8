package ciba

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"latchkey/core/device"
	"latchkey/server/oidc"
)

// Errors of the device API.
var (
	// ErrDeviceAuth is every failure to authenticate a device request.
	ErrDeviceAuth = errors.New("device authentication failed")
	// ErrAnswer is a refused answer: a bad signature, another user's
	// request, a changed binding message, or one answered already.
	ErrAnswer = errors.New("the answer was refused")
	// ErrExpired is an answer to a request that expired.
	ErrExpired = errors.New("the request expired")
)

// RegisterDevice pairs a device: pub becomes the key of user's verified
// credential, replacing any earlier device of that credential. The
// caller has proved the holder may (an enrollment or pairing link, and
// a code).
func (s *Service) RegisterDevice(ctx context.Context, user, credential string, pub []byte, actor string) (Device, error) {
	if len(pub) != ed25519.PublicKeySize {
		return Device{}, fmt.Errorf("%w: the device key must be %d bytes of Ed25519", ErrDeviceKey, ed25519.PublicKeySize)
	}
	d := Device{ID: newID()[:22], User: user, Credential: credential, PublicKey: ed25519.PublicKey(pub), Created: s.now()}
	if err := s.store.AddDevice(ctx, d); err != nil {
		return Device{}, err
	}
	s.cfg.Audit(Event{User: user, Credential: credential, Client: actor, Action: "device_pair", Outcome: d.ID})
	s.log.InfoContext(ctx, "device paired", "user", user, "credential", credential, "device", d.ID)
	return d, nil
}

// ErrDeviceKey is a public key that is no Ed25519 key.
var ErrDeviceKey = errors.New("invalid device key")

// RevokeDevice removes one of user's devices (helpdesk or the device
// itself).
func (s *Service) RevokeDevice(ctx context.Context, user, id, actor string) error {
	if err := s.store.DeleteDevice(ctx, user, id); err != nil {
		return err
	}
	s.cfg.Audit(Event{User: user, Client: actor, Action: "device_revoke", Outcome: id})
	s.log.InfoContext(ctx, "device revoked", "user", user, "device", id, "by", actor)
	return nil
}

// Devices lists user's paired devices.
func (s *Service) Devices(ctx context.Context, user string) ([]Device, error) {
	return s.store.Devices(ctx, user)
}

// AuthenticateDevice checks a device request's signature (method and
// path bound, fresh, its jti never seen before) and returns the device.
func (s *Service) AuthenticateDevice(r *http.Request) (Device, error) {
	h := r.Header.Get("Authorization")
	const prefix = device.AuthScheme + " "
	if len(h) <= len(prefix) || h[:len(prefix)] != prefix {
		return Device{}, ErrDeviceAuth
	}
	id, err := device.KeyID(h[len(prefix):])
	if err != nil || id == "" || len(id) > 64 {
		return Device{}, ErrDeviceAuth
	}
	ctx := r.Context()
	d, err := s.store.Device(ctx, id)
	if errors.Is(err, oidc.ErrNotFound) {
		return Device{}, ErrDeviceAuth
	}
	if err != nil {
		return Device{}, err
	}
	now := s.now()
	v, err := device.VerifyRequest(h, d.PublicKey, r.Method, r.URL.Path, now)
	if err != nil {
		return Device{}, ErrDeviceAuth
	}
	fresh, err := s.store.UseJTI(ctx, "device:"+d.ID, v.JTI, v.Expires, now)
	if err != nil {
		return Device{}, err
	}
	if !fresh {
		return Device{}, ErrDeviceAuth
	}
	return d, nil
}

// Pending is a request as a device sees it.
type Pending struct {
	ID             string `json:"id"`
	Client         string `json:"client"`
	ClientName     string `json:"client_name"`
	BindingMessage string `json:"binding_message"`
	ExpiresIn      int    `json:"expires_in"`
	RequireOTP     bool   `json:"require_otp"`
	User           string `json:"user"`
	Credential     string `json:"credential_id"`
}

// PendingFor lists the pending requests d may answer.
func (s *Service) PendingFor(ctx context.Context, d Device) ([]Pending, error) {
	now := s.now()
	rs, err := s.store.PendingCIBARequests(ctx, d.User, now)
	if err != nil {
		return nil, err
	}
	out := make([]Pending, 0, len(rs))
	for _, r := range rs {
		name := r.Client
		if c, err := s.p.Client(ctx, r.Client); err == nil {
			name = c.Name
		}
		out = append(out, Pending{ID: r.ID, Client: r.Client, ClientName: name, BindingMessage: r.BindingMessage,
			ExpiresIn: int(r.Expires.Sub(now).Seconds()), RequireOTP: r.RequireOTP, User: r.User, Credential: d.Credential})
	}
	return out, nil
}

// Wait returns d's pending requests as soon as their ids differ from
// seen (the ids the device already has; none: as soon as there is a
// request), or after wait (the same list). A request made on this
// instance wakes it at once; one made on another instance, answered or
// expired is seen within recheck.
func (s *Service) Wait(ctx context.Context, d Device, wait time.Duration, seen []string) ([]Pending, error) {
	deadline := time.NewTimer(min(wait, s.cfg.MaxWait))
	defer deadline.Stop()
	tick := time.NewTicker(recheck)
	defer tick.Stop()
	for {
		woken := s.wake.wait(d.User)
		ps, err := s.PendingFor(ctx, d)
		if err != nil || changed(ps, seen) {
			return ps, err
		}
		select {
		case <-woken:
		case <-tick.C:
		case <-deadline.C:
			return ps, nil
		case <-ctx.Done():
			return ps, nil
		}
	}
}

// changed reports whether the ids of ps differ from the set seen.
func changed(ps []Pending, seen []string) bool {
	if len(ps) != len(seen) {
		return true
	}
	for _, p := range ps {
		if !slices.Contains(seen, p.ID) {
			return true
		}
	}
	return false
}

// maxSeen bounds the ids a long poll's seen parameter may list.
const maxSeen = 100

// Answer records a device's signed answer to request id. The signature
// must be d's, over this request's id and binding message, fresh; the
// request must be d's user's and still pending. An approval for a client
// that requires a code carries the current code, checked with the replay
// rules. It returns the new status.
func (s *Service) Answer(ctx context.Context, d Device, id, signed string) (string, error) {
	fail := func(outcome string, err error) (string, error) {
		s.cfg.Audit(Event{User: d.User, Credential: d.Credential, Client: "device:" + d.ID, Action: "ciba_answer", Outcome: outcome})
		return "", err
	}
	now := s.now()
	if kid, err := device.KeyID(signed); err != nil || kid != d.ID {
		return fail("bad_signature", ErrAnswer)
	}
	a, err := device.VerifyAnswer(signed, d.PublicKey, now)
	if err != nil {
		return fail("bad_signature", ErrAnswer)
	}
	r, err := s.store.CIBARequest(ctx, id)
	if errors.Is(err, oidc.ErrNotFound) {
		return fail("unknown_request", oidc.ErrNotFound)
	}
	if err != nil {
		return "", err
	}
	switch {
	case a.AuthReqID != id || r.User != d.User:
		return fail("wrong_request", ErrAnswer)
	case a.BindingMessage != r.BindingMessage:
		return fail("binding_message_mismatch", ErrAnswer)
	case r.Status != StatusPending:
		return fail("already_answered", ErrAnswer)
	case !now.Before(r.Expires):
		return fail("expired", ErrExpired)
	}
	status, amr := StatusDenied, []string(nil)
	if a.Decision == device.Approve {
		status, amr = StatusApproved, []string{"swk"}
		if r.RequireOTP || a.Code != "" {
			if a.Code == "" {
				return fail("code_required", ErrCodeRequired)
			}
			if err := s.cfg.CheckCode(ctx, d.User, d.Credential, a.Code); err != nil {
				s.cfg.Audit(Event{User: d.User, Credential: d.Credential, Client: "device:" + d.ID, Action: "ciba_answer", Outcome: "invalid_code"})
				return "", err
			}
			amr = append(amr, "otp")
		}
	}
	_, err = s.store.UpdateCIBARequest(ctx, id, func(cur *Request) error {
		if cur.Status != StatusPending {
			return ErrAnswer
		}
		cur.Status, cur.Answered, cur.Device, cur.AMR = status, now, d.ID, amr
		return nil
	})
	if errors.Is(err, ErrAnswer) {
		return fail("already_answered", ErrAnswer)
	}
	if err != nil {
		return "", err
	}
	s.cfg.Audit(Event{User: d.User, Credential: d.Credential, Client: r.Client, Action: "ciba_answer", Outcome: status})
	s.log.InfoContext(ctx, "ciba answer", "user", d.User, "client", r.Client, "device", d.ID, "status", status)
	return status, nil
}

// ErrCodeRequired is an approval without the code the client requires.
var ErrCodeRequired = errors.New("this request needs the current code with the approval")

// HandleRequests serves GET /api/v1/device/requests[?wait=SECONDS
// [&seen=ID,ID...]]: the device's pending requests, waiting up to wait
// for one to arrive, or with seen (the ids it already has) for the list
// to differ from those: a new request, or one answered or expired.
func (s *Service) HandleRequests() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := s.AuthenticateDevice(r)
		if err != nil {
			s.deviceError(w, r, err)
			return
		}
		var wait time.Duration
		if v := r.URL.Query().Get("wait"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				writeJSON(w, http.StatusBadRequest, apiError{"invalid_request", "wait must be a number of seconds"})
				return
			}
			wait = secondsOf(n)
		}
		var seen []string
		if v := r.URL.Query().Get("seen"); v != "" {
			seen = slices.Compact(slices.Sorted(slices.Values(strings.Split(v, ","))))
			if len(seen) > maxSeen || slices.ContainsFunc(seen, func(id string) bool { return id == "" || len(id) > 128 }) {
				writeJSON(w, http.StatusBadRequest, apiError{"invalid_request", fmt.Sprintf("seen must be at most %d request ids, separated by commas", maxSeen)})
				return
			}
		}
		ps, err := s.Wait(r.Context(), d, wait, seen)
		if err != nil {
			s.deviceError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, map[string]any{"device_id": d.ID, "requests": ps})
	})
}

// answerRequest is the body of POST /api/v1/device/requests/{id}.
type answerRequest struct {
	Answer string `json:"answer"`
}

// HandleAnswer serves POST /api/v1/device/requests/{id} {"answer": JWS}.
func (s *Service) HandleAnswer() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := s.AuthenticateDevice(r)
		if err != nil {
			s.deviceError(w, r, err)
			return
		}
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
		var req answerRequest
		if err != nil || json.Unmarshal(b, &req) != nil || req.Answer == "" {
			writeJSON(w, http.StatusBadRequest, apiError{"invalid_request", `the body must be {"answer": SIGNED}`})
			return
		}
		status, err := s.Answer(r.Context(), d, r.PathValue("id"), req.Answer)
		if err != nil {
			s.deviceError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": status})
	})
}

// HandleUnpair serves DELETE /api/v1/device: a device revokes itself
// (its account was removed).
func (s *Service) HandleUnpair() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := s.AuthenticateDevice(r)
		if err == nil {
			err = s.RevokeDevice(r.Context(), d.User, d.ID, "device:"+d.ID)
		}
		if err != nil {
			s.deviceError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

type apiError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// CodeError lets the embedder's CheckCode errors reach the device as
// what they are; any error it returns that is not one is a server error.
type CodeError struct {
	Status int
	Code   string
	Desc   string
}

func (e *CodeError) Error() string { return e.Desc }

// deviceError maps the device API's errors to statuses: the one place.
func (s *Service) deviceError(w http.ResponseWriter, r *http.Request, err error) {
	var ce *CodeError
	switch {
	case errors.Is(err, ErrDeviceAuth):
		w.Header().Set("WWW-Authenticate", device.AuthScheme)
		writeJSON(w, http.StatusUnauthorized, apiError{"invalid_device", "the device is unknown, unpaired, or its request signature is invalid or used"})
	case errors.Is(err, oidc.ErrNotFound):
		writeJSON(w, http.StatusNotFound, apiError{"not_found", "no such request"})
	case errors.Is(err, ErrAnswer):
		writeJSON(w, http.StatusConflict, apiError{"answer_refused", err.Error()})
	case errors.Is(err, ErrExpired):
		writeJSON(w, http.StatusGone, apiError{"expired_token", err.Error()})
	case errors.Is(err, ErrCodeRequired):
		writeJSON(w, http.StatusBadRequest, apiError{"code_required", err.Error()})
	case errors.As(err, &ce):
		writeJSON(w, ce.Status, apiError{ce.Code, ce.Desc})
	case oidc.Ended(w, r, s.log, err): // the device went away mid-poll, or a deadline
	default:
		s.log.ErrorContext(r.Context(), "device request failed", "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusInternalServerError, apiError{"server_error", "internal error"})
	}
}
