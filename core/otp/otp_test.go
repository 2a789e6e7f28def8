package otp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"

	potp "github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"

	"latchkey/core/testenv"
)

// The RFC 6238 Appendix B seeds: one per algorithm, each as long as its
// hash output.
var rfc6238Seeds = map[Algorithm][]byte{
	SHA1:   []byte("12345678901234567890"),
	SHA256: []byte("12345678901234567890123456789012"),
	SHA512: []byte("1234567890123456789012345678901234567890123456789012345678901234"),
}

func TestRFC6238AppendixB(t *testing.T) {
	tests := []struct {
		unix int64
		alg  Algorithm
		want string
	}{
		{59, SHA1, "94287082"}, {59, SHA256, "46119246"}, {59, SHA512, "90693936"},
		{1111111109, SHA1, "07081804"}, {1111111109, SHA256, "68084774"}, {1111111109, SHA512, "25091201"},
		{1111111111, SHA1, "14050471"}, {1111111111, SHA256, "67062674"}, {1111111111, SHA512, "99943326"},
		{1234567890, SHA1, "89005924"}, {1234567890, SHA256, "91819424"}, {1234567890, SHA512, "93441116"},
		{2000000000, SHA1, "69279037"}, {2000000000, SHA256, "90698825"}, {2000000000, SHA512, "38618901"},
		{20000000000, SHA1, "65353130"}, {20000000000, SHA256, "77737706"}, {20000000000, SHA512, "47863826"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.alg, tt.unix), func(t *testing.T) {
			at := time.Unix(tt.unix, 0)
			opts := Options{Algorithm: tt.alg, Digits: 8, Period: 30}
			got, err := TOTPCode(rfc6238Seeds[tt.alg], at, opts)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("TOTPCode = %s, want %s", got, tt.want)
			}
			g, _ := NewGenerator(rfc6238Seeds[tt.alg], opts)
			step, ok := g.Verify(tt.want, at, 0)
			if !ok || step != uint64(tt.unix/30) {
				t.Fatalf("Verify(%s) = %d, %v; want step %d", tt.want, step, ok, tt.unix/30)
			}
		})
	}
}

