package main

import (
	"context"
	"errors"

	"latchkey/server"
)

func serveCommand() command {
	return command{
		name:     "serve",
		graceful: true,
		usage:    server.Usage,
		summary:  "run the enrollment and verification server",
		run:      runServe,
	}
}

// runServe hands the arguments to the server library, which parses its
// own flags (so that embedders get the same ones) and runs until ctx is
// done (SIGTERM or Ctrl-C, from main).
func runServe(ctx context.Context, e *env, args []string) error {
	err := server.Run(ctx, args, e.getenv, e.stdin, e.stdout, e.stderr)
	if errors.Is(err, server.ErrUsage) {
		return exitWith(2, err)
	}
	return err
}
