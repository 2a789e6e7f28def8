package server

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The verify load run can drive its targets with wrk instead of this
// process's own client (LATCHKEY_LOAD_TOOL=wrk), as the table
// was measured: wrk spends less CPU a request than a Go client, which
// leaves more of the machine to the targets.

// wrkScript writes the Lua script of a target: POST /api/v1/verify with
// a random user of names and a random code (wrong, but for about three
// in a million), with authz as the Authorization header when set.
func wrkScript(b *testing.B, names []string, authz string) string {
	b.Helper()
	var s strings.Builder
	s.WriteString("local users = {")
	for _, n := range names {
		s.WriteString(strconv.Quote(n) + ",")
	}
	s.WriteString("}\n")
	fmt.Fprintf(&s, "local headers = {[\"Content-Type\"] = \"application/json\", [\"Authorization\"] = %s}\n", strconv.Quote(authz))
	s.WriteString(`local counter = 0
function setup(thread)
	counter = counter + 1
	thread:set("id", counter)
end
function init(args)
	math.randomseed(os.time() * 100 + id)
end
function request()
	local body = '{"user":"' .. users[math.random(#users)] .. '","code":"' .. string.format("%06d", math.random(0, 999999)) .. '"}'
	return wrk.format("POST", "/api/v1/verify", headers, body)
end
`)
	f := filepath.Join(b.TempDir(), "verify.lua")
	if err := os.WriteFile(f, []byte(s.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	return f
}

// authHeader is the Authorization header a, as it sets it.
func authHeader(a auth) string {
	r, _ := http.NewRequest("POST", "http://localhost/", nil)
	a(r)
	return r.Header.Get("Authorization")
}

// wrkSlice is what one wrk run measured.
type wrkSlice struct {
	n, bad   int
	elapsed  time.Duration
	p50, p99 time.Duration
}

// wrkRun runs wrk with script on url for d (whole seconds): 2 threads,
// conns connections.
func wrkRun(b *testing.B, url, script string, conns int, d time.Duration) wrkSlice {
	b.Helper()
	out, err := exec.Command("wrk", "-t2", "-c"+strconv.Itoa(conns), "-d"+strconv.Itoa(max(1, int(d.Seconds())))+"s", "--latency", "-s", script, url+"/api/v1/verify").CombinedOutput()
	if err != nil {
		b.Fatalf("wrk: %v\n%s", err, out)
	}
	var s wrkSlice
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "50%":
			s.p50, _ = time.ParseDuration(f[1])
		case len(f) == 2 && f[0] == "99%":
			s.p99, _ = time.ParseDuration(f[1])
		case len(f) >= 4 && f[1] == "requests" && f[2] == "in":
			s.n, _ = strconv.Atoi(f[0])
			s.elapsed, _ = time.ParseDuration(strings.TrimSuffix(f[3], ","))
		case strings.HasPrefix(strings.TrimSpace(line), "Non-2xx or 3xx responses:"):
			s.bad, _ = strconv.Atoi(f[len(f)-1])
		}
	}
	if s.n == 0 || s.elapsed == 0 {
		b.Fatalf("wrk: no figures in\n%s", out)
	}
	return s
}

// wrkTotal sums a target's slices: the requests and time of all, and the
// median of the slices' p50 and p99 (wrk gives no single latencies; the
// worst slice's p99 is the last of p99s).
func wrkTotal(ss []wrkSlice) (n, bad int, rps float64, p50, p99 time.Duration, p99s []time.Duration) {
	var elapsed time.Duration
	var p50s []time.Duration
	for _, s := range ss {
		n, bad, elapsed = n+s.n, bad+s.bad, elapsed+s.elapsed
		p50s, p99s = append(p50s, s.p50), append(p99s, s.p99)
	}
	slices.Sort(p50s)
	slices.Sort(p99s)
	return n, bad, float64(n) / elapsed.Seconds(), p50s[len(p50s)/2], p99s[len(p99s)/2], p99s
}

// verifyStatuses reads a server's answers to POST /api/v1/verify by
// status code from its /metrics.
func verifyStatuses(b *testing.B, url string) map[string]int {
	b.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	codes := map[string]int{}
	for line := range strings.Lines(string(data)) {
		rest, ok := strings.CutPrefix(line, "latchkey_http_requests_total{")
		labels, value, ok2 := strings.Cut(rest, "} ")
		if !ok || !ok2 || !strings.Contains(labels, `route="POST /api/v1/verify"`) {
			continue
		}
		_, code, _ := strings.Cut(labels, `code="`)
		code, _, _ = strings.Cut(code, `"`)
		n, _ := strconv.ParseFloat(strings.TrimSpace(value), 64)
		codes[code] += int(n)
	}
	return codes
}
