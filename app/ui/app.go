package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"latchkey/core/agent"
	"latchkey/core/label"
	"latchkey/core/otp"
	"latchkey/core/store"
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
	// broken are the accounts whose secret is missing from the keyring
	// (deleted outside Latchkey): their rows say so, the others work.
	broken map[string]bool
	// warnings are the store's standing warnings (Store.Warnings); the
	// status line shows them whenever no note does.
	warnings []string
	noting   bool // a note is in the status line
	settings Settings
	sel      int // index into shown; -1 for none

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
		deps:   d,
		w:      w,
		ctx:    context.Background(),
		async:  func(f func()) { go f() },
		gens:   map[string]*otp.Generator{},
		hotp:   map[string]string{},
		sel:    -1,
		broken: map[string]bool{},
	}
	s, err := d.LoadSettings()
	if err != nil {
		d.Log.Warn("desktop settings unreadable; using the defaults", "err", err)
	}
	u.settings = s
	applyTheme(u.theme())
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
	wipe(u.gens)
	u.gens = map[string]*otp.Generator{}
}

// wipe clears the key material of every generator in gens (otp's Wipe),
// for generators the app drops: a deleted account's, and all of them when
// the store is locked or the window closes. Nothing may use them after.
func wipe(gens map[string]*otp.Generator) {
	for _, g := range gens {
		g.Wipe()
	}
}

// showMain puts the account list of an unlocked store in the window and
// starts the clock.
func (u *App) showMain(l loaded) {
	u.store = l.store
	wipe(u.gens) // none are left after a lock; this is for a reopen
	u.gens = l.gens
	u.hotp = map[string]string{}
	u.broken = map[string]bool{}
	for _, id := range l.broken {
		u.broken[id] = true
	}
	u.warnings = nil
	for _, w := range l.store.Warnings() {
		u.warnings = append(u.warnings, label.Line(w))
	}
	u.active = u.deps.Clock.Now()
	u.w.SetContent(u.accountsScreen(u.w))
	u.all = l.accounts
	u.filter()
	u.showWarnings()
	u.schedule()
	u.listen()
	u.deps.Log.Info("store open", "backend", string(l.store.Backend()), "accounts", len(l.accounts))
}

// loaded is a store that answered: its accounts and their generators.
type loaded struct {
	store    Store
	accounts []Account
	gens     map[string]*otp.Generator
	broken   []string // ids of the accounts whose secret is missing
}

// load reads the accounts and every secret, off the UI goroutine: this is
// where the file store asks for its passphrase and runs scrypt, and where
// a locked or missing keyring shows. On error the store is closed.
func load(ctx context.Context, s Store) (loaded, error) {
	accts, err := s.List(ctx)
	if err == nil {
		var gens map[string]*otp.Generator
		var broken []string
		gens, broken, err = generators(ctx, s, accts)
		if err == nil {
			return loaded{s, accts, gens, broken}, nil
		}
	}
	_ = s.Close()
	return loaded{}, err
}

// generators prepares the code generator of every TOTP account in accts.
// One Secrets call fetches them all (concurrently, in the store) rather
// than one keyring round trip per account. The secrets it returns are
// copies, and each generator keeps its own: they are wiped here. When some
// keyring items are gone (a *store.MissingError) the others' generators
// are returned with the broken accounts' ids, not an error: one account
// deleted outside Latchkey must not hide every code.
func generators(ctx context.Context, s Store, accts []Account) (map[string]*otp.Generator, []string, error) {
	secrets, err := s.Secrets(ctx)
	defer func() {
		for _, sec := range secrets {
			sec.Wipe()
		}
	}()
	var missing *store.MissingError
	var broken []string
	if errors.As(err, &missing) {
		broken, err = missing.IDs, nil
	}
	if err != nil {
		return nil, nil, err
	}
	gens := make(map[string]*otp.Generator, len(accts))
	for _, a := range accts {
		sec, ok := secrets[a.ID]
		if !a.Type.TimeBased() || !ok {
			continue
		}
		g, err := otp.NewGenerator(sec, a.Options())
		if err != nil {
			wipe(gens)
			return nil, nil, fmt.Errorf("account %s: %w", a.Label(), err)
		}
		gens[a.ID] = g
	}
	return gens, broken, nil
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
			if u.store == s && errors.Is(err, agent.ErrLocked) {
				u.lock() // the agent locked behind the window: idle, 'latchkey lock', the session's lock
				return
			}
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

// setAccounts shows accts, wipes the generators of accounts no longer
// there (deleted here or by another process) and prepares generators for
// new accounts.
func (u *App) setAccounts(accts []Account) {
	u.all = accts
	u.filter()
	for id, g := range u.gens {
		if !slices.ContainsFunc(accts, func(a Account) bool { return a.ID == id }) {
			g.Wipe()
			delete(u.gens, id)
		}
	}
	for id := range u.broken {
		if !slices.ContainsFunc(accts, func(a Account) bool { return a.ID == id }) {
			delete(u.broken, id)
		}
	}
	u.showWarnings()
	missing := false
	for _, a := range accts {
		missing = missing || (a.Type.TimeBased() && u.gens[a.ID] == nil)
	}
	if !missing {
		return
	}
	s, ctx := u.store, u.ctx
	u.async(func() {
		got, broken, err := generators(ctx, s, accts)
		fyne.Do(func() {
			if u.store != s {
				wipe(got)
				return // locked or reopened meanwhile
			}
			if err != nil {
				u.showError("Some codes cannot be shown", err)
				return
			}
			listed := func(id string) bool { return slices.ContainsFunc(u.all, func(a Account) bool { return a.ID == id }) }
			for id, g := range got {
				delete(u.broken, id) // its secret is back
				if u.gens[id] == nil && listed(id) {
					u.gens[id] = g
				} else {
					g.Wipe() // one is there already, or the account went meanwhile
				}
			}
			for _, id := range broken {
				if listed(id) {
					u.broken[id] = true
				}
			}
			u.showWarnings()
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
