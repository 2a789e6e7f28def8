package tui

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"latchkey/core/agent"
	"latchkey/core/label"
	"latchkey/core/otp"
	"latchkey/core/store"
	"latchkey/tui/components/accounts"
	"latchkey/tui/components/approval"
	"latchkey/tui/components/confirm"
	"latchkey/tui/components/form"
	"latchkey/tui/components/prompt"
	"latchkey/tui/components/qrview"
	"latchkey/tui/components/requests"
)

// Prompt and question names.
const (
	idPassphrase = "passphrase"
	idNewPass    = "new-passphrase"
	idNewAgain   = "new-passphrase-again"
	idUseFile    = "use-file-store"
	idRename     = "rename"
	idDelete     = "delete"
	idQR         = "qr"
	idDuplicate  = "duplicate"
)

// Update implements tea.Model.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.SetSize(msg.Width, msg.Height)
		return m, nil
	case TickMsg:
		now := m.common.Now()
		m.list.Tick(now)
		m.expire()
		if m.status != "" && now.Sub(m.statusAt) >= StatusTTL {
			m.status = ""
		}
		cmd := m.tickCmd()
		if m.store != nil && !m.reloading && (m.state == stateList || m.state == stateHelp) && now.Sub(m.loadedAt) >= ReloadEvery {
			m.reloading = true
			cmd = tea.Batch(cmd, reloadCmd(m.common.Ctx, m.store))
		}
		return m, cmd
	case OpenedMsg:
		return m.opened(msg)
	case LoadedMsg:
		m.loadedAt = m.common.Now()
		if msg.Reload {
			m.reloading = false
			if errors.Is(msg.Err, agent.ErrLocked) && (m.state == stateList || m.state == stateHelp) {
				return m.agentLocked()
			}
			if msg.Err != nil {
				m.common.Logger.Warn("reload failed", "err", msg.Err)
				return m, nil
			}
			m.list.SetItems(msg.Items)
			return m, nil
		}
		if msg.Err != nil {
			return m.storeFailed(msg.Err)
		}
		m.list.SetItems(msg.Items)
		m.state = stateList
		m.common.Logger.Info("accounts loaded", "count", len(msg.Items))
		listen := m.startListening()
		next, cmd := m.resumeWork()
		return next, tea.Batch(cmd, listen)
	case CopiedMsg:
		if msg.Err != nil {
			m.setStatus(true, "Could not copy: %v", msg.Err)
		} else if msg.ClearsIn > 0 {
			m.setStatus(false, "Copied the code of %s (cleared in %s).", msg.Label, msg.ClearsIn)
		} else {
			m.setStatus(false, "Sent the code of %s to the terminal's clipboard (OSC 52).", msg.Label)
		}
		return m, nil
	case DeletedMsg:
		if errors.Is(msg.Err, agent.ErrLocked) {
			return m.agentLocked() // nothing was done; it is done again once unlocked
		}
		if msg.Err != nil {
			m.setStatus(true, "Could not delete %s: %v", msg.Label, msg.Err)
			return m, nil
		}
		items := m.list.Items()
		kept := make([]accounts.Item, 0, len(items))
		for _, it := range items {
			if it.ID != msg.ID {
				kept = append(kept, it)
			}
		}
		m.list.SetItems(kept)
		m.setStatus(false, "Deleted %s.", msg.Label)
		return m, nil
	case RenamedMsg:
		if errors.Is(msg.Err, agent.ErrLocked) {
			return m.agentLocked() // nothing was done; it is done again once unlocked
		}
		if msg.Err != nil {
			m.setStatus(true, "Could not rename: %v", msg.Err)
			return m, nil
		}
		m.list.SetItem(item(msg.Account))
		m.setStatus(false, "Renamed to %s.", msg.Account.Label())
		return m, nil
	case AddedMsg:
		return m.added(msg)
	case HOTPMsg:
		if errors.Is(msg.Err, agent.ErrLocked) {
			return m.agentLocked() // nothing was done; it is done again once unlocked
		}
		if msg.Err != nil {
			m.setStatus(true, "Could not advance the counter: %v", msg.Err)
			return m, nil
		}
		it := item(msg.Account)
		it.HOTPCode = msg.Code
		m.list.SetItem(it)
		m.setStatus(false, "New code for %s (counter now %d).", msg.Account.Label(), msg.Account.Counter)
		return m, nil
	case QRMsg:
		if msg.Err != nil {
			m.state = stateList
			m.setStatus(true, "Could not read the secret of %s: %v", msg.Label, msg.Err)
			return m, nil
		}
		m.qr = qrview.New(m.common, msg.Label, msg.URI)
		m.qr.SetSize(m.list.Width, max(1, m.common.Height-headerLines-footerLines))
		m.state = stateQR
		return m, nil
	case qrview.CloseMsg:
		m.qr = qrview.Model{}
		m.state = stateList
		return m, nil
	case prompt.SubmitMsg:
		return m.promptDone(msg)
	case prompt.CancelMsg:
		return m.promptCancelled(msg)
	case form.SubmitMsg:
		m.wait("Adding the account…")
		return m, addCmd(m.common.Ctx, m.store, msg.Key, false)
	case form.EnrollMsg:
		if m.opts.Enroll == nil {
			m.form.SetError("Not enrolled: enrollment links cannot be redeemed here; use 'latchkey enroll LINK'.")
			return m, nil
		}
		if m.needsVault() {
			// Redeeming spends the link: have the vault ready first.
			m.resume = &resume{link: msg.Link}
			return m.askNewPassphrase("")
		}
		return m.enroll(msg.Link)
	case EnrolledMsg:
		return m.enrolled(msg)
	case form.CancelMsg:
		m.state = stateList
		return m, nil
	case confirm.ResultMsg:
		return m.answered(msg)
	case RequestsMsg:
		return m.requestsSeen(msg)
	case AnsweredMsg, approval.AnswerMsg, approval.LaterMsg, requests.OpenMsg, requests.CloseMsg:
		return m.approvalMsg(msg)
	case tea.KeyMsg:
		if key.Matches(msg, m.common.KeyMap.ForceQuit()) {
			return m, tea.Quit
		}
		return m.key(msg)
	case tea.MouseMsg:
		if m.state == stateList {
			msg.Y -= headerLines
			var cmd tea.Cmd
			m.list, cmd = m.list.Update(msg)
			return m, cmd
		}
		return m, nil
	}
	return m.forward(msg)
}

