//go:build linux

package store

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

// fastReader reads Secret Service items over a private D-Bus connection
// of its own, pipelined: the authentication, Hello and OpenSession go out
// in one write when the store opens, a read's SearchItems goes out
// without waiting for the session, and only GetSecret waits for both.
// A read costs two round trips to the service instead of the eleven of
// go-keyring's Get (godbus's four-step authentication, Hello, then seven
// calls in turn). Messages are encoded and decoded by godbus; only the
// framing is done here. Anything unusual (no session bus address this
// code understands, authentication refused, nothing found, only locked
// items, an error reply, a silent service) reports !ok, and the caller
// asks go-keyring, which unlocks, prompts and reports errors as usual.
type fastReader struct {
	getenv  func(string) string
	timeout time.Duration // each wait on the service; then go-keyring

	dialOnce sync.Once // the connection: authentication and Hello
	bus      *busConn
	dialErr  error

	once    sync.Once // the OpenSession call
	err     error
	openSes <-chan *dbus.Message

	sesOnce sync.Once
	session dbus.ObjectPath
	sesErr  error
}

func newFastReader() *fastReader { return &fastReader{getenv: os.Getenv, timeout: fastTimeout} }

const (
	ssName    = "org.freedesktop.secrets"
	ssPath    = dbus.ObjectPath("/org/freedesktop/secrets")
	ssService = "org.freedesktop.Secret.Service"

	// fastTimeout bounds each wait on the service by default; past it
	// the read is left to go-keyring. Generous, since a bus may start the
	// service on first use.
	fastTimeout = 10 * time.Second
)

var errFast = errors.New("store: secret service fast path unavailable")

func (f *fastReader) dial() { f.bus, f.dialErr = dialSessionBus(f.getenv, f.timeout) }

func (f *fastReader) init() {
	f.dialOnce.Do(f.dial)
	if f.err = f.dialErr; f.err != nil {
		return
	}
	f.openSes, f.err = f.bus.call(0, ssName, ssPath, ssService, "OpenSession", "sv", "plain", dbus.MakeVariant(""))
}

// connect connects to the session bus and sends the authentication and
// Hello, without waiting for answers: a local connect and one write. It
// talks to the bus alone, which starts nothing (the Secret Service is
// only started, where it is not running, by the first call to it), so it
// can begin before the store knows whether it uses the keyring. Doing it
// here rather than in a goroutine saves the wait for another thread.
func (f *fastReader) connect() { f.dialOnce.Do(f.dial) }

// warm also asks for the session, again without waiting, so that the
// answer comes while accounts.json is read.
func (f *fastReader) warm() { f.once.Do(f.init) }

func (f *fastReader) sessionPath() (dbus.ObjectPath, error) {
	f.sesOnce.Do(func() {
		m, err := wait(f.openSes, f.timeout)
		if err == nil {
			var out dbus.Variant
			err = dbus.Store(m.Body, &out, &f.session)
		}
		f.sesErr = err
	})
	return f.session, f.sesErr
}

func (f *fastReader) get(service, user string) (string, bool) {
	f.once.Do(f.init)
	if f.err != nil {
		return "", false
	}
	search, err := f.bus.call(0, ssName, ssPath, ssService, "SearchItems", "a{ss}",
		map[string]string{"service": service, "username": user})
	if err != nil {
		return "", false
	}
	session, err := f.sessionPath()
	if err != nil {
		return "", false
	}
	m, err := wait(search, f.timeout)
	if err != nil {
		return "", false
	}
	var unlocked, locked []dbus.ObjectPath
	if dbus.Store(m.Body, &unlocked, &locked) != nil || len(unlocked) == 0 {
		return "", false
	}
	got, err := f.bus.call(0, ssName, unlocked[0], "org.freedesktop.Secret.Item", "GetSecret", "o", session)
	if err != nil {
		return "", false
	}
	if m, err = wait(got, f.timeout); err != nil {
		return "", false
	}
	var sec struct {
		Session     dbus.ObjectPath
		Parameters  []byte
		Value       []byte
		ContentType string
	}
	if dbus.Store(m.Body, &sec) != nil {
		return "", false
	}
	return string(sec.Value), true
}

func (f *fastReader) close() {
	f.dialOnce.Do(func() {}) // wait for a connection in flight
	f.once.Do(func() {})     // and a warm-up
	if f.bus != nil {
		// The service closes the session with the connection: no
		// Session.Close needed.
		f.bus.close()
	}
}

// wait returns the reply on ch: an error for an error reply, a closed
// connection or a service silent past timeout.
func wait(ch <-chan *dbus.Message, timeout time.Duration) (*dbus.Message, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case m := <-ch:
		if m == nil || m.Type != dbus.TypeMethodReply {
			return nil, errFast
		}
		return m, nil
	case <-t.C:
		return nil, errFast
	}
}

// busConn is a pipelined D-Bus connection: calls are written with their
// serials under one lock, and one goroutine hands each reply to the
// call that waits for it.
type busConn struct {
	conn net.Conn

	wmu    sync.Mutex
	serial uint32
	buf    bytes.Buffer

	mu      sync.Mutex
	pending map[uint32]chan *dbus.Message
	dead    bool
}

