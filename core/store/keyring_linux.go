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
)

// fastReader reads Secret Service items over a private D-Bus connection of
// its own. The bus connection (authentication and Hello, one write) is
// made while the config is read; as soon as the store knows it uses the
// keyring, a first, harmless call (a read of the service's Collections
// property) goes out, answered while accounts.json is read. A read then
// takes that answer and sends OpenSession (the first time) in one write
// with a read of the hinted item's attributes (see itemHints) and, once it
// has the session, GetSecret on that item; or, without a hint or when the
// attributes are not the account's, with SearchItems, and GetSecret once
// it has the item and the session. Three round trips to the service, the
// first hidden behind reading accounts.json, instead of the eleven of
// go-keyring's Get (godbus's four-step authentication, Hello, then seven
// calls in turn); the messages are encoded and decoded by dbuswire.go.
// Anything unusual (no session bus address this code understands,
// authentication refused, nothing found, only locked items, an error or
// unexpected reply, a silent service) reports !ok, and the caller asks
// go-keyring (latchkey-full does, for the lean build), which unlocks,
// prompts and reports errors as usual.
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

	once  sync.Once // the first call
	err   error
	first <-chan reply

	admitOnce sync.Once // its answer, then OpenSession queued
	admitErr  error
	openSes   <-chan reply

	sesOnce sync.Once
	session string
	sesErr  error
}

func newFastReader() *fastReader { return &fastReader{getenv: os.Getenv, timeout: fastTimeout} }

const (
	ssName    = "org.freedesktop.secrets"
	ssPath    = "/org/freedesktop/secrets"
	ssService = "org.freedesktop.Secret.Service"
	ssItem    = "org.freedesktop.Secret.Item"

	// fastTimeout bounds each wait on the service by default; past it
	// the read is left to go-keyring. Generous, since a bus may start the
	// service on first use.
	fastTimeout = 10 * time.Second
)

var errFast = errors.New("store: secret service fast path unavailable")

// init connects (if connect has not) and sends the first call, without
// waiting for anything.
func (f *fastReader) init() {
	f.dialOnce.Do(f.dial)
	if f.err = f.dialErr; f.err != nil {
		return
	}
	var prop wireWriter
	prop.str(ssService)
	prop.str("Collections")
	f.first, f.err = f.bus.call(ssName, ssPath, "org.freedesktop.DBus.Properties", "Get", "ss", prop.b)
}

func (f *fastReader) dial() { f.bus, f.dialErr = dialSessionBus(f.getenv, f.timeout) }

// connect connects to the session bus and sends the authentication and
// Hello without waiting: a local connect and one write. It talks to the
// bus alone, which starts nothing (a Secret Service not running is only
// started by a call to it), so the store does it before it knows whether
// it uses the keyring, and the bus's answers come while the config is
// read.
func (f *fastReader) connect() { f.dialOnce.Do(f.dial) }

// warm connects and sends the first call as soon as the store knows it
// uses the keyring, so that the answers come while accounts.json is read.
func (f *fastReader) warm() { f.once.Do(f.init) }

// admit waits until the service has answered the first call, after which
// any call may go out, and queues OpenSession, which goes out with the
// caller's next call.
func (f *fastReader) admit() bool {
	f.once.Do(f.init)
	if f.err != nil || f.first == nil { // nil: closed before any use
		return false
	}
	f.admitOnce.Do(func() {
		if _, f.admitErr = f.bus.wait(f.first, "v"); f.admitErr == nil {
			f.openSes = f.bus.queue(ssName, ssPath, ssService, "OpenSession", "sv", bodyOpenSession())
		}
	})
	return f.admitErr == nil
}