// forward hands other messages (cursor blinks) to the active component.
func (m Model) forward(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	switch m.state {
	case stateLocked, stateRename:
		m.prompt, cmd = m.prompt.Update(msg)
	case stateAdd:
		m.form, cmd = m.form.Update(msg)
	case stateList:
		m.list, cmd = m.list.Update(msg)
	}
	return m, cmd
}

func (m Model) opened(msg OpenedMsg) (tea.Model, tea.Cmd) {
	if msg.Err != nil {
		if errors.Is(msg.Err, store.ErrKeyringUnavailable) && m.backend == "" {
			return m.offerFileStore()
		}
		return m.storeFailed(msg.Err)
	}
	if old, ok := m.store.(io.Closer); ok && m.store != msg.Store {
		old.Close() // forgets its cached secrets; no I/O
	}
	m.store = msg.Store
	if b, ok := msg.Store.(interface{ Backend() store.Backend }); ok {
		m.opts.Backend = string(b.Backend())
	}
	if _, ok := msg.Store.(*agent.Client); ok {
		m.unlocked = true // the agent holds the vault, unlocked
	}
	return m, loadCmd(m.common.Ctx, m.store)
}

// agentLocked follows the agent locking behind the UI (idle, 'latchkey
// lock', the session's lock): the codes go with it until the passphrase is
// typed again, which unlocks the agent.
func (m Model) agentLocked() (tea.Model, tea.Cmd) {
	m.list.SetItems(nil)
	m.unlocked = false
	return m.askPassphrase(agent.ErrLocked)
}

// storeFailed shows the passphrase prompt for a locked (or not yet
// created) vault and the error screen for anything else. The file store
// asks for its passphrase only when it first reads the vault, or writes a
// new one, so this follows opening, loading and adding.
func (m Model) storeFailed(err error) (tea.Model, tea.Cmd) {
	if locked(err) {
		return m.askPassphrase(err)
	}
	return m.fail(err)
}

// fail shows the error screen; it never panics and never shows secrets
// (store errors carry none).
func (m Model) fail(err error) (tea.Model, tea.Cmd) {
	m.common.Logger.Error("store unusable", "err", err)
	m.err = err
	m.state = stateError
	return m, nil
}

// wait shows the loading screen with what is being done.
func (m *Model) wait(what string) {
	m.state = stateLoading
	m.busy = what
}

