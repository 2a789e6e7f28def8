package server

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"latchkey/core/testenv"
)

// backends opens each Store implementation fresh for a test: SQLite in a
// temporary directory and PostgreSQL in a database of its own on the
// server `make test` starts.
var backends = []struct {
	name string
	open func(t testing.TB) Store
}{
	{"sqlite", openTestSQLite},
	{"postgres", openTestPostgres},
}

func openTestSQLite(t testing.TB) Store {
	t.Helper()
	st, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newPostgresDB creates a database with a random name on the test server
// and drops it when the test ends; it returns its DSN.
func newPostgresDB(t testing.TB) string {
	t.Helper()
	dsn := testenv.Env(t, "LATCHKEY_TEST_PG_DSN")
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	name := "latchkey_test_" + randomID(6)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop database: %v", err)
		}
		admin.Close()
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func openTestPostgres(t testing.TB) Store {
	t.Helper()
	st, err := OpenPostgres(context.Background(), newPostgresDB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func testCred(user, id string, verified bool) Credential {
	c := Credential{ID: id, User: user, Name: "phone", Issuer: "Acme", Algorithm: "SHA1", Digits: 6, Period: 30,
		Secret: []byte("sealed-" + id), Verified: verified, Created: t0, LastStep: -1}
	if !verified {
		c.Expires = t0.Add(15 * time.Minute)
	}
	return c
}

func mustCreate(t *testing.T, st Store, c Credential) {
	t.Helper()
	if err := st.CreateCredential(context.Background(), c, Event{Time: t0, User: c.User, Credential: c.ID, Action: "enroll", Outcome: "created"}); err != nil {
		t.Fatal(err)
	}
}

// TestStore is the suite both implementations pass.
func TestStore(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, st Store)
	}{
		{"clients", testStoreClients},
		{"credentials", testStoreCredentials},
		{"confirm", testStoreConfirm},
		{"accept", testStoreAccept},
		{"accept race", testStoreAcceptRace},
		{"failures and locks", testStoreFailures},
		{"audit", testStoreAudit},
		{"reseal", testStoreReseal},
		{"reads see writes", testStoreReadsSeeWrites},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) { tt.run(t, b.open(t)) })
			}
		})
	}
}

func testStoreClients(t *testing.T, st Store) {
	ctx := context.Background()
	c := Client{ID: "lk_1", Name: "app", SecretHash: []byte{1, 2, 3}, Created: t0}
	if err := st.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateClient(ctx, c); err == nil {
		t.Fatal("duplicate client id accepted")
	}
	got, err := st.Client(ctx, "lk_1")
	if err != nil || got.Name != "app" || !bytes.Equal(got.SecretHash, c.SecretHash) || !got.Created.Equal(t0) {
		t.Fatalf("Client = %+v, %v", got, err)
	}
	if _, err := st.Client(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown client: %v, want ErrNotFound", err)
	}
}

