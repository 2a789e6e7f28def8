//go:build linux

package store

import (
	"sync"

	"github.com/godbus/dbus/v5"
	ss "github.com/zalando/go-keyring/secret_service"
)

// fastReader reads Secret Service items with three D-Bus calls instead of
// go-keyring's seven per Get: one session per Store (opened on first use,
// closed by Close), then SearchItems on the service (no collection lookup,
// no Unlock round trips) and GetSecret. It uses go-keyring's own Secret
// Service client and D-Bus connection. Anything unusual (nothing found,
// only locked items, an error) reports !ok, and the caller asks go-keyring,
// which unlocks, prompts and reports errors as usual.
type fastReader struct {
	once    sync.Once
	svc     *ss.SecretService
	session dbus.ObjectPath
	err     error
}

func newFastReader() *fastReader { return &fastReader{} }

const (
	ssName = "org.freedesktop.secrets"
	ssPath = dbus.ObjectPath("/org/freedesktop/secrets")
)

func (f *fastReader) init() {
	f.svc, f.err = ss.NewSecretService()
	if f.err != nil {
		return
	}
	s, err := f.svc.OpenSession()
	if err != nil {
		f.err = err
		return
	}
	f.session = s.Path()
}

// warm connects and opens the session in the background, so that the
// D-Bus handshake overlaps reading accounts.json.
func (f *fastReader) warm() { go f.once.Do(f.init) }

func (f *fastReader) get(service, user string) (string, bool) {
	f.once.Do(f.init)
	if f.err != nil {
		return "", false
	}
	var unlocked, locked []dbus.ObjectPath
	err := f.svc.Object(ssName, ssPath).Call("org.freedesktop.Secret.Service.SearchItems", 0,
		map[string]string{"service": service, "username": user}).Store(&unlocked, &locked)
	if err != nil || len(unlocked) == 0 {
		return "", false
	}
	sec, err := f.svc.GetSecret(unlocked[0], f.session)
	if err != nil {
		return "", false
	}
	return string(sec.Value), true
}

func (f *fastReader) close() {
	f.once.Do(func() {}) // wait for a warm-up in flight
	if f.svc != nil && f.session != "" {
		// No reply awaited: a process about to exit need not wait, and the
		// service closes the session with the connection anyway.
		f.svc.Object(ssName, f.session).Go("org.freedesktop.Secret.Session.Close", dbus.FlagNoReplyExpected, nil)
	}
}
