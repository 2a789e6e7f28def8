package enroll_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"latchkey/core/enroll"
	"latchkey/core/store"
	"latchkey/server"
)

// TestListenerWaitsForChanges runs the Listener against a real server,
// paired by Enroll: it reports a new request, a second one, and one
// answered elsewhere; each poll names what it has seen, and while nothing
// changes it sends no request at all (it used to ask again every 2 s
// while a request was pending, since the long-poll then answered at once).
// Against a server that ignores seen (an older one: here the query
// parameter is dropped on the way) it sees the same, asking at most
// every 2 s while nothing changes.
func TestListenerWaitsForChanges(t *testing.T) {
	t.Run("seen", func(t *testing.T) { testListener(t, false) })
	t.Run("a server without seen", func(t *testing.T) { testListener(t, true) })
}

func testListener(t *testing.T, dropSeen bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The server, behind a handler that notes the device API's GETs.
	st, err := server.OpenSQLite(ctx, filepath.Join(t.TempDir(), "server.db"))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := server.NewKey()
	kr, _ := server.NewKeyring(key)
	hs := httptest.NewUnstartedServer(nil)
	base := "http://" + hs.Listener.Addr().String()
	const token = "listener-test-token-Qm4xV8bN2kL7pR5tW9zC3"
	srv, err := server.New(server.Config{Store: st, Keyring: kr, AdminToken: token, PublicURL: base})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var polls []string // the device GETs' queries
	hs.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "GET" && r.URL.Path == "/api/v1/device/requests" {
			mu.Lock()
			polls = append(polls, r.URL.RawQuery)
			mu.Unlock()
			if dropSeen {
				q := r.URL.Query()
				q.Del("seen")
				r.URL.RawQuery = q.Encode()
			}
		}
		srv.ServeHTTP(w, r)
	})
	hs.Start()
	t.Cleanup(func() { hs.Close(); srv.Close(); st.Close() })
	post := func(path, auth, ctype, body string, out any) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		if strings.HasPrefix(auth, "Bearer ") {
			req.Header.Set("Authorization", auth)
		} else {
			id, secret, _ := strings.Cut(auth, ":")
			req.SetBasicAuth(id, secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("POST %s: %s %s", path, resp.Status, b)
		}
	}
	var client struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	post("/api/v1/clients", "Bearer "+token, "application/json", `{"name":"Shop","grant_types":["urn:openid:params:grant-type:ciba"]}`, &client)
	ask := func(msg string) string {
		t.Helper()
		var m map[string]any
		post("/oauth2/bc-authorize", client.ID+":"+client.Secret, "application/x-www-form-urlencoded",
			url.Values{"scope": {"openid"}, "login_hint": {"alice"}, "binding_message": {msg}}.Encode(), &m)
		id, _ := m["auth_req_id"].(string)
		if id == "" {
			t.Fatalf("bc-authorize: %v", m)
		}
		return id
	}

	// alice enrolls, which pairs her account.
	pass := func() ([]byte, error) { return []byte("listener test"), nil }
	s, err := store.Open(ctx, store.Options{Home: t.TempDir(), Backend: store.File, Passphrase: pass, NewPassphrase: pass, WorkFactor: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	created, err := enroll.Admin{Server: base, Token: token}.Create(ctx, "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enroll.Enroll(ctx, enroll.Client{}, created.EnrollmentLink, s, enroll.Options{}); err != nil {
		t.Fatal(err)
	}

	seen := make(chan []string, 10)
	l := enroll.Listener{Devices: func(ctx context.Context) ([]enroll.Device, error) {
		return enroll.Devices(ctx, enroll.Client{}, s, nil)
	}, Wait: time.Minute}
	go l.Run(ctx, func(rs []enroll.Request) {
		var ids []string
		for _, r := range rs {
			ids = append(ids, r.ID)
		}
		slices.Sort(ids)
		seen <- ids
	}, func(err error) { t.Errorf("listener: %v", err) })
	next := func(what string, want ...string) {
		t.Helper()
		slices.Sort(want)
		select {
		case got := <-seen:
			if !slices.Equal(got, want) {
				t.Fatalf("%s: the listener saw %v, want %v", what, got, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: the listener saw nothing", what)
		}
	}

	first := ask("one")
	next("a first request", first)
	second := ask("two")
	next("a second request", first, second)

	// Quiet: while nothing changes, no request after the long-poll's.
	time.Sleep(time.Second)
	mu.Lock()
	before := len(polls)
	mu.Unlock()
	time.Sleep(6 * time.Second)
	mu.Lock()
	quiet := slices.Clone(polls[before:])
	var last string // the last poll that named what it had seen
	for _, q := range polls {
		if strings.Contains(q, "seen=") {
			last = q
		}
	}
	mu.Unlock()
	if dropSeen {
		// Each round is a long-poll and a listing, every 2 s.
		if len(quiet) > 8 {
			t.Errorf("the listener asked %d times in 6 s with nothing changed", len(quiet))
		}
	} else if len(quiet) > 0 {
		t.Errorf("the listener asked %d times in 6 s with nothing changed: %q", len(quiet), quiet)
	}
	q, _ := url.ParseQuery(last)
	if ids := sorted(strings.Split(q.Get("seen"), ",")...); !slices.Equal(ids, sorted(first, second)) {
		t.Errorf("the waiting poll's query %q does not name what was seen", last)
	}

	// Answered elsewhere (here, through the same device).
	ds, err := enroll.Devices(ctx, enroll.Client{}, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := enroll.AnswerRequest(ctx, ds, s, first, false); err != nil {
		t.Fatal(err)
	}
	next("the first denied elsewhere", second)
}

func sorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}
