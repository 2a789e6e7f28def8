package server

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

const sqliteSchema = `
CREATE TABLE IF NOT EXISTS clients (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	secret_hash BLOB NOT NULL,
	created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS credentials (
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL,
	name TEXT NOT NULL,
	issuer TEXT NOT NULL,
	algorithm TEXT NOT NULL,
	digits INTEGER NOT NULL,
	period INTEGER NOT NULL,
	secret BLOB NOT NULL,
	verified INTEGER NOT NULL DEFAULT 0,
	created INTEGER NOT NULL,
	expires INTEGER NOT NULL DEFAULT 0,
	last_step INTEGER NOT NULL DEFAULT -1,
	last_used INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS credentials_user ON credentials (user_id, verified);
CREATE TABLE IF NOT EXISTS user_state (
	user_id TEXT PRIMARY KEY,
	failures INTEGER NOT NULL DEFAULT 0,
	locked_until INTEGER NOT NULL DEFAULT 0,
	lockouts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS audit (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	at INTEGER NOT NULL,
	user_id TEXT NOT NULL,
	credential_id TEXT NOT NULL,
	client TEXT NOT NULL,
	action TEXT NOT NULL,
	outcome TEXT NOT NULL
);
-- A user's audit records, by blocks of auditBlock consecutive records:
-- a new record goes to one of the last block's few index pages, where an
-- index on (user_id, id) put each in its user's own page (under load a
-- 4 KiB page written to the WAL for every record). See AuditLog.
DROP INDEX IF EXISTS audit_user;
CREATE INDEX IF NOT EXISTS audit_user_block ON audit (id >> 12, user_id, id);
CREATE TABLE IF NOT EXISTS enrollment_links (
	token_hash BLOB PRIMARY KEY,
	user_id TEXT NOT NULL,
	credential_id TEXT NOT NULL,
	expires INTEGER NOT NULL,
	redeemed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS helpdesk_sessions (
	id_hash BLOB PRIMARY KEY,
	key_id BLOB NOT NULL,
	expires INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS login_throttle (
	source TEXT PRIMARY KEY,
	failures INTEGER NOT NULL,
	closed_until INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS health (
	id INTEGER PRIMARY KEY,
	at INTEGER NOT NULL
);
`

// OpenSQLite opens (creating it 0600 if needed) the SQLite database at
// path in WAL mode with synchronous=NORMAL: a commit survives the process
// being killed (it is in the WAL before the call returns), and the WAL is
// synced at checkpoints. Writes go through one connection, reads through
// a pool; verification attempts and audit records share transactions
// through one ordered writer (group commit, see groupWriter). The file serves one Store at a time (PATH.lock holds an
// exclusive lock; a second opener gets ErrInUse), which lets the store
// serve users' verified credentials from memory between writes, and its
// writer keep users' failure counts and locks.
func OpenSQLite(ctx context.Context, path string) (Store, error) {
	// One server per file: the store caches what it reads and relies on
	// being the only writer.
	lock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	st, err := openSQLite(ctx, path)
	if err != nil {
		lock.Close()
		return nil, err
	}
	st.lock = lock
	return st, nil
}

func openSQLite(ctx context.Context, path string) (*sqlStore, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	f.Close()
	// No connection checkpoints on its own: the checkpointer does.
	pragmas := []string{"journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(10000)", "foreign_keys(1)", "wal_autocheckpoint(0)"}
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	// The writer's statement journals (multi-row statements keep one, to
	// undo a statement that fails half-way) stay in memory: in a file they
	// cost a system call per page.
	wdb, err := sql.Open("sqlite", dsn+"&_pragma=temp_store(MEMORY)")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	if _, err := wdb.ExecContext(ctx, sqliteSchema); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: create schema: %w", err)
	}
	if err := migrateSQLite(ctx, wdb); err != nil {
		wdb.Close()
		return nil, err
	}
	if err := migrateOIDCSQLite(ctx, wdb); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: upgrade schema: %w", err)
	}
	if _, err := wdb.ExecContext(ctx, emailSQLiteSchema); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: upgrade schema: %w", err)
	}
	if _, err := wdb.ExecContext(ctx, cibaSchema("sqlite")); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: upgrade schema: %w", err)
	}
	if err := migrateAdminSQLite(ctx, wdb); err != nil {
		wdb.Close()
		return nil, err
	}
	q.Add("_pragma", "query_only(1)")
	rdb, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	rdb.SetMaxOpenConns(n)
	rdb.SetMaxIdleConns(n)
	rdb.SetConnMaxLifetime(0)
	// SQLite numbers parameters ?1, ?2...; queries are written with $1.
	rebind := func(q string) string { return strings.ReplaceAll(q, "$", "?") }
	st := newSQLStore("sqlite", rdb, wdb, rebind)
	st.cache = newUserCache()
	ckdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	ckdb.SetMaxOpenConns(1)
	if st.writer, err = newGroupWriter(ctx, wdb); err != nil {
		ckdb.Close()
		st.Close()
		return nil, err
	}
	st.checkpoints = newCheckpointer(ckdb)
	return st, nil
}

// checkpointer copies the WAL into the database file every
// checkpointEvery, on a connection of its own. SQLite would otherwise
// checkpoint in the commit that fills the WAL, on the writer's
// connection; a checkpoint syncs both files, and the group writer's
// waiting requests would all wait for it. A passive checkpoint never
// blocks the writer.
type checkpointer struct {
	db         *sql.DB
	stop, done chan struct{}
}

const checkpointEvery = time.Second

func newCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
				// An error (the database busy) leaves the frames for the
				// next tick.
				c.db.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
			}
		}
	}()
	return c
}

func (c *checkpointer) close() error {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	<-c.done
	return c.db.Close()
}

// migrateSQLite adds the columns added since the first schema to a
// database made before them.
func migrateSQLite(ctx context.Context, db *sql.DB) error {
	for _, c := range []struct{ table, column, def string }{
		{"user_state", "lockouts", "INTEGER NOT NULL DEFAULT 0"},
	} {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info(?) WHERE name = ?`, c.table, c.column).Scan(&n); err != nil {
			return fmt.Errorf("sqlite: migrate schema: %w", err)
		}
		if n == 0 {
			if _, err := db.ExecContext(ctx, "ALTER TABLE "+c.table+" ADD COLUMN "+c.column+" "+c.def); err != nil {
				return fmt.Errorf("sqlite: migrate schema: %w", err)
			}
		}
	}
	return nil
}
