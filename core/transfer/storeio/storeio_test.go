package storeio

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
	"latchkey/core/store"
	"latchkey/core/transfer"
)

func openStore(t testing.TB) *store.Store {
	t.Helper()
	return openStoreAt(t, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
}

// openStoreAt opens an empty file store whose clock reads now.
func openStoreAt(t testing.TB, now time.Time) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), store.Options{
		Home: t.TempDir(), Backend: store.File, WorkFactor: 2,
		Passphrase: func() ([]byte, error) { return []byte("test passphrase"), nil },
		Now:        func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func entries(t *testing.T) []transfer.Entry {
	t.Helper()
	in := "otpauth://totp/GitHub:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n" +
		"otpauth://hotp/Bank:carol?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=42&algorithm=SHA512&digits=8\n" +
		"otpauth://totp/alone?secret=MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U&period=60\n"
	res, err := transfer.Read([]byte(in), transfer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res.Entries[0].Tags = []string{"work"}
	return res.Entries
}

func TestImportDuplicatesAndClashes(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	es := entries(t)
	unsupported := transfer.Entry{Key: otpauth.Key{Issuer: "Old", Account: "m"}, Unsupported: "motp entries are not supported"}
	sum, err := Import(ctx, s, append(slices.Clone(es), unsupported))
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Added) != 3 || len(sum.Skipped) != 0 || len(sum.Unsupported) != 1 {
		t.Fatalf("summary %+v", sum)
	}

	// The same again, plus GitHub:alice with another secret (twice).
	other := es[0]
	other.Key.Secret = otp.Secret(bytes.Repeat([]byte{7}, 20))
	third := es[0]
	third.Key.Secret = otp.Secret(bytes.Repeat([]byte{8}, 20))
	third.Key.Account = "ALICE" // clashes ignore case, as the store does
	sum, err = Import(ctx, s, append(slices.Clone(es), other, third))
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Skipped) != 3 || len(sum.Added) != 2 || len(sum.Renamed) != 2 {
		t.Fatalf("summary %+v", sum)
	}
	if sum.Added[0].Name != "alice (2)" || sum.Added[1].Name != "ALICE (3)" {
		t.Fatalf("renamed to %q, %q", sum.Added[0].Name, sum.Added[1].Name)
	}
	as, _ := s.List(ctx)
	if len(as) != 5 {
		t.Fatalf("%d accounts", len(as))
	}
}

func TestImportAllOrNothing(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	es := entries(t)
	bad := es[1]
	bad.Key.Issuer, bad.Key.Account = "", ""
	_, err := Import(ctx, s, append(es, bad))
	if err == nil || !strings.Contains(err.Error(), "entry 4") {
		t.Fatalf("err %v", err)
	}
	if as, _ := s.List(ctx); len(as) != 0 {
		t.Fatalf("%d accounts added by a failed import", len(as))
	}
}

