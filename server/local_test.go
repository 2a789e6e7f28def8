package server

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStartLocal starts the embedded server as the desktop app does: it
// answers at its URL with its data in the data directory, its token
// opens the admin API and no other does, and Stop stops it.
func TestStartLocal(t *testing.T) {
	home := t.TempDir()
	env := envMap{"LATCHKEY_HOME": home}
	l, err := StartLocal(context.Background(), env.get)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Stop()
	if !strings.HasPrefix(l.URL, "http://127.0.0.1:") || len(l.Token) < 43 {
		t.Fatalf("URL %q, token of %d characters", l.URL, len(l.Token))
	}
	get := func(path, token string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", l.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := get("/healthz", ""); c != http.StatusOK {
		t.Errorf("/healthz: %d", c)
	}
	const creds = "/api/v1/users/nobody/credentials"
	if c := get(creds, l.Token); c != http.StatusOK {
		t.Errorf("admin call with the token: %d", c)
	}
	if c := get(creds, "wrong"); c != http.StatusUnauthorized {
		t.Errorf("admin call with a wrong token: %d", c)
	}
	for _, f := range []string{"server.db", "master.key"} {
		if _, err := os.Stat(filepath.Join(home, "server", f)); err != nil {
			t.Errorf("data directory: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(home, "server", "admin-token")); err == nil {
		t.Error("StartLocal wrote an admin-token file")
	}

	l.Stop()
	if c := get("/healthz", ""); c != 0 {
		t.Errorf("/healthz after Stop: %d", c)
	}
	// The database is closed: a second local server can open it.
	l2, err := StartLocal(context.Background(), env.get)
	if err != nil {
		t.Fatalf("restart after Stop: %v", err)
	}
	l2.Stop()
}
