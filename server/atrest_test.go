package server

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base32"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"latchkey/core/otp"
)

// secretForms are the ways a secret could appear in a file or a row.
func secretForms(t *testing.T, b32 string) [][]byte {
	t.Helper()
	raw, err := otp.DecodeSecret(b32)
	if err != nil {
		t.Fatal(err)
	}
	return [][]byte{
		raw,
		[]byte(b32),
		[]byte(strings.ToLower(b32)),
		[]byte(base32.StdEncoding.EncodeToString(raw)),
		[]byte(fmt.Sprintf("%x", []byte(raw))),
	}
}

// TestNoSecretAtRest enrolls credentials, then reads the SQLite files
// (database, WAL, shared memory) byte by byte and finds no secret in any
// form.
func TestNoSecretAtRest(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "server.db")
	st, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ts := newTestServer(t, st)
	var secrets []string
	for i := range 20 {
		e := ts.enroll(fmt.Sprintf("user%d", i), "")
		secrets = append(secrets, e.Secret)
		if i%2 == 0 {
			ts.do("POST", fmt.Sprintf("/api/v1/users/user%d/credentials/%s/verify", i, e.ID), ts.admin(), `{"code":"`+e.gen.At(ts.clock.Now())+`"}`)
		}
	}
	ts.Close()
	files, _ := filepath.Glob(path + "*")
	if len(files) < 2 {
		t.Fatalf("database files: %v", files)
	}
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(f); fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is readable by others: %v", filepath.Base(f), fi.Mode().Perm())
		}
		all = append(all, b...)
	}
	if !bytes.Contains(all, []byte("user7")) {
		t.Fatal("the files do not hold the data the test wrote; the check would prove nothing")
	}
	for _, s := range secrets {
		for _, form := range secretForms(t, s) {
			if bytes.Contains(all, form) {
				t.Fatalf("a secret is in the database files in the clear (%d bytes form)", len(form))
			}
		}
	}
}

// TestNoSecretInPostgres reads every column of every row of every table
// as text and finds no secret.
func TestNoSecretInPostgres(t *testing.T) {
	dsn := newPostgresDB(t)
	st, err := OpenPostgres(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ts := newTestServer(t, st)
	var secrets []string
	for i := range 10 {
		secrets = append(secrets, ts.enroll(fmt.Sprintf("user%d", i), "").Secret)
	}
	ts.Close()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var dump bytes.Buffer
	for _, table := range []string{"clients", "credentials", "user_state", "audit"} {
		rows, err := db.Query(`SELECT t::text, encode(convert_to(t::text, 'UTF8'), 'escape') FROM ` + table + ` t`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var a, b string
			rows.Scan(&a, &b)
			dump.WriteString(a + b)
		}
		rows.Close()
		// Raw bytes of bytea columns, too.
		if table == "credentials" {
			rows, _ := db.Query(`SELECT secret FROM credentials`)
			for rows.Next() {
				var b []byte
				rows.Scan(&b)
				dump.Write(b)
			}
			rows.Close()
		}
	}
	if !bytes.Contains(dump.Bytes(), []byte("user7")) {
		t.Fatal("the dump does not hold the data the test wrote")
	}
	lower := bytes.ToLower(dump.Bytes())
	for _, s := range secrets {
		for _, form := range secretForms(t, s) {
			if bytes.Contains(dump.Bytes(), form) || bytes.Contains(lower, bytes.ToLower(form)) {
				t.Fatalf("a secret is in PostgreSQL in the clear (%d bytes form)", len(form))
			}
		}
	}
}
