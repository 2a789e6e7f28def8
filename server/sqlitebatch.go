package server

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// writerBatch is what the group writer stages during a batch: the
// user_state rows it read or changed and the audit records, written
// before a write in SQL and before the commit (flush).
type writerBatch struct {
	tx     *sql.Tx
	txs    map[*sql.Stmt]*sql.Stmt // the writer's statements on tx
	users  map[string]stagedState
	dirty  []string // users whose staged row is to be written, in order
	events []Event
	args   []any
}

// stagedState is a user's user_state row in a batch.
type stagedState struct {
	r     userRow
	known bool // false: a write in SQL may have changed the row
	dirty bool // r is to be written
}

func newWriterBatch() writerBatch {
	return writerBatch{txs: map[*sql.Stmt]*sql.Stmt{}, users: map[string]stagedState{}}
}

func (b *writerBatch) reset() {
	clear(b.txs)
	clear(b.users)
	b.dirty, b.events = b.dirty[:0], b.events[:0]
}

// stmt returns st on the batch's transaction.
func (b *writerBatch) stmt(ctx context.Context, st *sql.Stmt) *sql.Stmt {
	ts, ok := b.txs[st]
	if !ok {
		ts = b.tx.StmtContext(ctx, st)
		b.txs[st] = ts
	}
	return ts
}

// flush writes the staged rows and records: a row with a prepared
// single-row UPDATE (or INSERT), which measured cheaper than a multi-row
// upsert; the records, often hundreds at once (the auditor's), with a
// multi-row INSERT.
func (b *writerBatch) flush(ctx context.Context, ps *writerStmts) error {
	if err := b.flushStates(ctx, ps); err != nil {
		return err
	}
	return b.flushEvents(ctx, ps)
}

func (b *writerBatch) flushStates(ctx context.Context, ps *writerStmts) error {
	if len(b.dirty) == 0 {
		return nil
	}
	for _, user := range b.dirty {
		st := b.users[user]
		q := ps.updateState
		if !st.r.row {
			q = ps.insertState
		}
		if _, err := b.stmt(ctx, q).ExecContext(ctx, st.r.st.Failures, ms(st.r.st.LockedUntil), st.r.st.Lockouts, user); err != nil {
			return err
		}
		st.dirty, st.r.row = false, true
		b.users[user] = st
	}
	b.dirty = b.dirty[:0]
	return nil
}

func (b *writerBatch) flushEvents(ctx context.Context, ps *writerStmts) error {
	if len(b.events) == 0 {
		return nil
	}
	err := b.insert(ctx, ps.insertAudit, len(b.events), func(args []any, i int) []any {
		ev := &b.events[i]
		return append(args, ms(ev.Time), ev.User, ev.Credential, ev.Client, ev.Action, ev.Outcome)
	})
	clear(b.events) // no strings kept
	b.events = b.events[:0]
	return err
}

// insert writes n rows with m's statements, row appending the i-th
// row's values to args.
func (b *writerBatch) insert(ctx context.Context, m *multiRow, n int, row func(args []any, i int) []any) error {
	for i := 0; i < n; {
		k := m.size(n - i)
		args := b.args[:0]
		for j := range k {
			if i+j < n {
				args = row(args, i+j)
			} else { // padding, which the statement leaves out
				for range m.cols {
					args = append(args, nil)
				}
			}
		}
		b.args = args
		if _, err := b.stmt(ctx, m.stmts[k]).ExecContext(ctx, args...); err != nil {
			return err
		}
		i += min(k, n-i)
	}
	clear(b.args)
	return nil
}

// multiRow is an INSERT prepared for a few numbers of rows (chunks):
// SQLite parses a statement with many parameters slowly, so one for
// every number would cost more than it saves. Rows short of a chunk are
// padded with NULLs, which its SELECT leaves out.
type multiRow struct {
	cols  int
	sizes []int // ascending
	stmts map[int]*sql.Stmt
}

// multiRowSizes are the chunks: a batch holds a few records, or the
// auditor's hundreds.
var multiRowSizes = []int{1, 4, 16, 64}

// prepareMultiRow prepares "head SELECT ... FROM (VALUES ...) WHERE
// column1 IS NOT NULL tail" for each chunk of cols columns.
func prepareMultiRow(ctx context.Context, db *sql.DB, head, tail string, cols int) (*multiRow, error) {
	m := &multiRow{cols: cols, sizes: multiRowSizes, stmts: map[int]*sql.Stmt{}}
	row := "(?" + strings.Repeat(", ?", cols-1) + ")"
	sel := make([]string, cols)
	for i := range sel {
		sel[i] = "column" + string(rune('1'+i))
	}
	for _, k := range m.sizes {
		q := head + " SELECT " + strings.Join(sel, ", ") + " FROM (VALUES " + row + strings.Repeat(", "+row, k-1) +
			") WHERE column1 IS NOT NULL " + tail
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			m.close()
			return nil, err
		}
		m.stmts[k] = st
	}
	return m, nil
}

// size is the chunk for n rows: the smallest that holds them, or the
// largest.
func (m *multiRow) size(n int) int {
	for _, k := range m.sizes {
		if k >= n {
			return k
		}
	}
	return m.sizes[len(m.sizes)-1]
}

func (m *multiRow) close() {
	for _, st := range m.stmts {
		st.Close()
	}
}

// writerStmts are the group writer's statements, prepared once.
type writerStmts struct {
	readState, updateState, insertState *sql.Stmt
	accept, confirm                     *sql.Stmt
	insertAudit                         *multiRow
}

func prepareWriter(ctx context.Context, db *sql.DB) (*writerStmts, error) {
	ps := &writerStmts{}
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = db.PrepareContext(ctx, q)
		return st
	}
	ps.readState = prep(`SELECT failures, locked_until, lockouts FROM user_state WHERE user_id = ?`)
	ps.updateState = prep(`UPDATE user_state SET failures = ?, locked_until = ?, lockouts = ? WHERE user_id = ?`)
	ps.insertState = prep(`INSERT INTO user_state (failures, locked_until, lockouts, user_id) VALUES (?, ?, ?, ?)`)
	// The writer has checked the lock: no read of user_state.
	ps.accept = prep(`UPDATE credentials SET last_step = ?1, last_used = ?2
		WHERE id = ?3 AND user_id = ?4 AND verified = 1 AND last_step < ?1`)
	ps.confirm = prep(`UPDATE credentials SET verified = 1, expires = 0, last_step = ?1, last_used = ?2
		WHERE id = ?3 AND user_id = ?4 AND verified = 0 AND expires > ?2 AND last_step < ?1`)
	if err == nil {
		ps.insertAudit, err = prepareMultiRow(ctx, db, `INSERT INTO audit (at, user_id, credential_id, client, action, outcome)`, ``, 6)
	}
	if err != nil {
		ps.close()
		return nil, fmt.Errorf("sqlite: prepare the writer's statements: %w", err)
	}
	return ps, nil
}

func (ps *writerStmts) close() {
	for _, st := range []*sql.Stmt{ps.readState, ps.updateState, ps.insertState, ps.accept, ps.confirm} {
		if st != nil {
			st.Close()
		}
	}
	if ps.insertAudit != nil {
		ps.insertAudit.close()
	}
}
