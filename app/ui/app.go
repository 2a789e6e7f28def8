package ui

import (
	"context"
	"fmt"
	"slices"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"latchkey/core/otp"
)

// App is the desktop app's state: one window showing the account list (or
// the start, error and lock screens), driven by the injected Deps.
type App struct {
	deps Deps
	w    fyne.Window
	ctx  context.Context
	// async runs slow store calls off the UI goroutine; tests make it
	// synchronous.
	async func(f func())

	store Store
	all   []Account // as the store lists them
	shown []Account // after the search filter
	gens  map[string]*otp.Generator
	hotp  map[string]string // the last HOTP code generated per account
	sel   int               // index into shown; -1 for none
	dump  string            // the last rows handed to Deps.DumpRows

	search   *searchEntry
	list     *widget.List
	empty    *widget.Label
	status   *widget.Label
	stopTick func() bool
	stopClip func() bool
	stopNote func() bool
	helpdesk fyne.Window // the open Helpdesk window, if any
	copied   string      // the code last put on the clipboard
	active   time.Time   // the last user input, for the idle lock
	signins  signins     // sign-in requests (approvals.go)
}

// New returns the app for window w. Call Start to open the store.
func New(w fyne.Window, d Deps) *App {
	d.defaults()
	u := &App{
		deps:  d,
		w:     w,
		ctx:   context.Background(),
		async: func(f func()) { go f() },
		gens:  map[string]*otp.Generator{},
		hotp:  map[string]string{},
		sel:   -1,
	}
	applyTheme(themePref(fyne.CurrentApp().Preferences()))
	return u
}

// Start shows the start screen and opens the store in the background; the
// account list replaces the start screen once the store is open.
func (u *App) Start(ctx context.Context) {
	u.ctx = ctx
	u.w.SetContent(messageScreen("Opening your accounts…", nil, ""))
	u.async(func() { u.open(u.deps.Backend) })
}

// Stop cancels the timers, clears a code still waiting on the clipboard
// and closes the store. It may be called more than once.
func (u *App) Stop() {
	u.clearClipboard()
	u.stopListening()
	for _, stop := range []func() bool{u.stopTick, u.stopNote} {
		if stop != nil {
			stop()
		}
	}
	if u.store != nil {
		_ = u.store.Close()
		u.store = nil
	}
}

// showMain puts the account list of an unlocked store in the window and
// starts the clock.
func (u *App) showMain(l loaded) {
	u.store = l.store
	u.gens = l.gens
	u.hotp = map[string]string{}
	u.active = u.deps.Clock.Now()
	u.w.SetContent(u.accountsScreen(u.w))
	u.all = l.accounts
	u.filter()
	u.schedule()
	u.listen()
	u.deps.Log.Info("store open", "backend", string(l.store.Backend()), "accounts", len(l.accounts))
}

// loaded is a store that answered: its accounts and their generators.
type loaded struct {
	store    Store
	accounts []Account
	gens     map[string]*otp.Generator
}

// load reads the accounts and every secret, off the UI goroutine: this is
// where the file store asks for its passphrase and runs scrypt, and where
// a locked or missing keyring shows. On error the store is closed.
func load(ctx context.Context, s Store) (loaded, error) {
	accts, err := s.List(ctx)
	if err == nil {
		var gens map[string]*otp.Generator
		gens, err = generators(ctx, s, accts)
		if err == nil {
			return loaded{s, accts, gens}, nil
		}
	}
	_ = s.Close()
	return loaded{}, err
}

// generators prepares the code generator of every TOTP account in accts.
// One Secrets call fetches them all (concurrently, in the store) rather
// than one keyring round trip per account. The store keeps, and owns, the
// secrets it returns: no Wipe here.
func generators(ctx context.Context, s Store, accts []Account) (map[string]*otp.Generator, error) {
	secrets, err := s.Secrets(ctx)
	if err != nil {
		return nil, err
	}
	gens := make(map[string]*otp.Generator, len(accts))
	for _, a := range accts {
		sec, ok := secrets[a.ID]
		if !a.Type.TimeBased() || !ok {
			continue
		}
		g, err := otp.NewGenerator(sec, a.Options())
		if err != nil {
			return nil, fmt.Errorf("account %s: %w", a.Label(), err)
		}
		gens[a.ID] = g
	}
	return gens, nil
}

