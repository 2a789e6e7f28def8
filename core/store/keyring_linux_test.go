//go:build linux

package store

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"

	"latchkey/core/otp"
	"latchkey/core/testenv"
)

func TestSessionBusSocket(t *testing.T) {
	run := t.TempDir()
	if err := os.WriteFile(filepath.Join(run, "bus"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		addr, runtime, want string
	}{
		{"unix:path=/run/user/1000/bus", "", "/run/user/1000/bus"},
		{"unix:abstract=/tmp/dbus-XYZ,guid=0123", "", "@/tmp/dbus-XYZ"},
		{"unix:guid=0123,path=/tmp/a%20b", "", "/tmp/a b"},
		{"tcp:host=localhost,port=1;unix:path=/tmp/second", "", "/tmp/second"},
		{"tcp:host=localhost,port=1", "", ""},
		{"autolaunch:", "", ""},
		{"unix:path=%zz", "", ""},
		{"", run, filepath.Join(run, "bus")},
		{"", t.TempDir(), ""},
		{"", "", ""},
	} {
		env := map[string]string{"DBUS_SESSION_BUS_ADDRESS": c.addr, "XDG_RUNTIME_DIR": c.runtime}
		got, ok := sessionBusSocket(func(k string) string { return env[k] })
		if got != c.want || ok != (c.want != "") {
			t.Errorf("%q, %q: got %q %v, want %q", c.addr, c.runtime, got, ok, c.want)
		}
	}
}

// fakeBus listens on a unix socket and answers every connection with
// reply, then keeps it open until the test ends.
func fakeBus(t *testing.T, reply string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bus")
	l, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				buf := make([]byte, 4096)
				c.Read(buf)
				if reply != "" {
					c.Write([]byte(reply))
					c.Close()
				}
			}()
		}
	}()
	return p
}

// TestFastReaderGivesUp: a bus that refuses the authentication, or one
// that never answers, leaves the read to go-keyring (!ok) instead of
// hanging or failing it.
func TestFastReaderGivesUp(t *testing.T) {
	for _, c := range []struct{ name, reply string }{
		{"rejected", "REJECTED EXTERNAL\r\n"},
		{"garbage", "OK 0123\r\nnot a dbus message at all, not at all\n"},
		{"silent", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr := "unix:path=" + fakeBus(t, c.reply)
			f := readerOn(addr, 200*time.Millisecond)
			start := time.Now()
			if v, _, ok := f.get(Service, "0123456789abcdef", ""); ok || v != "" {
				t.Fatalf("got %q %v", v, ok)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("gave up after %v", d)
			}
			f.close()
		})
	}
	f := &fastReader{getenv: func(string) string { return "" }, timeout: time.Second}
	if _, _, ok := f.get(Service, "x", ""); ok {
		t.Fatal("read without a bus")
	}
}

// TestFastReaderSecretService reads items written through go-keyring from
// the real Secret Service over the pipelined connection: each of many
// concurrent reads gets its own item's secret, a missing item is !ok (so
// go-keyring reports it), and the fast path really answers (were it to
// fall back every time, the figure in BenchmarkTimeToCode would quietly
// lose what it was built for).
func TestFastReaderSecretService(t *testing.T) {
	testenv.Env(t, "LATCHKEY_TEST_SECRET_SERVICE")
	const n = 40
	users := make([]string, n)
	for i := range users {
		id, err := newID()
		if err != nil {
			t.Fatal(err)
		}
		users[i] = id
		if err := keyring.Set(Service, id, fmt.Sprintf("SECRET%03dAAAA", i)); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, u := range users {
			keyring.Delete(Service, u)
		}
	})
	f := newFastReader()
	f.warm()
	defer f.close()
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for round := range 2 {
		for i, u := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, _, ok := f.get(Service, u, "")
				if want := fmt.Sprintf("SECRET%03dAAAA", i); !ok || v != want {
					errs <- fmt.Sprintf("round %d item %d: got %q %v", round, i, v, ok)
				}
			}()
		}
		wg.Wait()
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if v, _, ok := f.get(Service, "ffffffffffffffff", ""); ok || v != "" {
		t.Fatalf("missing item: %q %v", v, ok)
	}
}

// TestFastReaderCloseUnanswered: a store that asked for its session
// closes at once, even while the bus has not answered.
func TestFastReaderCloseUnanswered(t *testing.T) {
	addr := "unix:path=" + fakeBus(t, "")
	f := readerOn(addr, time.Minute)
	f.warm()
	done := make(chan struct{})
	go func() { f.close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("close hung")
	}
	if _, _, ok := f.get(Service, "0123456789abcdef", ""); ok {
		t.Fatal("read through a closed connection")
	}
}

