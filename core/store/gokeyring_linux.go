//go:build linux && !lean

package store

import (
	"sync"

	"github.com/godbus/dbus/v5"
)

// admitGoKeyring makes the first call on go-keyring's own connection
// (godbus's shared session bus) the same harmless property read, answered
// before go-keyring's OpenSession can meet gnome-keyring's registration
// race (see fastReader). Once per process; errors are go-keyring's to
// report when it tries itself.
func admitGoKeyring() {
	goKeyringOnce.Do(func() {
		conn, err := dbus.SessionBus()
		if err != nil {
			return
		}
		conn.Object(ssName, ssPath).Call("org.freedesktop.DBus.Properties.Get", 0, ssService, "Collections")
	})
}

var goKeyringOnce sync.Once
