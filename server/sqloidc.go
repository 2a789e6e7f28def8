package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"latchkey/server/oidc"
)

// The OpenID provider's tables (see oidc.Store). The columns added to
// clients upgrade a database made by an earlier version: SQLite gets
// them from addColumns, PostgreSQL from ADD COLUMN IF NOT EXISTS.
const oidcSQLiteSchema = `
CREATE TABLE IF NOT EXISTS signing_keys (
	kid TEXT PRIMARY KEY,
	alg TEXT NOT NULL,
	sealed BLOB NOT NULL,
	created INTEGER NOT NULL,
	retires INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS client_assertions (
	client_id TEXT NOT NULL,
	jti TEXT NOT NULL,
	expires INTEGER NOT NULL,
	PRIMARY KEY (client_id, jti)
);
`

const oidcPostgresSchema = `
CREATE TABLE IF NOT EXISTS signing_keys (
	kid TEXT PRIMARY KEY,
	alg TEXT NOT NULL,
	sealed BYTEA NOT NULL,
	created BIGINT NOT NULL,
	retires BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS client_assertions (
	client_id TEXT NOT NULL,
	jti TEXT NOT NULL,
	expires BIGINT NOT NULL,
	PRIMARY KEY (client_id, jti)
);
ALTER TABLE clients ADD COLUMN IF NOT EXISTS grant_types TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN IF NOT EXISTS auth_method TEXT NOT NULL DEFAULT 'client_secret_basic';
ALTER TABLE clients ADD COLUMN IF NOT EXISTS jwks TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN IF NOT EXISTS jwks_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN IF NOT EXISTS updated BIGINT NOT NULL DEFAULT 0;
`

// clientColumnsSQLite are the columns added to clients for the provider.
var clientColumnsSQLite = [][2]string{
	{"grant_types", "TEXT NOT NULL DEFAULT ''"},
	{"auth_method", "TEXT NOT NULL DEFAULT 'client_secret_basic'"},
	{"jwks", "TEXT NOT NULL DEFAULT ''"},
	{"jwks_uri", "TEXT NOT NULL DEFAULT ''"},
	{"updated", "INTEGER NOT NULL DEFAULT 0"},
}

// migrateOIDCSQLite creates the provider's tables and adds the client
// columns an older database lacks.
func migrateOIDCSQLite(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, oidcSQLiteSchema); err != nil {
		return err
	}
	rows, err := db.QueryContext(ctx, `SELECT name FROM pragma_table_info('clients')`)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		have[n] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, c := range clientColumnsSQLite {
		if !have[c[0]] {
			if _, err := db.ExecContext(ctx, `ALTER TABLE clients ADD COLUMN `+c[0]+` `+c[1]); err != nil {
				return err
			}
		}
	}
	return nil
}

const clientCols = `id, name, secret_hash, grant_types, auth_method, jwks, jwks_uri, created, updated, accept_empty, allowed_groups`

