package agent

import (
	"context"
	"log/slog"
	"os"

	"github.com/godbus/dbus/v5"
)

// logind's names on the system bus.
const (
	login1        = "org.freedesktop.login1"
	login1Path    = dbus.ObjectPath("/org/freedesktop/login1")
	login1Manager = "org.freedesktop.login1.Manager"
	login1Session = "org.freedesktop.login1.Session"
)

// watchSessionLock calls lock each time logind emits Lock for this
// process's session (the screen locker, `loginctl lock-session`), until
// ctx is done. The session is the one logind gives for this pid, else
// XDG_SESSION_ID's. Without a system bus, logind or a session, it returns
// at once and nothing locks the agent but its other ways.
func watchSessionLock(ctx context.Context, log *slog.Logger, lock func()) {
	conn, err := dbus.ConnectSystemBus(dbus.WithContext(ctx))
	if err != nil {
		log.Debug("no system bus: the session's lock is not followed", "err", err)
		return
	}
	defer conn.Close()
	session, err := sessionPath(ctx, conn)
	if err != nil {
		log.Debug("no logind session: the session's lock is not followed", "err", err)
		return
	}
	err = conn.AddMatchSignalContext(ctx, dbus.WithMatchSender(login1), dbus.WithMatchObjectPath(session),
		dbus.WithMatchInterface(login1Session), dbus.WithMatchMember("Lock"))
	if err != nil {
		log.Debug("cannot follow the session's lock", "err", err)
		return
	}
	ch := make(chan *dbus.Signal, 8)
	conn.Signal(ch)
	log.Info("following the session's lock", "session", string(session))
	for {
		select {
		case <-ctx.Done():
			return
		case sig, ok := <-ch:
			if !ok {
				return // the bus went away
			}
			// The bus delivers what the match names; the check keeps out
			// any other signal sent to this connection.
			if sig.Path == session && sig.Name == login1Session+".Lock" {
				lock()
			}
		}
	}
}

// sessionPath asks logind for this process's session object.
func sessionPath(ctx context.Context, conn *dbus.Conn) (dbus.ObjectPath, error) {
	m := conn.Object(login1, login1Path)
	var p dbus.ObjectPath
	err := m.CallWithContext(ctx, login1Manager+".GetSessionByPID", 0, uint32(os.Getpid())).Store(&p)
	if err == nil {
		return p, nil
	}
	id := os.Getenv("XDG_SESSION_ID")
	if id == "" {
		return "", err
	}
	err = m.CallWithContext(ctx, login1Manager+".GetSession", 0, id).Store(&p)
	return p, err
}