func TestRFC4226AppendixD(t *testing.T) {
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	secret := []byte("12345678901234567890")
	for c, w := range want {
		got, err := HOTPCode(secret, uint64(c), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got != w {
			t.Errorf("counter %d: HOTPCode = %s, want %s", c, got, w)
		}
	}
}

// randomCase draws a random key and time covering every supported
// parameter.
func randomCase(r *rand.Rand) (secret []byte, opts Options, at time.Time) {
	opts = Options{
		Algorithm: Algorithm(r.IntN(3)),
		Digits:    6 + r.IntN(3),
		Period:    []int{1, 15, 30, 30, 60, 90, 3600}[r.IntN(7)],
	}
	secret = make([]byte, 10+r.IntN(55))
	for i := range secret {
		secret[i] = byte(r.Uint32())
	}
	return secret, opts, time.Unix(r.Int64N(1<<33), 0)
}

// TestOathtool compares 500 random cases with oathtool, an independent
// implementation.
func TestOathtool(t *testing.T) {
	oathtool := testenv.Tool(t, "oathtool")
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 500; i++ {
		secret, opts, at := randomCase(r)
		got, err := TOTPCode(secret, at, opts)
		if err != nil {
			t.Fatal(err)
		}
		args := []string{
			"--totp=" + opts.Algorithm.String(),
			fmt.Sprintf("--digits=%d", opts.Digits),
			fmt.Sprintf("--time-step-size=%ds", opts.Period),
			fmt.Sprintf("--now=@%d", at.Unix()),
			hex.EncodeToString(secret),
		}
		out, err := exec.Command(oathtool, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("oathtool %v: %v: %s", args, err, out)
		}
		if want := strings.TrimSpace(string(out)); got != want {
			t.Fatalf("case %d (%s, %d digits, %ds, t=%d): got %s, oathtool %s", i, opts.Algorithm, opts.Digits, opts.Period, at.Unix(), got, want)
		}
	}
	// HOTP too, at random counters.
	for i := 0; i < 50; i++ {
		secret, opts, _ := randomCase(r)
		opts.Algorithm = SHA1 // oathtool's HOTP is HMAC-SHA1 only
		counter := r.Uint64N(1 << 40)
		got, _ := HOTPCode(secret, counter, opts)
		out, err := exec.Command(oathtool, "--hotp", fmt.Sprintf("--digits=%d", opts.Digits),
			fmt.Sprintf("--counter=%d", counter), hex.EncodeToString(secret)).CombinedOutput()
		if err != nil {
			t.Fatalf("oathtool: %v: %s", err, out)
		}
		if want := strings.TrimSpace(string(out)); got != want {
			t.Fatalf("hotp case %d: got %s, oathtool %s", i, got, want)
		}
	}
}

// TestPquerna cross-checks against github.com/pquerna/otp.
func TestPquerna(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	algs := map[Algorithm]potp.Algorithm{SHA1: potp.AlgorithmSHA1, SHA256: potp.AlgorithmSHA256, SHA512: potp.AlgorithmSHA512}
	for i := 0; i < 300; i++ {
		secret, opts, at := randomCase(r)
		counter := Step(at, opts.Period)
		want, err := hotp.GenerateCodeCustom(EncodeSecret(secret), counter, hotp.ValidateOpts{
			Digits: potp.Digits(opts.Digits), Algorithm: algs[opts.Algorithm],
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := TOTPCode(secret, at, opts); got != want {
			t.Fatalf("case %d: got %s, pquerna %s", i, got, want)
		}
	}
}

func TestVerify(t *testing.T) {
	secret := rfc6238Seeds[SHA1]
	g, err := NewGenerator(secret, Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1700000000, 0)
	center := g.Step(now)
	code := func(step uint64) string { return g.Code(step) }

	tests := []struct {
		name     string
		code     string
		window   int
		wantStep uint64
		wantOK   bool
	}{
		{"current", code(center), 1, center, true},
		{"previous step in window", code(center - 1), 1, center - 1, true},
		{"next step in window", code(center + 1), 1, center + 1, true},
		{"two back outside window 1", code(center - 2), 1, 0, false},
		{"two back inside window 2", code(center - 2), 2, center - 2, true},
		{"window clamped to 2", code(center - 3), 5, 0, false},
		{"window 0 refuses previous", code(center - 1), 0, 0, false},
		{"negative window is 0", code(center), -3, center, true},
		{"surrounding space", "  " + code(center) + "\n", 1, center, true},
		{"grouped with space", code(center)[:3] + " " + code(center)[3:], 1, center, true},
		{"grouped with dash", code(center)[:3] + "-" + code(center)[3:], 1, center, true},
		{"two separators", code(center)[:2] + " " + code(center)[2:4] + " " + code(center)[4:], 1, 0, false},
		{"leading separator", " -" + code(center), 1, 0, false},
		{"trailing separator", code(center) + "-", 1, 0, false},
		{"too short", code(center)[:5], 1, 0, false},
		{"too long", code(center) + "0", 1, 0, false},
		{"letters", "12345a", 1, 0, false},
		{"empty", "", 1, 0, false},
		{"unicode digits", "１２３４５６", 1, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, ok := g.Verify(tt.code, now, tt.window)
			if ok != tt.wantOK || step != tt.wantStep {
				t.Fatalf("Verify(%q, window %d) = %d, %v; want %d, %v", tt.code, tt.window, step, ok, tt.wantStep, tt.wantOK)
			}
		})
	}
}

func TestVerifyNearEpoch(t *testing.T) {
	g, _ := NewGenerator(rfc6238Seeds[SHA1], Options{})
	at := time.Unix(5, 0) // step 0: there is no step -1 to look at
	if step, ok := g.Verify(g.Code(0), at, 2); !ok || step != 0 {
		t.Fatalf("Verify at step 0 = %d, %v", step, ok)
	}
	if _, ok := g.Verify(g.Code(^uint64(0)), at, 2); ok {
		t.Fatal("step -1 wrapped around to the largest step")
	}
}

func TestCheckHOTP(t *testing.T) {
	g, _ := NewGenerator([]byte("12345678901234567890"), Options{})
	if !g.Check("755 224", 0) {
		t.Error("Check(755 224, 0) = false")
	}
	if g.Check("755224", 1) {
		t.Error("Check(755224, 1) = true")
	}
}

func TestOptionsErrors(t *testing.T) {
	secret := []byte("12345678901234567890")
	tests := []struct {
		opts Options
		want error
	}{
		{Options{Digits: 5}, ErrDigits},
		{Options{Digits: 9}, ErrDigits},
		{Options{Period: -1}, ErrPeriod},
		{Options{Period: 3601}, ErrPeriod},
		{Options{Algorithm: 7}, ErrAlgorithm},
	}
	for _, tt := range tests {
		if _, err := NewGenerator(secret, tt.opts); !errors.Is(err, tt.want) {
			t.Errorf("NewGenerator(%+v) error = %v, want %v", tt.opts, err, tt.want)
		}
	}
	if _, err := NewGenerator(nil, Options{}); !errors.Is(err, ErrSecret) {
		t.Errorf("empty secret: %v", err)
	}
	if _, err := NewGenerator(make([]byte, MaxSecretSize+1), Options{}); !errors.Is(err, ErrSecret) {
		t.Errorf("huge secret: %v", err)
	}
	for _, p := range []int{1, 3600} {
		if _, err := NewGenerator(secret, Options{Period: p}); err != nil {
			t.Errorf("period %d: %v", p, err)
		}
	}
}

func TestStepAndRemaining(t *testing.T) {
	at := time.Unix(1000000000, 500_000_000) // 1000000000 = 33333333*30 + 10
	if got := Step(at, 30); got != 33333333 {
		t.Errorf("Step = %d", got)
	}
	if got := Remaining(at, 30); got != 19500*time.Millisecond {
		t.Errorf("Remaining = %v, want 19.5s", got)
	}
	if got := Remaining(time.Unix(60, 0), 30); got != 30*time.Second {
		t.Errorf("Remaining at a boundary = %v, want 30s", got)
	}
	if got := Step(time.Unix(-100, 0), 30); got != 0 {
		t.Errorf("Step before epoch = %d", got)
	}
}

func TestAlgorithmAndType(t *testing.T) {
	for _, s := range []string{"sha1", "SHA-1", " Sha1 "} {
		if a, err := ParseAlgorithm(s); err != nil || a != SHA1 {
			t.Errorf("ParseAlgorithm(%q) = %v, %v", s, a, err)
		}
	}
	if _, err := ParseAlgorithm("MD5"); !errors.Is(err, ErrAlgorithm) {
		t.Errorf("MD5: %v", err)
	}
	var a Algorithm
	if err := a.UnmarshalText([]byte("sha512")); err != nil || a != SHA512 {
		t.Errorf("UnmarshalText: %v %v", a, err)
	}
	if b, _ := SHA256.MarshalText(); string(b) != "SHA256" {
		t.Errorf("MarshalText = %s", b)
	}
	if ty, err := ParseType("HOTP"); err != nil || ty != HOTP {
		t.Errorf("ParseType: %v %v", ty, err)
	}
	if _, err := ParseType("motp"); !errors.Is(err, ErrType) {
		t.Errorf("ParseType(motp): %v", err)
	}
}

func TestSecretCodec(t *testing.T) {
	raw := []byte("12345678901234567890")
	enc := EncodeSecret(raw)
	if enc != "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" {
		t.Fatalf("EncodeSecret = %s", enc)
	}
	for _, in := range []string{enc, strings.ToLower(enc), "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ", "gezd-gnbv-gy3t-qojq-gezd-gnbv-gy3t-qojq"} {
		got, err := DecodeSecret(in)
		if err != nil || !bytes.Equal(got, raw) {
			t.Errorf("DecodeSecret(%q) = %x, %v", in, []byte(got), err)
		}
	}
	// Padding is accepted.
	if got, err := DecodeSecret("MZXW6==="); err != nil || string(got) != "foo" {
		t.Errorf("padded: %q %v", []byte(got), err)
	}
	for _, in := range []string{"", "   ", "A", "ABC", "ABCDEF", "GEZDGNB1", "GEZDG!BV", strings.Repeat("A", 2000)} {
		_, err := DecodeSecret(in)
		if !errors.Is(err, ErrSecret) {
			t.Errorf("DecodeSecret(%q) error = %v, want ErrSecret", in, err)
		}
		if err != nil && len(in) > 3 && strings.Contains(err.Error(), in) {
			t.Errorf("error %q repeats the input", err)
		}
	}
}

func TestSecretRedacted(t *testing.T) {
	s := Secret("supersecret")
	for _, f := range []string{"%v", "%s", "%x", "%#v", "%q", "%+v"} {
		if got := fmt.Sprintf(f, s); got != "REDACTED" {
			t.Errorf("Sprintf(%s) = %q", f, got)
		}
	}
	if got := fmt.Sprintf("%v", struct{ S Secret }{s}); strings.Contains(got, "super") {
		t.Errorf("struct printing leaks: %s", got)
	}
	if s.Base32() != EncodeSecret([]byte("supersecret")) {
		t.Error("Base32 mismatch")
	}
	s.Wipe()
	if !bytes.Equal(s, make([]byte, len(s))) {
		t.Error("Wipe left bytes")
	}
}

func TestNewSecret(t *testing.T) {
	for alg, n := range map[Algorithm]int{SHA1: 20, SHA256: 32, SHA512: 64} {
		a, err := NewSecret(alg)
		if err != nil || len(a) != n {
			t.Fatalf("NewSecret(%s) = %d bytes, %v", alg, len(a), err)
		}
		b, _ := NewSecret(alg)
		if bytes.Equal(a, b) {
			t.Fatalf("two secrets are equal")
		}
	}
	if _, err := NewSecretSize(15); err == nil {
		t.Error("NewSecretSize(15) accepted a 120-bit secret")
	}
}

func TestGroup(t *testing.T) {
	for in, want := range map[string]string{"123456": "123 456", "1234567": "1234 567", "12345678": "1234 5678", "12": "12"} {
		if got := Group(in); got != want {
			t.Errorf("Group(%s) = %s, want %s", in, got, want)
		}
	}
	if !Equal("123456", "123456") || Equal("123456", "123457") || Equal("123456", "12345") {
		t.Error("Equal is wrong")
	}
}

// TestGeneratorWipe: after Wipe a generator holds no key material (its
// codes no longer match) and using it does not panic, on every hash.
func TestGeneratorWipe(t *testing.T) {
	for _, alg := range []Algorithm{SHA1, SHA256, SHA512} {
		g, err := NewGenerator([]byte("12345678901234567890"), Options{Algorithm: alg, Digits: 8})
		if err != nil {
			t.Fatal(err)
		}
		before := g.Code(1)
		g.Wipe()
		if after := g.Code(1); after == before {
			t.Errorf("%v: the code survived Wipe", alg)
		}
		for _, b := range append(append([]byte(nil), g.mac.istate...), g.mac.ostate...) {
			if b != 0 {
				t.Fatalf("%v: key state survived Wipe", alg)
			}
		}
	}
}
