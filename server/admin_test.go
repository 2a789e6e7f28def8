package server

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
	"latchkey/server/oidc"
)

// newAPIClient registers a client through the API with extra metadata
// (a JSON object's members, without braces) and returns its Basic auth.
func (ts *testServer) newAPIClient(extra string) (auth, string) {
	ts.t.Helper()
	body := `{"name":"scoped app"`
	if extra != "" {
		body += "," + extra
	}
	r := ts.do("POST", "/api/v1/clients", ts.admin(), body+"}")
	if r.status != http.StatusCreated {
		ts.t.Fatalf("create client: %d %s", r.status, r.body)
	}
	m := r.json(ts.t)
	id, _ := m["client_id"].(string)
	return basic(id, m["client_secret"].(string)), id
}

func (ts *testServer) verifyAs(a auth, user, code string) reply {
	ts.t.Helper()
	b, _ := json.Marshal(verifyRequest{User: user, Code: code})
	return ts.do("POST", "/api/v1/verify", a, string(b))
}

func TestCredentialPolicy(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ts := newTestServer(t, b.open(t), func(c *Config) {
				c.Credentials = CredentialPolicy{Algorithm: "sha256", Digits: 8, Period: 60, SecretLength: 24}
			})
			key := func(e enrolled) *otpauth.Key {
				k, err := otpauth.Parse(e.URI)
				if err != nil {
					t.Fatal(err)
				}
				return k
			}
			// The server's defaults.
			k := key(ts.enroll("u1", ""))
			if k.Algorithm != otp.SHA256 || k.Digits != 8 || k.Period != 60 || len(k.Secret) != 24 || k.Account != "u1" {
				t.Errorf("defaults: %+v, %d-byte secret, account %q", k.Options(), len(k.Secret), k.Account)
			}
			// Per credential.
			e := ts.enroll("5f0c2a9e-uuid", `{"algorithm":"sha512","digits":6,"period":30,"secret_length":16,"label":"alice@example.com","name":"Phone"}`)
			k = key(e)
			if k.Algorithm != otp.SHA512 || k.Digits != 6 || k.Period != 30 || len(k.Secret) != 16 {
				t.Errorf("per credential: %+v, %d-byte secret", k.Options(), len(k.Secret))
			}
			if k.Account != "alice@example.com" || strings.Contains(e.URI, "uuid") {
				t.Errorf("label: the URI is %s", e.URI)
			}
			if got := decodeQR(t, e.QR); got != e.URI {
				t.Errorf("QR holds %q", got)
			}
			r := ts.do("GET", "/api/v1/users/5f0c2a9e-uuid/credentials/"+e.ID+"/qr.png", ts.admin(), "")
			if qk, err := otpauth.Parse(decodeQR(t, r.body)); err != nil || qk.Account != "alice@example.com" {
				t.Errorf("qr.png account: %v %v", qk, err)
			}
			r = ts.do("GET", "/api/v1/users/5f0c2a9e-uuid/credentials", ts.admin(), "")
			if !strings.Contains(string(r.body), `"label":"alice@example.com"`) || !strings.Contains(string(r.body), `"name":"Phone"`) {
				t.Errorf("list: %s", r.body)
			}
			for _, body := range []string{
				`{"secret_length":15}`, `{"secret_length":1000}`, `{"digits":9}`, `{"algorithm":"md5"}`,
				`{"period":5}`, `{"label":"a\u0007b"}`,
			} {
				r := ts.do("POST", "/api/v1/users/u1/credentials", ts.admin(), body)
				if r.status != 400 || r.json(t)["error"] != "invalid_request" {
					t.Errorf("%s: %d %s", body, r.status, r.body)
				}
			}
		})
	}
}

func TestCredentialPolicyConfig(t *testing.T) {
	for _, p := range []CredentialPolicy{{Algorithm: "md5"}, {Digits: 9}, {Digits: 5}, {Period: 1}, {SecretLength: 15}} {
		kr, _ := NewKeyring(testKey(7))
		if _, err := New(Config{Store: openTestSQLite(t), Keyring: kr, Credentials: p}); err == nil {
			t.Errorf("policy %+v accepted", p)
		}
	}
	o, err := parseArgs("serve", []string{"--config", writeFile(t, `{"default_algorithm":"sha512","default_digits":7,"default_period":45,"default_secret_length":32}`)}, nil)
	if err != nil || o.DefaultAlgorithm != "sha512" || o.DefaultDigits != 7 || o.DefaultPeriod != 45 || o.DefaultSecretLength != 32 {
		t.Errorf("config file: %v %+v", err, o)
	}
}

