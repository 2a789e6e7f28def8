package transfer

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
)

// The fixtures below are built field by field from the public
// description of the payload (MigrationPayload{otp_parameters=1,
// version=2, batch_size=3, batch_index=4, batch_id=5}, OtpParameters{
// secret=1, name=2, issuer=3, algorithm=4, digits=5, type=6, counter=7}),
// independently of the generated code.

type gaParam struct {
	secret                 []byte
	name, issuer           string
	algorithm, digits, typ uint64
	counter                uint64
}

func gaPayload(params []gaParam, size, index, id uint64) []byte {
	var b []byte
	for _, p := range params {
		var m []byte
		m = protowire.AppendTag(m, 1, protowire.BytesType)
		m = protowire.AppendBytes(m, p.secret)
		m = protowire.AppendTag(m, 2, protowire.BytesType)
		m = protowire.AppendString(m, p.name)
		m = protowire.AppendTag(m, 3, protowire.BytesType)
		m = protowire.AppendString(m, p.issuer)
		for _, f := range []struct {
			n protowire.Number
			v uint64
		}{{4, p.algorithm}, {5, p.digits}, {6, p.typ}, {7, p.counter}} {
			if f.v != 0 {
				m = protowire.AppendTag(m, f.n, protowire.VarintType)
				m = protowire.AppendVarint(m, f.v)
			}
		}
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, m)
	}
	for _, f := range []struct {
		n protowire.Number
		v uint64
	}{{2, 1}, {3, size}, {4, index}, {5, id}} {
		b = protowire.AppendTag(b, f.n, protowire.VarintType)
		b = protowire.AppendVarint(b, f.v)
	}
	return b
}

func gaURI(payload []byte) string {
	return "otpauth-migration://offline?data=" + url.QueryEscape(base64.StdEncoding.EncodeToString(payload))
}

var rfcSecret = []byte("12345678901234567890")

func TestParseMigrationFixture(t *testing.T) {
	b1 := gaPayload([]gaParam{
		{secret: rfcSecret, name: "alice@example.com", issuer: "GitHub", algorithm: 1, digits: 1, typ: 2},
		{secret: rfcSecret, name: "Bank:carol", issuer: "Bank", algorithm: 3, digits: 2, typ: 1, counter: 9},
	}, 3, 0, 77)
	b2 := gaPayload([]gaParam{
		{secret: rfcSecret, name: "Legacy:old", algorithm: 4, digits: 1, typ: 2}, // MD5, issuer only in the name
		{secret: rfcSecret, name: "defaults"},                                    // every enum unspecified
	}, 3, 2, 77)
	uris := []string{gaURI(b2), gaURI(b1), gaURI(b1)} // out of order, one scanned twice, batch 2 missing
	got, warnings, err := ParseMigration(uris)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "QR code 2 of 3 missing") {
		t.Fatalf("warnings %q", warnings)
	}
	want := []Entry{
		{Key: keyOf(otp.TOTP, "Legacy", "old", otp.SHA1, 6, 0)},
		{Key: keyOf(otp.TOTP, "", "defaults", otp.SHA1, 6, 0)},
		{Key: keyOf(otp.TOTP, "GitHub", "alice@example.com", otp.SHA1, 6, 0)},
		{Key: keyOf(otp.HOTP, "Bank", "carol", otp.SHA512, 8, 9)},
	}
	want[0].Unsupported = "MD5 is not supported (SHA1, SHA256 and SHA512 are)"
	same(t, got, want, false)
	// RFC 4226 Appendix D: HOTP-SHA1 of this secret at counter 9 is
	// 520489; a mix-up of fields would show here.
	k := keyOf(otp.HOTP, "", "", otp.SHA1, 6, 9)
	if c := code(t, &k); c != "520489" {
		t.Fatalf("rfc 4226 code %s", c)
	}
}

func keyOf(typ otp.Type, issuer, name string, alg otp.Algorithm, digits int, counter uint64) (k otpauth.Key) {
	k.Type, k.Issuer, k.Account, k.Secret, k.Algorithm, k.Digits, k.Period, k.Counter = typ, issuer, name, otp.Secret(rfcSecret), alg, digits, 30, counter
	return k
}

