package ciba

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"latchkey/server/oidc"
)

// authorizeResponse is bc-authorize's answer (CIBA Core §7.3).
type authorizeResponse struct {
	AuthReqID string `json:"auth_req_id"`
	ExpiresIn int    `json:"expires_in"`
	Interval  int    `json:"interval"`
}

// HandleAuthorize serves POST /oauth2/bc-authorize (CIBA Core §7.1):
// an authenticated client that has the CIBA grant asks for a user's
// approval, named by login_hint (the user id) or id_token_hint.
func (s *Service) HandleAuthorize() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.p.Issuer() == "" {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "error_description": oidc.ErrNoIssuer.Error()})
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		resp, err := s.authorize(r.Context(), w, r)
		var te *oidc.TokenError
		switch {
		case err == nil:
			writeJSON(w, http.StatusOK, resp)
		case errors.As(err, &te):
			status := te.Status
			if status == 0 {
				status = http.StatusBadRequest
			}
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Basic realm="latchkey"`)
			}
			writeJSON(w, status, map[string]string{"error": te.Code, "error_description": te.Description})
		case oidc.Ended(w, r, s.log, err):
		default:
			s.log.ErrorContext(r.Context(), "bc-authorize failed", "err", err)
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error", "error_description": "internal error"})
		}
	})
}

func (s *Service) authorize(ctx context.Context, w http.ResponseWriter, r *http.Request) (*authorizeResponse, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, oidc.Errorf("invalid_request", "Content-Type must be application/x-www-form-urlencoded")
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		return nil, oidc.Errorf("invalid_request", "the body is unreadable or too large")
	}
	form, err := oidc.ParseForm(b)
	if err != nil {
		return nil, oidc.Errorf("invalid_request", "%v", err)
	}
	c, _, err := s.p.AuthenticateClient(ctx, r, form, s.p.BackchannelEndpoint())
	if err != nil {
		s.cfg.Audit(Event{Client: form.Get("client_id"), Action: "ciba_authorize", Outcome: "invalid_client"})
		return nil, err
	}
	user, req, err := s.check(ctx, c, form)
	if err != nil {
		var te *oidc.TokenError
		if errors.As(err, &te) {
			s.cfg.Audit(Event{User: user, Client: c.ID, Action: "ciba_authorize", Outcome: te.Code})
		}
		return nil, err
	}
	if err := s.store.CreateCIBARequest(ctx, req); err != nil {
		return nil, err
	}
	s.wake.notify(req.User)
	s.cfg.Audit(Event{User: req.User, Client: c.ID, Action: "ciba_authorize", Outcome: "pending"})
	s.log.InfoContext(ctx, "ciba request", "client", c.ID, "user", req.User)
	return &authorizeResponse{AuthReqID: req.ID, ExpiresIn: int(req.Expires.Sub(req.Created).Seconds()),
		Interval: int(req.Interval.Seconds())}, nil
}

// check validates a bc-authorize form and returns the request to store
// (and the user, for the audit log, once known).
func (s *Service) check(ctx context.Context, c oidc.Client, form map[string][]string) (string, Request, error) {
	get := func(k string) string {
		if v := form[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if !slices.Contains(c.GrantTypes, GrantType) {
		return "", Request{}, oidc.Errorf("unauthorized_client", "the client may not use grant_type %q", GrantType)
	}
	if !slices.Contains(strings.Fields(get("scope")), "openid") {
		return "", Request{}, oidc.Errorf("invalid_scope", "scope must contain openid")
	}
	if _, ok := form["login_hint_token"]; ok {
		return "", Request{}, oidc.Errorf("invalid_request", "login_hint_token is not supported; use login_hint or id_token_hint")
	}
	_, hasLogin := form["login_hint"]
	_, hasIDToken := form["id_token_hint"]
	if hasLogin == hasIDToken {
		return "", Request{}, oidc.Errorf("invalid_request", "give exactly one of login_hint and id_token_hint")
	}
	if _, ok := form["user_code"]; ok {
		return "", Request{}, oidc.Errorf("invalid_request", "user_code is not supported")
	}
	user := get("login_hint")
	if hasIDToken {
		claims, err := s.p.VerifyIDTokenHint(ctx, get("id_token_hint"))
		if errors.Is(err, oidc.ErrBadToken) {
			return "", Request{}, oidc.Errorf("invalid_request", "id_token_hint is not an id_token this server issued")
		}
		if err != nil {
			return "", Request{}, err
		}
		user = claims.Subject
	}
	if user == "" || len(user) > 256 {
		return "", Request{}, oidc.Errorf("unknown_user_id", "no such user")
	}
	if s.cfg.InScope != nil {
		ok, err := s.cfg.InScope(ctx, c, user)
		if err != nil {
			return user, Request{}, err
		}
		if !ok {
			return user, Request{}, oidc.Errorf("unknown_user_id", "no such user")
		}
	}
	msg := get("binding_message")
	if !ValidBindingMessage(msg) {
		return user, Request{}, oidc.Errorf("invalid_binding_message", "binding_message must be at most %d printable characters", MaxBindingMessage)
	}
	expiry := min(DefaultExpiry, s.cfg.MaxExpiry)
	if v, ok := form["requested_expiry"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n <= 0 {
			return user, Request{}, oidc.Errorf("invalid_request", "requested_expiry must be a positive number of seconds")
		}
		expiry = min(secondsOf(n), s.cfg.MaxExpiry)
	}
	devs, err := s.store.Devices(ctx, user)
	if err != nil {
		return user, Request{}, err
	}
	if len(devs) == 0 {
		return user, Request{}, oidc.Errorf("unknown_user_id", "the user has no paired device")
	}
	otp, err := s.store.CIBARequireOTP(ctx, c.ID)
	if err != nil {
		return user, Request{}, err
	}
	now := s.now()
	// Requests that ended an hour ago go; a sweep per new request keeps
	// the table small without a timer on every instance.
	if err := s.store.DeleteCIBARequests(ctx, now.Add(-sweepAfter)); err != nil {
		s.log.WarnContext(ctx, "ciba sweep failed", "err", err)
	}
	return user, Request{ID: newID(), Client: c.ID, User: user, Scope: "openid", BindingMessage: msg, RequireOTP: otp,
		Created: now, Expires: now.Add(expiry), Interval: s.cfg.Interval, Status: StatusPending}, nil
}

// sweepAfter is how long an expired request stays stored.
const sweepAfter = time.Hour

// secondsOf converts a client's count of seconds, bounded first so that
// it cannot overflow.
func secondsOf(n int) time.Duration {
	return time.Duration(min(n, 1<<20)) * time.Second
}

// ValidBindingMessage reports whether msg is a binding_message the
// server accepts: valid UTF-8, at most MaxBindingMessage characters, all
// printable (letters, marks, numbers, punctuation, symbols and the ASCII
// space).
func ValidBindingMessage(msg string) bool {
	if !utf8.ValidString(msg) || utf8.RuneCountInString(msg) > MaxBindingMessage {
		return false
	}
	for _, r := range msg {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// newID is an auth_req_id: 256 bits from crypto/rand, in hex, so that it
// never starts with "-" (which `latchkey approve ID` would read as a
// flag) and is easy to copy.
func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