func writeFile(t *testing.T, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestImportedSecret(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ts := newTestServer(t, b.open(t))
			secret, _ := otp.NewSecretSize(20)
			gen, _ := otp.NewGenerator(secret, otp.Options{})
			create := func(user, body string) reply {
				return ts.do("POST", "/api/v1/users/"+user+"/credentials", ts.admin(), body)
			}
			r := create("imp", `{"secret":"`+strings.ToLower(secret.Base32())+`","label":"imp@example.com"}`)
			if r.status != 201 {
				t.Fatalf("import: %d %s", r.status, r.body)
			}
			for _, f := range []string{"secret", "otpauth_uri", "qr_png", "enrollment_link", secret.Base32()} {
				if strings.Contains(string(r.body), f) {
					t.Errorf("the answer carries %s: %s", f, r.body)
				}
			}
			m := r.json(t)
			id := m["id"].(string)
			if m["verified"] != false {
				t.Errorf("import starts verified: %s", r.body)
			}
			// Unverified: verify knows no credential; a code confirms it.
			if r := ts.verify("imp", gen.At(ts.clock.Now())); r.json(t)["reason"] != "no_credential" {
				t.Errorf("unconfirmed import verifies: %s", r.body)
			}
			r = ts.do("POST", "/api/v1/users/imp/credentials/"+id+"/verify", ts.admin(), `{"code":"`+gen.At(ts.clock.Now())+`"}`)
			if r.status != 200 {
				t.Fatalf("confirm import: %d %s", r.status, r.body)
			}
			ts.clock.Add(30 * time.Second)
			if r := ts.verify("imp", gen.At(ts.clock.Now())); r.json(t)["valid"] != true {
				t.Errorf("sign-in with an imported secret: %s", r.body)
			}

			// An otpauth URI brings its settings; verified:true skips the confirmation.
			s2, _ := otp.NewSecretSize(32)
			k := &otpauth.Key{Type: otp.TOTP, Issuer: "Old IdP", Account: "mig@example.com", Secret: s2, Algorithm: otp.SHA256, Digits: 8, Period: 30}
			body, _ := json.Marshal(map[string]any{"otpauth_uri": k.String(), "verified": true})
			r = create("mig", string(body))
			if r.status != 201 || r.json(t)["verified"] != true || strings.Contains(string(r.body), "otpauth") {
				t.Fatalf("import verified: %d %s", r.status, r.body)
			}
			r = ts.do("GET", "/api/v1/users/mig/credentials", ts.admin(), "")
			for _, want := range []string{`"algorithm":"SHA256"`, `"digits":8`, `"issuer":"Old IdP"`, `"label":"mig@example.com"`, `"verified":true`} {
				if !strings.Contains(string(r.body), want) {
					t.Errorf("list lacks %s: %s", want, r.body)
				}
			}
			g2, _ := k.Generator()
			if r := ts.verify("mig", g2.At(ts.clock.Now())); r.json(t)["valid"] != true {
				t.Errorf("sign-in with a migrated credential: %s", r.body)
			}

			short, _ := otp.NewSecretSize(16)
			hotp := &otpauth.Key{Type: otp.HOTP, Account: "x", Secret: secret, Algorithm: otp.SHA1, Digits: 6}
			for _, body := range []string{
				`{"secret":"` + short.Base32()[:24] + `"}`, // 15 bytes: under 128 bits
				`{"secret":"JBSWY3DPEHPK3PXP"}`,            // 10 bytes
				`{"otpauth_uri":"otpauth://totp/x?secret=JBSWY3DPEHPK3PXP"}`,
				`{"secret":"not base32!"}`,
				`{"secret":"` + secret.Base32() + `","otpauth_uri":"` + k.String() + `"}`,
				`{"secret":"` + secret.Base32() + `","secret_length":20}`,
				`{"otpauth_uri":"` + k.String() + `","digits":6}`,
				`{"otpauth_uri":"` + hotp.String() + `"}`,
				`{"verified":true}`,
			} {
				r := create("bad", body)
				if r.status != 400 || r.json(t)["error"] != "invalid_request" {
					t.Errorf("%s: %d %s", body, r.status, r.body)
				}
				if strings.Contains(string(r.body), secret.Base32()) || strings.Contains(string(r.body), "JBSWY3DPEHPK3PXP") {
					t.Errorf("the error repeats the secret: %s", r.body)
				}
			}
		})
	}
}

