package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"
)

// TestPGBatcher: concurrent latchkey_verify_audited calls share round trips and
// transactions, and a call that fails fails alone: the others of its
// batch are kept.
func TestPGBatcher(t *testing.T) {
	st := openTestPostgres(t).(*sqlStore)
	ctx := context.Background()
	now := time.UnixMilli(1_700_000_000_000)
	l := Lockout{MaxFailures: 1, Base: time.Minute, Max: time.Hour}
	const n = 64
	errs := make([]error, n)
	outs := make([]pgVerified, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sub, base, lmax := int64(0), int64(l.Base), int64(l.Max)
			if i == 7 {
				// Its lock would end past bigint's range: PostgreSQL
				// refuses the arithmetic.
				sub, base, lmax = 1, math.MaxInt64, math.MaxInt64
			}
			outs[i], errs[i] = st.batcher.verify(ctx, fmt.Sprintf("user%02d", i), ms(now), sub, []string{}, "", int64(0),
				l.MaxFailures, base, lmax, ms(now), "", "", "", "", "")
		})
	}
	wg.Wait()
	for i, err := range errs {
		if (i == 7) != (err != nil) {
			t.Fatalf("call %d: %v", i, err)
		}
		if i != 7 && (outs[i].outcome != AttemptFailed || outs[i].lockouts != 1 || outs[i].lockedUntil != ms(now.Add(time.Minute))) {
			t.Fatalf("call %d: %+v; want a failure locking for a minute", i, outs[i])
		}
	}
	for i := range n {
		s, err := st.UserState(ctx, fmt.Sprintf("user%02d", i))
		if err != nil {
			t.Fatal(err)
		}
		if (i == 7) != (s.Lockouts == 0) {
			t.Fatalf("user%02d: state %+v", i, s)
		}
	}
	st.Close()
	if _, err := st.batcher.verify(ctx, "user00"); !errors.Is(err, errStoreClosed) {
		t.Fatalf("after close: %v", err)
	}
}

// TestPGRecord: on PostgreSQL, Record writes each verification's audit
// record in its transaction, naming the outcome it found (none for a
// stale check), and locks for the back-off's steps as Lockout computes
// them.
func TestPGRecord(t *testing.T) {
	st := openTestPostgres(t).(*sqlStore)
	ctx := context.Background()
	mustCreate(t, st, testCred("dave", "c1", true))
	mustCreate(t, st, testCred("dave", "c2", true))
	l := Lockout{MaxFailures: 2, Base: 1500 * time.Millisecond, Max: 10 * time.Second}
	now := t0.Add(123_456_789) // not on a millisecond
	creds := []string{"c1", "c2"}
	check := func(cred string, step int64) Check {
		ev := Event{Time: now, User: "dave", Client: "app", Action: "verify", Outcome: OutcomeInvalid}
		if cred != "" {
			ev.Credential, ev.Outcome = cred, OutcomeValid
		}
		return Check{Credentials: creds, Credential: cred, Step: step, Event: ev}
	}
	// record runs c and checks its outcome and the newest audit record.
	record := func(c Check, outcome int, audit, auditCred string) AttemptResult {
		t.Helper()
		r, err := st.Record(ctx, "dave", now, l, c)
		if err != nil || r.Outcome != outcome || !r.Audited {
			t.Fatalf("Record(%+v) = %+v, %v; want outcome %d, audited", c, r, err, outcome)
		}
		evs, err := st.AuditLog(ctx, "dave", 1)
		if err != nil {
			t.Fatal(err)
		}
		want := Event{Time: now.Truncate(time.Millisecond).UTC(), User: "dave", Credential: auditCred, Client: "app", Action: "verify", Outcome: audit}
		if len(evs) != 1 || evs[0] != want {
			t.Fatalf("after outcome %d, newest audit record %+v; want %+v", outcome, evs, want)
		}
		return r
	}
	record(check("", 0), AttemptFailed, OutcomeInvalid, "")
	record(check("c2", 10), AttemptAccepted, OutcomeValid, "c2")
	if s, _ := st.UserState(ctx, "dave"); s.Failures != 0 {
		t.Fatalf("failures after an accepted code: %+v", s)
	}
	record(check("c2", 10), AttemptReplayed, OutcomeReplayed, "c2")

	// Checked against other credentials: stale, nothing recorded.
	before, _ := st.AuditLog(ctx, "dave", 100)
	c := check("", 0)
	c.Credentials = []string{"c1"}
	if _, err := st.Record(ctx, "dave", now, l, c); !errors.Is(err, ErrStale) {
		t.Fatalf("stale check: %v", err)
	}
	if after, _ := st.AuditLog(ctx, "dave", 100); len(after) != len(before) {
		t.Fatalf("stale check audited: %d records, were %d", len(after), len(before))
	}

	// Each lock lasts the back-off's next step, from the millisecond
	// Lockout's own arithmetic gives; a locked user's code is not
	// counted nor its step moved.
	record(check("", 0), AttemptFailed, OutcomeInvalid, "")
	for n := 1; n <= 5; n++ {
		r := record(check("", 0), AttemptFailed, OutcomeInvalid, "")
		if want := fromMS(ms(now.Add(l.duration(n)))); !r.NewLock || r.State.Lockouts != n || !r.State.LockedUntil.Equal(want) {
			t.Fatalf("lock %d: %+v; want locked until %v", n, r, want)
		}
		record(check("c1", 20), AttemptLocked, OutcomeLocked, "")
		now = r.State.LockedUntil.Add(time.Millisecond + 7)
	}
	if c, _ := st.Credential(ctx, "dave", "c1"); c.LastStep != -1 {
		t.Fatalf("a locked user's step moved: %d", c.LastStep)
	}
}