func (s *sqlStore) CreateClient(ctx context.Context, c Client) error {
	_, err := s.wdb.ExecContext(ctx, s.rebind(`INSERT INTO clients (`+clientCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`),
		c.ID, c.Name, nonNil(c.SecretHash), strings.Join(c.GrantTypes, " "), authMethod(c.AuthMethod), c.JWKS, c.JWKSURI,
		ms(c.Created), ms(c.Updated), b2i(c.AcceptEmpty), strings.Join(c.AllowedGroups, " "))
	if err != nil {
		return s.errorf("create client", err)
	}
	return nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func authMethod(m string) string {
	if m == "" {
		return oidc.AuthSecretBasic
	}
	return m
}

func scanClient(r scanner) (Client, error) {
	var c Client
	var grants, groups string
	var created, updated, acceptEmpty int64
	err := r.Scan(&c.ID, &c.Name, &c.SecretHash, &grants, &c.AuthMethod, &c.JWKS, &c.JWKSURI, &created, &updated, &acceptEmpty, &groups)
	c.AcceptEmpty = acceptEmpty != 0
	c.AllowedGroups = strings.Fields(groups)
	c.GrantTypes = strings.Fields(grants)
	if c.GrantTypes == nil {
		c.GrantTypes = []string{}
	}
	if len(c.SecretHash) == 0 {
		c.SecretHash = nil
	}
	c.Created, c.Updated = fromMS(created), fromMS(updated)
	return c, err
}

func (s *sqlStore) Client(ctx context.Context, id string) (Client, error) {
	st, err := s.stmt(ctx, s.rdb, s.rebind(`SELECT `+clientCols+` FROM clients WHERE id = $1`))
	if err != nil {
		return Client{}, s.errorf("get client", err)
	}
	c, err := scanClient(st.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Client{}, ErrNotFound
	}
	if err != nil {
		return Client{}, s.errorf("get client", err)
	}
	return c, nil
}

func (s *sqlStore) Clients(ctx context.Context) ([]Client, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+clientCols+` FROM clients ORDER BY created, id`)
	if err != nil {
		return nil, s.errorf("list clients", err)
	}
	defer rows.Close()
	out := []Client{}
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, s.errorf("list clients", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.errorf("list clients", err)
	}
	return out, nil
}

func (s *sqlStore) UpdateClient(ctx context.Context, c Client) error {
	return s.exec1(ctx, "update client", s.rebind(`UPDATE clients SET name = $1, secret_hash = $2, grant_types = $3,
		auth_method = $4, jwks = $5, jwks_uri = $6, updated = $7, accept_empty = $9, allowed_groups = $10 WHERE id = $8`),
		c.Name, nonNil(c.SecretHash), strings.Join(c.GrantTypes, " "), authMethod(c.AuthMethod), c.JWKS, c.JWKSURI, ms(c.Updated), c.ID,
		b2i(c.AcceptEmpty), strings.Join(c.AllowedGroups, " "))
}

func (s *sqlStore) DeleteClient(ctx context.Context, id string) error {
	return s.exec1(ctx, "delete client", s.rebind(`DELETE FROM clients WHERE id = $1`), id)
}

func (s *sqlStore) SigningKeys(ctx context.Context) ([]oidc.SigningKey, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT kid, alg, sealed, created, retires FROM signing_keys ORDER BY created DESC, kid`)
	if err != nil {
		return nil, s.errorf("signing keys", err)
	}
	defer rows.Close()
	var out []oidc.SigningKey
	for rows.Next() {
		var k oidc.SigningKey
		var created, retires int64
		if err := rows.Scan(&k.KID, &k.Alg, &k.Sealed, &created, &retires); err != nil {
			return nil, s.errorf("signing keys", err)
		}
		k.Created, k.Retires = fromMS(created), fromMS(retires)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, s.errorf("signing keys", err)
	}
	return out, nil
}

func (s *sqlStore) AddSigningKey(ctx context.Context, k oidc.SigningKey, retire time.Time) (bool, error) {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return false, s.errorf("add signing key", err)
	}
	defer tx.Rollback()
	if s.name == "postgres" {
		// Instances starting together must not each add a first key.
		if _, err := tx.ExecContext(ctx, `LOCK TABLE signing_keys IN EXCLUSIVE MODE`); err != nil {
			return false, s.errorf("add signing key", err)
		}
	}
	if retire.IsZero() {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM signing_keys WHERE retires = 0`).Scan(&n); err != nil {
			return false, s.errorf("add signing key", err)
		}
		if n > 0 {
			return false, nil
		}
	} else {
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM signing_keys WHERE retires <> 0 AND retires <= $1`), ms(k.Created)); err != nil {
			return false, s.errorf("add signing key", err)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE signing_keys SET retires = $1 WHERE retires = 0`), ms(retire)); err != nil {
			return false, s.errorf("add signing key", err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO signing_keys (kid, alg, sealed, created, retires) VALUES ($1, $2, $3, $4, 0)`),
		k.KID, k.Alg, k.Sealed, ms(k.Created)); err != nil {
		return false, s.errorf("add signing key", err)
	}
	if err := tx.Commit(); err != nil {
		return false, s.errorf("add signing key", err)
	}
	return true, nil
}

func (s *sqlStore) ResealSigningKeys(ctx context.Context, fn func(kid string, sealed []byte) ([]byte, error)) (int, error) {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return 0, s.errorf("reseal signing keys", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT kid, sealed FROM signing_keys`)
	if err != nil {
		return 0, s.errorf("reseal signing keys", err)
	}
	type row struct {
		kid    string
		sealed []byte
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.kid, &r.sealed); err != nil {
			rows.Close()
			return 0, s.errorf("reseal signing keys", err)
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, s.errorf("reseal signing keys", err)
	}
	for _, r := range all {
		b, err := fn(r.kid, r.sealed)
		if err != nil {
			return 0, err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE signing_keys SET sealed = $1 WHERE kid = $2`), b, r.kid); err != nil {
			return 0, s.errorf("reseal signing keys", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, s.errorf("reseal signing keys", err)
	}
	return len(all), nil
}

// UseJTI inserts (client, jti) unless present; the primary key makes
// exactly one of concurrent inserts win, on any instance. Expired rows
// are swept in the same call now and then (one in 64 calls).
func (s *sqlStore) UseJTI(ctx context.Context, client, jti string, exp, now time.Time) (bool, error) {
	st, err := s.stmt(ctx, s.wdb, s.rebind(`INSERT INTO client_assertions (client_id, jti, expires) VALUES ($1, $2, $3)
		ON CONFLICT (client_id, jti) DO NOTHING`))
	if err != nil {
		return false, s.errorf("use jti", err)
	}
	res, err := st.ExecContext(ctx, client, jti, ms(exp))
	if err != nil {
		return false, s.errorf("use jti", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, s.errorf("use jti", err)
	}
	if rand.IntN(64) == 0 {
		if _, err := s.wdb.ExecContext(ctx, s.rebind(`DELETE FROM client_assertions WHERE expires < $1`), ms(now)); err != nil {
			return n == 1, s.errorf("sweep jti", err)
		}
	}
	return n == 1, nil
}

var _ oidc.Store = (*sqlStore)(nil)

// sealer adapts the Keyring to oidc.Sealer: the associated data takes
// the place of the user and credential id.
type sealer struct{ kr *Keyring }

func (s sealer) Seal(pt []byte, aad string) ([]byte, error) { return s.kr.Seal(pt, "oidc", aad) }
func (s sealer) Open(sealed []byte, aad string) ([]byte, error) {
	pt, err := s.kr.Open(sealed, "oidc", aad)
	if err != nil {
		return nil, fmt.Errorf("%w", err)
	}
	return pt, nil
}