func (m *Model) setStatus(isErr bool, format string, args ...any) {
	// Statuses quote labels and errors from outside: one escaped line.
	m.status = label.Line(fmt.Sprintf(format, args...))
	m.statusErr = isErr
	m.statusAt = m.common.Now()
	if isErr {
		m.common.Logger.Warn("status", "msg", m.status)
	}
}
func (m Model) added(msg AddedMsg) (tea.Model, tea.Cmd) {
	switch {
	case errors.Is(msg.Err, store.ErrDuplicate):
		m.pendingAdd = &form.SubmitMsg{Key: msg.Key}
		m.state = stateConfirm
		m.confirm = confirm.New(m.bodyCommon(), idDuplicate,
			fmt.Sprintf("%s already exists.", msg.Label),
			"Add a second account with the same issuer and name?", false)
		return m, nil
	case locked(msg.Err):
		// The first add to a new file store creates its vault.
		m.resume = &resume{key: msg.Key, force: msg.Force}
		return m.askPassphrase(msg.Err)
	case msg.Err != nil:
		m.state = stateAdd
		m.form.SetError("Not added: " + msg.Err.Error())
		return m, nil
	}
	items := append(m.list.Items(), msg.Item)
	m.list.SetItems(items)
	m.list.Select(msg.Item.ID)
	m.state = stateList
	m.setStatus(false, "Added %s.", msg.Label)
	return m, m.reopenVault()
}

// reopenVault opens the store again once the vault it was creating
// exists: the command line's Open then hands the agent, as for a vault
// that was there at start, so that the other commands find it unlocked.
func (m *Model) reopenVault() tea.Cmd {
	give := m.reopen
	if give == nil {
		return nil
	}
	m.reopen = nil
	return m.open(OpenOptions{Passphrase: give, NewPassphrase: give})
}

// enrolled shows the account an enrollment link brought, or why there is
// none (core/enroll's errors reveal nothing of the link).
func (m Model) enrolled(msg EnrolledMsg) (tea.Model, tea.Cmd) {
	if msg.Err != nil {
		m.common.Logger.Warn("enrollment failed", "err", msg.Err)
		m.state = stateAdd
		m.form.SetError("Not enrolled: " + strings.TrimPrefix(msg.Err.Error(), "enroll: "))
		return m, nil
	}
	dup := false
	for _, it := range m.list.Items() {
		if it.Issuer == msg.Item.Issuer && it.Name == msg.Item.Name {
			dup = true
		}
	}
	m.list.SetItems(append(m.list.Items(), msg.Item))
	m.list.Select(msg.Item.ID)
	m.state = stateList
	m.common.Logger.Info("enrolled", "account", msg.Item.ID)
	if dup {
		m.setStatus(false, "Enrolled and confirmed %s (beside the one of the same name).", msg.Label)
	} else {
		m.setStatus(false, "Enrolled and confirmed %s.", msg.Label)
	}
	return m, m.reopenVault()
}

func (m Model) promptDone(msg prompt.SubmitMsg) (tea.Model, tea.Cmd) {
	switch msg.ID {
	case idPassphrase, idNewPass, idNewAgain:
		return m.passphraseTyped(msg)
	case idRename:
		issuer, name := splitLabel(msg.Value)
		m.state = stateList
		return m, renameCmd(m.common.Ctx, m.store, m.pendingID, issuer, name)
	}
	return m, nil
}

// splitLabel splits "Issuer:Name" at the first colon.
func splitLabel(s string) (issuer, name string) {
	if i, n, ok := strings.Cut(s, ":"); ok {
		return strings.TrimSpace(i), strings.TrimSpace(n)
	}
	return "", strings.TrimSpace(s)
}

func (m Model) answered(msg confirm.ResultMsg) (tea.Model, tea.Cmd) {
	if msg.ID == idUseFile {
		return m.fileStoreAnswered(msg.Yes)
	}
	m.state = stateList
	if !msg.Yes {
		m.pendingAdd = nil
		return m, nil
	}
	switch msg.ID {
	case idDelete:
		it, ok := m.find(m.pendingID)
		if !ok {
			return m, nil
		}
		return m, deleteCmd(m.common.Ctx, m.store, it.ID, it.Label())
	case idQR:
		it, ok := m.find(m.pendingID)
		if !ok {
			return m, nil
		}
		m.wait("Reading the secret…")
		return m, qrCmd(m.common.Ctx, m.store, it)
	case idDuplicate:
		if m.pendingAdd == nil {
			return m, nil
		}
		k := m.pendingAdd.Key
		m.pendingAdd = nil
		m.wait("Adding the account…")
		return m, addCmd(m.common.Ctx, m.store, k, true)
	}
	return m, nil
}

