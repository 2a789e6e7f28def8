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

// TestPGBatcher: concurrent verifications share round trips and
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
			c := &pgCall{user: fmt.Sprintf("user%02d", i), now: now, l: l, ids: pgIDs(nil)}
			if i == 7 {
				// Its lock would end past bigint's range: PostgreSQL
				// refuses the arithmetic.
				c.now, c.l.Base, c.l.Max = now.Add(time.Nanosecond), math.MaxInt64, math.MaxInt64
			}
			outs[i], errs[i] = st.batcher.verify(ctx, c)
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
	if _, err := st.batcher.verify(ctx, &pgCall{user: "user00"}); !errors.Is(err, errStoreClosed) {
		t.Fatalf("after close: %v", err)
	}
}

// TestPGRecord: on PostgreSQL, Record answers each outcome with the
// user's state after it, answers stale for a check against other
// credentials, and locks for the back-off's steps, from the millisecond
// Lockout's own arithmetic gives; a locked user's code is not counted
// nor its step moved.
func TestPGRecord(t *testing.T) {
	st := openTestPostgres(t).(*sqlStore)
	ctx := context.Background()
	mustCreate(t, st, testCred("dave", "c1", true))
	mustCreate(t, st, testCred("dave", "c2", true))
	l := Lockout{MaxFailures: 2, Base: 1500 * time.Millisecond, Max: 10 * time.Second}
	now := t0.Add(123_456_789) // not on a millisecond
	check := func(cred string, step int64) Check {
		ev := Event{Time: now, User: "dave", Client: "app", Action: "verify", Outcome: OutcomeInvalid}
		if cred != "" {
			ev.Credential, ev.Outcome = cred, OutcomeValid
		}
		return Check{Credentials: []string{"c1", "c2"}, Credential: cred, Step: step, Event: ev}
	}
	record := func(c Check, outcome int) AttemptResult {
		t.Helper()
		r, err := st.Record(ctx, "dave", now, l, c)
		if err != nil || r.Outcome != outcome {
			t.Fatalf("Record(%+v) = %+v, %v; want outcome %d", c, r, err, outcome)
		}
		return r
	}
	if r := record(check("", 0), AttemptFailed); r.State.Failures != 1 {
		t.Fatalf("first failure: %+v", r)
	}
	if r := record(check("c2", 10), AttemptAccepted); r.State.Failures != 0 {
		t.Fatalf("accepted: %+v", r)
	}
	record(check("c2", 10), AttemptReplayed)
	c := check("", 0)
	c.Credentials = []string{"c1"}
	if _, err := st.Record(ctx, "dave", now, l, c); !errors.Is(err, ErrStale) {
		t.Fatalf("stale check: %v", err)
	}
	record(check("", 0), AttemptFailed)
	for n := 1; n <= 5; n++ {
		r := record(check("", 0), AttemptFailed)
		if want := fromMS(ms(now.Add(l.duration(n)))); !r.NewLock || r.State.Lockouts != n || !r.State.LockedUntil.Equal(want) {
			t.Fatalf("lock %d: %+v; want locked until %v", n, r, want)
		}
		record(check("c1", 20), AttemptLocked)
		now = r.State.LockedUntil.Add(time.Millisecond + 7)
	}
	if c, _ := st.Credential(ctx, "dave", "c1"); c.LastStep != -1 {
		t.Fatalf("a locked user's step moved: %d", c.LastStep)
	}
}
