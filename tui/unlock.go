package tui

import (
	"bytes"
	"errors"

	tea "github.com/charmbracelet/bubbletea"

	"latchkey/core/agent"
	"latchkey/core/otpauth"
	"latchkey/core/store"
	"latchkey/tui/components/confirm"
	"latchkey/tui/components/prompt"
)

// This file is the first run's side of the UI: the file store's
// passphrase (unlocking a vault, or creating one with a confirmation), and
// the file store offered when no keyring answers.

// resume is the work a passphrase prompt interrupted, finished once the
// store is open with the passphrase: an add (the first write to a new
// vault creates it) or an enrollment link (redeeming spends it, so the
// vault is made ready first).
type resume struct {
	key   *otpauth.Key
	force bool
	link  string
}

// locked reports whether err means the vault needs a (different)
// passphrase, or a new one.
func locked(err error) bool {
	return errors.Is(err, ErrNeedPassphrase) || errors.Is(err, ErrNeedNewPassphrase) ||
		errors.Is(err, store.ErrNoPassphrase) || errors.Is(err, store.ErrBadPassphrase) ||
		errors.Is(err, agent.ErrLocked)
}

func nonEmpty(s string) error {
	if s == "" {
		return errors.New("the passphrase is empty")
	}
	return nil
}

// askPassphrase shows the prompt err calls for: a new passphrase for a
// vault not created yet, else the existing vault's (again, after a wrong
// one).
func (m Model) askPassphrase(err error) (tea.Model, tea.Cmd) {
	if errors.Is(err, ErrNeedNewPassphrase) {
		return m.askNewPassphrase("")
	}
	bad := errors.Is(err, store.ErrBadPassphrase)
	m.common.Logger.Info("store locked", "bad_passphrase", bad)
	m.state = stateLocked
	m.prompt = prompt.New(m.bodyCommon(), prompt.Options{
		ID:       idPassphrase,
		Title:    "Unlock the file store",
		Hint:     "Secrets are kept in an age-encrypted vault. Type its passphrase. Set LATCHKEY_PASSPHRASE to skip this.",
		Secret:   true,
		Validate: nonEmpty,
		// At start q and ctrl+c quit; in the middle of an add, esc goes
		// back to the form.
		Cancel: m.resume != nil,
	})
	if bad {
		m.prompt.SetError("Wrong passphrase; try again.")
	}
	return m, nil
}

// askNewPassphrase asks for the passphrase of a vault about to be
// created; problem is shown under the field (the two typings differed).
func (m Model) askNewPassphrase(problem string) (tea.Model, tea.Cmd) {
	m.common.Logger.Info("creating the vault")
	m.newPass = ""
	m.state = stateLocked
	m.prompt = prompt.New(m.bodyCommon(), prompt.Options{
		ID:       idNewPass,
		Title:    "Create the file store",
		Hint:     "Secrets will be kept in an age-encrypted vault. Choose its passphrase: you type it twice now, then when latchkey starts (or set LATCHKEY_PASSPHRASE). It cannot be recovered.",
		Secret:   true,
		Validate: nonEmpty,
		Cancel:   true,
	})
	if problem != "" {
		m.prompt.SetError(problem)
	}
	return m, nil
}

// passphraseTyped takes a typed passphrase: it unlocks the vault, or is
// the new vault's passphrase to confirm, or its confirmation. The store
// is opened again with it and the interrupted work resumes once the
// accounts are loaded.
func (m Model) passphraseTyped(msg prompt.SubmitMsg) (tea.Model, tea.Cmd) {
	switch msg.ID {
	case idNewPass:
		m.newPass = msg.Value
		m.prompt = prompt.New(m.bodyCommon(), prompt.Options{
			ID: idNewAgain, Title: "Type the passphrase again",
			Hint:   "The same passphrase, to be sure of it.",
			Secret: true, Validate: nonEmpty, Cancel: true,
		})
		return m, nil
	case idNewAgain:
		if msg.Value != m.newPass {
			return m.askNewPassphrase("The passphrases differ; choose one again.")
		}
		pass := []byte(m.newPass)
		m.newPass = ""
		m.unlocked = true
		give := func() ([]byte, error) { return pass, nil }
		// A copy of its own: the store that creates the vault clears
		// pass when it is closed.
		again := bytes.Clone(pass)
		m.reopen = func() ([]byte, error) { return again, nil }
		m.wait("Creating the vault…")
		return m, m.open(OpenOptions{Passphrase: give, NewPassphrase: give})
	}
	pass := []byte(msg.Value)
	m.unlocked = true
	m.wait("Unlocking the vault…")
	return m, m.open(OpenOptions{Passphrase: func() ([]byte, error) { return pass, nil }})
}

// promptCancelled leaves a prompt with esc: a passphrase prompt that
// interrupted an add goes back to the form, saying nothing was stored.
func (m Model) promptCancelled(msg prompt.CancelMsg) (tea.Model, tea.Cmd) {
	m.state = stateList
	switch msg.ID {
	case idPassphrase, idNewPass, idNewAgain:
		m.newPass = ""
		r := m.resume
		m.resume = nil
		if r == nil {
			break
		}
		m.state = stateAdd
		switch {
		case r.link != "":
			m.form.SetError("Not enrolled: the file store has no vault yet (the link was not used).")
		case msg.ID == idPassphrase:
			m.form.SetError("Not added: the file store is locked.")
		default:
			m.form.SetError("Not added: the file store has no vault yet.")
		}
	}
	return m, nil
}

// resumeWork finishes what a passphrase prompt interrupted, once the
// store is open and its accounts are loaded.
func (m Model) resumeWork() (tea.Model, tea.Cmd) {
	r := m.resume
	m.resume = nil
	switch {
	case r == nil:
		return m, nil
	case r.link != "":
		return m.enroll(r.link)
	}
	m.wait("Adding the account…")
	return m, addCmd(m.common.Ctx, m.store, r.key, r.force)
}

// needsVault reports whether the file store has no vault yet, so that a
// write would first have to create one: no account was read and no
// passphrase asked, which only a vault not yet created allows.
func (m Model) needsVault() bool {
	return m.opts.Backend == string(store.File) && !m.unlocked && len(m.list.Items()) == 0
}

// enroll redeems an enrollment link.
func (m Model) enroll(link string) (tea.Model, tea.Cmd) {
	m.common.Logger.Info("redeeming an enrollment link")
	m.wait("Redeeming the enrollment link and confirming the first code with the server…")
	return m, enrollCmd(m.common.Ctx, m.opts.Enroll, m.store, link)
}

// offerFileStore asks, when opening found no keyring on first use,
// whether to keep the accounts in the encrypted file store instead.
func (m Model) offerFileStore() (tea.Model, tea.Cmd) {
	m.common.Logger.Info("no keyring; offering the file store")
	m.state = stateConfirm
	m.confirm = confirm.New(m.bodyCommon(), idUseFile, "The OS keyring is unavailable.",
		"Keep your accounts in an encrypted file instead? You choose its passphrase at the first add. "+
			"Latchkey remembers this (scripts: LATCHKEY_STORE=file).", false)
	return m, nil
}

// fileStoreAnswered opens the file store on yes; no leaves the keyring's
// one-sentence error.
func (m Model) fileStoreAnswered(yes bool) (tea.Model, tea.Cmd) {
	if !yes {
		return m.fail(store.ErrKeyringUnavailable)
	}
	m.common.Logger.Info("file store chosen")
	m.backend = store.File
	m.wait("Opening the file store…")
	return m, m.open(OpenOptions{})
}