func TestAcceptEmpty(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ts := newTestServer(t, b.open(t))
			open, id := ts.newAPIClient(`"accept_empty":true`)
			if r := ts.do("GET", "/api/v1/clients/"+id, ts.admin(), ""); r.json(t)["accept_empty"] != true {
				t.Errorf("client reads as %s", r.body)
			}
			check := func(a auth, user, code string, valid bool, reason string) {
				t.Helper()
				m := ts.verifyAs(a, user, code).json(t)
				if m["valid"] != valid || (m["reason"] != reason && !(reason == "" && m["reason"] == nil)) {
					t.Errorf("verify %s: %v, want valid=%v reason=%q", user, m, valid, reason)
				}
			}
			check(open, "nobody", "123456", true, "no_credential")
			check(ts.client(), "nobody", "123456", false, "no_credential") // default: off
			ts.enroll("pending", "")                                       // only a pending credential: counts as none
			check(open, "pending", "123456", true, "no_credential")
			e := ts.enrollVerified("enrolled")
			check(open, "enrolled", e.gen.Code(uint64(ts.clock.step(30)+9)), false, "invalid_code")
			check(open, "enrolled", e.gen.At(ts.clock.Now()), true, "")
			if r := ts.do("PATCH", "/api/v1/clients/"+id, ts.admin(), `{"accept_empty":false}`); r.status != 200 || r.json(t)["accept_empty"] != false {
				t.Fatalf("patch: %d %s", r.status, r.body)
			}
			check(open, "nobody", "123456", false, "no_credential")
		})
	}
}

// TestUpgradeAdmin: a database made before issue 21 (credentials without
// a label, clients without scope) opens, and what it holds keeps working.
func TestUpgradeAdmin(t *testing.T) {
	kr, _ := NewKeyring(testKey(7))
	secret, _ := otp.NewSecretSize(20)
	sealed, err := kr.Seal(secret, "old", "c_old")
	if err != nil {
		t.Fatal(err)
	}
	old := func(db *sql.DB, blob, bigint string, ph func(int) string) {
		for _, q := range []string{
			`CREATE TABLE clients (id TEXT PRIMARY KEY, name TEXT NOT NULL, secret_hash ` + blob + ` NOT NULL, created ` + bigint + ` NOT NULL)`,
			`CREATE TABLE credentials (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, name TEXT NOT NULL, issuer TEXT NOT NULL,
				algorithm TEXT NOT NULL, digits INTEGER NOT NULL, period INTEGER NOT NULL, secret ` + blob + ` NOT NULL,
				verified INTEGER NOT NULL DEFAULT 0, created ` + bigint + ` NOT NULL, expires ` + bigint + ` NOT NULL DEFAULT 0,
				last_step ` + bigint + ` NOT NULL DEFAULT -1, last_used ` + bigint + ` NOT NULL DEFAULT 0)`,
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Exec(`INSERT INTO credentials (id, user_id, name, issuer, algorithm, digits, period, secret, verified, created)
			VALUES (`+ph(1)+`, 'old', 'Phone', 'Latchkey', 'SHA1', 6, 30, `+ph(2)+`, 1, 1)`, "c_old", sealed); err != nil {
			t.Fatal(err)
		}
	}
	cases := map[string]func(t *testing.T) Store{
		"sqlite": func(t *testing.T) Store {
			path := filepath.Join(t.TempDir(), "old.db")
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			old(db, "BLOB", "INTEGER", func(int) string { return "?" })
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
			old(db, "BYTEA", "BIGINT", func(i int) string { return "$" + string(rune('0'+i)) })
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
			ts := newTestServer(t, open(t))
			r := ts.do("GET", "/api/v1/users/old/credentials", ts.admin(), "")
			if r.status != 200 || !strings.Contains(string(r.body), `"id":"c_old"`) || strings.Contains(string(r.body), `"label"`) {
				t.Fatalf("old credential: %d %s", r.status, r.body)
			}
			gen, _ := otp.NewGenerator(secret, otp.Options{})
			if r := ts.verify("old", gen.At(ts.clock.Now())); r.json(t)["valid"] != true {
				t.Errorf("old credential at verify: %s", r.body)
			}
			ts.enroll("new", `{"label":"new@example.com"}`)
			if _, id := ts.newAPIClient(`"accept_empty":true`); id == "" {
				t.Error("no client")
			}
		})
	}
}

