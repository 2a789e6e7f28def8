package server

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// enrollForm reads the helpdesk's enroll form: name, label and the
// credential settings (empty fields take the server's policy).
func enrollForm(r *http.Request) (EnrollRequest, error) {
	num := func(field string) (int, error) {
		v := strings.TrimSpace(r.PostFormValue(field))
		if v == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, invalidf("%s must be a number", strings.ReplaceAll(field, "_", " "))
		}
		return n, nil
	}
	req := EnrollRequest{Name: r.PostFormValue("name"), Label: r.PostFormValue("label"), Algorithm: r.PostFormValue("algorithm")}
	var err error
	if req.Digits, err = num("digits"); err != nil {
		return req, err
	}
	if req.Period, err = num("period"); err != nil {
		return req, err
	}
	if req.SecretLength, err = num("secret_length"); err != nil {
		return req, err
	}
	return req, nil
}

// adminView adds the enroll form's defaults and the user's lock to the
// home page.
func (h *helpdesk) adminView(r *http.Request, v *view) error {
	v.Policy = h.s.cfg.Credentials
	until, err := h.s.LockedUntil(r.Context(), v.User)
	if err != nil {
		return err
	}
	if !until.IsZero() {
		v.LockedFor = until.Sub(h.s.now()).Round(time.Second).String()
	}
	return nil
}

func handleHelpdeskUnlock(h *helpdesk) http.Handler {
	return h.form(func(w http.ResponseWriter, r *http.Request) {
		user := cleanUser(r.PostFormValue("user"))
		if _, err := h.s.Unlock(r.Context(), user, "helpdesk"); err != nil {
			h.fail(w, r, err, user)
			return
		}
		seeOther(w, r, user, "unlocked")
	})
}

// handleHelpdeskRecoveryCodes makes a new set and shows it this once,
// on a page that is never cached.
func handleHelpdeskRecoveryCodes(h *helpdesk) http.Handler {
	return h.form(func(w http.ResponseWriter, r *http.Request) {
		user := cleanUser(r.PostFormValue("user"))
		codes, err := h.s.NewRecoveryCodes(r.Context(), user, "helpdesk")
		if err != nil {
			h.fail(w, r, err, user)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h.render(w, r, http.StatusOK, "recovery", &view{Title: "Recovery codes for " + user, SignedIn: true, User: user, RecoveryCodes: codes})
	})
}

// templateFuncs build the enroll form's fixed choices.
var templateFuncs = map[string]any{
	"list": func(s ...string) []string { return s },
	"ints": func(n ...int) []int { return n },
}