// TestDialUnix reaches a listener by path and in the abstract namespace
// (where dbus-daemon often listens), and fails on a missing one.
func TestDialUnix(t *testing.T) {
	for _, addr := range []string{filepath.Join(t.TempDir(), "s"), fmt.Sprintf("@latchkey-test-%d-%d", os.Getpid(), time.Now().UnixNano())} {
		l, err := net.Listen("unix", addr)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			c, err := l.Accept()
			if err == nil {
				c.Write([]byte("hi"))
				c.Close()
			}
		}()
		fd, err := dialUnix(addr, time.Second)
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		buf := make([]byte, 8)
		n, _ := io.ReadFull(fd, buf[:2])
		syscall.Close(int(fd))
		l.Close()
		if string(buf[:n]) != "hi" {
			t.Fatalf("%s: read %q", addr, buf[:n])
		}
	}
	if _, err := dialUnix(filepath.Join(t.TempDir(), "none"), time.Second); err == nil {
		t.Fatal("dialled a missing socket")
	}
}

// TestFastReaderWaitsForAdmission plays the session bus and the Secret
// Service and checks that the reader's first call to the service reads
// the Collections property and that nothing else reaches the service
// before it is answered: gnome-keyring registers a new client
// asynchronously, and an OpenSession that runs first makes it abort
// (keyring_linux.go).
func TestFastReaderWaitsForAdmission(t *testing.T) {
	problems := make(chan string, 8)
	p := serveFakeBus(t, func(c net.Conn, r *bufio.Reader) {
		defer c.Close()
		answer := func(to uint32, body ...any) {
			head := map[dbus.HeaderField]dbus.Variant{dbus.FieldReplySerial: dbus.MakeVariant(to)}
			if len(body) > 0 {
				head[dbus.FieldSignature] = dbus.MakeVariant(dbus.SignatureOf(body...))
			}
			(&dbus.Message{Type: dbus.TypeMethodReply, Headers: head, Body: body}).EncodeTo(c, binary.LittleEndian)
		}
		first := true
		for {
			m, err := readReply(r)
			if err != nil {
				return
			}
			if m.member != "Hello" && first {
				first = false
				if m.member != "Get" {
					problems <- "the first call to the service is " + m.member
				}
			}
			switch m.member {
			case "Hello":
				answer(m.serial, ":1.9")
			case "Get":
				// Anything arriving while this is unanswered could meet
				// gnome-keyring's registration race.
				c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
				if _, err := r.Peek(1); err == nil {
					problems <- "a call arrived before the answer to the first one"
				}
				c.SetReadDeadline(time.Time{})
				answer(m.serial, dbus.MakeVariant([]dbus.ObjectPath{"/org/freedesktop/secrets/collection/login"}))
			case "OpenSession":
				answer(m.serial, dbus.MakeVariant(""), dbus.ObjectPath("/org/freedesktop/secrets/session/s1"))
			case "SearchItems":
				answer(m.serial, []dbus.ObjectPath{"/org/freedesktop/secrets/collection/login/7"}, []dbus.ObjectPath{})
			case "GetSecret":
				answer(m.serial, struct {
					S    dbus.ObjectPath
					P, V []byte
					C    string
				}{"/org/freedesktop/secrets/session/s1", []byte{}, []byte("JBSWY3DPEHPK3PXP"), "text/plain"})
			default:
				problems <- "unexpected call " + m.member
			}
		}
	})
	f := readerOn("unix:path="+p, 5*time.Second)
	f.warm()
	v, _, ok := f.get(Service, "0123456789abcdef", "")
	f.close()
	close(problems)
	for p := range problems {
		t.Error(p)
	}
	if !ok || v != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("got %q %v", v, ok)
	}
}

// TestFastReaderManyClients reads through many short-lived connections in
// a row, as many `latchkey code` runs do, and checks that the real
// gnome-keyring survives them: with OpenSession as the first call, one in
// 400 to 3,500 such connections made it abort, and a daemon restarted by
// the bus has its keyring locked, so the next read fails.
func TestFastReaderManyClients(t *testing.T) {
	testenv.Env(t, "LATCHKEY_TEST_SECRET_SERVICE")
	id, err := newID()
	if err != nil {
		t.Fatal(err)
	}
	if err := keyring.Set(Service, id, "JBSWY3DPEHPK3PXP"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keyring.Delete(Service, id) })
	for i := range 3000 {
		f := newFastReader()
		f.warm()
		v, _, ok := f.get(Service, id, "")
		f.close()
		if !ok || v != "JBSWY3DPEHPK3PXP" {
			t.Fatalf("read %d: %q %v", i, v, ok)
		}
	}
}

