// Package ui holds the desktop app's screens and widgets. It must not import
// fyne.io/fyne/v2/app, so that its tests run on Fyne's test driver with
// CGO_ENABLED=0; package app wires it to the GL driver and the real store.
//
// Every dependency is injected through Deps: the account store (an
// interface that core/store satisfies), the clock, QR decoding, screen
// capture and the clock check. The screens never touch the keyring, files
// or crypto themselves.
package ui

import (
	"context"
	"image"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"latchkey/core/enroll"
)

// Clock is the time source of the screens; tests drive a fake one.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f once after d; stop cancels it if it has not run.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// OpenFunc opens the account store with a backend ("" = remembered
// choice), asking p for the file backend's passphrase when needed.
type OpenFunc func(ctx context.Context, b Backend, p Prompts) (Store, error)

// Deps are the app's connections to the world.
type Deps struct {
	// Open opens the store; required.
	Open OpenFunc
	// Backend is the backend asked for at start ("" = remembered choice).
	Backend Backend
	// Passphrase, when set, answers the file store's passphrase prompts
	// without asking (LATCHKEY_PASSPHRASE); nil asks in a dialog.
	Passphrase func() ([]byte, error)
	// Clock is the time source; nil means the system clock.
	Clock Clock
	// DecodeQR returns the text of every QR code in a PNG or JPEG image;
	// nil means QR decoding is not available in this build.
	DecodeQR func(r io.Reader) ([]string, error)
	// CaptureScreen takes a screenshot of the desktop; nil means the
	// platform offers no portable way to do so.
	CaptureScreen func(ctx context.Context) (image.Image, error)
	// ClockSkew reports how far the system clock is from the enrollment
	// server's; nil means no server is configured.
	ClockSkew func(ctx context.Context) (time.Duration, error)
	// Log receives diagnostics; nil discards them.
	Log *slog.Logger
	// Helpdesk connects the Helpdesk view (helpdesk.go); zero fields take defaults.
	Helpdesk Helpdesk
	// Enroll redeems an enrollment link ("Add account", Link tab); nil
	// means enroll.Enroll over HTTP with the system clock.
	Enroll Enroller
	// Transfer connects the Import/Export menu (transfer.go); zero fields take defaults.
	Transfer Transfer
	// LoadSettings and SaveSettings read and write the desktop's own
	// settings (package app: desktop.json in the store's folder); nil
	// keeps them in memory for this run.
	LoadSettings func() (Settings, error)
	SaveSettings func(Settings) error
	// Approvals connects the sign-in requests of paired accounts
	// (approvals.go); a zero value means DefaultApprovals.
	Approvals Approvals
	// Pairing pairs and unpairs accounts (Settings, pairing.go); a zero
	// value means DefaultPairing.
	Pairing Pairing
}

// Enroller redeems a one-time enrollment link (SERVER/enroll#TOKEN),
// stores the account in s (beside one with the same issuer and name when
// force is set), computes the current code and confirms it with the
// server, so that the credential ends verified. It runs off the UI
// goroutine. enroll.Enroll is the real one; tests use a fake.
type Enroller func(ctx context.Context, link string, s Store, force bool) (Account, error)

// DefaultEnroller is enroll.Enroll with hc (nil = http.DefaultClient) and
// the system clock, which is the one the server checks codes against.
func DefaultEnroller(hc *http.Client) Enroller {
	return func(ctx context.Context, link string, s Store, force bool) (Account, error) {
		return enroll.Enroll(ctx, enroll.Client{HTTP: hc}, link, s, enroll.Options{Force: force})
	}
}

func (d *Deps) defaults() {
	if d.Clock == nil {
		d.Clock = realClock{}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Enroll == nil {
		d.Enroll = DefaultEnroller(nil)
	}
	if d.LoadSettings == nil {
		d.LoadSettings = func() (Settings, error) { return Settings{}, nil }
	}
	if d.SaveSettings == nil {
		d.SaveSettings = func(Settings) error { return nil }
	}
	if d.Approvals.Listen == nil && d.Approvals.Answer == nil {
		log := d.Log
		d.Approvals = DefaultApprovals(nil, func(err error) { log.Debug("sign-in requests", "err", err) })
	}
	if d.Pairing.Pair == nil && d.Pairing.Unpair == nil {
		d.Pairing = DefaultPairing(enroll.Client{}, d.Clock)
	}
}

// Version returns the version to print: stamped (set at link time with
// -ldflags -X main.version=...) when not empty, else the module version
// the binary was built from, else "dev".
func Version(stamped string) string {
	return version(stamped, debug.ReadBuildInfo)
}

func version(stamped string, info func() (*debug.BuildInfo, bool)) string {
	if v := strings.TrimSpace(stamped); v != "" {
		return v
	}
	if bi, ok := info(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
