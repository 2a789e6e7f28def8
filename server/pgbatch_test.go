package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestPGBatcher: concurrent latchkey_verify calls share round trips and
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
			ends := lockEnds(now, l)
			if i == 7 {
				ends = nil // no lock end: its failure's lock breaks locked_until's NOT NULL
			}
			outs[i], errs[i] = st.batcher.verify(ctx, fmt.Sprintf("user%02d", i), ms(now), []string{}, "", int64(0),
				l.MaxFailures, ends, "", "", "")
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