func TestUnlock(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ts := newTestServer(t, b.open(t), func(c *Config) { c.MaxFailures = 3 })
			e := ts.enrollVerified("bob")
			wrong := func() reply { return ts.verify("bob", e.gen.Code(uint64(ts.clock.step(30)+7))) }
			for range 3 {
				wrong()
			}
			if r := ts.verify("bob", e.gen.At(ts.clock.Now())); r.status != 429 {
				t.Fatalf("not locked: %d %s", r.status, r.body)
			}
			if until, _ := ts.LockedUntil(context.Background(), "bob"); until.Sub(ts.clock.Now()) != DefaultLockBase {
				t.Errorf("locked until %v", until)
			}
			if r := ts.do("POST", "/api/v1/users/bob/unlock", ts.client(), ""); r.status != 401 {
				t.Errorf("unlock by a client: %d", r.status)
			}
			r := ts.do("POST", "/api/v1/users/bob/unlock", ts.admin(), "")
			if r.status != 200 || r.json(t)["was_locked"] != true {
				t.Fatalf("unlock: %d %s", r.status, r.body)
			}
			if until, _ := ts.LockedUntil(context.Background(), "bob"); !until.IsZero() {
				t.Errorf("still locked until %v", until)
			}
			// The failure count is reset: two more wrong codes do not lock.
			wrong()
			wrong()
			if r := ts.verify("bob", e.gen.At(ts.clock.Now())); r.json(t)["valid"] != true {
				t.Fatalf("after unlock: %d %s", r.status, r.body)
			}
			if r := ts.do("POST", "/api/v1/users/bob/unlock", ts.admin(), ""); r.json(t)["was_locked"] != false {
				t.Errorf("second unlock: %s", r.body)
			}
			r = ts.do("GET", "/api/v1/audit?user=bob", ts.admin(), "")
			if !strings.Contains(string(r.body), `"action":"unlock","outcome":"unlocked"`) {
				t.Errorf("audit: %s", r.body)
			}
			if r := ts.do("POST", "/api/v1/users/%E2%80%AEx/unlock", ts.admin(), ""); r.status != 400 {
				t.Errorf("bad user: %d", r.status)
			}
		})
	}
}

func TestScopedClients(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ts := newOIDCServer(t, b.open(t))
			staff, _ := ts.newAPIClient(`"allowed_groups":["staff","ops"],"accept_empty":true`)
			e := ts.enrollVerified("alice")
			ts.enrollVerified("carol")
			r := ts.do("PUT", "/api/v1/users/alice/groups", ts.admin(), `{"groups":["staff","staff","sales"]}`)
			if r.status != 200 || !strings.Contains(string(r.body), `"groups":["sales","staff"]`) {
				t.Fatalf("set groups: %d %s", r.status, r.body)
			}
			if r := ts.do("GET", "/api/v1/users/alice/groups", ts.admin(), ""); !strings.Contains(string(r.body), `["sales","staff"]`) {
				t.Errorf("get groups: %s", r.body)
			}
			for _, body := range []string{`{"groups":["a b"]}`, `{"groups":[""]}`, `{}`, `{"groups":"staff"}`} {
				if r := ts.do("PUT", "/api/v1/users/alice/groups", ts.admin(), body); r.status != 400 {
					t.Errorf("%s: %d %s", body, r.status, r.body)
				}
			}
			if r := ts.do("POST", "/api/v1/clients", ts.admin(), `{"name":"x","allowed_groups":["a\tb"]}`); r.status != 400 {
				t.Errorf("bad allowed_groups: %d", r.status)
			}
			// In scope: as before.
			if m := ts.verifyAs(staff, "alice", e.gen.At(ts.clock.Now())).json(t); m["valid"] != true {
				t.Errorf("alice via the staff client: %v", m)
			}
			// Out of scope: no credential, even with accept_empty, for an
			// unknown user too, and wrong codes count nothing.
			for _, u := range []string{"carol", "nobody"} {
				for range 12 {
					if m := ts.verifyAs(staff, u, "000000").json(t); m["valid"] != false || m["reason"] != "no_credential" {
						t.Fatalf("%s via the staff client: %v", u, m)
					}
				}
			}
			if until, _ := ts.LockedUntil(context.Background(), "carol"); !until.IsZero() {
				t.Error("an out-of-scope client locked carol")
			}
			// The default client is unrestricted.
			if m := ts.verify("carol", "000000").json(t); m["reason"] != "invalid_code" {
				t.Errorf("carol via an unrestricted client: %v", m)
			}
			// Removing alice from her groups takes her out of scope.
			ts.do("PUT", "/api/v1/users/alice/groups", ts.admin(), `{"groups":[]}`)
			ts.clock.Add(30 * time.Second)
			if m := ts.verifyAs(staff, "alice", e.gen.At(ts.clock.Now())).json(t); m["reason"] != "no_credential" {
				t.Errorf("alice without groups: %v", m)
			}

			// CIBA: a scoped client learns nothing about a user outside.
			cr := ts.createClient(`{"name":"shop","grant_types":["` + oidc.GrantCIBA + `"],"allowed_groups":["staff"]}`)
			id, secret := cr["client_id"].(string), cr["client_secret"].(string)
			ts.pairByLink("dave")
			form := url.Values{"scope": {"openid"}, "login_hint": {"dave"}}
			if _, m := ts.bcAuthorize(ts.url, id, secret, form); m["error"] != "unknown_user_id" {
				t.Errorf("ciba outside the scope: %v", m)
			}
			ts.do("PUT", "/api/v1/users/dave/groups", ts.admin(), `{"groups":["staff"]}`)
			if st, m := ts.bcAuthorize(ts.url, id, secret, form); st != 200 || m["auth_req_id"] == nil {
				t.Errorf("ciba inside the scope: %d %v", st, m)
			}
		})
	}
}