// TestOpenFileStoreLeavesSecretServiceAlone: Open connects to the bus
// before it has read which backend the config names, but a store that
// turns out to use the file backend sends nothing to the Secret Service
// (a call there would start a keyring daemon its user does not use) and
// closes the connection.
func TestOpenFileStoreLeavesSecretServiceAlone(t *testing.T) {
	calls := make(chan string, 16)
	closed := make(chan struct{})
	p := serveFakeBus(t, func(c net.Conn, r *bufio.Reader) {
		defer close(closed)
		for {
			m, err := readReply(r)
			if err != nil {
				return // the client closed the connection
			}
			calls <- m.member
		}
	})
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+p)
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, ConfigFile), []byte(`{"backend":"file"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), Options{Home: home, Passphrase: func() ([]byte, error) { return []byte("pw"), nil }, WorkFactor: 2})
	if err != nil {
		t.Fatal(err)
	}
	if s.Backend() != File {
		t.Fatalf("backend %s", s.Backend())
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the connection stayed open")
	}
	s.Close()
	close(calls)
	for m := range calls {
		if m != "Hello" {
			t.Errorf("sent %s to the bus", m)
		}
	}
}

// TestFastReaderClosedBeforeUse: a reader closed before its first read
// (a store closed while something still reads through it; a file store's
// once was, before it migrated to the keyring) answers !ok at once,
// leaving the reads to go-keyring, instead of waiting forever.
func TestFastReaderClosedBeforeUse(t *testing.T) {
	f := &fastReader{getenv: func(string) string { return "" }, timeout: time.Minute}
	f.connect()
	f.close()
	done := make(chan bool)
	go func() {
		_, _, ok := f.get(Service, "0123456789abcdef", "")
		done <- ok
	}()
	select {
	case ok := <-done:
		if ok {
			t.Fatal("read through a closed reader")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a read after close hung")
	}
}

// serveFakeBus listens on a unix socket for one connection, takes it
// through the EXTERNAL authentication and BEGIN, and hands it to serve;
// it returns the socket's path.
func serveFakeBus(t *testing.T, serve func(c net.Conn, r *bufio.Reader)) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bus")
	l, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		r := bufio.NewReader(c)
		for _, want := range []string{"\x00AUTH EXTERNAL ", "BEGIN"} {
			if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, want) {
				c.Close()
				return
			}
		}
		c.Write([]byte("OK 0123456789abcdef\r\n"))
		serve(c, r)
	}()
	return p
}

// TestFastReaderCloseWakesReader: closing the store while a read waits on
// a silent service ends that read at once (!ok), not after the timeout.
func TestFastReaderCloseWakesReader(t *testing.T) {
	addr := "unix:path=" + fakeBus(t, "")
	f := readerOn(addr, time.Minute)
	f.warm()
	done := make(chan bool)
	go func() {
		_, _, ok := f.get(Service, "0123456789abcdef", "")
		done <- ok
	}()
	time.Sleep(100 * time.Millisecond) // the read is blocked on the socket
	start := time.Now()
	f.close()
	select {
	case ok := <-done:
		if ok {
			t.Fatal("read through a closed connection")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the read still waits after close")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("read ended %v after close", d)
	}
}

// fakeItem is an item of fakeSecretService.
type fakeItem struct {
	attrs  map[string]string
	secret string
}

// fakeSecretService plays the session bus and a Secret Service holding
// items (by object path) for one connection, and reports each call to
// the service as "Member path".
func fakeSecretService(t *testing.T, items map[string]fakeItem) (addr string, calls <-chan string) {
	t.Helper()
	ch := make(chan string, 64)
	p := serveFakeBus(t, func(c net.Conn, r *bufio.Reader) {
		defer c.Close()
		defer close(ch)
		send := func(typ dbus.Type, to uint32, errName string, body ...any) {
			head := map[dbus.HeaderField]dbus.Variant{dbus.FieldReplySerial: dbus.MakeVariant(to)}
			if errName != "" {
				head[dbus.FieldErrorName] = dbus.MakeVariant(errName)
			}
			if len(body) > 0 {
				head[dbus.FieldSignature] = dbus.MakeVariant(dbus.SignatureOf(body...))
			}
			(&dbus.Message{Type: typ, Headers: head, Body: body}).EncodeTo(c, binary.LittleEndian)
		}
		for {
			m, err := readReply(r)
			if err != nil {
				return
			}
			if m.member == "Hello" {
				send(dbus.TypeMethodReply, m.serial, "", ":1.9")
				continue
			}
			ch <- m.member + " " + m.path
			item, found := items[m.path]
			switch {
			case m.member == "Get" && m.path == ssPath:
				send(dbus.TypeMethodReply, m.serial, "", dbus.MakeVariant([]dbus.ObjectPath{"/org/freedesktop/secrets/collection/login"}))
			case m.member == "OpenSession":
				send(dbus.TypeMethodReply, m.serial, "", dbus.MakeVariant(""), dbus.ObjectPath("/org/freedesktop/secrets/session/s1"))
			case m.member == "SearchItems":
				m.body.u32()
				m.body.pad(8)
				var want [2]string // service, username: as bodySearch writes them
				for i := range want {
					m.body.pad(8)
					m.body.str()
					want[i] = m.body.str()
				}
				var hits []dbus.ObjectPath
				for path, it := range items {
					if it.attrs["service"] == want[0] && it.attrs["username"] == want[1] {
						hits = append(hits, dbus.ObjectPath(path))
					}
				}
				send(dbus.TypeMethodReply, m.serial, "", hits, []dbus.ObjectPath{})
			case !found:
				send(dbus.TypeError, m.serial, "org.freedesktop.DBus.Error.UnknownObject", "no such object")
			case m.member == "Get":
				send(dbus.TypeMethodReply, m.serial, "", dbus.MakeVariant(item.attrs))
			case m.member == "GetSecret":
				send(dbus.TypeMethodReply, m.serial, "", struct {
					S    dbus.ObjectPath
					P, V []byte
					C    string
				}{"/org/freedesktop/secrets/session/s1", []byte{}, []byte(item.secret), "text/plain"})
			default:
				send(dbus.TypeError, m.serial, "org.freedesktop.DBus.Error.UnknownMethod", "no")
			}
		}
	})
	return "unix:path=" + p, ch
}

// TestFastReaderHint: with a hint to the right item, a read checks its
// attributes and reads its secret without searching; a hint to another
// account's item or to no item at all is checked, dropped, and the read
// searches and reports where it found the item.
func TestFastReaderHint(t *testing.T) {
	const login = "/org/freedesktop/secrets/collection/login/"
	items := map[string]fakeItem{
		login + "1": {map[string]string{"service": Service, "username": "000000000000000a"}, "AAAAAAAAAAAAAAAA"},
		login + "2": {map[string]string{"service": Service, "username": "000000000000000b"}, "BBBBBBBBBBBBBBBB"},
		login + "3": {map[string]string{"service": "other", "username": "000000000000000a"}, "OTHEROTHEROTHERO"},
	}
	for _, c := range []struct {
		name, user, hint, want, path string
		calls                        []string
	}{
		{"right", "000000000000000a", login + "1", "AAAAAAAAAAAAAAAA", login + "1",
			[]string{"Get " + ssPath, "OpenSession " + ssPath, "Get " + login + "1", "GetSecret " + login + "1"}},
		{"another account's", "000000000000000b", login + "1", "BBBBBBBBBBBBBBBB", login + "2",
			[]string{"Get " + ssPath, "OpenSession " + ssPath, "Get " + login + "1", "GetSecret " + login + "1", "SearchItems " + ssPath, "GetSecret " + login + "2"}},
		{"another service's", "000000000000000a", login + "3", "AAAAAAAAAAAAAAAA", login + "1",
			[]string{"Get " + ssPath, "OpenSession " + ssPath, "Get " + login + "3", "GetSecret " + login + "3", "SearchItems " + ssPath, "GetSecret " + login + "1"}},
		{"gone", "000000000000000b", login + "9", "BBBBBBBBBBBBBBBB", login + "2",
			[]string{"Get " + ssPath, "OpenSession " + ssPath, "Get " + login + "9", "GetSecret " + login + "9", "SearchItems " + ssPath, "GetSecret " + login + "2"}},
		{"not a path", "000000000000000b", "/bad path", "BBBBBBBBBBBBBBBB", login + "2",
			[]string{"Get " + ssPath, "OpenSession " + ssPath, "SearchItems " + ssPath, "GetSecret " + login + "2"}},
		{"none", "000000000000000b", "", "BBBBBBBBBBBBBBBB", login + "2",
			[]string{"Get " + ssPath, "OpenSession " + ssPath, "SearchItems " + ssPath, "GetSecret " + login + "2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr, calls := fakeSecretService(t, items)
			f := readerOn(addr, 5*time.Second)
			f.warm()
			v, path, ok := f.get(Service, c.user, c.hint)
			f.close()
			var got []string
			for call := range calls {
				got = append(got, call)
			}
			if !ok || v != c.want || path != c.path {
				t.Errorf("got %q at %q, %v; want %q at %q", v, path, ok, c.want, c.path)
			}
			if !slices.Equal(got, c.calls) {
				t.Errorf("calls\n%q\nwant\n%q", got, c.calls)
			}
		})
	}
}

// TestStoreItemHints, on the real Secret Service: adding and reading
// secrets records where their items are; a hint to another account's item still gives
// the right secret (the attributes are checked) and is corrected;
// deleting an account drops its hint; and the cache holds no secret.
func TestStoreItemHints(t *testing.T) {
	testenv.Env(t, "LATCHKEY_TEST_SECRET_SERVICE")
	ctx := context.Background()
	home := t.TempDir()
	file := filepath.Join(home, ItemsFile)
	hints := func() map[string]string {
		t.Helper()
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		return parseHints(b)
	}
	s := open(t, Options{Home: home, Backend: Keyring})
	secA, secB := secret(t), secret(t)
	a, err := s.Add(ctx, Account{Issuer: "Hint", Name: "a"}, secA, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Add(ctx, Account{Issuer: "Hint", Name: "b"}, secB, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keyring.Delete(Service, a.ID); keyring.Delete(Service, b.ID) })
	s.Close()

	read := func() {
		t.Helper()
		s := open(t, Options{Home: home})
		for id, want := range map[string]otp.Secret{a.ID: secA, b.ID: secB} {
			if got, err := s.Secret(ctx, id); err != nil || string(got) != string(want) {
				t.Fatalf("secret %s: %v", id, err)
			}
		}
		s.Close()
	}
	// Adding recorded where each item is, as a search (go-keyring's
	// way) finds it; reading keeps it.
	h := hints()
	where := func(id string) string {
		f := newFastReader()
		defer f.close()
		_, p, ok := f.get(Service, id, "")
		if !ok {
			t.Fatalf("search %s failed", id)
		}
		return p
	}
	pa, pb := where(a.ID), where(b.ID)
	if len(h) != 2 || h[a.ID] != pa || h[b.ID] != pb || pa == pb {
		t.Fatalf("hints %v, items a %s b %s", h, pa, pb)
	}
	read()
	if h2 := hints(); !maps.Equal(h, h2) {
		t.Fatalf("hints changed by reading: %v -> %v", h, h2)
	}
	// Without the cache, a read finds the items and writes it again.
	os.Remove(file)
	read()
	if h2 := hints(); !maps.Equal(h, h2) {
		t.Fatalf("hints relearned: %v, want %v", h2, h)
	}
	// Swapped hints: each points at the other account's item.
	if err := os.WriteFile(file, formatHints(map[string]string{a.ID: pb, b.ID: pa}), 0o600); err != nil {
		t.Fatal(err)
	}
	read()
	if h := hints(); h[a.ID] != pa || h[b.ID] != pb {
		t.Fatalf("swapped hints not corrected: %v", h)
	}
	s = open(t, Options{Home: home})
	if err := s.Delete(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if h := hints(); len(h) != 1 || h[b.ID] != pb {
		t.Fatalf("after delete: %v", h)
	}
	grepHome(t, home, Keyring, []otp.Secret{secA, secB})
}

// TestBusConnHandsRepliesOver: a caller whose reply another caller has
// read goes on at once, even while that other caller still waits for its
// own. Here the reply to A comes only after call C, which B's caller
// sends once it has B's reply; a reader that kept the others waiting
// until its own reply came would wait here until the timeout.
func TestBusConnHandsRepliesOver(t *testing.T) {
	p := serveFakeBus(t, func(c net.Conn, r *bufio.Reader) {
		defer c.Close()
		answer := func(to uint32) {
			(&dbus.Message{Type: dbus.TypeMethodReply, Headers: map[dbus.HeaderField]dbus.Variant{
				dbus.FieldReplySerial: dbus.MakeVariant(to), dbus.FieldSignature: dbus.MakeVariant(dbus.SignatureOf("")),
			}, Body: []any{""}}).EncodeTo(c, binary.LittleEndian)
		}
		var a uint32
		for {
			m, err := readReply(r)
			if err != nil {
				return
			}
			switch m.member {
			case "Hello", "B":
				answer(m.serial)
			case "A":
				a = m.serial
			case "C":
				answer(m.serial)
				answer(a)
			}
		}
	})
	c, err := dialSessionBus(func(string) string { return "unix:path=" + p }, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	start := time.Now()
	chA, err := c.call("x.y", "/", "x.y", "A", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	doneA := make(chan error)
	go func() {
		_, err := c.wait(chA, "s")
		doneA <- err
	}()
	time.Sleep(50 * time.Millisecond) // A's caller is reading the socket
	chB, err := c.call("x.y", "/", "x.y", "B", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.wait(chB, "s"); err != nil {
		t.Fatalf("B: %v", err)
	}
	chC, err := c.call("x.y", "/", "x.y", "C", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.wait(chC, "s"); err != nil {
		t.Fatalf("C: %v", err)
	}
	if err := <-doneA; err != nil {
		t.Fatalf("A: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v: a reply waited for another caller's", d)
	}
}

// TestStoreSecretsWithHints reads many secrets at once (Store.Secrets'
// workers share one connection and the hint cache) on the real Secret
// Service: learning every hint at once, then reading through them, and
// always each account's own secret.
func TestStoreSecretsWithHints(t *testing.T) {
	testenv.Env(t, "LATCHKEY_TEST_SECRET_SERVICE")
	ctx := context.Background()
	home := t.TempDir()
	s := open(t, Options{Home: home, Backend: Keyring})
	items := make([]NewAccount, 24)
	for i := range items {
		items[i] = NewAccount{Account: Account{Issuer: "Many", Name: fmt.Sprintf("n%02d", i)}, Secret: secret(t)}
	}
	added, err := s.AddMany(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, a := range added {
			keyring.Delete(Service, a.ID)
		}
	})
	s.Close()
	file := filepath.Join(home, ItemsFile)
	check := func(what string) {
		t.Helper()
		s := open(t, Options{Home: home})
		got, err := s.Secrets(ctx)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for i, a := range added {
			if string(got[a.ID]) != string(items[i].Secret) {
				t.Fatalf("%s: account %d got another secret", what, i)
			}
		}
		s.Close()
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if h := parseHints(b); len(h) != len(added) {
			t.Fatalf("%s: %d hints for %d accounts", what, len(h), len(added))
		}
	}
	check("hints from adding")
	os.Remove(file)
	check("hints learned by reading")
	check("reading through hints")
}

// TestMigrateRecordsHints: moving a file store to the keyring records
// where each item is, as adding does, so the first codes after the move
// need no search.
func TestMigrateRecordsHints(t *testing.T) {
	testenv.Env(t, "LATCHKEY_TEST_SECRET_SERVICE")
	ctx := context.Background()
	home := t.TempDir()
	pass := func() ([]byte, error) { return []byte("migrate hints"), nil }
	s := open(t, Options{Home: home, Backend: File, Passphrase: pass, NewPassphrase: pass, WorkFactor: 2})
	var ids []string
	for i := range 3 {
		a, err := s.Add(ctx, Account{Issuer: "Move", Name: fmt.Sprint(i)}, secret(t), false)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	s.Close()
	s = open(t, Options{Home: home, Passphrase: pass, WorkFactor: 2})
	if err := s.Migrate(ctx, Keyring, pass); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, id := range ids {
			keyring.Delete(Service, id)
		}
	})
	s.Close()
	b, err := os.ReadFile(filepath.Join(home, ItemsFile))
	if err != nil {
		t.Fatal(err)
	}
	h := parseHints(b)
	for _, id := range ids {
		f := newFastReader()
		_, p, ok := f.get(Service, id, "")
		f.close()
		if !ok || h[id] != p {
			t.Errorf("%s: hint %q, item %q (%v)", id, h[id], p, ok)
		}
	}
}

// readerOn is a fast reader on the session bus at addr (a D-Bus address).
func readerOn(addr string, timeout time.Duration) *fastReader {
	return &fastReader{getenv: func(k string) string {
		if k == "DBUS_SESSION_BUS_ADDRESS" {
			return addr
		}
		return ""
	}, timeout: timeout}
}
