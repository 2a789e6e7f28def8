package server

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// oldClients is the clients table of the previous version.
const oldClients = `CREATE TABLE clients (id TEXT PRIMARY KEY, name TEXT NOT NULL, secret_hash %s NOT NULL, created %s NOT NULL);
INSERT INTO clients (id, name, secret_hash, created) VALUES ('lk_old', 'old app', $1, 1);`

// TestUpgradeOldDatabase: a database made by the previous version gains
// the provider's columns and tables, and its clients keep working.
func TestUpgradeOldDatabase(t *testing.T) {
	sum := sha256.Sum256([]byte("old-secret"))
	cases := map[string]func(t *testing.T) Store{
		"sqlite": func(t *testing.T) Store {
			path := filepath.Join(t.TempDir(), "old.db")
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range strings.SplitAfter(strings.NewReplacer("%s", "BLOB", "$1", "?").Replace(oldClients), ";") {
				q = strings.ReplaceAll(q, "created BLOB", "created INTEGER")
				if strings.TrimSpace(q) == "" {
					continue
				}
				args := []any{}
				if strings.Contains(q, "?") {
					args = append(args, sum[:])
				}
				if _, err := db.Exec(q, args...); err != nil {
					t.Fatal(err)
				}
			}
			db.Close()
			st, err := OpenSQLite(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		"postgres": func(t *testing.T) Store {
			dsn := newPostgresDB(t)
			db, err := sql.Open("pgx", dsn)
			if err != nil {
				t.Fatal(err)
			}
			q := strings.Replace(strings.Replace(oldClients, "%s", "BYTEA", 1), "%s", "BIGINT", 1)
			create, insert, _ := strings.Cut(q, ";")
			if _, err := db.Exec(create); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(insert, sum[:]); err != nil {
				t.Fatal(err)
			}
			db.Close()
			st, err := OpenPostgres(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
	for name, open := range cases {
		t.Run(name, func(t *testing.T) {
			ts := newOIDCServer(t, open(t))
			if r := ts.do("POST", "/api/v1/verify", basic("lk_old", "old-secret"), `{"user":"u","code":"123456"}`); r.status != 200 {
				t.Errorf("old client at verify: %d %s", r.status, r.body)
			}
			r := ts.do("GET", "/api/v1/clients/lk_old", ts.admin(), "")
			var c map[string]any
			json.Unmarshal(r.body, &c)
			if c["token_endpoint_auth_method"] != "client_secret_basic" || len(c["grant_types"].([]any)) != 0 {
				t.Errorf("old client reads as %s", r.body)
			}
			// Upgraded twice is still fine, and the new columns work.
			if r := ts.do("PATCH", "/api/v1/clients/lk_old", ts.admin(), `{"grant_types":["client_credentials"]}`); r.status != 200 {
				t.Errorf("patch old client: %d %s", r.status, r.body)
			}
		})
	}
}

// TestRunProviderCommands: `serve metadata`, `serve jwks` and
// `serve rotate-signing-key` on one database.
func TestRunProviderCommands(t *testing.T) {
	dir := t.TempDir()
	env := envMap{"LATCHKEY_HOME": dir}
	run := func(args ...string) (string, error) {
		var out, errb syncBuffer
		err := Run(context.Background(), args, env.get, strings.NewReader(""), &out, &errb)
		return out.String(), err
	}
	md, err := run("metadata", "--public-url", "https://auth.example.com")
	if err != nil || !strings.Contains(md, `"issuer": "https://auth.example.com"`) || !strings.Contains(md, `"token_endpoint": "https://auth.example.com/oauth2/token"`) {
		t.Fatalf("metadata: %v\n%s", err, md)
	}
	if _, err := run("metadata", "--addr", "0.0.0.0:8080"); err == nil {
		t.Error("metadata with a wildcard address and no public URL succeeded")
	}
	kids := func() []string {
		out, err := run("jwks", "--addr", "127.0.0.1:9999")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, `"d":`) {
			t.Error("jwks prints a private member")
		}
		var set struct{ Keys []struct{ Kid string } }
		json.Unmarshal([]byte(out), &set)
		var k []string
		for _, x := range set.Keys {
			k = append(k, x.Kid)
		}
		return k
	}
	first := kids()
	if out, err := run("rotate-signing-key", "--signing-alg", "ES256"); err != nil || !strings.Contains(out, "ES256") {
		t.Fatalf("rotate-signing-key: %v %s", err, out)
	}
	if got := kids(); len(first) != 1 || len(got) != 2 || got[1] != first[0] {
		t.Errorf("after rotation the JWKS holds %v (before %v)", got, first)
	}
	// rotate-key re-seals the signing keys: they open under the new key.
	if out, err := run("rotate-key"); err != nil {
		t.Fatalf("rotate-key: %v %s", err, out)
	}
	if got := kids(); len(got) != 2 {
		t.Errorf("after rotate-key the JWKS holds %v", got)
	}
}
