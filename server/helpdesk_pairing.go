package server

import (
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"strings"
)

// The helpdesk's face of pairing (pairing.go): a verified credential's
// "Pairing link" shows a one-time pairing link with its QR, for a user
// whose credential was enrolled by QR or by hand; the user's page lists
// the paired devices, each with a Revoke… that asks first. Both call what
// the admin API calls, audited with the actor "helpdesk".

// deviceRow is a paired device as the user's page lists it.
type deviceRow struct {
	ID, Short, Credential, Paired string
}

// shortDeviceID is the start of a device id, enough to tell a user's
// devices apart on the page.
func shortDeviceID(id string) string {
	if len(id) <= 8 {
		return id
	}
	return id[:8] + "…"
}

// devicesView adds the user's paired devices to the home page, each
// named by its credential's name (or, if that is gone, its id).
func (h *helpdesk) devicesView(r *http.Request, v *view, cs []Credential) error {
	ds, err := h.s.ciba.Devices(r.Context(), v.User)
	if err != nil {
		return err
	}
	names := make(map[string]string, len(cs))
	for _, c := range cs {
		names[c.ID] = c.Name
	}
	for _, d := range ds {
		name := names[d.Credential]
		if name == "" {
			name = d.Credential
		}
		v.Devices = append(v.Devices, deviceRow{ID: d.ID, Short: shortDeviceID(d.ID), Credential: name,
			Paired: d.Created.UTC().Format(timeLayout)})
	}
	return nil
}

// handleHelpdeskPairingLink issues a pairing link for a verified
// credential and shows it, with its QR and what the user does with it,
// on a page that is never cached.
func handleHelpdeskPairingLink(h *helpdesk) http.Handler {
	return h.form(func(w http.ResponseWriter, r *http.Request) {
		user, id := cleanUser(r.PostFormValue("user")), r.PostFormValue("id")
		token, exp, err := h.s.NewPairingLink(r.Context(), user, id, "helpdesk")
		if errors.Is(err, ErrInvalidInput) { // not verified yet
			h.problem(w, r, http.StatusConflict, "That credential cannot be paired: "+
				strings.TrimPrefix(err.Error(), ErrInvalidInput.Error()+": ")+".", user)
			return
		}
		if err != nil {
			h.fail(w, r, err, user)
			return
		}
		c, err := h.s.store.Credential(r.Context(), user, id)
		if err != nil {
			h.fail(w, r, err, user)
			return
		}
		link := PairingLinkURL(h.s.baseURL(r), token)
		png, err := h.s.qr.PNG(link)
		if err != nil {
			h.fail(w, r, err, user)
			return
		}
		v := &view{Title: "Pair " + user, BodyClass: "qr-screen", SignedIn: true, User: user, ID: id, Name: c.Name,
			Issuer: c.Issuer, Link: link, QRSize: 480,
			QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))}
		v.expires(exp, h.s.now())
		w.Header().Set("Cache-Control", "no-store")
		h.render(w, r, http.StatusOK, "pair", v)
	})
}

// device finds one of user's paired devices.
func (h *helpdesk) device(r *http.Request, user, id string) (deviceRow, error) {
	ds, err := h.s.ciba.Devices(r.Context(), user)
	if err != nil {
		return deviceRow{}, err
	}
	for _, d := range ds {
		if d.ID == id {
			row := deviceRow{ID: d.ID, Short: shortDeviceID(d.ID), Credential: d.Credential}
			if c, err := h.s.store.Credential(r.Context(), user, d.Credential); err == nil {
				row.Credential = c.Name
			}
			return row, nil
		}
	}
	return deviceRow{}, ErrNotFound
}

// deviceGone is the page of a device that is not paired (any more).
func (h *helpdesk) deviceGone(w http.ResponseWriter, r *http.Request, err error, user string) {
	if errors.Is(err, ErrNotFound) {
		h.problem(w, r, http.StatusNotFound, "That device is not paired any more (it was revoked, re-paired, or its credential was deleted).", user)
		return
	}
	h.fail(w, r, err, user)
}

func handleHelpdeskDeviceRevokeAsk(h *helpdesk) http.Handler {
	return h.page(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		user := cleanUser(q.Get("user"))
		d, err := h.device(r, user, q.Get("device"))
		if err != nil {
			h.deviceGone(w, r, err, user)
			return
		}
		h.render(w, r, http.StatusOK, "device-revoke", &view{Title: "Revoke device " + d.Short, SignedIn: true,
			User: user, ID: d.ID, Name: d.Credential, Devices: []deviceRow{d}})
	})
}

func handleHelpdeskDeviceRevoke(h *helpdesk) http.Handler {
	return h.form(func(w http.ResponseWriter, r *http.Request) {
		user := cleanUser(r.PostFormValue("user"))
		if err := h.s.ciba.RevokeDevice(r.Context(), user, r.PostFormValue("device"), "helpdesk"); err != nil {
			h.deviceGone(w, r, err, user)
			return
		}
		seeOther(w, r, user, "device-revoked")
	})
}
