//go:build linux

package store

import (
	"bufio"
	"encoding/hex"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"
)

// fastReader reads Secret Service items over a private D-Bus connection
// of its own. As soon as the store knows it uses the keyring, one write
// carries the authentication, Hello and a first, harmless call (a read of
// the service's Collections property); its answer comes while
// accounts.json is read, and OpenSession goes out the moment it does. A
// read then sends SearchItems and, once it has the item and the session,
// GetSecret. Four round trips to the service, the first hidden behind
// reading accounts.json, instead of the eleven of go-keyring's Get (godbus's four-step
// authentication, Hello, then seven calls in turn); the messages are
// encoded and decoded by dbuswire.go. Anything unusual (no session bus
// address this code understands, authentication refused, nothing found,
// only locked items, an error or unexpected reply, a silent service)
// reports !ok, and the caller asks go-keyring, which unlocks, prompts and
// reports errors as usual.
//
// Why the first call: gnome-keyring (42 in Debian 12, still in 50)
// registers a new client in an idle callback that its message filter
// schedules, and a method that runs before that callback finds no client;
// for OpenSession that aborts the whole daemon (gnome-keyring issues 183,
// 190 and 194), which comes back with the login keyring locked. Here it
// happened about once in 400 to 3,500 fresh connections whose first call
// was OpenSession, with or without a Ping before it (Ping is answered
// without the main loop), and once in 18,000 with the property read sent
// just ahead of it in the same write. The Collections property needs no
// client, and once it has been answered the registration has run, so
// nothing sent after it can meet the race: 18,000 connections in a row
// neither crashed the daemon nor made it log a warning (ReadAlias, also
// safe, logs two when it meets the race). The wait costs about 0.3 ms of
// `latchkey code`. TestFastReaderWaitsForAdmission holds the order.
type fastReader struct {
	getenv  func(string) string
	timeout time.Duration // each wait on the service; then go-keyring

	dialOnce sync.Once // the connection: authentication and Hello
	bus      *busConn
	dialErr  error

	once sync.Once // the first call
	err  error

	admitted chan struct{} // closed once the first call is answered (or failed)
	admitErr error         // set before admitted is closed
	openSes  <-chan reply  // set before admitted is closed

	sesOnce sync.Once
	session string
	sesErr  error
}

func newFastReader() *fastReader { return &fastReader{getenv: os.Getenv, timeout: fastTimeout} }

const (
	ssName    = "org.freedesktop.secrets"
	ssPath    = "/org/freedesktop/secrets"
	ssService = "org.freedesktop.Secret.Service"

	// fastTimeout bounds each wait on the service by default; past it
	// the read is left to go-keyring. Generous, since a bus may start the
	// service on first use.
	fastTimeout = 10 * time.Second
)

var errFast = errors.New("store: secret service fast path unavailable")

// init connects and sends the authentication, Hello and the first call in
// one write; a goroutine sends OpenSession when that call is answered.
func (f *fastReader) init() {
	f.admitted = make(chan struct{})
	f.dialOnce.Do(f.dial)
	if f.err = f.dialErr; f.err != nil {
		close(f.admitted)
		return
	}
	var prop wireWriter
	prop.str(ssService)
	prop.str("Collections")
	first, err := f.bus.call(ssName, ssPath, "org.freedesktop.DBus.Properties", "Get", "ss", prop.b)
	if err != nil {
		f.err = err
		close(f.admitted)
		return
	}
	go func() {
		defer close(f.admitted)
		if _, err := wait(first, "v", f.timeout); err != nil {
			f.admitErr = err
			return
		}
		f.openSes, f.admitErr = f.bus.call(ssName, ssPath, ssService, "OpenSession", "sv", bodyOpenSession())
	}()
}

func (f *fastReader) dial() { f.bus, f.dialErr = dialSessionBus(f.getenv) }

// connect connects to the session bus and sends the authentication and
// Hello without waiting: a local connect and one write. It talks to the
// bus alone, which starts nothing (a Secret Service not running is only
// started by a call to it), so the store does it before it knows whether
// it uses the keyring, and the bus's answers come while the config is
// read.
func (f *fastReader) connect() { f.dialOnce.Do(f.dial) }

// warm connects and starts the first call as soon as the store knows it
// uses the keyring, so that the answers come while accounts.json is read.
// It is a local connect and one write; doing it here rather than in a
// goroutine saves the wait for another thread.
func (f *fastReader) warm() { f.once.Do(f.init) }

// admit waits until the service has answered the first call, after which
// any call may go out.
func (f *fastReader) admit() bool {
	f.once.Do(f.init)
	if f.err != nil || f.admitted == nil { // nil: closed before any use
		return false
	}
	<-f.admitted // bounded: the goroutine waits at most f.timeout
	return f.admitErr == nil
}

func (f *fastReader) sessionPath() (string, error) {
	f.sesOnce.Do(func() {
		m, err := wait(f.openSes, "vo", f.timeout)
		if err == nil {
			m.body.skip("v") // the algorithm's output: nothing for plain
			f.session = m.body.str()
			if !m.body.done() {
				err = errWire
			}
		}
		f.sesErr = err
	})
	return f.session, f.sesErr
}

