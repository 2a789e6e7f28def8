package agent

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"latchkey/core/testenv"
)

// systemBus starts a private dbus-daemon, points DBUS_SYSTEM_BUS_ADDRESS
// at it, and puts on it a stand-in for logind: it owns
// org.freedesktop.login1, answers GetSessionByPID with session, and
// returns a connection that can emit the session's signals.
func systemBus(t *testing.T, session dbus.ObjectPath) *dbus.Conn {
	t.Helper()
	daemon := testenv.Tool(t, "dbus-daemon")
	dir := shortDir(t)
	conf := filepath.Join(dir, "bus.conf")
	// A bus like the system's for what the agent does: anyone may own
	// names, send and receive (a test's bus, reachable only by its socket).
	os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=`+filepath.Join(dir, "bus")+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow receive_type="signal"/>
    <allow send_requested_reply="true"/>
    <allow receive_requested_reply="true"/>
  </policy>
</busconfig>
`), 0o600)
	cmd := exec.Command(daemon, "--config-file="+conf, "--nofork", "--nopidfile", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon: %v", err)
	}
	addr = strings.TrimSpace(addr)
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", addr)

	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	err = conn.ExportMethodTable(map[string]any{
		"GetSessionByPID": func(pid uint32) (dbus.ObjectPath, *dbus.Error) {
			if int(pid) != os.Getpid() {
				return "", dbus.MakeFailedError(os.ErrNotExist)
			}
			return session, nil
		},
	}, login1Path, login1Manager)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := conn.RequestName(login1, dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("RequestName: %v %v", r, err)
	}
	return conn
}

// TestSessionLock: the agent locks when logind emits Lock for its
// session, and not for another session's.
func TestSessionLock(t *testing.T) {
	ctx := context.Background()
	const mine = dbus.ObjectPath("/org/freedesktop/login1/session/_31")
	logind := systemBus(t, mine)
	home, _ := vault(t)
	c, log, _ := serve(t, home, time.Hour)
	if err := c.Unlock(ctx, []byte(pass)); err != nil {
		t.Fatal(err)
	}
	locked := func() bool {
		st, err := c.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.Locked
	}
	// The agent subscribes as it starts: Lock is sent until it is heard.
	deadline := time.Now().Add(10 * time.Second)
	for !locked() {
		if time.Now().After(deadline) {
			t.Fatalf("still unlocked after logind's Lock; the agent's log:\n%s", log)
		}
		if err := logind.Emit(mine, login1Session+".Lock"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(log.String(), "reason=\"session locked\"") {
		t.Errorf("the log does not say why it locked:\n%s", log)
	}

	// Another session's Lock, and another signal of this one, leave it be.
	if err := c.Unlock(ctx, []byte(pass)); err != nil {
		t.Fatal(err)
	}
	logind.Emit("/org/freedesktop/login1/session/_42", login1Session+".Lock")
	logind.Emit(mine, login1Session+".Unlock")
	time.Sleep(500 * time.Millisecond)
	if locked() {
		t.Fatal("locked by another session's Lock or by Unlock")
	}
	logind.Emit(mine, login1Session+".Lock")
	deadline = time.Now().Add(5 * time.Second)
	for !locked() {
		if time.Now().After(deadline) {
			t.Fatal("a second Lock did not lock the agent")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNoSystemBus: without a system bus the agent serves as before.
func TestNoSystemBus(t *testing.T) {
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path="+filepath.Join(shortDir(t), "none"))
	home, _ := vault(t)
	c, log, _ := serve(t, home, time.Hour)
	if err := c.Unlock(context.Background(), []byte(pass)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if !strings.Contains(log.String(), "no system bus") {
		t.Errorf("the log does not say the session's lock is not followed:\n%s", log)
	}
}