func TestRecoveryCodes(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ts := newTestServer(t, b.open(t), func(c *Config) { c.MaxFailures = 3 })
			ts.enrollVerified("erin")
			newSet := func() []string {
				t.Helper()
				r := ts.do("POST", "/api/v1/users/erin/recovery-codes", ts.admin(), "")
				if r.status != 201 || r.header.Get("Cache-Control") != "no-store" {
					t.Fatalf("recovery codes: %d %s", r.status, r.body)
				}
				var m struct{ Codes []string }
				json.Unmarshal(r.body, &m)
				if len(m.Codes) != 10 {
					t.Fatalf("got %d codes", len(m.Codes))
				}
				return m.Codes
			}
			old := newSet()
			codes := newSet() // a new set ends the old
			if m := ts.verify("erin", old[0]).json(t); m["valid"] != false || m["reason"] != "invalid_code" {
				t.Errorf("a code of the old set: %v", m)
			}
			m := ts.verify("erin", strings.ToUpper(codes[0])).json(t)
			if m["valid"] != true || m["reason"] != "recovery_code" || m["remaining"] != float64(9) {
				t.Errorf("recovery code: %v", m)
			}
			if m := ts.verify("erin", codes[0]).json(t); m["valid"] != false {
				t.Errorf("a recovery code accepted twice: %v", m)
			}
			// Sent twice in parallel: accepted once.
			results := make(chan bool, 2)
			for range 2 {
				go func() {
					b, _ := json.Marshal(verifyRequest{User: "erin", Code: codes[1]})
					r := doRequest(t, ts.url, "POST", "/api/v1/verify", ts.client(), string(b))
					var m map[string]any
					json.Unmarshal(r.body, &m)
					results <- m["valid"] == true
				}()
			}
			if a, b := <-results, <-results; a == b {
				t.Errorf("parallel use: %v %v, want exactly one accepted", a, b)
			}
			// Wrong ones count toward the lock like wrong TOTP codes.
			ts.verify("erin", "aaaaa-bbbbb-ccccc-ddddd")
			ts.verify("erin", "123456")
			ts.verify("erin", codes[0])
			if r := ts.verify("erin", codes[2]); r.status != 429 {
				t.Fatalf("after failures: %d %s", r.status, r.body)
			}
			ts.do("POST", "/api/v1/users/erin/unlock", ts.admin(), "")
			if m := ts.verify("erin", codes[2]).json(t); m["valid"] != true || m["remaining"] != float64(7) {
				t.Errorf("after unlock: %v", m)
			}
			// Never stored in clear, never in the audit log.
			r := ts.do("GET", "/api/v1/audit?user=erin", ts.admin(), "")
			for _, c := range codes {
				if strings.Contains(string(r.body), c) || strings.Contains(ts.logs.String(), c) {
					t.Fatal("a recovery code in the audit log or logs")
				}
			}
			if r := ts.do("POST", "/api/v1/users/erin/recovery-codes", ts.client(), ""); r.status != 401 {
				t.Errorf("codes by a client: %d", r.status)
			}
		})
	}
}