func (f *fastReader) sessionPath() (string, error) {
	f.sesOnce.Do(func() {
		m, err := f.bus.wait(f.openSes, "vo")
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

// get reads the secret of the item with attributes service and user, and
// returns the item's path. With a hint (where the item was last found) it
// reads that item's attributes and, once it has the session, its secret,
// both without waiting for the other: the secret is used only if the
// attributes are service and user. Without a hint, or when the hinted
// item is gone or another, it searches.
func (f *fastReader) get(service, user, hint string) (secret, path string, ok bool) {
	if !f.admit() {
		return "", "", false
	}
	if hint != "" && validObjectPath(hint) {
		if v, ok := f.getAt(service, user, hint); ok {
			return v, hint, true
		}
	}
	// SearchItems goes out with OpenSession the first time.
	search, err := f.bus.call(ssName, ssPath, ssService, "SearchItems", "a{ss}",
		bodySearch([][2]string{{"service", service}, {"username", user}}))
	if err != nil {
		return "", "", false
	}
	session, err := f.sessionPath()
	if err != nil {
		return "", "", false
	}
	m, err := f.bus.wait(search, "aoao")
	if err != nil {
		return "", "", false
	}
	unlocked := m.body.pathArray()
	m.body.pathArray() // locked ones are go-keyring's to unlock
	if !m.body.done() || len(unlocked) == 0 {
		return "", "", false
	}
	got, err := f.bus.call(ssName, unlocked[0], ssItem, "GetSecret", "o", bodyPath(session))
	if err != nil {
		return "", "", false
	}
	v, ok := f.secret(got, true)
	return v, unlocked[0], ok
}

// find returns the path of the item with attributes service and user,
// without reading its secret.
func (f *fastReader) find(service, user string) (string, bool) {
	if !f.admit() {
		return "", false
	}
	search, err := f.bus.call(ssName, ssPath, ssService, "SearchItems", "a{ss}",
		bodySearch([][2]string{{"service", service}, {"username", user}}))
	if err != nil {
		return "", false
	}
	m, err := f.bus.wait(search, "aoao")
	if err != nil {
		return "", false
	}
	unlocked := m.body.pathArray()
	m.body.pathArray()
	if !m.body.done() || len(unlocked) == 0 {
		return "", false
	}
	return unlocked[0], true
}

// getAt reads the secret of the item at path if its attributes are
// service and user.
func (f *fastReader) getAt(service, user, path string) (string, bool) {
	var w wireWriter
	w.str(ssItem)
	w.str("Attributes")
	// Goes out with OpenSession the first time.
	attrs, err := f.bus.call(ssName, path, "org.freedesktop.DBus.Properties", "Get", "ss", w.b)
	if err != nil {
		return "", false
	}
	session, err := f.sessionPath()
	if err != nil {
		return "", false
	}
	got, err := f.bus.call(ssName, path, ssItem, "GetSecret", "o", bodyPath(session))
	if err != nil {
		return "", false
	}
	m, err := f.bus.wait(attrs, "v")
	match := err == nil && m.body.sig() == "a{ss}"
	var serviceOK, userOK bool
	m.body.stringDict(func(k, v string) {
		switch k {
		case "service":
			serviceOK = v == service
		case "username":
			userOK = v == user
		}
	})
	match = match && m.body.done() && serviceOK && userOK
	return f.secret(got, match) // another item's secret is wiped unread
}

// secret waits for a GetSecret reply and returns the secret's value, or
// only wipes it if !keep.
func (f *fastReader) secret(got <-chan reply, keep bool) (string, bool) {
	m, err := f.bus.wait(got, "(oayays)")
	if err != nil {
		return "", false
	}
	b := &m.body // the Secret struct: session, parameters, value, content type
	b.str()
	b.byteArray()
	value := b.byteArray()
	b.str()
	if !b.done() || !keep {
		clear(value)
		return "", false
	}
	secret := string(value)
	clear(value) // the copy in the message buffer
	return secret, true
}

func (f *fastReader) close() {
	f.dialOnce.Do(func() {}) // settle a connection in flight
	f.once.Do(func() {})     // and a first call
	if f.bus != nil {
		// The service closes the session with the connection: no
		// Session.Close needed.
		f.bus.close()
	}
}

// busConn is a pipelined D-Bus connection on a blocking socket, with no
// goroutine of its own: calls are written with their serials under one
// lock, and a caller waiting for a reply reads the socket itself (one
// caller and one message at a time), handing each reply it reads to the
// call it answers.
// A lone caller thus never waits for another goroutine to be scheduled
// and never parks on the runtime's poller: reading through the poller (a
// reader goroutine of the connection's, or the waiting caller parked on
// it) cost `latchkey code` 0.2-0.3 ms more in interleaved runs.
type busConn struct {
	fd sockFD // blocking; each read and write bounded by the timeout

	wmu    sync.Mutex
	serial uint32
	buf    []byte // calls queued, not yet written

	// rtok holds a token while nobody reads the socket; a waiting caller
	// takes it to read one message and puts it back, so that a caller
	// whose reply another has read goes on at once (and sends its next
	// call while the reader still waits for its own reply).
	rtok   chan struct{}
	r      *bufio.Reader // the token holder's
	authed bool          // the token holder's
	closed bool          // the token holder's: the descriptor is closed

	mu      sync.Mutex
	pending map[uint32]chan reply
	dead    bool

	closeOnce sync.Once
}

// dialSessionBus connects to the session bus and sends the EXTERNAL
// authentication, BEGIN and Hello in one write; it never waits for their
// answers (the bus reads them in order, and a refusal closes the
// connection, which fails every call).
func dialSessionBus(getenv func(string) string, timeout time.Duration) (*busConn, error) {
	addr, ok := sessionBusSocket(getenv)
	if !ok {
		return nil, errFast
	}
	fd, err := dialUnix(addr, timeout)
	if err != nil {
		return nil, err
	}
	c := &busConn{fd: fd, pending: map[uint32]chan reply{}, rtok: make(chan struct{}, 1)}
	c.rtok <- struct{}{}
	c.r = bufio.NewReaderSize(fd, 4096)
	uid := hex.EncodeToString([]byte(strconv.Itoa(os.Geteuid())))
	c.buf = append(c.buf, "\x00AUTH EXTERNAL "+uid+"\r\nBEGIN\r\n"...)
	c.queue("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello", "", nil)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.flushLocked(); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// dialUnix connects to a unix socket ("@name" for the abstract
// namespace) with a few system calls and none of net.Dial's generality,
// which costs a tenth of a millisecond more. A listener too busy to take
// the connection at once is an error (the caller then leaves the read to
// go-keyring). The socket it returns blocks, each read or write for at
// most timeout.
func dialUnix(addr string, timeout time.Duration) (sockFD, error) {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	tv := syscall.NsecToTimeval(max(timeout, time.Millisecond).Nanoseconds())
	if err = syscall.Connect(fd, &syscall.SockaddrUnix{Name: addr}); err == nil {
		err = syscall.SetNonblock(fd, false)
	}
	if err == nil {
		err = syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	}
	if err == nil {
		err = syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &tv)
	}
	if err != nil {
		syscall.Close(fd)
		return -1, err
	}
	return sockFD(fd), nil
}

// sockFD reads and writes a blocking socket with plain system calls.
type sockFD int

func (s sockFD) Read(p []byte) (int, error) {
	for {
		n, err := syscall.Read(int(s), p)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, err // EAGAIN: the timeout passed
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (s sockFD) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := syscall.Write(int(s), p[done:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return done, err
		}
		done += n
	}
	return done, nil
}

// call sends one method call, with whatever was queued before it, and
// returns the channel its reply arrives on (closed if the connection dies
// first).
func (c *busConn) call(dest, path, iface, member, sig string, body []byte) (<-chan reply, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	ch := c.enqueueLocked(dest, path, iface, member, sig, body)
	if err := c.flushLocked(); err != nil {
		return nil, err
	}
	return ch, nil
}

// queue adds a method call to go out with the next write (the next call,
// or the next wait).
func (c *busConn) queue(dest, path, iface, member, sig string, body []byte) <-chan reply {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.enqueueLocked(dest, path, iface, member, sig, body)
}

// enqueueLocked appends a method call to the write buffer and registers
// the channel for its reply; the caller holds wmu.
func (c *busConn) enqueueLocked(dest, path, iface, member, sig string, body []byte) chan reply {
	c.serial++
	c.buf = appendCall(c.buf, c.serial, dest, path, iface, member, sig, body)
	ch := make(chan reply, 1)
	c.mu.Lock()
	if c.dead {
		close(ch)
	} else {
		c.pending[c.serial] = ch
	}
	c.mu.Unlock()
	return ch
}

// flushLocked writes what is queued; the caller holds wmu.
func (c *busConn) flushLocked() error {
	if len(c.buf) == 0 {
		return nil
	}
	c.mu.Lock()
	dead := c.dead
	c.mu.Unlock()
	if dead {
		c.buf = c.buf[:0]
		return errFast
	}
	_, err := c.fd.Write(c.buf)
	c.buf = c.buf[:0]
	if err != nil {
		c.fail()
		return err
	}
	return nil
}

// wait returns the reply on ch, which must be a method return with
// signature sig: anything else (an error reply, a dead connection, a
// service silent past the timeout) is an error. Until the reply is there
// it reads the socket, unless another caller is reading it.
func (c *busConn) wait(ch <-chan reply, sig string) (reply, error) {
	c.wmu.Lock()
	err := c.flushLocked()
	c.wmu.Unlock()
	if err != nil {
		return reply{}, err
	}
	for {
		select {
		case m, ok := <-ch:
			return checkReply(m, ok, sig)
		case <-c.rtok:
			select { // the reply may have come meanwhile
			case m, ok := <-ch:
				c.rtok <- struct{}{}
				return checkReply(m, ok, sig)
			default:
			}
			err := c.readOne()
			c.rtok <- struct{}{}
			if err != nil {
				c.fail() // closes ch
			}
		}
	}
}

func checkReply(m reply, ok bool, sig string) (reply, error) {
	if !ok || m.typ != msgMethodReply || m.sig != sig {
		return reply{}, errFast
	}
	return m, nil
}

// readOne reads the next message (the bus's "OK" to the authentication
// first) and hands a reply to the call it answers; the caller holds the
// read token.
func (c *busConn) readOne() error {
	if c.closed {
		return errFast
	}
	if !c.authed {
		line, err := c.r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "OK ") {
			return errFast
		}
		c.authed = true
	}
	m, err := readReply(c.r)
	if err != nil {
		return err
	}
	if m.typ != msgMethodReply && m.typ != msgError {
		return nil // signals such as NameAcquired
	}
	c.mu.Lock()
	ch := c.pending[m.replySerial]
	delete(c.pending, m.replySerial)
	c.mu.Unlock()
	if ch != nil {
		ch <- m
	}
	return nil
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

// close ends the connection: shutdown wakes a caller blocked reading it,
// and the descriptor is closed once nobody uses it.
func (c *busConn) close() {
	c.closeOnce.Do(func() {
		syscall.Shutdown(int(c.fd), syscall.SHUT_RDWR)
		c.fail()
		<-c.rtok
		c.wmu.Lock()
		syscall.Close(int(c.fd))
		c.closed = true
		c.wmu.Unlock()
		c.rtok <- struct{}{}
	})
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