// pollEvery is how often the list is read again to show changes made by
// another process (the terminal UI, the CLI).
const pollEvery = 5 * time.Second

// poll lists the accounts off the UI goroutine (the file store may have to
// decrypt a vault another process rewrote) and shows any change.
func (u *App) poll() {
	s, ctx := u.store, u.ctx
	if s == nil {
		return
	}
	u.async(func() {
		accts, err := s.List(ctx)
		fyne.Do(func() {
			if u.store != s || err != nil {
				return // locked meanwhile, or a passing error: the next poll retries
			}
			if !slices.EqualFunc(accts, u.all, sameAccount) {
				u.setAccounts(accts)
			}
		})
	})
}

func sameAccount(a, b Account) bool {
	return a.ID == b.ID && a.Issuer == b.Issuer && a.Name == b.Name && a.Counter == b.Counter &&
		a.Order == b.Order && slices.Equal(a.Tags, b.Tags)
}

// background runs work on the open store off the UI goroutine, then done
// on the UI goroutine, unless the store was locked, closed or reopened
// meanwhile. Every store call made from an event handler goes through it:
// the file store may ask for its passphrase (a dialog, which needs the UI
// goroutine free to be drawn and answered) and runs scrypt, and the
// keyring may wait on D-Bus.
func (u *App) background(work func(ctx context.Context, s Store) error, done func(error)) {
	s, ctx := u.store, u.ctx
	if s == nil {
		return
	}
	u.async(func() {
		err := work(ctx, s)
		fyne.Do(func() {
			if u.store == s {
				done(err)
			}
		})
	})
}

// reload lists the accounts again, after a change made here, then calls
// then (which may be nil).
func (u *App) reload(then ...func()) {
	var accts []Account
	u.background(func(ctx context.Context, s Store) (err error) {
		accts, err = s.List(ctx)
		return err
	}, func(err error) {
		if err != nil {
			u.showError("Could not list the accounts", err)
			return
		}
		u.setAccounts(accts)
		for _, f := range then {
			f()
		}
	})
}

// setAccounts shows accts and prepares generators for new accounts.
func (u *App) setAccounts(accts []Account) {
	u.all = accts
	u.filter()
	missing := false
	for _, a := range accts {
		missing = missing || (a.Type.TimeBased() && u.gens[a.ID] == nil)
	}
	if !missing {
		return
	}
	s, ctx := u.store, u.ctx
	u.async(func() {
		got, err := generators(ctx, s, accts)
		fyne.Do(func() {
			if u.store != s {
				return // locked or reopened meanwhile
			}
			if err != nil {
				u.showError("Some codes cannot be shown", err)
				return
			}
			for id, g := range got {
				if u.gens[id] == nil {
					u.gens[id] = g
				}
			}
			u.refresh()
		})
	})
}

// schedule runs tick at the next whole second; codes change exactly at
// period boundaries because every period is a whole number of seconds.
func (u *App) schedule() {
	now := u.deps.Clock.Now()
	d := time.Second - time.Duration(now.Nanosecond())
	u.stopTick = u.deps.Clock.AfterFunc(d, func() {
		fyne.Do(func() {
			if u.list == nil {
				return
			}
			u.tick()
			u.schedule()
		})
	})
}

// tick redraws the codes and countdowns and locks an idle file store.
func (u *App) tick() {
	now := u.deps.Clock.Now()
	if u.idleExpired(now) {
		u.lock()
		return
	}
	u.refresh()
	u.expireRequests(now)
	if now.Unix()%int64(pollEvery/time.Second) == 0 {
		u.poll()
	}
}

// touch records user input, for the idle lock.
func (u *App) touch() { u.active = u.deps.Clock.Now() }
