package server

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"latchkey/core/device"
)

// TestCIBAWaitSeen: a device's long poll with seen (the ids it already
// has) waits while the pending requests are those, and answers when they
// change: a new request, one answered, one expired. Without seen it
// answers at once while something is pending, as before.
func TestCIBAWaitSeen(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testCIBAWaitSeen(t, b.open(t)) })
	}
}

func testCIBAWaitSeen(t *testing.T, st Store) {
	ts := newOIDCServer(t, st)
	id, secret := ts.cibaClient()
	dev, _ := ts.pairByLink("alice")
	ask := func(msg string, extra ...string) string {
		t.Helper()
		form := url.Values{"scope": {"openid"}, "login_hint": {"alice"}, "binding_message": {msg}}
		if len(extra) == 2 {
			form.Set(extra[0], extra[1])
		}
		code, m := ts.bcAuthorize(ts.url, id, secret, form)
		if code != 200 {
			t.Fatalf("bc-authorize: %d %v", code, m)
		}
		return m["auth_req_id"].(string)
	}
	// poll long-polls with the query q and returns the ids it gets.
	poll := func(q string) []string {
		t.Helper()
		r := doRequest(t, ts.url, "GET", "/api/v1/device/requests?"+q, dev.signed(ts, "GET", "/api/v1/device/requests"), "")
		if r.status != 200 {
			t.Fatalf("GET ?%s: %d %s", q, r.status, r.body)
		}
		var out struct{ Requests []struct{ ID string } }
		if err := json.Unmarshal(r.body, &out); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, p := range out.Requests {
			ids = append(ids, p.ID)
		}
		slices.Sort(ids)
		return ids
	}
	// waiting starts a long poll and lets it reach the server before
	// the test changes anything.
	waiting := func(q string) <-chan []string {
		got := make(chan []string, 1)
		go func() { got <- poll(q) }()
		time.Sleep(300 * time.Millisecond)
		return got
	}
	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }

	first := ask("one")
	if got := poll("wait=10"); !slices.Equal(got, []string{first}) {
		t.Fatalf("without seen: %v", got)
	}
	if got := poll("wait=1&seen=" + first); !slices.Equal(got, []string{first}) {
		t.Fatalf("seen and nothing new until the wait ends: %v", got)
	}
	// A new request.
	got := waiting("wait=10&seen=" + first)
	second := ask("two")
	if ids := <-got; !slices.Equal(ids, sorted(first, second)) {
		t.Errorf("after a second request: %v, want %v", ids, sorted(first, second))
	}
	// One answered (elsewhere: by another of the user's devices).
	got = waiting("wait=10&seen=" + second + "," + first)
	if r := dev.answer(ts, ts.url, first, "one", device.Deny, ""); r.status != 200 {
		t.Fatalf("deny: %d %s", r.status, r.body)
	}
	if ids := <-got; !slices.Equal(ids, []string{second}) {
		t.Errorf("after the first was denied: %v, want [%s]", ids, second)
	}
	// One expired.
	got = waiting("wait=10&seen=" + second)
	ts.clock.Add(121 * time.Second)
	if ids := <-got; len(ids) != 0 {
		t.Errorf("after the second expired: %v, want none", ids)
	}
	// seen is bounded.
	var many []string
	for i := range 101 {
		many = append(many, fmt.Sprintf("r%d", i))
	}
	r := doRequest(t, ts.url, "GET", "/api/v1/device/requests?seen="+strings.Join(many, ","), dev.signed(ts, "GET", "/api/v1/device/requests"), "")
	if r.status != 400 || !strings.Contains(string(r.body), "seen must be at most 100 request ids") {
		t.Errorf("101 ids in seen: %d %s", r.status, r.body)
	}
}
