package tui

import (
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"latchkey/core/otp"
)

// TickMsg is delivered at each whole second of the injected clock; codes
// change at period boundaries, which are whole seconds.
type TickMsg struct{ Time time.Time }

// tickCmd schedules the next TickMsg at the next whole second of now.
func (m *Model) tickCmd() tea.Cmd {
	now := m.common.Now()
	d := otp.Remaining(now, 1)
	return m.schedule(d)
}

func defaultSchedule(d time.Duration) tea.Cmd {
	return tea.Tick(d, func(t time.Time) tea.Msg { return TickMsg{Time: t} })
}
