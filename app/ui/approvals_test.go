package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"latchkey/core/enroll"
)

// fakeApprovals hands the test the listener's callback and records
// answers and notifications.
type fakeApprovals struct {
	mu      sync.Mutex // guards seen while the listener's goroutine sets it
	seen    func([]enroll.Request)
	answers []string
	notes   []string
	err     error
}

func (f *fakeApprovals) approvals() Approvals {
	return Approvals{
		Listen: func(_ context.Context, _ Store, seen func([]enroll.Request)) {
			f.mu.Lock()
			f.seen = seen
			f.mu.Unlock()
		},
		Answer: func(_ context.Context, _ Store, id string, approve bool) (string, error) {
			f.answers = append(f.answers, fmt.Sprintf("%s %v", id, approve))
			return "ok", f.err
		},
		Notify: func(n *fyne.Notification) { f.notes = append(f.notes, n.Title+" / "+n.Content) },
	}
}

func newApprovalHarness(t *testing.T) (*harness, *fakeApprovals) {
	t.Helper()
	test.NewTempApp(t)
	f := &fakeApprovals{}
	h := &harness{t: t, store: newFakeStore(Keyring), clock: &fakeClock{now: t0}}
	seedThree(h.store)
	h.w = test.NewTempWindow(t, nil)
	h.w.Resize(fyne.NewSize(420, 560))
	h.app = New(h.w, Deps{
		Clock:     h.clock,
		Open:      func(context.Context, Backend, Prompts) (Store, error) { return h.store, nil },
		Approvals: f.approvals(),
	})
	h.app.async = func(f func()) { f() }
	h.app.Start(context.Background())
	t.Cleanup(h.app.Stop)
	// The listener is started on its own goroutine.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		f.mu.Lock()
		ok := f.seen != nil
		f.mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the listener did not start")
		}
	}
	return h, f
}

func request(id, msg string) enroll.Request {
	return enroll.Request{ID: id, Account: "id01", ClientName: "Shop", BindingMessage: msg, ExpiresIn: 120}
}

func TestApprovalCard(t *testing.T) {
	h, f := newApprovalHarness(t)
	f.seen([]enroll.Request{request("req-1", "Order 42")})
	got := texts(h.w.Content())
	for _, want := range []string{"Sign-in request from Shop", "Order 42", "GitHub:alice@example.com · expires in 2:00", "[Approve]", "[Deny]"} {
		if !strings.Contains(got, want) {
			t.Errorf("the card lacks %q:\n%s", want, got)
		}
	}
	if len(f.notes) != 1 || f.notes[0] != "Sign-in request from Shop / Order 42\nGitHub:alice@example.com" {
		t.Errorf("notifications %q", f.notes)
	}
	goldenImage(t, "approval_card.png", h.w.Canvas())

	// Focus is on neither button, and Enter (which copies the selected
	// code) does not approve.
	if fo := h.w.Canvas().Focused(); fo != nil {
		if b, ok := fo.(*widget.Button); ok {
			t.Errorf("focus starts on %q", b.Text)
		}
	}
	h.w.Canvas().(test.WindowlessCanvas).OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if len(f.answers) != 0 {
		t.Fatalf("enter answered: %v", f.answers)
	}
	// The countdown runs; the same request seen again keeps its expiry.
	h.clock.advance(30 * time.Second)
	f.seen([]enroll.Request{request("req-1", "Order 42")})
	if got := texts(h.w.Content()); !strings.Contains(got, "expires in 1:30") {
		t.Errorf("countdown:\n%s", got)
	}
	if len(f.notes) != 1 {
		t.Errorf("notified again: %q", f.notes)
	}

	// Tab reaches Approve; Space presses it.
	c := h.w.Canvas()
	var approve *widget.Button
	for range 10 {
		c.FocusNext()
		if b, ok := c.Focused().(*widget.Button); ok && b.Text == "Approve" {
			approve = b
			break
		}
	}
	if approve == nil {
		t.Fatal("Tab does not reach Approve")
	}
	approve.TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace})
	if len(f.answers) != 1 || f.answers[0] != "req-1 true" {
		t.Fatalf("answers %v", f.answers)
	}
	if got := texts(h.w.Content()); strings.Contains(got, "Order 42") || !strings.Contains(got, "Approved the sign-in to Shop.") {
		t.Errorf("after approving:\n%s", got)
	}
	// A poll that still lists it does not bring it back.
	f.seen([]enroll.Request{request("req-1", "Order 42")})
	if strings.Contains(texts(h.w.Content()), "Order 42") {
		t.Error("the answered request came back")
	}
}

func TestApprovalDenyExpireElsewhere(t *testing.T) {
	h, f := newApprovalHarness(t)
	f.seen([]enroll.Request{request("req-1", "Order 42"), request("req-2", "Order 43"), request("req-3", "Order 44")})
	test.Tap(button(t, h.w.Content(), "Deny")) // the first card's
	if len(f.answers) != 1 || f.answers[0] != "req-1 false" {
		t.Fatalf("answers %v", f.answers)
	}
	f.seen([]enroll.Request{request("req-2", "Order 43")}) // req-3 answered elsewhere
	h.clock.advance(121 * time.Second)                     // req-2 expires
	if got := texts(h.w.Content()); strings.Contains(got, "Order 4") {
		t.Errorf("cards left:\n%s", got)
	}
	lines := h.app.historyLines()
	want := []string{"expired: Shop to GitHub:alice@example.com (Order 43)", "answered elsewhere: Shop to GitHub:alice@example.com (Order 44)",
		"denied: Shop to GitHub:alice@example.com (Order 42)"}
	if len(lines) != len(want) {
		t.Fatalf("history %q", lines)
	}
	for i, w := range want {
		if !strings.HasSuffix(lines[i], w) {
			t.Errorf("history[%d] = %q, want …%q", i, lines[i], w)
		}
	}
	h.app.showSignins()
	if got := texts(overlay(t, h.w)); !strings.Contains(got, "denied: Shop") {
		t.Errorf("Sign-ins view:\n%s", got)
	}
}

func TestApprovalError(t *testing.T) {
	h, f := newApprovalHarness(t)
	f.err = errors.New("the server refused the answer")
	f.seen([]enroll.Request{request("req-1", "Order 42")})
	test.Tap(button(t, h.w.Content(), "Approve"))
	if got := texts(overlay(t, h.w)); !strings.Contains(got, "the server refused the answer") {
		t.Errorf("error dialog:\n%s", got)
	}
}

// TestApprovalStopsOnLock: locking the store stops the listener and
// hides the cards; what the old listener reports later is ignored.
func TestApprovalStopsOnLock(t *testing.T) {
	h, f := newApprovalHarness(t)
	f.seen([]enroll.Request{request("req-1", "Order 42")})
	old := f.seen
	h.app.lock()
	old([]enroll.Request{request("req-2", "Order 43")})
	if len(h.app.signins.pending) != 0 {
		t.Errorf("pending after lock: %v", h.app.signins.pending)
	}
}
