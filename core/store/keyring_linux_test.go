//go:build linux

package store

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

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
			f := &fastReader{getenv: func(k string) string {
				if k == "DBUS_SESSION_BUS_ADDRESS" {
					return addr
				}
				return ""
			}, timeout: 200 * time.Millisecond}
			start := time.Now()
			if v, ok := f.get(Service, "0123456789abcdef"); ok || v != "" {
				t.Fatalf("got %q %v", v, ok)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("gave up after %v", d)
			}
			f.close()
		})
	}
	f := &fastReader{getenv: func(string) string { return "" }, timeout: time.Second}
	if _, ok := f.get(Service, "x"); ok {
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
				v, ok := f.get(Service, u)
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
	if v, ok := f.get(Service, "ffffffffffffffff"); ok || v != "" {
		t.Fatalf("missing item: %q %v", v, ok)
	}
}

// TestFastReaderCloseUnanswered: a store that asked for its session
// closes at once, even while the bus has not answered.
func TestFastReaderCloseUnanswered(t *testing.T) {
	addr := "unix:path=" + fakeBus(t, "")
	f := &fastReader{getenv: func(k string) string {
		if k == "DBUS_SESSION_BUS_ADDRESS" {
			return addr
		}
		return ""
	}, timeout: time.Minute}
	f.warm()
	done := make(chan struct{})
	go func() { f.close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("close hung")
	}
	if _, ok := f.get(Service, "0123456789abcdef"); ok {
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
		f, err := dialUnix(addr)
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		buf := make([]byte, 8)
		n, _ := io.ReadFull(f, buf[:2])
		f.Close()
		l.Close()
		if string(buf[:n]) != "hi" {
			t.Fatalf("%s: read %q", addr, buf[:n])
		}
	}
	if _, err := dialUnix(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Fatal("dialled a missing socket")
	}
}
