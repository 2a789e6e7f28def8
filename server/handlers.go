package server

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// pathUser is the request's {user}, cleaned (see cleanUser).
func pathUser(r *http.Request) string { return cleanUser(r.PathValue("user")) }

func handleHealthz(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.store.Ping(r.Context()); err != nil {
			s.log.ErrorContext(r.Context(), "health check failed", "err", err)
			encode(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return
		}
		encode(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// enrollResponse is shown once: it is the only answer that holds a secret.
type enrollResponse struct {
	ID         string    `json:"id"`
	Secret     string    `json:"secret"`
	OTPAuthURI string    `json:"otpauth_uri"`
	QRPNG      []byte    `json:"qr_png,omitempty"` // base64 in JSON; left out with "qr": false
	Expires    time.Time `json:"expires"`
	// EnrollmentLink is a single-use link to the secret (see links.go).
	EnrollmentLink string `json:"enrollment_link"`
}

func handleCreateCredential(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decodeOptional[EnrollRequest](w, r, s.cfg.MaxBody)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		user := pathUser(r)
		e, err := s.CreateCredential(r.Context(), user, req, actor(r.Context()))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		defer e.Secret.Wipe()
		if e.Imported {
			// The caller holds the secret: nothing of it comes back.
			w.Header().Set("Location", r.URL.Path+"/"+e.ID)
			encode(w, http.StatusCreated, importResponse{ID: e.ID, Verified: e.Verified, Expires: optTime(e.Expires)})
			return
		}
		link, _, err := s.enrollmentLink(r, user, e.ID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Location", r.URL.Path+"/"+e.ID)
		encode(w, http.StatusCreated, enrollResponse{ID: e.ID, Secret: e.Secret.Base32(), OTPAuthURI: e.URI, QRPNG: e.QR, Expires: e.Expires.UTC(), EnrollmentLink: link})
	})
}

// importResponse answers the creation of a credential with an imported
// secret: no secret, otpauth URI, QR or enrollment link.
type importResponse struct {
	ID       string     `json:"id"`
	Verified bool       `json:"verified"`
	Expires  *time.Time `json:"expires,omitempty"`
}

// credentialView is a credential as listed: never its secret.
type credentialView struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Label     string     `json:"label,omitempty"`
	Issuer    string     `json:"issuer"`
	Algorithm string     `json:"algorithm"`
	Digits    int        `json:"digits"`
	Period    int        `json:"period"`
	Verified  bool       `json:"verified"`
	Created   time.Time  `json:"created"`
	Expires   *time.Time `json:"expires,omitempty"`
	LastUsed  *time.Time `json:"last_used,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func handleListCredentials(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := pathUser(r)
		if err := checkUser(user); err != nil {
			s.writeError(w, r, err)
			return
		}
		cs, err := s.store.Credentials(r.Context(), user, s.now())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := make([]credentialView, 0, len(cs))
		for _, c := range cs {
			v := credentialView{ID: c.ID, Name: c.Name, Label: c.Label, Issuer: c.Issuer, Algorithm: c.Algorithm, Digits: c.Digits,
				Period: c.Period, Verified: c.Verified, Created: c.Created.UTC(), LastUsed: optTime(c.LastUsed)}
			if !c.Verified {
				v.Expires = optTime(c.Expires)
			}
			out = append(out, v)
		}
		encode(w, http.StatusOK, map[string]any{"user": user, "credentials": out})
	})
}

func handleQR(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		png, err := s.PendingQR(r.Context(), pathUser(r), r.PathValue("id"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Length", strconv.Itoa(len(png)))
		w.Write(png)
	})
}

// codeRequest is the body of POST .../credentials/{id}/verify.
type codeRequest struct {
	Code string `json:"code"`
}

// maxCodeLen bounds a submitted code; real ones are 6 to 9 characters.
const maxCodeLen = 32

// plausibleCode reports whether a submitted code is worth verifying: not
// blank and not longer than any real code.
func plausibleCode(code string) bool {
	return strings.TrimSpace(code) != "" && len(code) <= maxCodeLen
}

func handleConfirm(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[codeRequest](w, r, s.cfg.MaxBody)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if !plausibleCode(req.Code) {
			s.writeError(w, r, ErrInvalidCode)
			return
		}
		if err := s.ConfirmCredential(r.Context(), pathUser(r), r.PathValue("id"), req.Code, actor(r.Context())); err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, map[string]bool{"verified": true})
	})
}

// renameRequest is the body of PATCH .../credentials/{id}: a name is the
// only thing that can change.
type renameRequest struct {
	Name *string `json:"name"`
}

func handleRename(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[renameRequest](w, r, s.cfg.MaxBody)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if req.Name == nil || strings.TrimSpace(*req.Name) == "" {
			s.writeError(w, r, invalidf("name is required (a credential can only be renamed)"))
			return
		}
		name := strings.TrimSpace(*req.Name)
		if err := checkName(name); err != nil {
			s.writeError(w, r, err)
			return
		}
		user, id := pathUser(r), r.PathValue("id")
		if err := s.store.RenameCredential(r.Context(), user, id, name); err != nil {
			s.writeError(w, r, err)
			return
		}
		s.audit.add(Event{Time: s.now(), User: user, Credential: id, Client: actor(r.Context()), Action: "rename", Outcome: "ok"})
		encode(w, http.StatusOK, map[string]string{"id": id, "name": name})
	})
}

func handleDelete(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, id := pathUser(r), r.PathValue("id")
		if err := s.DeleteCredential(r.Context(), user, id, actor(r.Context())); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleAudit(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		user := cleanUser(q.Get("user"))
		if user != "" {
			if err := checkUser(user); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		limit := 100
		if l := q.Get("limit"); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil || n < 1 || n > 1000 {
				s.writeError(w, r, invalidf("limit must be 1..1000"))
				return
			}
			limit = n
		}
		evs, err := s.store.AuditLog(r.Context(), user, limit)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, map[string]any{"events": evs})
	})
}

// verifyRequest is the body of POST /api/v1/verify.
type verifyRequest struct {
	User string `json:"user"`
	Code string `json:"code"`
}

// verifyResponse answers the calling application.
type verifyResponse struct {
	Valid      bool   `json:"valid"`
	Credential string `json:"credential_id,omitempty"`
	Reason     string `json:"reason,omitempty"`
	// Remaining is the number of unused recovery codes after one was
	// accepted.
	Remaining *int `json:"remaining,omitempty"`
}

func handleVerify(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[verifyRequest](w, r, s.cfg.MaxBody)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		req.User = cleanUser(req.User)
		if err := checkUser(req.User); err != nil {
			s.writeError(w, r, err)
			return
		}
		if strings.TrimSpace(req.Code) == "" {
			s.writeError(w, r, invalidf("code is required"))
			return
		}
		if len(req.Code) > maxCodeLen {
			req.Code = "" // never matches; still counts as a failure
		}
		c, _ := requestClient(r.Context())
		res, err := s.verifyFor(r.Context(), c, req.User, req.Code)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		switch {
		case res.recovery:
			encode(w, http.StatusOK, verifyResponse{Valid: true, Reason: "recovery_code", Remaining: &res.remaining})
		case res.Outcome == OutcomeValid:
			encode(w, http.StatusOK, verifyResponse{Valid: true, Credential: res.Credential})
		case res.acceptedEmpty:
			encode(w, http.StatusOK, verifyResponse{Valid: true, Reason: OutcomeNoCredential})
		case res.Outcome == OutcomeLocked:
			setRetryAfter(w, res.RetryAfter.Sub(s.now()))
			encode(w, http.StatusTooManyRequests, verifyResponse{Reason: OutcomeLocked})
		default:
			encode(w, http.StatusOK, verifyResponse{Reason: res.Outcome})
		}
	})
}
