package transfer

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	"latchkey/core/otpauth"
)

func uriList(b testing.TB, n int) []byte {
	var buf bytes.Buffer
	s := sample(b)
	for i := 0; i < n; i++ {
		buf.WriteString(s[i%len(s)].Key.String())
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// BenchmarkOtpauthParse is the baseline for BenchmarkReadURIs: parsing
// the same 1000 URIs with otpauth.Parse alone.
func BenchmarkOtpauthParse(b *testing.B) {
	lines := strings.Split(strings.TrimSpace(string(uriList(b, 1000))), "\n")
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			if _, err := otpauth.Parse(l); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkReadURIs reads a 1000-account URI list through Read
// (detection, line splitting, checks).
func BenchmarkReadURIs(b *testing.B) {
	data := uriList(b, 1000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Read(data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadMigration reads the same 1000 accounts as migration URIs.
func BenchmarkReadMigration(b *testing.B) {
	var es []Entry
	for range 200 {
		es = append(es, sample(b)...)
	}
	uris, _, err := MigrationURIs(es, 0)
	if err != nil {
		b.Fatal(err)
	}
	data := []byte(strings.Join(uris, "\n"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Read(data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestHugeInputsBoundedMemory feeds every parser a large hostile input
// (a quarter of the size cap, to stay quick under the race detector;
// TestReadTooLarge covers the cap) and checks that it fails (or
// succeeds) without allocating more than a small multiple of the input.
func TestHugeInputsBoundedMemory(t *testing.T) {
	const size = MaxInput / 4
	line := []byte("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP\n")
	inputs := map[string][]byte{
		"uri list":  bytes.Repeat(line, size/len(line)),
		"one line":  append([]byte("otpauth://totp/A:b?secret="), bytes.Repeat([]byte("A"), size)...),
		"migration": append([]byte("otpauth-migration://offline?data="), bytes.Repeat([]byte("A"), size)...),
		"aegis":     append([]byte(`{"version":1,"header":{},"db":{"version":3,"entries":[`), bytes.Repeat([]byte(`{"type":"totp","name":"n","info":{"secret":"JBSWY3DP"}},`), size/56)...),
		"2fas":      append([]byte(`{"servicesEncrypted":"`), bytes.Repeat([]byte("A"), size)...),
		"backup":    append([]byte("age-encryption.org/v1\n-> scrypt AAAAAAAAAAAAAAAAAAAAAA 18\n"), bytes.Repeat([]byte("A"), size)...),
		"andotp":    append([]byte{0, 0, 0x13, 0x88}, bytes.Repeat([]byte("A"), size)...),
		"bitwarden": append([]byte("folder,type,name,login_username,login_totp\n"), bytes.Repeat([]byte(",login,n,u,JBSWY3DP\n"), size/20)...),
		"keepassxc": append([]byte(`"Group","Title","Username","Password","URL","Notes","TOTP"`+"\n"), bytes.Repeat([]byte(`"Root","t","u","","","","key=JBSWY3DP&step=30"`+"\n"), size/45)...),
		"png":       append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, size)...),
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			res, err := Read(in, Options{Passphrase: pw("pw")})
			runtime.ReadMemStats(&after)
			if err == nil && len(res.Entries) > MaxEntries {
				t.Fatalf("%d entries", len(res.Entries))
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8*uint64(len(in)) {
				t.Errorf("allocated %d MiB for a %d MiB input (err %v)", alloc>>20, len(in)>>20, err)
			}
		})
	}
}