func (m Model) find(id string) (accounts.Item, bool) {
	for _, it := range m.list.Items() {
		if it.ID == id {
			return it, true
		}
	}
	return accounts.Item{}, false
}

// key routes a key press by state.
func (m Model) key(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	km := m.common.KeyMap
	var cmd tea.Cmd
	switch m.state {
	case stateLoading:
		if key.Matches(msg, km.Quit) {
			return m, tea.Quit
		}
	case stateError:
		if key.Matches(msg, km.Quit, km.Back) {
			return m, tea.Quit
		}
	case stateLocked, stateRename:
		m.prompt, cmd = m.prompt.Update(msg)
	case stateAdd:
		m.form, cmd = m.form.Update(msg)
	case stateConfirm:
		m.confirm, cmd = m.confirm.Update(msg)
	case stateQR:
		m.qr, cmd = m.qr.Update(msg)
	case stateApproval:
		m.signins.modal, cmd = m.signins.modal.Update(msg)
	case stateRequests:
		m.signins.view, cmd = m.signins.view.Update(msg)
	case stateHelp:
		switch {
		case key.Matches(msg, km.Quit):
			return m, tea.Quit
		case key.Matches(msg, km.Help, km.Back):
			m.state = stateList
		}
	case stateList:
		return m.listKey(msg)
	}
	return m, cmd
}

func (m Model) listKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	km := m.common.KeyMap
	var cmd tea.Cmd
	if m.list.Filtering() {
		if msg.Type == tea.KeyEnter {
			m.list.StopFilter()
			return m.copySelected()
		}
		m.list, cmd = m.list.Update(msg)
		return m, cmd
	}
	it, ok := m.list.Selected()
	switch {
	case key.Matches(msg, km.Quit):
		return m, tea.Quit
	case key.Matches(msg, km.Help):
		m.state = stateHelp
		return m, nil
	case key.Matches(msg, km.Filter):
		return m, m.list.StartFilter()
	case key.Matches(msg, km.Add):
		m.form = form.New(m.bodyCommon())
		m.state = stateAdd
		return m, nil
	case key.Matches(msg, km.Copy):
		return m.copySelected()
	case key.Matches(msg, km.Requests):
		return m.showRequests()
	case !ok && key.Matches(msg, km.Rename, km.Delete, km.Next, km.QR):
		m.setStatus(true, "No account selected.")
		return m, nil
	case key.Matches(msg, km.Rename):
		m.pendingID = it.ID
		m.state = stateRename
		// The text to edit is the label as the store keeps it now
		// (cleaned), not one an older version stored with escapes.
		value, _ := label.Clean(it.Label())
		m.prompt = prompt.New(m.bodyCommon(), prompt.Options{
			ID: idRename, Title: "Rename " + it.Label(), Hint: "Issuer:Name, or a name alone (no issuer).",
			Value: value, Cancel: true,
			Validate: func(s string) error {
				if _, n := splitLabel(s); n == "" {
					return errors.New("the name is empty")
				}
				return nil
			},
		})
		return m, nil
	case key.Matches(msg, km.Delete):
		m.pendingID = it.ID
		m.state = stateConfirm
		m.confirm = confirm.New(m.bodyCommon(), idDelete, "Delete "+it.Label()+"?",
			"Its secret is removed too: unless the service has another way in, you lose access to it.", true)
		return m, nil
	case key.Matches(msg, km.Next):
		if it.Type != otp.HOTP {
			m.setStatus(true, "n is only for HOTP (counter) accounts.")
			return m, nil
		}
		return m, nextHOTPCmd(m.common.Ctx, m.store, it.ID)
	case key.Matches(msg, km.QR):
		m.pendingID = it.ID
		m.state = stateConfirm
		m.confirm = confirm.New(m.bodyCommon(), idQR, "Show the secret of "+it.Label()+" as a QR code?",
			"Anyone who can see this screen (or a recording of it) can copy the account.", true)
		return m, nil
	}
	m.list, cmd = m.list.Update(msg)
	return m, cmd
}

func (m Model) copySelected() (tea.Model, tea.Cmd) {
	it, ok := m.list.Selected()
	if !ok {
		m.setStatus(true, "No account selected.")
		return m, nil
	}
	code := it.Code()
	if code == "" {
		if it.Type == otp.HOTP {
			m.setStatus(true, "Press n to get a code for %s first.", it.Label())
		} else {
			m.setStatus(true, "No code for %s: its secret is unavailable.", it.Label())
		}
		return m, nil
	}
	return m, copyCmd(m.common.Ctx, m.opts.Clipboard, it.Label(), code)
}
