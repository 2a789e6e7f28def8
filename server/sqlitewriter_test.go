package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestGroupWriter: concurrent writes share transactions, each is
// answered after its commit, and a write that fails fails alone: the
// others of its batch are kept.
func TestGroupWriter(t *testing.T) {
	st := openTestSQLite(t).(*sqlStore)
	ctx := context.Background()
	bad := errors.New("bad write")
	const n = 64
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = st.writer.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO health (id, at) VALUES (?, 0)`, i); err != nil {
					return err
				}
				if i == 7 {
					return bad
				}
				return nil
			}, nil)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if (i == 7) != errors.Is(err, bad) || (i != 7 && err != nil) {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	var rows, seven int
	if err := st.rdb.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE id = 7) FROM health`).Scan(&rows, &seven); err != nil {
		t.Fatal(err)
	}
	if rows != n-1 || seven != 0 {
		t.Fatalf("%d rows (%d of the failed write); want %d, none of it", rows, seven, n-1)
	}
	st.Close()
	if err := st.writer.do(ctx, func(context.Context, *sql.Tx) error { return nil }, nil); !errors.Is(err, errStoreClosed) {
		t.Fatalf("after close: %v", err)
	}
}

// TestStoreStateResets: every write that resets a user's failures (an
// accepted code, a confirmation, an admin unlock, a recovery code) is
// seen by the next attempt, which counts from zero: two failures, the
// reset, two failures leave the user unlocked at three allowed.
func TestStoreStateResets(t *testing.T) {
	ctx := context.Background()
	l := Lockout{MaxFailures: 3, Base: time.Minute, Max: time.Hour}
	resets := []struct {
		name  string
		reset func(t *testing.T, st Store, step int64)
	}{
		{"accept", func(t *testing.T, st Store, step int64) {
			if ok, err := st.Accept(ctx, "alice", "c1", step, t0, testEvent); !ok || err != nil {
				t.Fatalf("accept: %v, %v", ok, err)
			}
		}},
		{"accepted attempt", func(t *testing.T, st Store, step int64) {
			r, err := st.Attempt(ctx, "alice", t0, l, func() (Check, error) {
				return Check{Credential: "c1", Step: step, Event: testEvent}, nil
			})
			if err != nil || r.Outcome != AttemptAccepted {
				t.Fatalf("attempt: %+v, %v", r, err)
			}
		}},
		{"confirm", func(t *testing.T, st Store, step int64) {
			id := fmt.Sprint("new", step)
			mustCreate(t, st, testCred("alice", id, false))
			if ok, err := st.Confirm(ctx, "alice", id, step, t0, testEvent); !ok || err != nil {
				t.Fatalf("confirm: %v, %v", ok, err)
			}
		}},
		{"unlock", func(t *testing.T, st Store, step int64) {
			if was, err := st.Unlock(ctx, "alice"); err != nil || was.Failures != 2 {
				t.Fatalf("unlock: %+v, %v", was, err)
			}
		}},
		{"recovery code", func(t *testing.T, st Store, step int64) {
			id := fmt.Sprint("r", step)
			if err := st.SetRecoveryCodes(ctx, "alice", []RecoveryCode{{ID: id, Hash: []byte{1}}}, testEvent); err != nil {
				t.Fatal(err)
			}
			r, _, err := st.UseRecoveryCode(ctx, "alice", id, t0, l, testEvent)
			if err != nil || r.Outcome != AttemptAccepted {
				t.Fatalf("recovery code: %+v, %v", r, err)
			}
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			mustCreate(t, st, testCred("alice", "c1", true))
			for i, rs := range resets {
				t.Run(rs.name, func(t *testing.T) {
					fail(t, st, "alice", t0, l)
					fail(t, st, "alice", t0, l)
					rs.reset(t, st, int64(10+i))
					for n := 1; n <= 2; n++ {
						if r := fail(t, st, "alice", t0, l); r.Outcome != AttemptFailed || r.NewLock || r.State.Failures != n {
							t.Fatalf("failure %d after the reset: %+v", n, r)
						}
					}
					if s, err := st.UserState(ctx, "alice"); err != nil || s.Failures != 2 || !s.LockedUntil.IsZero() {
						t.Fatalf("state %+v, %v; want 2 failures, unlocked", s, err)
					}
					// Back to no failures for the next reset.
					if _, err := st.Unlock(ctx, "alice"); err != nil {
						t.Fatal(err)
					}
				})
			}
		})
	}
}

// TestGroupWriterFailingBatch: attempts that shared a batch with a
// failing write, which rolled it back, are counted once each when
// applied again: the failures of a rolled-back batch are not kept.
func TestGroupWriterFailingBatch(t *testing.T) {
	st := openTestSQLite(t).(*sqlStore)
	ctx := context.Background()
	l := Lockout{MaxFailures: 1000, Base: time.Minute, Max: time.Hour}
	bad := errors.New("bad write")
	const rounds, n = 20, 16
	for round := range rounds {
		var wg sync.WaitGroup
		states := make([]int, n)
		for i := range n {
			wg.Go(func() {
				r := fail(t, st, "bob", t0, l)
				states[i] = r.State.Failures
			})
			if i%4 == 0 {
				wg.Go(func() {
					if err := st.writer.do(ctx, func(context.Context, *sql.Tx) error { return bad }, nil); !errors.Is(err, bad) {
						t.Errorf("failing write: %v", err)
					}
				})
			}
		}
		wg.Wait()
		// Each attempt saw the failures before it: 1..n once each.
		slices.Sort(states)
		for i, f := range states {
			if f != round*n+i+1 {
				t.Fatalf("round %d: failure counts %v", round, states)
			}
		}
		if s, err := st.UserState(ctx, "bob"); err != nil || s.Failures != (round+1)*n {
			t.Fatalf("round %d: state %+v, %v; want %d failures", round, s, err, (round+1)*n)
		}
	}
}

// TestSQLiteStateAfterRestart: failures counted before a restart count
// after it.
func TestSQLiteStateAfterRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "test.db")
	l := Lockout{MaxFailures: 3, Base: time.Minute, Max: time.Hour}
	open := func() Store {
		st, err := OpenSQLite(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open()
	fail(t, st, "carol", t0, l)
	fail(t, st, "carol", t0, l)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = open()
	defer st.Close()
	if r := fail(t, st, "carol", t0, l); !r.NewLock || r.State.Failures != 3 {
		t.Fatalf("third failure after the restart: %+v", r)
	}
	if r, err := st.Attempt(ctx, "carol", t0, l, func() (Check, error) { return Check{}, nil }); err != nil || r.Outcome != AttemptLocked {
		t.Fatalf("after the lock: %+v, %v", r, err)
	}
}
