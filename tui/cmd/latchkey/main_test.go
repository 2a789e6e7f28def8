package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"latchkey/core/testenv"
)

// call runs latchkey in-process and returns stdout, stderr and the exit
// status main would use.
func call(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return callIn(t, "", args...)
}

// callIn is call with stdin as standard input.
func callIn(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{getenv: func(string) string { return "" }, stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb,
		now: func() time.Time { return time.Unix(1700000000, 0) }}
	code := report(dispatch(context.Background(), e, args), &errb)
	return out.String(), errb.String(), code
}

const rfcURI = "otpauth://totp/RFC:test?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=8"

func TestCodeURI(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"rfc 6238 at unix seconds", []string{"code", "--uri", rfcURI, "--at", "1111111109"}, "07081804\n"},
		{"rfc 6238 at rfc 3339", []string{"code", "--uri", rfcURI, "--at", "2009-02-13T23:31:30Z"}, "89005924\n"},
		{"flags after =", []string{"code", "--uri=" + rfcURI, "--at=59"}, "94287082\n"},
		{"now from the clock", []string{"code", "--uri", rfcURI}, ""},
		{"hotp at its counter", []string{"code", "--uri", "otpauth://hotp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=9"}, "520489\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := call(t, tt.args...)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			if tt.want != "" && out != tt.want {
				t.Fatalf("stdout %q, want %q", out, tt.want)
			}
			if len(strings.TrimSpace(out)) < 6 {
				t.Fatalf("no code in %q", out)
			}
		})
	}
}

// TestCodeURIFromStdin: `code --uri -` reads the URI, secret and all,
// from standard input, where the process list does not show it.
func TestCodeURIFromStdin(t *testing.T) {
	out, errOut, code := callIn(t, rfcURI+"\n", "code", "--uri", "-", "--at", "59")
	if code != 0 || out != "94287082\n" {
		t.Fatalf("exit %d, %q %q", code, out, errOut)
	}
	if _, errOut, code = callIn(t, "", "code", "--uri", "-"); code == 0 || errOut == "" {
		t.Fatalf("empty standard input: exit %d, %q", code, errOut)
	}
}

func TestCodeErrors(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		exit     int
		mentions string
	}{
		{"bad base32", []string{"code", "--uri", "otpauth://totp/x?secret=JB1SWY3D"}, 1, "secret"},
		{"missing secret", []string{"code", "--uri", "otpauth://totp/x"}, 1, "secret: missing"},
		{"bad digits", []string{"code", "--uri", "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=12"}, 1, "digits"},
		{"not otpauth", []string{"code", "--uri", "https://example.com"}, 1, "otpauth://"},
		{"bad time", []string{"code", "--uri", rfcURI, "--at", "tomorrow"}, 1, "RFC 3339"},
		{"negative time", []string{"code", "--uri", rfcURI, "--at", "-5"}, 1, "1970"},
		{"no uri", []string{"code"}, 2, "--uri"},
		{"unknown flag", []string{"code", "--frobnicate"}, 2, "unknown flag -frobnicate"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := call(t, tt.args...)
			if code != tt.exit {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tt.exit, errOut)
			}
			if out != "" {
				t.Fatalf("stdout %q, want nothing", out)
			}
			if !strings.Contains(errOut, tt.mentions) {
				t.Fatalf("stderr %q does not mention %q", errOut, tt.mentions)
			}
			if strings.Contains(errOut, "JBSWY3DPEHPK3PXP") {
				t.Fatalf("stderr repeats the secret: %q", errOut)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"-h"}, {}} {
		out, _, code := call(t, args...)
		if code != 0 || !strings.Contains(out, "Commands:") || !strings.Contains(out, "code") {
			t.Errorf("%v: exit %d, %q", args, code, out)
		}
	}
	for _, c := range commands() {
		for _, args := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {"help", c.name}} {
			out, errOut, code := call(t, args...)
			if code != 0 || !strings.Contains(out, "Usage: latchkey "+c.name) || errOut != "" {
				t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
			}
		}
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, _, code := call(t, args...)
		if code != 0 || !strings.HasPrefix(out, "latchkey ") {
			t.Errorf("%v: exit %d, %q", args, code, out)
		}
	}
}

// TestBinary builds the real command with CGO_ENABLED=0 and checks exit
// statuses and output streams, and the code against oathtool.
func TestBinary(t *testing.T) {
	bin := buildLatchkey(t)
	runBin := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}
	uri := "otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP&algorithm=SHA256&digits=7&period=45"
	out, errOut, code := runBin("code", "--uri", uri, "--at", "1700000000")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	oathtool := testenv.Tool(t, "oathtool")
	want, err := exec.Command(oathtool, "--totp=SHA256", "--digits=7", "--time-step-size=45s", "--now=@1700000000", "-b", "JBSWY3DPEHPK3PXP").Output()
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Fatalf("latchkey %q, oathtool %q", out, want)
	}
	out, errOut, code = runBin("code", "--uri", "otpauth://totp/x?secret=!!!")
	if code != 1 || out != "" || !strings.Contains(errOut, "secret") {
		t.Fatalf("bad uri: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
