package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// sqlStore implements Store over database/sql. The two dialects differ in
// their schema, their placeholders and how connections are pooled; every
// query that guards a code is the same conditional statement in both.
type sqlStore struct {
	name string  // "sqlite" or "postgres", for errors
	rdb  *sql.DB // reads
	wdb  *sql.DB // writes (SQLite: one connection, so writers queue in Go, not in busy loops)
	// rebind turns $N placeholders into the dialect's.
	rebind func(string) string
	q      queries

	stmts sync.Map // prepared statements of hot queries, by db and query

	// cache, when set, serves VerifiedCredentials from memory: on SQLite,
	// whose one process is the only writer, as the database holds them;
	// on PostgreSQL as this instance last saw them, Attempt finding what
	// other instances changed (see Check.Credentials).
	cache *userCache
	lock  *os.File // SQLite: held open while the store is
	// writer, when set, groups the verification path's writes into
	// shared transactions (SQLite; see groupWriter).
	writer      *groupWriter
	checkpoints *checkpointer // SQLite
	// pipeline: Attempt runs in two pgx pipelines (PostgreSQL; see
	// pgAttempt).
	pipeline bool
	// batcher sends verifications to PostgreSQL in shared round trips
	// (see Record).
	batcher *pgBatcher
}

// invalidate drops user's cached credentials and state after a write.
func (s *sqlStore) invalidate(user string) {
	if s.cache != nil {
		s.cache.invalidate(user)
	}
}

type stmtKey struct {
	db *sql.DB
	q  string
}

// stmt returns q prepared on db, preparing it on first use: SQLite would
// otherwise parse and plan the statement on every call, which costs more
// than running it.
func (s *sqlStore) stmt(ctx context.Context, db *sql.DB, q string) (*sql.Stmt, error) {
	k := stmtKey{db, q}
	if st, ok := s.stmts.Load(k); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(k, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// queries holds the statements after rebind, prepared once as strings.
type queries struct {
	insertCred, getCred, listCreds, verifiedCreds   string
	renameCred, deleteCred, deleteExpired           string
	confirm, accept, resetFailures, userState, lock string
	lockUser                                        string
	insertAudit, auditUser, auditAll                string
	auditUserBlock                                  string
	resealList, resealUpdate                        string
}

func newSQLStore(name string, rdb, wdb *sql.DB, rebind func(string) string) *sqlStore {
	s := &sqlStore{name: name, rdb: rdb, wdb: wdb, rebind: rebind}
	r := rebind
	const credCols = `id, user_id, name, issuer, algorithm, digits, period, secret, verified, created, expires, last_step, last_used, label`
	s.q = queries{
		insertCred: r(`INSERT INTO credentials (` + credCols + `)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`),
		getCred:   r(`SELECT ` + credCols + ` FROM credentials WHERE id = $1 AND user_id = $2`),
		listCreds: r(`SELECT ` + credCols + ` FROM credentials WHERE user_id = $1 AND (verified = 1 OR expires > $2) ORDER BY created, id`),
		verifiedCreds: r(`SELECT c.id, c.algorithm, c.digits, c.period, c.secret, c.last_step,
				COALESCE(s.failures, 0), COALESCE(s.locked_until, 0)
			FROM (SELECT CAST($1 AS TEXT) AS uid) u
			LEFT JOIN credentials c ON c.user_id = u.uid AND c.verified = 1
			LEFT JOIN user_state s ON s.user_id = u.uid
			ORDER BY c.created, c.id`),
		renameCred:    r(`UPDATE credentials SET name = $1 WHERE id = $2 AND user_id = $3`),
		deleteCred:    r(`DELETE FROM credentials WHERE id = $1 AND user_id = $2`),
		deleteExpired: r(`DELETE FROM credentials WHERE verified = 0 AND expires <= $1`),
		confirm: r(`UPDATE credentials SET verified = 1, expires = 0, last_step = $1, last_used = $2
			WHERE id = $3 AND user_id = $4 AND verified = 0 AND expires > $2 AND last_step < $1`),
		accept: r(`UPDATE credentials SET last_step = $1, last_used = $2
			WHERE id = $3 AND user_id = $4 AND verified = 1 AND last_step < $1
			AND NOT EXISTS (SELECT 1 FROM user_state WHERE user_id = $4 AND locked_until > $2)`),
		// On SQLite every statement that writes user_state runs through
		// the group writer (its attempts, or doUser), which keeps the
		// table's rows in memory.
		resetFailures: r(`UPDATE user_state SET failures = 0, lockouts = 0 WHERE user_id = $1 AND (failures > 0 OR lockouts > 0)`),
		userState:     r(`SELECT failures, locked_until, lockouts FROM user_state WHERE user_id = $1`),
		// lockUser reads a user's state and, being an upsert, locks the
		// row until the transaction ends (PostgreSQL). On SQLite the
		// group writer's writes run one at a time.
		lockUser: r(`INSERT INTO user_state (user_id, failures, locked_until, lockouts) VALUES ($1, 0, 0, 0)
			ON CONFLICT (user_id) DO UPDATE SET failures = user_state.failures
			RETURNING failures, locked_until, lockouts`),
		lock:        r(`UPDATE user_state SET failures = $1, locked_until = $2, lockouts = $3 WHERE user_id = $4`),
		insertAudit: `INSERT INTO audit (at, user_id, credential_id, client, action, outcome) VALUES `,
		auditUser:   r(`SELECT at, user_id, credential_id, client, action, outcome FROM audit WHERE user_id = $1 ORDER BY id DESC LIMIT $2`),
		auditAll:    r(`SELECT at, user_id, credential_id, client, action, outcome FROM audit ORDER BY id DESC LIMIT $1`),
		// SQLite: one block of audit_user_block.
		auditUserBlock: r(`SELECT at, user_id, credential_id, client, action, outcome FROM audit
			WHERE (id >> 12) = $1 AND user_id = $2 ORDER BY id DESC LIMIT $3`),
		resealList:   `SELECT user_id, id, secret FROM credentials`,
		resealUpdate: r(`UPDATE credentials SET secret = $1 WHERE id = $2 AND user_id = $3`),
	}
	return s
}

func (s *sqlStore) errorf(op string, err error) error {
	return fmt.Errorf("%s: %s: %w", s.name, op, err)
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *sqlStore) CreateCredential(ctx context.Context, c Credential, ev Event) error {
	defer s.invalidate(c.User)
	create := func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q.insertCred, c.ID, c.User, c.Name, c.Issuer, c.Algorithm, c.Digits, c.Period,
			c.Secret, b2i(c.Verified), ms(c.Created), ms(c.Expires), c.LastStep, ms(c.LastUsed), c.Label)
		if err != nil {
			return s.errorf("create credential", err)
		}
		return s.audit(ctx, tx, ev)
	}
	if s.writer != nil { // SQLite: in the verifications' group commit
		return s.writer.do(ctx, create, func() { s.invalidate(c.User) })
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return s.errorf("create credential", err)
	}
	defer tx.Rollback()
	if err := create(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.errorf("create credential", err)
	}
	return nil
}

