package server

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
)

// gather adds to batch, which holds a first request, the requests
// waiting on ch, up to max. Yielding twice lets request goroutines that
// are already runnable reach the writer and join this batch: fewer
// commits per request (measured on SQLite: about a tenth less CPU per
// wrong code under load), at the cost of a scheduler pass when idle.
func gather[T any](ch chan T, batch []T, max int) []T {
	for range 2 {
		runtime.Gosched()
	more:
		for len(batch) < max {
			select {
			case r := <-ch:
				batch = append(batch, r)
			default:
				break more
			}
		}
	}
	return batch
}

// groupWriter is the SQLite store's writer for the writes on the
// verification path (group commit). SQLite takes one writer at a time,
// and most of a small transaction's cost is its commit; so one goroutine
// takes the writes waiting at that moment, applies them in arrival order
// in one transaction, commits once, and only then answers each of them.
// Order within the transaction is what keeps a check-and-count atomic:
// each write sees the state the ones before it left, exactly as if each
// had its own transaction, so a burst of wrong codes for one user still
// has at most MaxFailures checked. An answer leaves after the commit, so
// an acknowledged write is in the WAL when the client hears of it.
type groupWriter struct {
	db   *sql.DB
	ch   chan *writeReq // unbuffered: a send succeeds only while loop runs
	quit chan struct{}
	done chan struct{}
}

// writeReq is one write: fn runs inside the batch's transaction (with
// the batch's context) and may run a second time, alone, if another
// write of its batch failed.
type writeReq struct {
	ctx   context.Context
	fn    func(ctx context.Context, tx *sql.Tx) error
	after func() // maybe nil
	errc  chan error
}

// maxGroup bounds one batch, so that a batch's commit is not held back
// by an endless stream of writes.
const maxGroup = 256

// errStoreClosed answers writes sent after Close.
var errStoreClosed = errors.New("store closed")

func newGroupWriter(db *sql.DB) *groupWriter {
	w := &groupWriter{db: db, ch: make(chan *writeReq), quit: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w
}

// do runs fn in the next batch's transaction and returns once that
// batch is committed (nil) or fn failed (its error; nothing of fn is
// kept). after, if not nil, runs once the batch is committed, in the
// order of the batch's writes (for what must follow the commits in
// their order, such as the store's cache). A ctx done before the batch
// starts abandons the write.
func (w *groupWriter) do(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error, after func()) error {
	r := &writeReq{ctx: ctx, fn: fn, after: after, errc: make(chan error, 1)}
	select {
	case w.ch <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.quit:
		return errStoreClosed
	}
	return <-r.errc
}

func (w *groupWriter) loop() {
	defer close(w.done)
	batch := make([]*writeReq, 0, maxGroup)
	for {
		select {
		case r := <-w.ch:
			batch = append(batch[:0], r)
		case <-w.quit:
			return
		}
		batch = gather(w.ch, batch, maxGroup)
		w.run(batch)
	}
}

// run applies a batch. When one write fails the transaction is rolled
// back, and each write is then applied alone, so only the failing one
// sees an error.
func (w *groupWriter) run(batch []*writeReq) {
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.errc <- err
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	err := w.apply(live)
	if err == nil || len(live) == 1 {
		w.answer(live, err)
		return
	}
	for _, r := range live {
		w.answer([]*writeReq{r}, w.apply([]*writeReq{r}))
	}
}

// answer runs the after functions of a committed batch, then answers
// its writes.
func (w *groupWriter) answer(batch []*writeReq, err error) {
	if err == nil {
		for _, r := range batch {
			if r.after != nil {
				r.after()
			}
		}
	}
	for _, r := range batch {
		r.errc <- err
	}
}

func (w *groupWriter) apply(batch []*writeReq) error {
	// Not a request's context: one request going away must not undo the
	// others' writes. Nor one with a deadline: for a context that can end,
	// the driver starts a goroutine to watch it for every statement, a
	// good part of a small statement's cost. What bounds a write is
	// SQLite's busy timeout (see openSQLite); a disk that hangs a write
	// would hang it under a deadline as well.
	ctx := context.Background()
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, r := range batch {
		if err := r.fn(ctx, tx); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// close stops the writer; writes sent afterwards get errStoreClosed.
func (w *groupWriter) close() {
	select {
	case <-w.quit:
	default:
		close(w.quit)
	}
	<-w.done
}
