package main

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestServeUsage(t *testing.T) {
	out, errOut, code := call(t, "serve", "--help")
	if code != 0 || !strings.Contains(out, "Usage: latchkey serve") || !strings.Contains(out, "--db") || errOut != "" {
		t.Fatalf("--help: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	out, errOut, code = call(t, "serve", "--bogus")
	if code != 2 || out != "" || !strings.HasPrefix(errOut, "latchkey: serve:") {
		t.Fatalf("unknown flag: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if out, _, _ := call(t, "help"); !strings.Contains(out, "serve") {
		t.Fatalf("help does not list serve: %q", out)
	}
}

// TestServeBinary runs the real binary's `latchkey serve`, polls
// /healthz, and stops it with SIGTERM: it exits 0 after a graceful
// shutdown.
func TestServeBinary(t *testing.T) {
	dir := t.TempDir()
	bin := buildLatchkey(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--addr", addr, "--db", filepath.Join(dir, "server.db"))
	cmd.Env = append(os.Environ(), "HOME="+dir, "LATCHKEY_ADMIN_TOKEN=serve-test-admin-token-0123456789")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	healthy := false
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !healthy; {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			healthy = resp.StatusCode == 200
		}
		if !healthy {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if !healthy {
		cmd.Process.Kill()
		<-done
		t.Fatalf("never healthy; stderr %s", stderr.String())
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/users/x/credentials", nil)
	req.Header.Set("Authorization", "Bearer serve-test-admin-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("admin call: %v %v", resp, err)
	}
	resp.Body.Close()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v; stderr %s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatal("no exit after SIGTERM")
	}
	if !strings.Contains(stderr.String(), `"msg":"stopped"`) || !strings.Contains(stdout.String(), "listening on http://"+addr) {
		t.Fatalf("stdout %q stderr %q", stdout.String(), stderr.String())
	}
}
