package server

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

// pgBatcher is the PostgreSQL store's way to record verifications (see
// Record): one goroutine takes the calls waiting at that moment and sends
// them as one call of latchkey_verify_calls, one statement, so one round
// trip and one transaction, committed once; each request is answered
// after that commit. A call sees what the calls before it in the batch
// did, as if each had its transaction, so a burst for one user keeps the
// burst rule. The calls are sorted by user (keeping their order for one
// user), the order in which the function takes the users' rows, so two
// instances' batches never deadlock on them. When a batch fails (another
// transaction deadlocked with it, say), each call is sent again alone.
type pgBatcher struct {
	db   *sql.DB
	ch   chan *pgCall // unbuffered: a send succeeds only while loop runs
	quit chan struct{}
	done chan struct{}
	args pgBatchArgs // send's, reused
}

// pgCall is one verification to record and its answer.
type pgCall struct {
	ctx  context.Context
	user string
	now  time.Time
	l    Lockout
	ids  string // the credentials checked, as pgIDs encodes them
	cred string // the matched credential, or ""
	step int64
	ev   Event
	out  pgVerified
	errc chan error
}

// pgVerified is latchkey_verify_calls's answer to a call.
type pgVerified struct {
	outcome, failures, lockouts int
	lockedUntil                 int64
}

func newPGBatcher(db *sql.DB) *pgBatcher {
	b := &pgBatcher{db: db, ch: make(chan *pgCall), quit: make(chan struct{}), done: make(chan struct{})}
	go b.loop()
	return b
}

// verify records c in the next batch and returns its answer once the
// batch is committed. A ctx done before the batch is sent abandons the
// call; one done later ends the wait, not the call (as a request that
// times out after its commit).
func (b *pgBatcher) verify(ctx context.Context, c *pgCall) (pgVerified, error) {
	c.ctx, c.errc = ctx, make(chan error, 1)
	select {
	case b.ch <- c:
	case <-ctx.Done():
		return pgVerified{}, ctx.Err()
	case <-b.quit:
		return pgVerified{}, errStoreClosed
	}
	select {
	case err := <-c.errc:
		return c.out, err
	case <-ctx.Done():
		return pgVerified{}, ctx.Err()
	}
}

func (b *pgBatcher) loop() {
	defer close(b.done)
	batch := make([]*pgCall, 0, maxGroup)
	for {
		select {
		case c := <-b.ch:
			batch = append(batch[:0], c)
		case <-b.quit:
			return
		}
		b.run(gather(b.ch, batch, maxGroup))
	}
}

func (b *pgBatcher) run(batch []*pgCall) {
	live := batch[:0]
	for _, c := range batch {
		if err := c.ctx.Err(); err != nil {
			c.errc <- err
			continue
		}
		live = append(live, c)
	}
	if len(live) == 0 {
		return
	}
	slices.SortStableFunc(live, func(x, y *pgCall) int { return strings.Compare(x.user, y.user) })
	err := b.send(live)
	if err == nil || len(live) == 1 {
		for _, c := range live {
			c.errc <- err
		}
		return
	}
	for _, c := range live {
		if err := c.ctx.Err(); err != nil {
			c.errc <- err
			continue
		}
		c.errc <- b.send([]*pgCall{c})
	}
}

// send records calls, sorted by user, in one statement.
func (b *pgBatcher) send(calls []*pgCall) error {
	// Not a request's context: one request going away must not undo the
	// others' calls.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := b.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	args := b.args.set(calls)
	return conn.Raw(func(dc any) error {
		rows, err := dc.(*stdlib.Conn).Conn().Query(ctx, pgVerifyCalls, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			if n == len(calls) {
				return errors.New("latchkey_verify_calls: more answers than calls")
			}
			o := &calls[n].out
			if err := rows.Scan(&o.outcome, &o.failures, &o.lockedUntil, &o.lockouts); err != nil {
				return err
			}
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if n != len(calls) {
			return errors.New("latchkey_verify_calls: fewer answers than calls")
		}
		return nil
	})
}

// pgBatchArgs are latchkey_verify_calls' arguments: each call's numbers
// and texts, pgCallNums and pgCallTexts of them, one after the other.
type pgBatchArgs struct {
	nums  []int64
	texts []string
}

const (
	pgCallNums  = 6 // now (ms), sub-millisecond ns, step, max failures, lock base and max (ns)
	pgCallTexts = 6 // user, ids (pgIDs), matched credential, client, action, outcome
)

// set fills a from calls and returns them as arguments.
func (a *pgBatchArgs) set(calls []*pgCall) []any {
	a.nums = slices.Grow(a.nums[:0], pgCallNums*len(calls))
	a.texts = slices.Grow(a.texts[:0], pgCallTexts*len(calls))
	for _, c := range calls {
		nowMS := ms(c.now)
		a.nums = append(a.nums, nowMS, int64(c.now.Sub(time.UnixMilli(nowMS))), c.step,
			int64(c.l.MaxFailures), int64(c.l.Base), int64(c.l.Max))
		a.texts = append(a.texts, c.user, c.ids, c.cred, c.ev.Client, c.ev.Action, c.ev.Outcome)
	}
	return []any{a.nums, a.texts}
}

// close stops the batcher; calls sent afterwards get errStoreClosed.
func (b *pgBatcher) close() {
	select {
	case <-b.quit:
	default:
		close(b.quit)
	}
	<-b.done
}
