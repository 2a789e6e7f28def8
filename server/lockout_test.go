package server

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// burst sends n requests of one body to the servers at urls (round
// robin) over raw TCP connections, each written but for its last byte,
// then releases the last bytes at once, so the server gets every request
// within microseconds. It returns the answers.
func burst(t *testing.T, urls []string, path, authz, body string, n int) []reply {
	t.Helper()
	conns := make([]net.Conn, n)
	raw := make([]string, n)
	for i := range n {
		host := strings.TrimPrefix(urls[i%len(urls)], "http://")
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns[i] = c
		raw[i] = fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
			path, host, authz, len(body), body)
		if _, err := c.Write([]byte(raw[i][:len(raw[i])-1])); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond) // every partial request read and waiting
	var wg sync.WaitGroup
	start := make(chan struct{})
	out := make([]reply, n)
	for i, c := range conns {
		wg.Go(func() {
			<-start
			if _, err := c.Write([]byte(raw[i][len(raw[i])-1:])); err != nil {
				t.Error(err)
				return
			}
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var b strings.Builder
			bufio.NewReader(resp.Body).WriteTo(&b)
			out[i] = reply{resp.StatusCode, resp.Header, []byte(b.String())}
		})
	}
	close(start)
	wg.Wait()
	return out
}

// TestLockoutBurst: 200 wrong codes released at once get exactly
// max_failures invalid_code answers, the rest locked, and the lock is the
// first step of the back-off, on SQLite and on two instances sharing one
// PostgreSQL database.
func TestLockoutBurst(t *testing.T) {
	pgTwo := func(t *testing.T) []*testServer {
		dsn := newPostgresDB(t)
		open := func() Store {
			st, err := OpenPostgres(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}
		a := newTestServer(t, open())
		b := newTestServer(t, open(), func(c *Config) { c.Now = a.clock.Now })
		return []*testServer{a, b}
	}
	setups := []struct {
		name    string
		servers func(t *testing.T) []*testServer
	}{
		{"sqlite", func(t *testing.T) []*testServer { return []*testServer{newTestServer(t, openTestSQLite(t))} }},
		{"postgres, two instances", pgTwo},
	}
	for _, setup := range setups {
		t.Run(setup.name, func(t *testing.T) {
			servers := setup.servers(t)
			ts := servers[0]
			e := ts.enrollVerified("ivan")
			var urls []string
			for _, s := range servers {
				urls = append(urls, s.url)
			}
			// A wrong code: one that is not the current one.
			wrong := "000000"
			if e.gen.At(ts.clock.Now()) == wrong {
				wrong = "000001"
			}
			authz := "Basic " + base64.StdEncoding.EncodeToString([]byte(ts.clientID+":"+ts.clientSecret))
			answers := burst(t, urls, "/api/v1/verify", authz, `{"user":"ivan","code":"`+wrong+`"}`, 200)
			counts := map[string]int{}
			for _, r := range answers {
				var m map[string]any
				json.Unmarshal(r.body, &m)
				reason, _ := m["reason"].(string)
				counts[fmt.Sprint(r.status, " ", reason)]++
				if reason == OutcomeLocked && r.header.Get("Retry-After") != "30" {
					t.Errorf("locked with Retry-After %q, want 30", r.header.Get("Retry-After"))
				}
			}
			if counts["200 invalid_code"] != DefaultMaxFailures || counts["429 locked"] != 200-DefaultMaxFailures {
				t.Fatalf("answers %v; want %d invalid_code, the rest locked", counts, DefaultMaxFailures)
			}
			st, err := ts.store.UserState(context.Background(), "ivan")
			if err != nil || !st.LockedUntil.Equal(ts.clock.Now().Add(DefaultLockBase)) || st.Lockouts != 1 {
				t.Fatalf("state %+v, %v; want one lock of %v", st, err, DefaultLockBase)
			}
			// The lock lasts the first step: then a right code is accepted.
			ts.clock.Add(DefaultLockBase)
			if r := ts.verify("ivan", e.gen.At(ts.clock.Now())); r.status != 200 || r.json(t)["valid"] != true {
				t.Fatalf("after the lock: %d %s", r.status, r.body)
			}
		})
	}
}