func (f *fastReader) get(service, user string) (string, bool) {
	if !f.admit() {
		return "", false
	}
	search, err := f.bus.call(ssName, ssPath, ssService, "SearchItems", "a{ss}",
		bodySearch([][2]string{{"service", service}, {"username", user}}))
	if err != nil {
		return "", false
	}
	session, err := f.sessionPath()
	if err != nil {
		return "", false
	}
	m, err := wait(search, "aoao", f.timeout)
	if err != nil {
		return "", false
	}
	unlocked := m.body.pathArray()
	m.body.pathArray() // locked ones are go-keyring's to unlock
	if !m.body.done() || len(unlocked) == 0 {
		return "", false
	}
	got, err := f.bus.call(ssName, unlocked[0], "org.freedesktop.Secret.Item", "GetSecret", "o", bodyPath(session))
	if err != nil {
		return "", false
	}
	if m, err = wait(got, "(oayays)", f.timeout); err != nil {
		return "", false
	}
	b := &m.body // the Secret struct: session, parameters, value, content type
	b.str()
	b.byteArray()
	value := b.byteArray()
	b.str()
	if !b.done() {
		return "", false
	}
	secret := string(value)
	clear(value) // the copy in the message buffer
	return secret, true
}

func (f *fastReader) close() {
	f.dialOnce.Do(func() {}) // settle a connection in flight
	f.once.Do(func() {})     // and a warm-up
	if f.bus != nil {
		// The service closes the session with the connection: no
		// Session.Close needed.
		f.bus.close()
	}
}

// wait returns the reply on ch, which must be a method return with
// signature sig: anything else (an error reply, a closed connection, a
// service silent past timeout) is an error.
func wait(ch <-chan reply, sig string, timeout time.Duration) (reply, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case m, ok := <-ch:
		if !ok || m.typ != msgMethodReply || m.sig != sig {
			return reply{}, errFast
		}
		return m, nil
	case <-t.C:
		return reply{}, errFast
	}
}

// busConn is a pipelined D-Bus connection: calls are written with their
// serials under one lock, and one goroutine hands each reply to the
// call that waits for it.
type busConn struct {
	conn io.ReadWriteCloser

	wmu    sync.Mutex
	serial uint32
	buf    []byte

	mu      sync.Mutex
	pending map[uint32]chan reply
	dead    bool

	reader sync.Once // starts read after the first write
}

// dialSessionBus connects to the session bus and sends the EXTERNAL
// authentication, BEGIN and Hello in one write; it never waits for their
// answers (the bus reads them in order, and a
// refusal closes the connection, which fails every call).
func dialSessionBus(getenv func(string) string) (*busConn, error) {
	addr, ok := sessionBusSocket(getenv)
	if !ok {
		return nil, errFast
	}
	conn, err := dialUnix(addr)
	if err != nil {
		return nil, err
	}
	c := &busConn{conn: conn, pending: map[uint32]chan reply{}}
	uid := hex.EncodeToString([]byte(strconv.Itoa(os.Geteuid())))
	c.buf = append(c.buf, "\x00AUTH EXTERNAL "+uid+"\r\nBEGIN\r\n"...)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.enqueue("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello", "", nil)
	if err := c.flushLocked(); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// dialUnix connects to a unix socket ("@name" for the abstract
// namespace) with a few system calls and none of net.Dial's generality,
// which costs a tenth of a millisecond more. The socket is non-blocking,
// so the os.File reads and writes it through the runtime's poller; a
// listener too busy to take the connection at once is an error (the
// caller then leaves the read to go-keyring).
func dialUnix(addr string) (*os.File, error) {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: addr}); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "session bus"), nil
}

// call sends one method call, with whatever was queued before it, and
// returns the channel its reply arrives on (closed if the connection dies
// first).
func (c *busConn) call(dest, path, iface, member, sig string, body []byte) (<-chan reply, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	ch := c.enqueue(dest, path, iface, member, sig, body)
	if err := c.flushLocked(); err != nil {
		return nil, err
	}
	return ch, nil
}

// flush writes what is queued; the caller holds wmu.
func (c *busConn) flushLocked() error {
	c.mu.Lock()
	dead := c.dead
	c.mu.Unlock()
	if dead {
		c.buf = c.buf[:0]
		return errFast
	}
	_, err := c.conn.Write(c.buf)
	c.buf = c.buf[:0]
	if err != nil {
		c.fail()
		return err
	}
	// The reader starts only now, so that creating its thread does not
	// delay the first write.
	c.reader.Do(func() { go c.read() })
	return nil
}

// enqueue appends a method call to the write buffer and registers the
// channel for its reply; the caller holds wmu.
func (c *busConn) enqueue(dest, path, iface, member, sig string, body []byte) chan reply {
	c.serial++
	c.buf = appendCall(c.buf, c.serial, dest, path, iface, member, sig, body)
	ch := make(chan reply, 1)
	c.mu.Lock()
	c.pending[c.serial] = ch
	c.mu.Unlock()
	return ch
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
		m, err := readReply(r)
		if err != nil {
			return
		}
		if m.typ != msgMethodReply && m.typ != msgError {
			continue // signals such as NameAcquired
		}
		c.mu.Lock()
		ch := c.pending[m.replySerial]
		delete(c.pending, m.replySerial)
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

// admitGoKeyring makes the first call on go-keyring's own connection
// (godbus's shared session bus) the same harmless property read, answered
// before go-keyring's OpenSession can meet gnome-keyring's registration
// race (see fastReader). Once per process; errors are go-keyring's to
// report when it tries itself.
func admitGoKeyring() {
	goKeyringOnce.Do(func() {
		conn, err := dbus.SessionBus()
		if err != nil {
			return
		}
		conn.Object(ssName, ssPath).Call("org.freedesktop.DBus.Properties.Get", 0, ssService, "Collections")
	})
}

var goKeyringOnce sync.Once

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
