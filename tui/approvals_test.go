package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"latchkey/core/enroll"
	"latchkey/tui/components/accounts"
)

// fakeApprovals records answers; the listener is replaced by sending
// RequestsMsg directly, as the real one's goroutine would.
type fakeApprovals struct {
	answers []string
	err     error
}

func (f *fakeApprovals) approvals() Approvals {
	return Approvals{Answer: func(_ context.Context, _ Store, id string, approve bool) (string, error) {
		f.answers = append(f.answers, fmt.Sprintf("%s %v", id, approve))
		if f.err != nil {
			return "", f.err
		}
		if approve {
			return "approved", nil
		}
		return "denied", nil
	}}
}

func shopRequest(id, msg string) enroll.Request {
	return enroll.Request{ID: id, Account: "id01", Client: "c1", ClientName: "Shop", BindingMessage: msg, ExpiresIn: 120}
}

func newApprovalHarness(t *testing.T, width int) (*harness, *fakeApprovals) {
	f := &fakeApprovals{}
	h := newHarness(t, harnessOpts{width: width, height: 24, at: time.Unix(rfcTime-20, 0), approvals: f.approvals()})
	return h, f
}

func TestApprovalModal(t *testing.T) {
	t.Run("y approves", func(t *testing.T) {
		h, f := newApprovalHarness(t, 100)
		h.send(RequestsMsg{Requests: []enroll.Request{shopRequest("req-1", "Order 42")}})
		h.wantView("Sign-in request", "Shop asks to sign in as", "GitHub:alice@example.com", "Order 42", "Expires in 2:00", "1 sign-in request")
		h.keys("y")
		if len(f.answers) != 1 || f.answers[0] != "req-1 true" {
			t.Fatalf("answers %v", f.answers)
		}
		h.wantView("Approved the sign-in to Shop (Order 42).")
		h.wantNotView("sign-in request")
		// A poll that still lists it (answered a moment ago) does not reopen it.
		h.send(RequestsMsg{Requests: []enroll.Request{shopRequest("req-1", "Order 42")}})
		h.wantNotView("Shop asks")
	})
	t.Run("n denies", func(t *testing.T) {
		h, f := newApprovalHarness(t, 40)
		h.send(RequestsMsg{Requests: []enroll.Request{shopRequest("req-1", "Order 42")}})
		h.keys("n")
		if len(f.answers) != 1 || f.answers[0] != "req-1 false" {
			t.Fatalf("answers %v", f.answers)
		}
		h.wantView("Denied the sign-in")
		if len(h.store.accounts) != 5 {
			t.Error("n reached the list")
		}
	})
	t.Run("other keys do nothing", func(t *testing.T) {
		h, f := newApprovalHarness(t, 100)
		h.send(RequestsMsg{Requests: []enroll.Request{shopRequest("req-1", "Order 42")}})
		h.keys("enter", "Y", "d", "q", " ")
		if len(f.answers) != 0 || h.quit() {
			t.Fatalf("answers %v, quit %v", f.answers, h.quit())
		}
		h.wantView("Shop asks")
	})
	t.Run("esc leaves it pending", func(t *testing.T) {
		h, f := newApprovalHarness(t, 100)
		h.send(RequestsMsg{Requests: []enroll.Request{shopRequest("req-1", "Order 42")}})
		h.keys("esc")
		h.wantNotView("Shop asks")
		h.wantView("1 sign-in request", "Left pending")
		h.send(RequestsMsg{Requests: []enroll.Request{shopRequest("req-1", "Order 42"), shopRequest("req-2", "Order 43")}})
		h.wantView("2 sign-in requests", "Order 43") // the new one opens
		h.keys("esc", "r")
		h.wantView("Sign-in requests", "Order 42 · Shop · GitHub:alice@example.com", "Order 43")
		h.keys("down", "enter")
		h.wantView("Shop asks", "Order 43")
		h.keys("y")
		if len(f.answers) != 1 || f.answers[0] != "req-2 true" {
			t.Fatalf("answers %v", f.answers)
		}
		h.wantView("Sign-in requests", "1 sign-in request") // back in the view
		h.keys("esc")
		if h.model().state != stateList {
			t.Errorf("state %v", h.model().state)
		}
	})
	t.Run("answered elsewhere", func(t *testing.T) {
		h, _ := newApprovalHarness(t, 100)
		h.send(RequestsMsg{Requests: []enroll.Request{shopRequest("req-1", "Order 42")}})
		h.send(RequestsMsg{})
		h.wantNotView("Shop asks")
		h.wantView("The sign-in request from Shop was answered elsewhere or expired.")
	})
	t.Run("expires", func(t *testing.T) {
		h, _ := newApprovalHarness(t, 100)
		h.send(RequestsMsg{Requests: []enroll.Request{shopRequest("req-1", "Order 42")}})
		h.clock.t = h.clock.t.Add(119 * time.Second)
		h.send(TickMsg{})
		h.wantView("Expires in 0:01")
		// The countdown runs from when the request was first seen.
		h.send(RequestsMsg{Requests: []enroll.Request{shopRequest("req-1", "Order 42")}})
		h.wantView("Expires in 0:01")
		h.clock.t = h.clock.t.Add(time.Second)
		h.send(TickMsg{})
		h.wantNotView("Shop asks")
		h.wantNotView("1 sign-in request")
		h.wantView("The sign-in request from Shop expired.")
	})
	t.Run("error", func(t *testing.T) {
		h, f := newApprovalHarness(t, 100)
		f.err = errors.New("the server refused the answer")
		h.send(RequestsMsg{Requests: []enroll.Request{shopRequest("req-1", "Order 42")}})
		h.keys("y")
		h.wantView("Could not answer the sign-in to Shop: the server refused the answer")
	})
	t.Run("not over a form", func(t *testing.T) {
		h, _ := newApprovalHarness(t, 100)
		h.keys("a")
		h.send(RequestsMsg{Requests: []enroll.Request{shopRequest("req-1", "Order 42")}})
		h.wantNotView("Shop asks")
		h.wantView("1 sign-in request")
		h.keys("esc")
		h.send(TickMsg{})
		h.wantView("Shop asks")
	})
	t.Run("escapes what the server sent", func(t *testing.T) {
		h, _ := newApprovalHarness(t, 100)
		r := shopRequest("req-1", "Pay \x1b[31mnow\u202e")
		r.ClientName = "Sh\x07op"
		h.send(RequestsMsg{Requests: []enroll.Request{r}})
		v := h.view()
		if strings.ContainsAny(v, "\x1b\x07\u202e") {
			t.Fatalf("raw control characters on screen: %q", v)
		}
		h.wantView(`Pay \x1b[31mnow\u202e`, `Sh\x07op asks`)
	})
}