// dialSessionBus connects to the session bus and sends, in one write, the
// EXTERNAL authentication, BEGIN and Hello; it does not wait for their
// answers (the bus reads them in order, and a refusal closes the
// connection, which fails every call).
func dialSessionBus(getenv func(string) string, timeout time.Duration) (*busConn, error) {
	addr, ok := sessionBusSocket(getenv)
	if !ok {
		return nil, errFast
	}
	conn, err := net.DialTimeout("unix", addr, timeout)
	if err != nil {
		return nil, err
	}
	c := &busConn{conn: conn, pending: map[uint32]chan *dbus.Message{}}
	uid := hex.EncodeToString([]byte(strconv.Itoa(os.Geteuid())))
	c.wmu.Lock()
	c.buf.WriteString("\x00AUTH EXTERNAL " + uid + "\r\nBEGIN\r\n")
	c.wmu.Unlock()
	if _, err := c.call(0, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello", ""); err != nil {
		conn.Close()
		return nil, err
	}
	go c.read()
	return c, nil
}

// call sends one method call and returns the channel its reply (or nil,
// if the connection dies) arrives on; with FlagNoReplyExpected nothing
// arrives.
func (c *busConn) call(flags dbus.Flags, dest string, path dbus.ObjectPath, iface, member, sig string, body ...any) (<-chan *dbus.Message, error) {
	m := &dbus.Message{Type: dbus.TypeMethodCall, Flags: flags, Body: body, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldDestination: dbus.MakeVariant(dest),
		dbus.FieldPath:        dbus.MakeVariant(path),
		dbus.FieldInterface:   dbus.MakeVariant(iface),
		dbus.FieldMember:      dbus.MakeVariant(member),
	}}
	if sig != "" {
		s, err := dbus.ParseSignature(sig)
		if err != nil {
			return nil, err
		}
		m.Headers[dbus.FieldSignature] = dbus.MakeVariant(s)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.serial++
	serial := c.serial
	start := c.buf.Len()
	if err := m.EncodeTo(&c.buf, binary.LittleEndian); err != nil {
		c.buf.Truncate(start)
		return nil, err
	}
	// godbus keeps a message's serial to itself; it sits at a fixed place
	// in the header (after endianness, type, flags, version and length).
	binary.LittleEndian.PutUint32(c.buf.Bytes()[start+8:], serial)
	ch := make(chan *dbus.Message, 1)
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		c.buf.Reset()
		return nil, errFast
	}
	if flags&dbus.FlagNoReplyExpected == 0 {
		c.pending[serial] = ch
	}
	c.mu.Unlock()
	_, err := c.conn.Write(c.buf.Bytes())
	c.buf.Reset()
	if err != nil {
		c.fail()
		return nil, err
	}
	return ch, nil
}

// read takes the bus's "OK" to the authentication, then every message,
// until the connection ends.
func (c *busConn) read() {
	defer c.fail()
	r := bufio.NewReader(c.conn)
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "OK ") {
		return
	}
	for {
		m, err := dbus.DecodeMessage(r)
		if err != nil {
			return
		}
		if m.Type != dbus.TypeMethodReply && m.Type != dbus.TypeError {
			continue // signals such as NameAcquired
		}
		v, ok := m.Headers[dbus.FieldReplySerial]
		if !ok {
			continue
		}
		serial, _ := v.Value().(uint32)
		c.mu.Lock()
		ch := c.pending[serial]
		delete(c.pending, serial)
		c.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	}
}

// fail marks the connection dead and wakes every waiting call.
func (c *busConn) fail() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dead = true
	for serial, ch := range c.pending {
		close(ch)
		delete(c.pending, serial)
	}
}

func (c *busConn) close() {
	c.conn.Close()
	c.fail()
}

// sessionBusSocket is the socket of the session bus, from
// DBUS_SESSION_BUS_ADDRESS (its first unix:path= or unix:abstract=
// address) or, where that is unset, $XDG_RUNTIME_DIR/bus. Other transports
// are left to go-keyring.
func sessionBusSocket(getenv func(string) string) (string, bool) {
	a := getenv("DBUS_SESSION_BUS_ADDRESS")
	if a == "" {
		if d := getenv("XDG_RUNTIME_DIR"); d != "" {
			if p := filepath.Join(d, "bus"); exists(p) {
				return p, true
			}
		}
		return "", false
	}
	for _, one := range strings.Split(a, ";") {
		transport, params, ok := strings.Cut(one, ":")
		if !ok || transport != "unix" {
			continue
		}
		for _, kv := range strings.Split(params, ",") {
			k, v, _ := strings.Cut(kv, "=")
			v, err := url.PathUnescape(v)
			if err != nil || v == "" {
				continue
			}
			switch k {
			case "path":
				return v, true
			case "abstract":
				return "@" + v, true
			}
		}
	}
	return "", false
}