func testStoreCredentials(t *testing.T, st Store) {
	ctx := context.Background()
	mustCreate(t, st, testCred("alice", "c1", false))
	mustCreate(t, st, testCred("alice", "c2", true))
	mustCreate(t, st, testCred("bob", "c3", true))

	got, err := st.Credential(ctx, "alice", "c1")
	if err != nil {
		t.Fatal(err)
	}
	want := testCred("alice", "c1", false)
	if got.Name != want.Name || got.Issuer != want.Issuer || got.Verified || !got.Expires.Equal(want.Expires) ||
		got.LastStep != -1 || !bytes.Equal(got.Secret, want.Secret) || got.Digits != 6 || got.Period != 30 {
		t.Fatalf("Credential = %+v", got)
	}
	if _, err := st.Credential(ctx, "bob", "c1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another user's credential: %v, want ErrNotFound", err)
	}

	list, err := st.Credentials(ctx, "alice", t0)
	if err != nil || len(list) != 2 {
		t.Fatalf("Credentials = %d, %v; want 2", len(list), err)
	}
	list, _ = st.Credentials(ctx, "alice", t0.Add(16*time.Minute))
	if len(list) != 1 || list[0].ID != "c2" {
		t.Fatalf("after expiry: %+v, want only c2", list)
	}

	vs, state, err := st.VerifiedCredentials(ctx, "alice")
	if err != nil || len(vs) != 1 || vs[0].ID != "c2" || state.Failures != 0 {
		t.Fatalf("VerifiedCredentials = %+v %+v %v", vs, state, err)
	}
	vs, _, err = st.VerifiedCredentials(ctx, "nobody")
	if err != nil || len(vs) != 0 {
		t.Fatalf("VerifiedCredentials(nobody) = %+v %v", vs, err)
	}

	if err := st.RenameCredential(ctx, "alice", "c2", "laptop"); err != nil {
		t.Fatal(err)
	}
	if c, _ := st.Credential(ctx, "alice", "c2"); c.Name != "laptop" {
		t.Fatalf("rename: name %q", c.Name)
	}
	if err := st.RenameCredential(ctx, "bob", "c2", "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rename another user's: %v", err)
	}
	if err := st.DeleteCredential(ctx, "alice", "c2"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteCredential(ctx, "alice", "c2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	n, err := st.DeleteExpired(ctx, t0.Add(16*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpired = %d, %v; want 1", n, err)
	}
	if _, err := st.Credential(ctx, "bob", "c3"); err != nil {
		t.Fatalf("verified credential swept: %v", err)
	}
}

func testStoreConfirm(t *testing.T, st Store) {
	ctx := context.Background()
	mustCreate(t, st, testCred("alice", "c1", false))
	if ok, err := st.Confirm(ctx, "alice", "c1", 100, t0.Add(16*time.Minute), testEvent); ok || err != nil {
		t.Fatalf("confirm after expiry = %v, %v", ok, err)
	}
	if ok, err := st.Confirm(ctx, "alice", "c1", 100, t0.Add(time.Minute), testEvent); !ok || err != nil {
		t.Fatalf("confirm = %v, %v", ok, err)
	}
	if ok, _ := st.Confirm(ctx, "alice", "c1", 101, t0.Add(time.Minute), testEvent); ok {
		t.Fatal("confirmed twice")
	}
	c, _ := st.Credential(ctx, "alice", "c1")
	if !c.Verified || c.LastStep != 100 || !c.Expires.IsZero() {
		t.Fatalf("after confirm: %+v", c)
	}
	// The enrollment code's step is burned.
	if ok, _ := st.Accept(ctx, "alice", "c1", 100, t0.Add(time.Minute), testEvent); ok {
		t.Fatal("enrollment step accepted again")
	}
	if ok, _ := st.Accept(ctx, "alice", "c1", 101, t0.Add(time.Minute), testEvent); !ok {
		t.Fatal("next step refused")
	}
}

func testStoreAccept(t *testing.T, st Store) {
	ctx := context.Background()
	mustCreate(t, st, testCred("alice", "c1", true))
	mustCreate(t, st, testCred("alice", "c0", false))
	if ok, _ := st.Accept(ctx, "alice", "c0", 5, t0, testEvent); ok {
		t.Fatal("unverified credential accepted")
	}
	steps := []struct {
		step int64
		want bool
	}{{10, true}, {10, false}, {9, false}, {11, true}, {13, true}, {12, false}}
	for _, s := range steps {
		if ok, err := st.Accept(ctx, "alice", "c1", s.step, t0, testEvent); ok != s.want || err != nil {
			t.Fatalf("Accept(step %d) = %v, %v; want %v", s.step, ok, err, s.want)
		}
	}
	c, _ := st.Credential(ctx, "alice", "c1")
	if c.LastStep != 13 || !c.LastUsed.Equal(t0) {
		t.Fatalf("last step %d, last used %v", c.LastStep, c.LastUsed)
	}
	// A failure count is reset by a success; a lock refuses even a new step.
	l := Lockout{MaxFailures: 3, Base: time.Minute, Max: time.Hour}
	fail(t, st, "alice", t0, l)
	fail(t, st, "alice", t0, l)
	if ok, _ := st.Accept(ctx, "alice", "c1", 20, t0, testEvent); !ok {
		t.Fatal("step 20 refused")
	}
	if s, _ := st.UserState(ctx, "alice"); s.Failures != 0 {
		t.Fatalf("failures after success = %d", s.Failures)
	}
	for range 3 {
		fail(t, st, "alice", t0, l)
	}
	if ok, _ := st.Accept(ctx, "alice", "c1", 21, t0.Add(30*time.Second), testEvent); ok {
		t.Fatal("accepted while locked")
	}
	if ok, _ := st.Accept(ctx, "alice", "c1", 21, t0.Add(61*time.Second), testEvent); !ok {
		t.Fatal("refused after the lock ended")
	}
	// The accepted steps are in the audit log, written with them.
	evs, _ := st.AuditLog(ctx, "alice", 100)
	n := 0
	for _, ev := range evs {
		if ev.Action == testEvent.Action {
			n++
		}
	}
	if n != 5 {
		t.Fatalf("%d audit events for 5 accepted steps", n)
	}
}

