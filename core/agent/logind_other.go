//go:build !linux

package agent

import (
	"context"
	"log/slog"
)

// watchSessionLock: logind is Linux's; elsewhere the agent locks by its
// idle timeout and `latchkey lock`.
func watchSessionLock(context.Context, *slog.Logger, func()) {}
