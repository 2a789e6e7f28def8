package server

import (
	"context"
	"io"
	"log/slog"
)

// Local is an enrollment server running inside this process on a loopback
// port, as the desktop app's Helpdesk view runs it (see [StartLocal]).
type Local struct {
	// URL is the server's base URL, http://127.0.0.1:PORT.
	URL string
	// Token is the admin token: fresh from crypto/rand at start and known
	// only to this process (the admin-token file is neither read nor
	// written).
	Token string

	stop func()
}

// StartLocal starts the server on 127.0.0.1 and a free port, with the
// database, master key and settings `latchkey serve` would use given
// getenv and no flags (server.db and master.key in the data directory),
// and a fresh admin token. Its logs are discarded. It serves until Stop
// is called or ctx is done.
func StartLocal(ctx context.Context, getenv func(string) string) (*Local, error) {
	o, err := parseArgs("serve", []string{"--addr", "127.0.0.1:0"}, io.Discard)
	if err != nil {
		return nil, err
	}
	o.adminToken = randomToken(32)
	log := slog.New(slog.DiscardHandler)
	srv, closeAll, err := open(ctx, o, getenv, log)
	if err != nil {
		return nil, err
	}
	ln, hs, url, err := srv.listen(ctx, o.Addr, "", "")
	if err != nil {
		closeAll()
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer closeAll()
		srv.serve(ctx, ln, hs) // its only errors are the listener's, after start
	}()
	return &Local{URL: url, Token: o.adminToken, stop: func() { cancel(); <-done }}, nil
}

// Stop shuts the server down gracefully and closes its database; it
// returns when both are done.
func (l *Local) Stop() { l.stop() }
