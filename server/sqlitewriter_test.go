package server

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
)

// TestGroupWriter: concurrent writes share transactions, each is
// answered after its commit, and a write that fails fails alone: the
// others of its batch are kept.
func TestGroupWriter(t *testing.T) {
	st := openTestSQLite(t).(*sqlStore)
	ctx := context.Background()
	bad := errors.New("bad write")
	const n = 64
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = st.writer.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO health (id, at) VALUES (?, 0)`, i); err != nil {
					return err
				}
				if i == 7 {
					return bad
				}
				return nil
			}, nil)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if (i == 7) != errors.Is(err, bad) || (i != 7 && err != nil) {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	var rows, seven int
	if err := st.rdb.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE id = 7) FROM health`).Scan(&rows, &seven); err != nil {
		t.Fatal(err)
	}
	if rows != n-1 || seven != 0 {
		t.Fatalf("%d rows (%d of the failed write); want %d, none of it", rows, seven, n-1)
	}
	st.Close()
	if err := st.writer.do(ctx, func(context.Context, *sql.Tx) error { return nil }, nil); !errors.Is(err, errStoreClosed) {
		t.Fatalf("after close: %v", err)
	}
}
