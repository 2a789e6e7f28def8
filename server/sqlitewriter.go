package server

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"time"
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
//
// The writer owns the user_state table: it keeps the committed row of
// each user it read or wrote (states), so that a verification reads no
// row, and writes a batch's changed rows and audit records before its
// commit (see writerBatch). This holds because one process has the file
// (OpenSQLite) and every statement that writes user_state runs through
// the writer: attempts (try), and the writes sent with doUser, which
// drop the user's entry. A batch that fails changes no entry (they are
// set after the commit) and empties states.
type groupWriter struct {
	db   *sql.DB
	ch   chan *writeReq // unbuffered: a send succeeds only while loop runs
	quit chan struct{}
	done chan struct{}
	ps   *writerStmts

	// Owned by loop.
	states map[string]userRow // committed user_state rows
	b      writerBatch        // the batch being applied
}

// writeReq is one write, one of: fn, a write in SQL that runs inside the
// batch's transaction (with the batch's context) and may run a second
// time, alone, if another write of its batch failed; try, an attempt;
// events, audit records.
type writeReq struct {
	ctx    context.Context
	fn     func(ctx context.Context, tx *sql.Tx) error
	user   string // fn may change this user's row of user_state
	try    *tryReq
	events []Event
	after  func() // maybe nil
	errc   chan error
}

// maxGroup bounds one batch, so that a batch's commit is not held back
// by an endless stream of writes.
const maxGroup = 256

// maxWriterUsers bounds the writer's states; past it, they start over.
const maxWriterUsers = 100_000

// errStoreClosed answers writes sent after Close.
var errStoreClosed = errors.New("store closed")

func newGroupWriter(ctx context.Context, db *sql.DB) (*groupWriter, error) {
	ps, err := prepareWriter(ctx, db)
	if err != nil {
		return nil, err
	}
	w := &groupWriter{db: db, ch: make(chan *writeReq), quit: make(chan struct{}), done: make(chan struct{}), ps: ps,
		states: map[string]userRow{}, b: newWriterBatch()}
	go w.loop()
	return w, nil
}

// do runs fn in the next batch's transaction and returns once that
// batch is committed (nil) or fn failed (its error; nothing of fn is
// kept). after, if not nil, runs once the batch is committed, in the
// order of the batch's writes (for what must follow the commits in
// their order, such as the store's cache). A ctx done before the batch
// starts abandons the write. fn must not write user_state (see doUser).
func (w *groupWriter) do(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error, after func()) error {
	return w.send(&writeReq{ctx: ctx, fn: fn, after: after})
}

// doUser is do for an fn that may write user's row of user_state: the
// writer reads the row again after it.
func (w *groupWriter) doUser(ctx context.Context, user string, fn func(ctx context.Context, tx *sql.Tx) error, after func()) error {
	return w.send(&writeReq{ctx: ctx, fn: fn, user: user, after: after})
}

// audit writes evs in the next batch.
func (w *groupWriter) audit(ctx context.Context, evs []Event) error {
	return w.send(&writeReq{ctx: ctx, events: evs})
}

func (w *groupWriter) send(r *writeReq) error {
	r.errc = make(chan error, 1)
	select {
	case w.ch <- r:
	case <-r.ctx.Done():
		return r.ctx.Err()
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

// apply runs a batch in one transaction. The user_state rows it read or
// wrote become the writer's states once it committed; when it fails, the
// states are dropped, as the database may not hold what they say.
func (w *groupWriter) apply(batch []*writeReq) error {
	w.b.reset()
	if err := w.applyTx(batch); err != nil {
		w.b.reset()
		clear(w.states)
		return err
	}
	if len(w.states)+len(w.b.users) > maxWriterUsers {
		clear(w.states)
	}
	for user, st := range w.b.users {
		if st.known {
			w.states[user] = st.r
		} else {
			delete(w.states, user)
		}
	}
	w.b.reset()
	return nil
}

func (w *groupWriter) applyTx(batch []*writeReq) error {
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
	w.b.tx = tx
	defer func() { w.b.tx = nil }()
	for _, r := range batch {
		switch {
		case r.try != nil:
			err = w.try(ctx, r.try)
		case r.fn != nil:
			// A write in SQL sees the batch's staged rows.
			if err = w.b.flush(ctx, w.ps); err == nil {
				err = r.fn(ctx, tx)
			}
			if r.user != "" {
				w.b.users[r.user] = stagedState{}
			}
		default:
			w.b.events = append(w.b.events, r.events...)
		}
		if err != nil {
			return err
		}
	}
	if err := w.b.flush(ctx, w.ps); err != nil {
		return err
	}
	return tx.Commit()
}

// userRow is a user's row of user_state as the writer knows it.
type userRow struct {
	st  UserState // LockedUntil in the database's milliseconds
	row bool      // the table has the row (else st is zero)
}

// state returns user's user_state row as the batch left it so far: from
// the batch, the writer's states, or the database.
func (w *groupWriter) state(ctx context.Context, user string) (userRow, error) {
	if st, ok := w.b.users[user]; ok && st.known {
		return st.r, nil
	} else if !ok {
		if r, ok := w.states[user]; ok {
			return r, nil
		}
	}
	var r userRow
	var locked int64
	err := w.b.stmt(ctx, w.ps.readState).QueryRowContext(ctx, user).Scan(&r.st.Failures, &locked, &r.st.Lockouts)
	switch {
	case err == nil:
		r.row = true
	case !errors.Is(err, sql.ErrNoRows): // none: no failure yet
		return userRow{}, err
	}
	r.st.LockedUntil = fromMS(locked)
	w.b.users[user] = stagedState{r: r, known: true}
	return r, nil
}

// setState stages st as user's row after cur (what state returned), to
// be written before the commit.
func (w *groupWriter) setState(user string, cur userRow, st UserState) {
	st.LockedUntil = fromMS(ms(st.LockedUntil)) // as the database keeps it
	if prev, ok := w.b.users[user]; !ok || !prev.dirty {
		w.b.dirty = append(w.b.dirty, user)
	}
	w.b.users[user] = stagedState{r: userRow{st: st, row: cur.row}, known: true, dirty: true}
}

// close stops the writer; writes sent afterwards get errStoreClosed.
func (w *groupWriter) close() {
	select {
	case <-w.quit:
	default:
		close(w.quit)
	}
	<-w.done
	w.ps.close()
}

// tryReq is an attempt (Store.Attempt) on SQLite, applied by the writer
// in its batch.
type tryReq struct {
	user  string
	now   time.Time
	l     Lockout
	check func() (Check, error)
	r     AttemptResult // the result
}
