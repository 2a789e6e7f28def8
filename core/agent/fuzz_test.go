package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"
)

// FuzzProtocol writes arbitrary bytes to an unlocked agent's socket,
// then a status request. Properties: the agent answers every line it
// decodes with a response (an error or a result) and ends a connection
// that sends garbage without harm; a new connection is served at once;
// the vault still opens with its account; neither the passphrase nor the
// secret reaches the agent's log.
func FuzzProtocol(f *testing.F) {
	f.Add([]byte(`{"op":"list"}`))
	f.Add([]byte(`{"op":"get","id":"x"}`))
	f.Add([]byte(`{"op":"add","account":{"issuer":"I","name":"n"},"secret":"AAAA"}`))
	f.Add([]byte(`{"op":"unlock","passphrase":"d3Jvbmc="}`))
	f.Add([]byte(`{"op":"move","id":"x","delta":-9223372036854775808}`))
	f.Add([]byte(`{"op":"addmany","items":[{"account":{},"secret":null}]}`))
	f.Add([]byte(`{"op":`))
	f.Add([]byte("\x00\xff{}[]"))
	home, sec := vault(f)
	c, log, path := serve(f, home, time.Hour)
	if err := c.Unlock(context.Background(), []byte(pass)); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		conn, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		conn.Write(append(in, '\n'))
		conn.Write([]byte(`{"op":"status"}` + "\n"))
		conn.(*net.UnixConn).CloseWrite()
		r := bufio.NewReader(conn)
		for {
			line, err := r.ReadBytes('\n')
			if len(line) > 0 {
				var resp Response
				if json.Unmarshal(line, &resp) != nil {
					t.Fatalf("the agent sent %q", line)
				}
			}
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatal("the agent hangs on this input")
				}
				break
			}
		}
		// The agent serves the next connection and still holds the vault.
		c2, err := Dial(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		st, err := c2.Status(t.Context())
		if err != nil {
			t.Fatalf("status after %q: %v", in, err)
		}
		if _, err := c2.List(t.Context()); err != nil && !st.Locked {
			t.Fatalf("list after %q: %v", in, err)
		}
		if l := log.String(); strings.Contains(l, pass) || strings.Contains(l, sec.Base32()) {
			t.Fatalf("a secret in the agent's log after %q", in)
		}
	})
}