// TestApprovalListenerStarts: the listener starts once the accounts are
// listed, on the open store, and what it sees comes back as RequestsMsg.
func TestApprovalListenerStarts(t *testing.T) {
	started := make(chan Store, 1)
	a := Approvals{Listen: func(ctx context.Context, s Store, seen func([]enroll.Request)) {
		started <- s
		seen([]enroll.Request{shopRequest("req-1", "Order 42")})
		<-ctx.Done()
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := testCommon(&clock{t: time.Unix(rfcTime-20, 0)}, 100, 24)
	c.Ctx = ctx
	fs := newFakeStore()
	seed(fs)
	m := New(c, Options{Open: func(context.Context, OpenOptions) (Store, error) { return fs, nil }, Approvals: a,
		Schedule: func(time.Duration) tea.Cmd { return nil }})
	var tm tea.Model = m
	tm, _ = tm.Update(OpenedMsg{Store: fs})
	tm, cmd := tm.Update(LoadedMsg{Items: []accounts.Item{item(fs.accounts[0])}})
	msgs := runAll(cmd)
	if s := <-started; s != fs {
		t.Errorf("listening on %v", s)
	}
	var got []tea.Msg
	for _, msg := range msgs {
		if _, ok := msg.(RequestsMsg); ok {
			got = append(got, msg)
		}
	}
	if len(got) != 1 {
		t.Fatalf("messages %#v", msgs)
	}
	tm, _ = tm.Update(got[0])
	if !strings.Contains(tm.View(), "Order 42") {
		t.Errorf("view:\n%s", tm.View())
	}
}

// runAll runs cmd and its batches (one level of commands, concurrently
// as Bubble Tea does), returning their messages.
func runAll(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	msg := cmd()
	b, ok := msg.(tea.BatchMsg)
	if !ok {
		return []tea.Msg{msg}
	}
	ch := make(chan []tea.Msg, len(b))
	for _, c := range b {
		go func() { ch <- runAll(c) }()
	}
	var out []tea.Msg
	for range b {
		out = append(out, <-ch...)
	}
	return out
}

func TestApprovalGolden(t *testing.T) {
	for _, w := range []int{40, 100} {
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			h, _ := newApprovalHarness(t, w)
			h.send(RequestsMsg{Requests: []enroll.Request{shopRequest("req-1", "Order 42: 3 items, 129.00 EUR")}})
			golden(t, fmt.Sprintf("approval-%d", w), h.view())
			h.send(RequestsMsg{Requests: []enroll.Request{shopRequest("req-1", "Order 42: 3 items, 129.00 EUR"), shopRequest("req-2", "")}})
			h.keys("esc", "r")
			golden(t, fmt.Sprintf("requests-%d", w), h.view())
		})
	}
}
