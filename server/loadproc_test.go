package server

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"latchkey/core/otp"
)

// The verify load run's targets run as processes of their own, as in
// production, so that each one's memory and CPU time can be read from
// /proc without the load generator's or the other targets' mixed in.

// buildCommand builds the main package pkg (relative to this package)
// into dir, as `make build-cli` builds: without cgo, trimmed.
func buildCommand(b *testing.B, dir, pkg string) string {
	b.Helper()
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
	return out
}

// benchProc is one target of the load run: a server process.
type benchProc struct {
	name string
	cmd  *exec.Cmd
	url  string
}

// startProc starts bin with args and env added to this process's
// environment, and waits for the line "... listening on URL" on its
// standard output. Its standard error goes to a file beside it. The
// process is killed when the benchmark ends.
func startProc(b *testing.B, name string, env []string, bin string, args ...string) *benchProc {
	b.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	logf, err := os.Create(filepath.Join(b.TempDir(), name+".log"))
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	p := &benchProc{name: name, cmd: cmd}
	b.Cleanup(func() {
		// SIGTERM: the server shuts down gracefully (and flushes its
		// audit log) before its database goes away.
		cmd.Process.Signal(syscall.SIGTERM)
		t := time.AfterFunc(10*time.Second, func() { cmd.Process.Kill() })
		cmd.Wait()
		t.Stop()
		logf.Close()
	})
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if _, u, ok := strings.Cut(sc.Text(), "listening on "); ok {
				urlc <- u
				break
			}
		}
		io.Copy(io.Discard, out)
		close(urlc)
	}()
	select {
	case u, ok := <-urlc:
		if !ok {
			b.Fatalf("%s exited before listening; see %s", name, logf.Name())
		}
		p.url = u
	case <-time.After(2 * time.Minute):
		b.Fatalf("%s is not listening after 2 minutes; see %s", name, logf.Name())
	}
	return p
}

// clockTick is the unit of utime and stime in /proc/PID/stat (USER_HZ,
// 100 on every Linux platform Go supports).
const clockTick = 10 * time.Millisecond

// cpu is the process's CPU time so far, user and system.
func (p *benchProc) cpu(b *testing.B) time.Duration {
	b.Helper()
	t, ok := procCPU(p.cmd.Process.Pid)
	if !ok {
		b.Fatalf("%s: no CPU time in /proc", p.name)
	}
	return t
}

// mem returns the process's resident memory now (VmRSS) and at its peak
// (VmHWM), in bytes.
func (p *benchProc) mem(b *testing.B) (rss, peak int64) {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		b.Fatalf("%s: memory: %v", p.name, err)
	}
	for line := range strings.Lines(string(data)) {
		k, v, _ := strings.Cut(line, ":")
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n << 10
		case "VmHWM":
			peak = n << 10
		}
	}
	return rss, peak
}

// startFloor starts the floor (internal/verifyfloor) with n users of
// its own and returns them.
func startFloor(b *testing.B, bin string, n int) (*benchProc, *benchUsers) {
	b.Helper()
	u := &benchUsers{}
	var lines strings.Builder
	for i := range n {
		secret, _ := otp.NewSecret(otp.SHA1)
		g, _ := otp.NewGenerator(secret, otp.Options{})
		name := fmt.Sprintf("user%04d@example.com", i)
		fmt.Fprintf(&lines, "%s %s\n", name, secret.Base32())
		u.names, u.gens = append(u.names, name), append(u.gens, g)
	}
	file := filepath.Join(b.TempDir(), "floor-users")
	if err := os.WriteFile(file, []byte(lines.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	return startProc(b, "floor", nil, bin, "-users", file), u
}

// startLatchkey starts `latchkey serve` on db (a SQLite path or a
// postgres:// URL) with the load run's lockout settings (see
// BenchmarkVerifyLoad), enrolls and confirms n users through its API,
// and registers a client. It returns the process, the users and the
// client's authentication.
func startLatchkey(b *testing.B, name, bin, db string, n int) (*benchProc, *benchUsers, auth) {
	b.Helper()
	dir := b.TempDir()
	cfg := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfg, []byte(`{"max_failures": 100, "lock_base": "1ns", "lock_max": "1ns"}`), 0o600); err != nil {
		b.Fatal(err)
	}
	p := startProc(b, name, []string{"LATCHKEY_HOME=" + dir, "LATCHKEY_ADMIN_TOKEN=" + runToken},
		bin, "serve", "--addr", "127.0.0.1:0", "--db", db, "--config", cfg)
	var client struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	if status := benchCall(b, p.url, "/api/v1/clients", `{"name":"bench"}`, &client); status != http.StatusCreated {
		b.Fatalf("%s: create client: status %d", name, status)
	}
	u := &benchUsers{names: make([]string, n), gens: make([]*otp.Generator, n)}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				user := fmt.Sprintf("user%04d@example.com", i)
				var e struct {
					ID     string `json:"id"`
					Secret string `json:"secret"`
				}
				path := "/api/v1/users/" + user + "/credentials"
				if status := benchCall(b, p.url, path, `{"name":"phone","qr":false}`, &e); status != http.StatusCreated {
					b.Errorf("%s: enroll %s: status %d", name, user, status)
					return
				}
				secret, err := otp.DecodeSecret(e.Secret)
				if err != nil {
					b.Error(err)
					return
				}
				g, _ := otp.NewGenerator(secret, otp.Options{})
				// The previous step's code (in the window): it burns that
				// step, so the current code is still to be accepted.
				code := g.At(time.Now().Add(-30 * time.Second))
				if status := benchCall(b, p.url, path+"/"+e.ID+"/verify", `{"code":"`+code+`"}`, nil); status != http.StatusOK {
					b.Errorf("%s: confirm %s: status %d", name, user, status)
					return
				}
				u.names[i], u.gens[i] = user, g
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	return p, u, basic(client.ID, client.Secret)
}

// benchCall POSTs body to an admin endpoint and decodes the answer into
// out (when not nil).
func benchCall(b *testing.B, url, path, body string, out any) int {
	req, _ := http.NewRequest("POST", url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	bearer(runToken)(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Error(err)
		return 0
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			b.Error(err)
		}
	}
	return resp.StatusCode
}

// pgBackends returns the process ids of the PostgreSQL backends
// connected to the database of dsn, other than the caller's own.
func pgBackends(b *testing.B, dsn string) []int {
	b.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var pids []int
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			b.Fatal(err)
		}
		pids = append(pids, pid)
	}
	return pids
}

// procCPU is the CPU time of the process pid so far, user and system;
// false for a process that is gone.
func procCPU(pid int) (time.Duration, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces: state is field 3, utime 14, stime 15.
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * clockTick, true
}