// TestBackupRestoresIdenticalStore: export -> age backup -> import into
// an empty store gives the same accounts: ids, creation times, order,
// tags, counters, secrets and codes.
func TestBackupRestoresIdenticalStore(t *testing.T) {
	ctx := context.Background()
	src := openStore(t)
	if _, err := Import(ctx, src, entries(t)); err != nil {
		t.Fatal(err)
	}
	// A Steam account added later (another time), then moved to the
	// top and the first one deleted, so that orders are neither 0..n-1
	// nor in creation order.
	later := openStoreAt(t, time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC))
	steam := otp.Secret("12345678901234567890")
	if _, err := later.AddMany(ctx, []store.NewAccount{{Account: store.Account{Issuer: "Steam", Name: "gamer", Type: otp.Steam, Tags: []string{"games"}}, Secret: steam}}); err != nil {
		t.Fatal(err)
	}
	moved, _ := Export(ctx, later)
	if _, err := Import(ctx, src, moved); err != nil {
		t.Fatal(err)
	}
	st, _ := src.Find(ctx, "Steam:gamer")
	if err := src.Move(ctx, st[0].ID, -3); err != nil {
		t.Fatal(err)
	}
	gh, _ := src.Find(ctx, "GitHub:alice")
	if err := src.Delete(ctx, gh[0].ID); err != nil {
		t.Fatal(err)
	}
	// Advance the HOTP counter so that the backup must carry it.
	hotp, _ := src.Find(ctx, "Bank:carol")
	if _, _, err := src.NextHOTP(ctx, hotp[0].ID); err != nil {
		t.Fatal(err)
	}
	out, err := Export(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := transfer.WriteBackup(&buf, out, []byte("backup pass"), transfer.BackupOptions{WorkFactor: 2}); err != nil {
		t.Fatal(err)
	}
	res, err := transfer.Read(buf.Bytes(), transfer.Options{Passphrase: func() ([]byte, error) { return []byte("backup pass"), nil }})
	if err != nil {
		t.Fatal(err)
	}
	// The store restoring runs on another day: created times must come
	// from the backup, not from its clock.
	dst := openStoreAt(t, time.Date(2027, 7, 7, 7, 7, 7, 0, time.UTC))
	if _, err := Import(ctx, dst, res.Entries); err != nil {
		t.Fatal(err)
	}
	want, _ := src.List(ctx)
	got, _ := dst.List(ctx)
	if len(got) != len(want) || len(want) != 3 {
		t.Fatalf("%d accounts, want %d", len(got), len(want))
	}
	wantSec, _ := src.Secrets(ctx)
	gotSec, _ := dst.Secrets(ctx)
	for i := range want {
		w, g := want[i], got[i]
		if w.ID != g.ID || !w.Created.Equal(g.Created) || w.Issuer != g.Issuer || w.Name != g.Name || w.Type != g.Type ||
			w.Algorithm != g.Algorithm || w.Digits != g.Digits || w.Period != g.Period || w.Counter != g.Counter ||
			w.Order != g.Order || !slices.Equal(w.Tags, g.Tags) {
			t.Errorf("account %d: %+v, want %+v", i, g, w)
		}
		if !bytes.Equal(wantSec[want[i].ID], gotSec[got[i].ID]) {
			t.Errorf("account %d: secrets differ", i)
		}
	}
	if got[0].Type != otp.Steam || !got[0].Created.Equal(time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)) || got[1].Counter != 43 {
		t.Fatalf("restored %+v", got)
	}
	g, err := dst.Generator(ctx, got[0].ID)
	if err != nil || g.At(time.Unix(59, 0)) != "PV9M4" {
		t.Fatalf("steam code after restore: %v", err)
	}
	// Importing the backup again changes nothing.
	sum, err := Import(ctx, dst, res.Entries)
	if err != nil || len(sum.Added) != 0 || len(sum.Skipped) != 3 {
		t.Fatalf("err %v summary %+v", err, sum)
	}
	// An account renamed since the backup comes back as a copy under a
	// new id instead of failing on its taken id.
	if _, err := dst.Update(ctx, got[2].ID, func(a *store.Account) error { a.Name = "renamed"; return nil }); err != nil {
		t.Fatal(err)
	}
	sum, err = Import(ctx, dst, res.Entries)
	if err != nil || len(sum.Added) != 1 || sum.Added[0].ID == got[2].ID || sum.Added[0].Name != got[2].Name {
		t.Fatalf("err %v summary %+v", err, sum)
	}
}

// TestPlanManyClashes: every entry has the same issuer and name and its
// own secret; each gets the next free suffix.
func TestPlanManyClashes(t *testing.T) {
	s := openStore(t)
	var es []transfer.Entry
	for i := range 3000 {
		es = append(es, transfer.Entry{Key: otpauth.Key{Issuer: "I", Account: "same", Secret: otp.Secret(fmt.Sprintf("secret-%08d-padding", i)), Digits: 6, Period: 30}})
	}
	items, sum, err := Plan(context.Background(), s, es)
	if err != nil || len(items) != 3000 || len(sum.Renamed) != 2999 {
		t.Fatalf("err %v, %d items, %d renamed", err, len(items), len(sum.Renamed))
	}
	for i, it := range items[1:] {
		if want := fmt.Sprintf("same (%d)", i+2); it.Account.Name != want {
			t.Fatalf("item %d named %q, want %q", i+1, it.Account.Name, want)
		}
	}
}

// TestImportCleansLabels: an otpauth URI whose issuer is an OSC 52
// clipboard write, and a name with a newline that would forge a row in
// `latchkey list`, are stored without the control characters, and the
// summary says which entries were changed, escaped for printing.
func TestImportCleansLabels(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	in := "otpauth://totp/%1B%5D52%3Bc%3BaGk%3D%07Bank:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n" +
		"otpauth://totp/Mail:bob%0AGitHub:eve?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n" +
		"otpauth://totp/Plain:carol?secret=MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U\n"
	res, err := transfer.Read([]byte(in), transfer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res.Entries[2].Tags = []string{"\u202ework"}
	sum, err := Import(ctx, s, res.Entries)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Added) != 3 || len(sum.Cleaned) != 3 {
		t.Fatalf("summary %+v", sum)
	}
	if sum.Cleaned[0].From != `\x1b]52;c;aGk=\x07Bank:alice` || sum.Cleaned[0].To != "]52;c;aGk=Bank:alice" {
		t.Errorf("cleaned %+v", sum.Cleaned[0])
	}
	if sum.Cleaned[1].To != "Mail:bob GitHub:eve" {
		t.Errorf("cleaned %+v", sum.Cleaned[1])
	}
	as, _ := s.List(ctx)
	for _, a := range as {
		for _, l := range append([]string{a.Issuer, a.Name}, a.Tags...) {
			if strings.ContainsAny(l, "\x1b\x07\n\u202e") {
				t.Errorf("stored %q", l)
			}
		}
	}
}
