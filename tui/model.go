// Package tui is Latchkey's terminal UI: the accounts with live codes,
// filtering, copying, adding, renaming, deleting, HOTP counters and QR
// codes, built from the small components under tui/components.
//
// Keys (? shows them all):
//
//	↑/k ↓/j g G   move (mouse clicks and the wheel select too)
//	/             filter: a whole issuer, name or Issuer:Name first, then the
//	              accounts whose label or a tag contains the text, as the
//	              desktop app searches (the match underlined); enter
//	              copies, esc clears
//	enter, c      copy the code (cleared from the clipboard after 30 s)
//	n             next HOTP code (the counter is saved first)
//	a             add: paste an otpauth:// URI or an enrollment link, or
//	              fill in the form
//	e             rename (Issuer:Name)
//	d             delete, after y
//	v             show the account as a QR code, after y
//	r             the pending sign-in requests of paired accounts
//	q, ctrl+c     quit
//
// An enrollment link (https://SERVER/enroll#TOKEN, from a Latchkey
// server's helpdesk) pasted into the add form is redeemed in a command
// through Options.Enroll: the account is stored and its first code
// confirmed with the server, with no typing.
//
// A sign-in request for a paired account (OpenID CIBA, see core/enroll)
// opens a modal over the list: y approves (sending the current code when
// the application asks for one), n denies, esc leaves it pending. The
// header counts the pending requests.
//
// Each row shows the code grouped for reading, a countdown bar that turns
// red in the last 5 seconds, and then the next code beside it.
//
// The model never does I/O in Update or View: the store and the clipboard
// are reached through commands whose results come back as ...Msg values.
// Time comes from the injected clock in common.Common, and the next tick is
// scheduled at the next whole second of that clock, so codes change exactly
// at period boundaries.
package tui

import (
	"time"

	"github.com/charmbracelet/bubbles/help"
	tea "github.com/charmbracelet/bubbletea"

	"latchkey/core/store"
	"latchkey/tui/common"
	"latchkey/tui/components/accounts"
	"latchkey/tui/components/confirm"
	"latchkey/tui/components/form"
	"latchkey/tui/components/prompt"
	"latchkey/tui/components/qrview"
)

// state is what the screen shows.
type state int

const (
	stateLoading state = iota
	stateLocked        // asking for the file store's passphrase (to unlock or create it)
	stateError         // the store cannot be used (keyring missing, corrupt file)
	stateList
	stateHelp
	stateAdd
	stateRename
	stateConfirm // delete, show QR, add a duplicate
	stateQR
	stateApproval // a sign-in request over the list (approvals.go)
	stateRequests // the pending sign-in requests
)

// StatusTTL is how long a status message stays on screen.
const StatusTTL = 5 * time.Second

// ReloadEvery is how often the accounts are listed again, so that changes
// made by another process (the desktop app, the CLI) show up; the store
// re-reads its files only when they changed.
const ReloadEvery = 15 * time.Second

// Options configures the UI.
type Options struct {
	// Open opens the store (required).
	Open OpenFunc
	// Passphrase, when set, is tried before asking (LATCHKEY_PASSPHRASE).
	Passphrase func() ([]byte, error)
	// Clipboard receives copied codes; nil reports that copying is not
	// possible.
	Clipboard Clipboard
	// Enroll redeems enrollment links pasted into the add form; nil
	// means links are refused with a message.
	Enroll Enroller
	// Backend names the store in the header ("keyring", "file"); optional.
	Backend string
	// Schedule returns the command delivering a TickMsg after d; nil means
	// tea.Tick. Tests record d instead of waiting.
	Schedule func(d time.Duration) tea.Cmd
	// Approvals lists and answers the sign-in requests of paired
	// accounts (approvals.go); zero means none are shown.
	Approvals Approvals
}

// Model is the root model of the terminal UI.
type Model struct {
	common   common.Common
	opts     Options
	schedule func(time.Duration) tea.Cmd
	state    state
	busy     string // what the loading screen says

	store   Store
	err     error
	list    accounts.Model
	help    help.Model
	prompt  prompt.Model
	form    form.Model
	confirm confirm.Model
	qr      qrview.Model

	loadedAt  time.Time // when the accounts were last listed
	reloading bool      // a reload is under way

	pendingID  string // the account a dialog is about
	pendingAdd *form.SubmitMsg

	backend  store.Backend // store.File once taken instead of a missing keyring
	unlocked bool          // a passphrase was typed (or LATCHKEY_PASSPHRASE set)
	newPass  string        // the new vault's passphrase, until it is typed again
	resume   *resume       // what to finish once the store opens unlocked
	// reopen gives the passphrase of a vault being created, until the
	// write that creates it is done: the store is then opened again, as
	// an existing vault is (through the agent, when one can serve it).
	reopen func() ([]byte, error)

	status    string
	statusErr bool
	statusAt  time.Time

	signins signins // pending sign-in requests (approvals.go)
}

// New returns the UI; c carries the styles, key map, logger and clock.
func New(c common.Common, o Options) Model {
	m := Model{common: c, opts: o, schedule: o.Schedule, state: stateLoading, unlocked: o.Passphrase != nil}
	if m.schedule == nil {
		m.schedule = defaultSchedule
	}
	m.list = accounts.New(c)
	m.help = help.New()
	m.help.Styles = c.Styles.Help
	m.SetSize(c.Width, c.Height)
	return m
}

// headerLines and footerLines frame every screen.
const (
	headerLines = 2 // title, blank
	footerLines = 2 // status, key help
)

// SetSize resizes every component.
func (m *Model) SetSize(width, height int) {
	m.common.SetSize(width, height)
	bw, bh := width, max(1, height-headerLines-footerLines)
	m.list.SetSize(bw, bh)
	m.help.Width = width
	m.prompt.SetSize(bw, bh)
	m.form.SetSize(bw, bh)
	m.confirm.SetSize(bw, bh)
	m.qr.SetSize(bw, bh)
	m.signins.modal.SetSize(bw, bh)
	m.signins.view.SetSize(bw, bh)
}

// Init opens the store and starts the clock.
func (m Model) Init() tea.Cmd {
	return tea.Batch(m.open(OpenOptions{}), m.tickCmd())
}

func (m Model) bodyCommon() common.Common {
	c := m.common
	c.SetSize(m.common.Width, max(1, m.common.Height-headerLines-footerLines))
	return c
}

// Err is the store error shown on the error screen, if any.
func (m Model) Err() error { return m.err }

// Ready reports whether the accounts are on screen.
func (m Model) Ready() bool { return m.state == stateList }

// Store is the open store, or nil before it opened; the caller closes it
// after the program ends.
func (m Model) Store() Store { return m.store }