type scanner interface{ Scan(...any) error }

func scanCred(r scanner) (Credential, error) {
	var c Credential
	var verified int
	var created, expires, used int64
	err := r.Scan(&c.ID, &c.User, &c.Name, &c.Issuer, &c.Algorithm, &c.Digits, &c.Period, &c.Secret,
		&verified, &created, &expires, &c.LastStep, &used, &c.Label)
	c.Verified = verified != 0
	c.Created, c.Expires, c.LastUsed = fromMS(created), fromMS(expires), fromMS(used)
	return c, err
}

func (s *sqlStore) Credential(ctx context.Context, user, id string) (Credential, error) {
	c, err := scanCred(s.rdb.QueryRowContext(ctx, s.q.getCred, id, user))
	if errors.Is(err, sql.ErrNoRows) {
		return Credential{}, ErrNotFound
	}
	if err != nil {
		return Credential{}, s.errorf("get credential", err)
	}
	return c, nil
}

func (s *sqlStore) Credentials(ctx context.Context, user string, now time.Time) ([]Credential, error) {
	rows, err := s.rdb.QueryContext(ctx, s.q.listCreds, user, ms(now))
	if err != nil {
		return nil, s.errorf("list credentials", err)
	}
	defer rows.Close()
	var out []Credential
	for rows.Next() {
		c, err := scanCred(rows)
		if err != nil {
			return nil, s.errorf("list credentials", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.errorf("list credentials", err)
	}
	return out, nil
}

func (s *sqlStore) VerifiedCredentials(ctx context.Context, user string) ([]Credential, UserState, error) {
	if s.cache == nil {
		return s.verifiedCredentials(ctx, user)
	}
	e, ok, token := s.cache.get(user)
	if ok {
		return e.creds, e.state, nil
	}
	creds, st, err := s.verifiedCredentials(ctx, user)
	// PostgreSQL: a user without credentials is not kept, as another
	// instance may enroll one; other changes are found by Attempt.
	if err == nil && (len(creds) > 0 || !s.pipeline) {
		s.cache.put(user, token, cacheEntry{creds: creds, state: st})
	}
	return creds, st, err
}

func (s *sqlStore) verifiedCredentials(ctx context.Context, user string) ([]Credential, UserState, error) {
	st0, err := s.stmt(ctx, s.rdb, s.q.verifiedCreds)
	if err != nil {
		return nil, UserState{}, s.errorf("verified credentials", err)
	}
	rows, err := st0.QueryContext(ctx, user)
	if err != nil {
		return nil, UserState{}, s.errorf("verified credentials", err)
	}
	defer rows.Close()
	var out []Credential
	var st UserState
	for rows.Next() {
		var id, alg sql.NullString
		var digits, period, last sql.NullInt64
		var secret []byte
		var locked int64
		if err := rows.Scan(&id, &alg, &digits, &period, &secret, &last, &st.Failures, &locked); err != nil {
			return nil, UserState{}, s.errorf("verified credentials", err)
		}
		st.LockedUntil = fromMS(locked)
		if !id.Valid {
			continue
		}
		out = append(out, Credential{ID: id.String, User: user, Algorithm: alg.String, Digits: int(digits.Int64),
			Period: int(period.Int64), Secret: secret, Verified: true, LastStep: last.Int64})
	}
	if err := rows.Err(); err != nil {
		return nil, UserState{}, s.errorf("verified credentials", err)
	}
	return out, st, nil
}

func (s *sqlStore) exec1(ctx context.Context, op, q string, args ...any) error {
	st, err := s.stmt(ctx, s.wdb, q)
	if err != nil {
		return s.errorf(op, err)
	}
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		return s.errorf(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.errorf(op, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

func (s *sqlStore) RenameCredential(ctx context.Context, user, id, name string) error {
	defer s.invalidate(user)
	return s.exec1(ctx, "rename credential", s.q.renameCred, name, id, user)
}

func (s *sqlStore) DeleteCredential(ctx context.Context, user, id string) error {
	defer s.invalidate(user)
	return s.exec1(ctx, "delete credential", s.q.deleteCred, id, user)
}

func (s *sqlStore) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	res, err := s.wdb.ExecContext(ctx, s.q.deleteExpired, ms(now))
	if err != nil {
		return 0, s.errorf("delete expired", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// change runs q (an UPDATE of one credential) and, if it changed a row,
// resets user's failures and writes ev, all in one transaction (SQLite:
// in the group writer's batch).
func (s *sqlStore) change(ctx context.Context, op, q, user string, ev Event, args ...any) (bool, error) {
	defer s.invalidate(user)
	upd, err := s.stmt(ctx, s.wdb, q)
	if err != nil {
		return false, s.errorf(op, err)
	}
	reset, err := s.stmt(ctx, s.wdb, s.q.resetFailures)
	if err != nil {
		return false, s.errorf(op, err)
	}
	var changed bool
	write := func(ctx context.Context, tx *sql.Tx) error {
		changed = false
		res, err := tx.StmtContext(ctx, upd).ExecContext(ctx, args...)
		if err != nil {
			return s.errorf(op, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		if _, err := tx.StmtContext(ctx, reset).ExecContext(ctx, user); err != nil {
			return s.errorf(op, err)
		}
		changed = true
		return s.audit(ctx, tx, ev)
	}
	if s.writer != nil {
		if err := s.writer.doUser(ctx, user, write, nil); err != nil {
			return false, err
		}
		return changed, nil
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return false, s.errorf(op, err)
	}
	defer tx.Rollback()
	if err := write(ctx, tx); err != nil || !changed {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, s.errorf(op, err)
	}
	return true, nil
}

func (s *sqlStore) Confirm(ctx context.Context, user, id string, step int64, now time.Time, ev Event) (bool, error) {
	return s.change(ctx, "confirm", s.q.confirm, user, ev, step, ms(now), id, user)
}

func (s *sqlStore) Accept(ctx context.Context, user, id string, step int64, now time.Time, ev Event) (bool, error) {
	return s.change(ctx, "accept", s.q.accept, user, ev, step, ms(now), id, user)
}

func (s *sqlStore) UserState(ctx context.Context, user string) (UserState, error) {
	var st UserState
	var locked int64
	ps, err := s.stmt(ctx, s.rdb, s.q.userState)
	if err != nil {
		return UserState{}, s.errorf("user state", err)
	}
	err = ps.QueryRowContext(ctx, user).Scan(&st.Failures, &locked, &st.Lockouts)
	if errors.Is(err, sql.ErrNoRows) {
		return UserState{}, nil
	}
	if err != nil {
		return UserState{}, s.errorf("user state", err)
	}
	st.LockedUntil = fromMS(locked)
	return st, nil
}

func (s *sqlStore) Attempt(ctx context.Context, user string, now time.Time, l Lockout, check func() (Check, error)) (AttemptResult, error) {
	if s.pipeline {
		return s.pgAttempt(ctx, user, now, l, check)
	}
	return s.sqliteAttempt(ctx, user, now, l, check)
}

// execer is a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

func (s *sqlStore) audit(ctx context.Context, db execer, evs ...Event) error {
	if len(evs) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(s.q.insertAudit)
	args := make([]any, 0, 6*len(evs))
	for i, ev := range evs {
		if i > 0 {
			b.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&b, "($%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6)
		args = append(args, ms(ev.Time), ev.User, ev.Credential, ev.Client, ev.Action, ev.Outcome)
	}
	if _, err := db.ExecContext(ctx, s.rebind(b.String()), args...); err != nil {
		return s.errorf("audit", err)
	}
	return nil
}

// maxAuditBatch bounds the auditor's batches.
const maxAuditBatch = 500

// pgInsertAudit inserts the events whose columns are its arrays.
const pgInsertAudit = `INSERT INTO audit (at, user_id, credential_id, client, action, outcome)
	SELECT * FROM unnest($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[])`

// Audit writes events in one transaction. PostgreSQL takes them in one
// statement (one round trip); SQLite stages them in the group writer's
// batch, which writes a batch's records with a few multi-row inserts.
func (s *sqlStore) Audit(ctx context.Context, evs ...Event) error {
	if len(evs) == 0 {
		return nil
	}
	if s.name != "sqlite" {
		// One statement for any number of events, its columns as arrays:
		// prepared once, where a multi-row VALUES list would be a new
		// statement (parsed and planned anew) for each batch size.
		at := make([]int64, len(evs))
		user, cred, client, action, outcome := make([]string, len(evs)), make([]string, len(evs)), make([]string, len(evs)), make([]string, len(evs)), make([]string, len(evs))
		for i, ev := range evs {
			at[i], user[i], cred[i], client[i], action[i], outcome[i] = ms(ev.Time), ev.User, ev.Credential, ev.Client, ev.Action, ev.Outcome
		}
		if _, err := s.wdb.ExecContext(ctx, pgInsertAudit, at, user, cred, client, action, outcome); err != nil {
			return s.errorf("audit", err)
		}
		return nil
	}
	// With the verifications' writes, in their group commit.
	if err := s.writer.audit(ctx, evs); err != nil {
		return s.errorf("audit", err)
	}
	return nil
}

func (s *sqlStore) AuditLog(ctx context.Context, user string, limit int) ([]Event, error) {
	out := []Event{}
	var err error
	switch {
	case user == "":
		out, err = s.auditRows(ctx, out, s.q.auditAll, limit)
	case s.name == "sqlite":
		out, err = s.auditBlocks(ctx, out, user, limit)
	default:
		out, err = s.auditRows(ctx, out, s.q.auditUser, user, limit)
	}
	if err != nil {
		return nil, s.errorf("audit log", err)
	}
	return out, nil
}

// auditBlock is the number of consecutive audit records SQLite's index of
// a user's records groups (audit_user_block: id >> 12).
const auditBlock = 1 << 12

// auditBlocks appends user's newest records, at most limit, reading the
// SQLite index one block of records at a time from the newest: a few
// reads for a user with recent records, one a block (about 2,500 for ten
// million records, milliseconds) for a user with none.
func (s *sqlStore) auditBlocks(ctx context.Context, out []Event, user string, limit int) ([]Event, error) {
	var last int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM audit`).Scan(&last); err != nil {
		return nil, err
	}
	for block := last / auditBlock; block >= 0 && len(out) < limit; block-- {
		var err error
		if out, err = s.auditRows(ctx, out, s.q.auditUserBlock, block, user, limit-len(out)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// auditRows appends the records query q (prepared once) selects.
func (s *sqlStore) auditRows(ctx context.Context, out []Event, q string, args ...any) ([]Event, error) {
	st, err := s.stmt(ctx, s.rdb, q)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var ev Event
		var at int64
		if err := rows.Scan(&at, &ev.User, &ev.Credential, &ev.Client, &ev.Action, &ev.Outcome); err != nil {
			return nil, err
		}
		ev.Time = fromMS(at).UTC()
		out = append(out, ev)
	}
	return out, rows.Err()
}

func (s *sqlStore) Reseal(ctx context.Context, fn func(user, id string, sealed []byte) ([]byte, error)) (int, error) {
	if s.cache != nil {
		defer s.cache.reset()
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return 0, s.errorf("reseal", err)
	}
	defer tx.Rollback()
	type row struct {
		user, id string
		secret   []byte
	}
	var all []row
	rows, err := tx.QueryContext(ctx, s.q.resealList)
	if err != nil {
		return 0, s.errorf("reseal", err)
	}
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.user, &r.id, &r.secret); err != nil {
			rows.Close()
			return 0, s.errorf("reseal", err)
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, s.errorf("reseal", err)
	}
	for _, r := range all {
		sealed, err := fn(r.user, r.id, r.secret)
		if err != nil {
			return 0, fmt.Errorf("reseal credential %s: %w", r.id, err)
		}
		if _, err := tx.ExecContext(ctx, s.q.resealUpdate, sealed, r.id, r.user); err != nil {
			return 0, s.errorf("reseal", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, s.errorf("reseal", err)
	}
	return len(all), nil
}

// The Store methods of enrollment links (links.go), shared by SQLite and
// PostgreSQL.

func (s *sqlStore) CreateLink(ctx context.Context, l Link, sweepBefore time.Time) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return s.errorf("create link", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM enrollment_links WHERE credential_id = $1 OR expires <= $2`),
		l.Credential, ms(sweepBefore)); err != nil {
		return s.errorf("create link", err)
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO enrollment_links (token_hash, user_id, credential_id, expires, redeemed)
		VALUES ($1, $2, $3, $4, 0)`), l.Hash, l.User, l.Credential, ms(l.Expires)); err != nil {
		return s.errorf("create link", err)
	}
	if err := tx.Commit(); err != nil {
		return s.errorf("create link", err)
	}
	return nil
}

func (s *sqlStore) RedeemLink(ctx context.Context, hash []byte, now time.Time) (Link, error) {
	l := Link{Hash: hash, Redeemed: true}
	var expires int64
	err := s.wdb.QueryRowContext(ctx, s.rebind(`UPDATE enrollment_links SET redeemed = 1
		WHERE token_hash = $1 AND redeemed = 0 AND expires > $2
		RETURNING user_id, credential_id, expires`), hash, ms(now)).Scan(&l.User, &l.Credential, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Link{}, ErrNotFound
	}
	if err != nil {
		return Link{}, s.errorf("redeem link", err)
	}
	l.Expires = fromMS(expires)
	return l, nil
}

func (s *sqlStore) Link(ctx context.Context, hash []byte) (Link, error) {
	l := Link{Hash: hash}
	var expires, redeemed int64
	err := s.rdb.QueryRowContext(ctx, s.rebind(`SELECT user_id, credential_id, expires, redeemed
		FROM enrollment_links WHERE token_hash = $1`), hash).Scan(&l.User, &l.Credential, &expires, &redeemed)
	if errors.Is(err, sql.ErrNoRows) {
		return Link{}, ErrNotFound
	}
	if err != nil {
		return Link{}, s.errorf("get link", err)
	}
	l.Expires, l.Redeemed = fromMS(expires), redeemed != 0
	return l, nil
}

// Ping reads and writes: a database that answers reads but refuses
// writes (disk full, read-only, a replica) fails every verification.
func (s *sqlStore) Ping(ctx context.Context) error {
	if err := s.rdb.PingContext(ctx); err != nil {
		return s.errorf("ping", err)
	}
	if _, err := s.wdb.ExecContext(ctx, s.rebind(`INSERT INTO health (id, at) VALUES (1, $1)
		ON CONFLICT (id) DO UPDATE SET at = excluded.at`), time.Now().UnixMilli()); err != nil {
		return s.errorf("ping: write", err)
	}
	return nil
}

func (s *sqlStore) Close() error {
	if s.writer != nil {
		s.writer.close()
	}
	if s.batcher != nil {
		s.batcher.close()
	}
	var err error
	if s.checkpoints != nil {
		err = s.checkpoints.close()
	}
	s.stmts.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
	err = errors.Join(err, s.rdb.Close())
	if s.wdb != s.rdb {
		err = errors.Join(err, s.wdb.Close())
	}
	if s.lock != nil {
		err = errors.Join(err, s.lock.Close())
	}
	return err
}

// newestSealed returns the newest credential's sealed secret, so that a
// starting server can check it holds the key the data is sealed under.
func (s *sqlStore) newestSealed(ctx context.Context) (user, id string, sealed []byte, ok bool, err error) {
	err = s.rdb.QueryRowContext(ctx, `SELECT user_id, id, secret FROM credentials ORDER BY created DESC, id LIMIT 1`).Scan(&user, &id, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil, false, nil
	}
	if err != nil {
		return "", "", nil, false, s.errorf("newest credential", err)
	}
	return user, id, sealed, true, nil
}
