// Command verifyfloor is the floor of the server's verify load run
// (BenchmarkVerifyLoad): a bare net/http handler for POST /api/v1/verify
// that decodes the same JSON as the server, checks the code against the
// user's secret in memory and answers the same JSON, with nothing stored,
// logged or counted. It runs as a process of its own, as the server does,
// so that its memory can be read beside the server's.
//
//	verifyfloor -users FILE [-addr 127.0.0.1:0]
//
// FILE has one user a line: the user id, a space, the base32 secret
// (SHA-1, 6 digits, 30 s). The listening URL goes to standard output.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"latchkey/core/otp"
)

// request and response are the server's verifyRequest and
// verifyResponse.
type request struct {
	User string `json:"user"`
	Code string `json:"code"`
}

type response struct {
	Valid      bool   `json:"valid"`
	Credential string `json:"credential_id,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen on `ADDR`")
	users := flag.String("users", "", "the users' secrets, one `FILE` line each: USER BASE32")
	flag.Parse()
	gens, err := load(*users)
	if err != nil {
		fmt.Fprintln(os.Stderr, "verifyfloor:", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "verifyfloor:", err)
		os.Exit(1)
	}
	fmt.Println("verifyfloor: listening on http://" + ln.Addr().String())
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/verify", func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		resp := response{Reason: "no_credential"}
		if g := gens[req.User]; g != nil {
			if _, ok := g.Verify(req.Code, time.Now(), 1); ok {
				resp = response{Valid: true, Credential: "c"}
			} else {
				resp.Reason = "invalid_code"
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp)
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	if err := hs.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "verifyfloor:", err)
		os.Exit(1)
	}
}

func load(path string) (map[string]*otp.Generator, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gens := map[string]*otp.Generator{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		user, b32, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			return nil, fmt.Errorf("%s: a line is not USER BASE32", path)
		}
		secret, err := otp.DecodeSecret(b32)
		if err != nil {
			return nil, fmt.Errorf("%s: user %s: %w", path, user, err)
		}
		if gens[user], err = otp.NewGenerator(secret, otp.Options{}); err != nil {
			return nil, err
		}
	}
	return gens, sc.Err()
}