func TestMigrationRoundTripBatches(t *testing.T) {
	var want []Entry
	for range 5 {
		want = append(want, sample(t)...)
	}
	uris, skipped, err := MigrationURIs(want, 0)
	if err != nil || len(skipped) != 0 {
		t.Fatalf("err %v skipped %v", err, skipped)
	}
	if len(uris) < 3 {
		t.Fatalf("%d batches for %d accounts, want at least 3", len(uris), len(want))
	}
	for i, u := range uris {
		if len(u) > 2000 {
			t.Errorf("batch %d is %d bytes: too dense for a phone camera", i, len(u))
		}
	}
	got, warnings, err := ParseMigration(uris)
	if err != nil || len(warnings) != 0 {
		t.Fatalf("err %v warnings %v", err, warnings)
	}
	same(t, got, want, false)

	// Dropping a batch is noticed.
	_, warnings, err = ParseMigration(uris[1:])
	if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], "QR code 1 of") {
		t.Fatalf("err %v warnings %q", err, warnings)
	}
}

func TestMigrationURIsSkips(t *testing.T) {
	es := sample(t)[:1]
	odd := es[0]
	odd.Key.Period = 60
	seven := es[0]
	seven.Key.Digits = 7
	colon := es[0]
	colon.Key.Issuer, colon.Key.Account = "", "a:b"
	uris, skipped, err := MigrationURIs([]Entry{odd, seven, colon, steamEntry()}, 0)
	if err != nil || len(uris) != 1 || len(skipped) != 3 {
		t.Fatalf("err %v, %d uris, skipped %v", err, len(uris), skipped)
	}
	if skipped[2].Label != "Steam:gamer" || !strings.Contains(skipped[2].Reason, "Steam") {
		t.Fatalf("steam skipped as %+v", skipped[2])
	}
	got, _, err := ParseMigration(uris)
	if err != nil || len(got) != 1 || got[0].Key.Issuer != "" || got[0].Key.Account != "a:b" {
		t.Fatalf("err %v, got %v", err, got)
	}
}

func TestParseMigrationErrors(t *testing.T) {
	good := gaPayload([]gaParam{{secret: rfcSecret, name: "x", typ: 2}}, 1, 0, 1)
	tests := []struct{ name, uri, mentions string }{
		{"not base64", "otpauth-migration://offline?data=@@@", "base64"},
		{"no data", "otpauth-migration://offline?foo=1", "no data"},
		{"other kind", "otpauth-migration://online?data=AA", "offline"},
		{"not protobuf", gaURI([]byte{0xff, 0xff, 0xff}), "not a migration payload"},
		{"empty secret", gaURI(gaPayload([]gaParam{{name: "x", typ: 2}}, 1, 0, 1)), "account 1 (x): the secret is empty"},
		{"negative counter", gaURI(gaPayload([]gaParam{{secret: rfcSecret, name: "x", typ: 1, counter: 1 << 63}}, 1, 0, 1)), "negative counter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := ParseMigration([]string{gaURI(good), tt.uri})
			if err == nil || got != nil || !strings.Contains(err.Error(), tt.mentions) {
				t.Fatalf("got %d entries, err %v; want an error mentioning %q", len(got), err, tt.mentions)
			}
			if !strings.Contains(err.Error(), "migration URI 2") {
				t.Fatalf("error does not name the URI: %v", err)
			}
		})
	}
	// A '+' left unescaped (as some tools write it) still decodes.
	raw := "otpauth-migration://offline?data=" + base64.StdEncoding.EncodeToString(gaPayload([]gaParam{{secret: []byte{0xfb, 0xef, 0xbe, 0xfb, 0xef}, name: "x", typ: 2}}, 1, 0, 1))
	if !strings.ContainsAny(raw, "+/") {
		t.Fatal("fixture has no + or /")
	}
	if got, _, err := ParseMigration([]string{raw}); err != nil || len(got) != 1 {
		t.Fatalf("raw base64: err %v", err)
	}
}
