package server

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// pgBatcher is the PostgreSQL store's way to latchkey_verify (see
// Record): one goroutine takes the verifications waiting at that moment
// and sends them in one pgx pipeline, one write and one round trip, which
// PostgreSQL runs as one transaction (the calls before a pipeline's Sync
// share an implicit one) and commits once; each request is answered
// after that commit. A call sees what the calls before it in the batch
// did, as if each had its transaction, so a burst for one user keeps the
// burst rule. The calls are sorted by user (keeping their order for one
// user), so two instances' batches take user rows in one order and never
// deadlock on them. When a batch fails (another transaction deadlocked
// with it, say), each call is sent again alone.
type pgBatcher struct {
	db   *sql.DB
	ch   chan *pgCall // unbuffered: a send succeeds only while loop runs
	quit chan struct{}
	done chan struct{}
}

// pgCall is one latchkey_verify call and its answer.
type pgCall struct {
	ctx  context.Context
	user string
	args []any
	out  pgVerified
	errc chan error
}

// pgVerified is latchkey_verify's answer.
type pgVerified struct {
	outcome, failures, lockouts int
	lockedUntil                 int64
}

func newPGBatcher(db *sql.DB) *pgBatcher {
	b := &pgBatcher{db: db, ch: make(chan *pgCall), quit: make(chan struct{}), done: make(chan struct{})}
	go b.loop()
	return b
}

// verify runs latchkey_verify with args (the first is the user) in the
// next batch and returns its answer once the batch is committed. A ctx
// done before the batch is sent abandons the call; one done later ends
// the wait, not the call (as a request that times out after its commit).
func (b *pgBatcher) verify(ctx context.Context, args ...any) (pgVerified, error) {
	c := &pgCall{ctx: ctx, user: args[0].(string), args: args, errc: make(chan error, 1)}
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

// send runs calls in one pipeline and one transaction.
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
	return conn.Raw(func(dc any) error {
		var batch pgx.Batch
		for _, c := range calls {
			batch.Queue(pgVerify, c.args...).QueryRow(func(row pgx.Row) error {
				return row.Scan(&c.out.outcome, &c.out.failures, &c.out.lockedUntil, &c.out.lockouts)
			})
		}
		return dc.(*stdlib.Conn).Conn().SendBatch(ctx, &batch).Close()
	})
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