// testEvent is the audit event tests pass to Accept and Confirm.
var testEvent = Event{Time: t0, User: "alice", Action: "verify", Outcome: "valid"}

// fail runs one wrong code through st.Attempt.
func fail(t *testing.T, st Store, user string, now time.Time, l Lockout) AttemptResult {
	t.Helper()
	r, err := st.Attempt(context.Background(), user, now, l, func() (Check, error) { return Check{}, nil })
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// testStoreAcceptRace: of 50 concurrent compare-and-sets of one step,
// exactly one wins.
func testStoreAcceptRace(t *testing.T, st Store) {
	ctx := context.Background()
	mustCreate(t, st, testCred("alice", "c1", true))
	for round := int64(1); round <= 3; round++ {
		var wins atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 50 {
			wg.Go(func() {
				<-start
				ok, err := st.Accept(ctx, "alice", "c1", round*10, t0, testEvent)
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("round %d: %d winners, want exactly 1", round, wins.Load())
		}
	}
}

func testStoreFailures(t *testing.T, st Store) {
	ctx := context.Background()
	l := Lockout{MaxFailures: 3, Base: time.Minute, Max: 5 * time.Minute}
	// Three failures lock for a minute; each failure after a lock locks
	// for the next step: 2, 4, then 5 min.
	now := t0
	for i, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute} {
		n := 1
		if i == 0 {
			n = 3
		}
		for j := range n {
			r := fail(t, st, "bob", now, l)
			if r.Outcome != AttemptFailed || r.NewLock != (j == n-1) {
				t.Fatalf("lock %d, attempt %d: %+v", i+1, j+1, r)
			}
		}
		s, _ := st.UserState(ctx, "bob")
		if got := s.LockedUntil.Sub(now); got != want || s.Lockouts != i+1 {
			t.Fatalf("lock %d: %v (%d lockouts), want %v", i+1, got, s.Lockouts, want)
		}
		// Refused while locked, without a check.
		r, err := st.Attempt(ctx, "bob", now.Add(want-time.Millisecond), l, func() (Check, error) {
			t.Fatal("code checked while locked")
			return Check{}, nil
		})
		if err != nil || r.Outcome != AttemptLocked || !r.State.LockedUntil.Equal(now.Add(want)) {
			t.Fatalf("attempt while locked = %+v, %v", r, err)
		}
		now = now.Add(want)
	}
	if s, _ := st.UserState(ctx, "carol"); s.Failures != 0 || !s.LockedUntil.IsZero() {
		t.Fatalf("fresh user state = %+v", s)
	}
	// Of concurrent wrong codes, exactly MaxFailures are checked; the
	// last of them locks once, for the first step.
	l = Lockout{MaxFailures: 10, Base: time.Minute, Max: time.Hour}
	var wg sync.WaitGroup
	var checked, locks atomic.Int32
	for range 60 {
		wg.Go(func() {
			r, err := st.Attempt(ctx, "dave", t0, l, func() (Check, error) { checked.Add(1); return Check{}, nil })
			if err != nil {
				t.Error(err)
			} else if r.NewLock {
				locks.Add(1)
			}
		})
	}
	wg.Wait()
	s, _ := st.UserState(ctx, "dave")
	if checked.Load() != 10 || locks.Load() != 1 || !s.LockedUntil.Equal(t0.Add(time.Minute)) {
		t.Fatalf("%d codes checked, %d locks, state %+v; want 10, 1, locked 1 min", checked.Load(), locks.Load(), s)
	}
}

func testStoreAudit(t *testing.T, st Store) {
	ctx := context.Background()
	var evs []Event
	for i := range 1200 {
		evs = append(evs, Event{Time: t0.Add(time.Duration(i) * time.Second), User: fmt.Sprintf("u%d", i%3), Action: "verify", Outcome: "valid", Client: "lk_x"})
	}
	if err := st.Audit(ctx, evs...); err != nil {
		t.Fatal(err)
	}
	got, err := st.AuditLog(ctx, "u1", 5)
	if err != nil || len(got) != 5 {
		t.Fatalf("AuditLog = %d, %v", len(got), err)
	}
	if got[0].User != "u1" || !got[0].Time.Equal(t0.Add(1198*time.Second)) || got[0].Client != "lk_x" {
		t.Fatalf("newest u1 event = %+v", got[0])
	}
	all, _ := st.AuditLog(ctx, "", 2000)
	if len(all) != 1200 {
		t.Fatalf("all events = %d", len(all))
	}

	// Past several thousand records (SQLite's index groups them in
	// blocks of 4,096): a user's records across blocks, newest first, and
	// a user whose few records are all far back.
	evs = evs[:0]
	for i := range 9000 {
		user := "busy"
		switch {
		case i < 3:
			user = "quiet"
		case i%7 == 0:
			user = "spread"
		}
		evs = append(evs, Event{Time: t0.Add(time.Duration(i) * time.Millisecond), User: user, Action: "verify", Outcome: "invalid_code"})
	}
	if err := st.Audit(ctx, evs...); err != nil {
		t.Fatal(err)
	}
	quiet, err := st.AuditLog(ctx, "quiet", 10)
	if err != nil || len(quiet) != 3 || !quiet[0].Time.Equal(t0.Add(2*time.Millisecond)) || !quiet[2].Time.Equal(t0) {
		t.Fatalf("quiet's records = %+v, %v; want its 3, newest first", quiet, err)
	}
	spread, err := st.AuditLog(ctx, "spread", 2000)
	if err != nil || len(spread) != 1285 {
		t.Fatalf("spread's records = %d, %v; want 1285", len(spread), err)
	}
	for i, ev := range spread {
		if want := t0.Add(time.Duration(8995-7*i) * time.Millisecond); ev.User != "spread" || !ev.Time.Equal(want) {
			t.Fatalf("spread's record %d = %+v; want the one at %v", i, ev, want)
		}
	}
	if some, _ := st.AuditLog(ctx, "spread", 700); len(some) != 700 || !some[699].Time.Equal(spread[699].Time) {
		t.Fatalf("spread's newest 700 = %d records", len(some))
	}
}

func testStoreReseal(t *testing.T, st Store) {
	ctx := context.Background()
	mustCreate(t, st, testCred("alice", "c1", true))
	mustCreate(t, st, testCred("bob", "c2", false))
	n, err := st.Reseal(ctx, func(user, id string, sealed []byte) ([]byte, error) {
		return append([]byte(user+"/"), sealed...), nil
	})
	if err != nil || n != 2 {
		t.Fatalf("Reseal = %d, %v", n, err)
	}
	c, _ := st.Credential(ctx, "bob", "c2")
	if string(c.Secret) != "bob/sealed-c2" {
		t.Fatalf("resealed secret %q", c.Secret)
	}
	// A failing reseal changes nothing.
	_, err = st.Reseal(ctx, func(user, id string, sealed []byte) ([]byte, error) {
		if id == "c2" {
			return nil, errors.New("boom")
		}
		return []byte("x"), nil
	})
	if err == nil {
		t.Fatal("failing reseal reported success")
	}
	if c, _ := st.Credential(ctx, "alice", "c1"); string(c.Secret) != "alice/sealed-c1" {
		t.Fatalf("partial reseal left %q", c.Secret)
	}
}

// testStoreReadsSeeWrites: VerifiedCredentials reflects every write at
// once, whatever the store keeps in memory.
func testStoreReadsSeeWrites(t *testing.T, st Store) {
	ctx := context.Background()
	check := func(what string, wantIDs []string, wantLast int64, wantFailures int) {
		t.Helper()
		cs, state, err := st.VerifiedCredentials(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range cs {
			ids = append(ids, c.ID)
			if c.ID == "c1" && c.LastStep != wantLast {
				t.Fatalf("%s: last step %d, want %d", what, c.LastStep, wantLast)
			}
		}
		if fmt.Sprint(ids) != fmt.Sprint(wantIDs) || state.Failures != wantFailures {
			t.Fatalf("%s: ids %v failures %d; want %v %d", what, ids, state.Failures, wantIDs, wantFailures)
		}
	}
	check("empty", nil, 0, 0)
	mustCreate(t, st, testCred("alice", "c0", false))
	check("unverified", nil, 0, 0)
	st.Confirm(ctx, "alice", "c0", 7, t0, testEvent)
	check("confirmed", []string{"c0"}, 0, 0)
	mustCreate(t, st, testCred("alice", "c1", true))
	check("created verified", []string{"c0", "c1"}, -1, 0)
	st.Accept(ctx, "alice", "c1", 40, t0, testEvent)
	check("accepted", []string{"c0", "c1"}, 40, 0)
	fail(t, st, "alice", t0, Lockout{MaxFailures: 10, Base: time.Second, Max: time.Minute})
	check("failure", []string{"c0", "c1"}, 40, 1)
	st.Accept(ctx, "alice", "c1", 41, t0, testEvent)
	check("success resets", []string{"c0", "c1"}, 41, 0)
	st.DeleteCredential(ctx, "alice", "c0")
	check("deleted", []string{"c1"}, 41, 0)

	// Readers racing writers end with the committed state.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				if i == 0 {
					st.Accept(ctx, "alice", "c1", int64(100+j), t0, testEvent)
				} else {
					st.VerifiedCredentials(ctx, "alice")
				}
			}
		})
	}
	wg.Wait()
	check("after the race", []string{"c1"}, 149, 0)
}

func TestSQLiteOneServerPerFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "one.db")
	a, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenSQLite(context.Background(), path); !errors.Is(err, ErrInUse) {
		t.Fatalf("second open: %v, want ErrInUse", err)
	}
	a.Close()
	b, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	b.Close()
}

// A database made with the first audit index (user_id, id) opens with
// the block index instead, its records found by user as before.
func TestSQLiteAuditIndexUpgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(`CREATE TABLE audit (
		id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, user_id TEXT NOT NULL,
		credential_id TEXT NOT NULL, client TEXT NOT NULL, action TEXT NOT NULL, outcome TEXT NOT NULL);
		CREATE INDEX audit_user ON audit (user_id, id);
		INSERT INTO audit (at, user_id, credential_id, client, action, outcome) VALUES
			(1, 'alice', 'c1', 'app', 'verify', 'valid'), (2, 'bob', '', 'app', 'verify', 'invalid_code');`); err != nil {
		t.Fatal(err)
	}
	old.Close()
	st, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var indexes []string
	rows, err := st.(*sqlStore).rdb.Query(`SELECT name FROM pragma_index_list('audit') ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		indexes = append(indexes, n)
	}
	rows.Close()
	if !slices.Equal(indexes, []string{"audit_user_block"}) {
		t.Fatalf("indexes of audit = %v; want [audit_user_block]", indexes)
	}
	evs, err := st.AuditLog(context.Background(), "alice", 10)
	if err != nil || len(evs) != 1 || evs[0].Credential != "c1" {
		t.Fatalf("alice's records = %+v, %v", evs, err)
	}
}
