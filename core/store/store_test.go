package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"latchkey/core/otp"
)

// memKeyring is an in-memory KeyringAPI, safe for concurrent use, that
// answers like go-keyring's mock; fail makes it fail like an absent
// Secret Service.
type memKeyring struct {
	mu      sync.Mutex
	items   map[string]string
	gets    int
	fail    error
	failSet int // fail the n-th Set (1-based) when > 0
	sets    int
}

var errDBus = errors.New("dbus: the name org.freedesktop.secrets was not provided by any .service files")

func newMem() *memKeyring { return &memKeyring{items: map[string]string{}} }

func (m *memKeyring) Set(service, user, pw string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sets++
	if m.fail != nil || m.sets == m.failSet {
		return errDBus
	}
	m.items[service+"/"+user] = pw
	return nil
}

func (m *memKeyring) Get(service, user string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !bookkeeping(user) {
		m.gets++
	}
	if m.fail != nil {
		return "", m.fail
	}
	v, ok := m.items[service+"/"+user]
	if !ok {
		return "", errKeyringNotFound
	}
	return v, nil
}

func (m *memKeyring) Delete(service, user string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if _, ok := m.items[service+"/"+user]; !ok {
		return errKeyringNotFound
	}
	delete(m.items, service+"/"+user)
	return nil
}

// Users lists the items of service, as the Secret Service can.
func (m *memKeyring) Users(service string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.items {
		if u, ok := strings.CutPrefix(k, service+"/"); ok {
			out = append(out, u)
		}
	}
	return out, nil
}

// len counts the items that hold keys (not the probe or the generation).
func (m *memKeyring) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for k := range m.items {
		if _, u, _ := strings.Cut(k, "/"); !bookkeeping(u) {
			n++
		}
	}
	return n
}

// bookkeeping reports whether a keyring item is the store's own record
// (the first-use probe, the highest generation seen), not a key.
func bookkeeping(user string) bool {
	return user == "latchkey-probe" || strings.HasPrefix(user, generationItem)
}

var clock = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

const testPass = "correct horse battery staple"

func opts(home string, b Backend, kr KeyringAPI) Options {
	return Options{Home: home, Backend: b, Keyring: kr, Now: clock, WorkFactor: 2,
		Passphrase: func() ([]byte, error) { return []byte(testPass), nil }}
}

func open(t testing.TB, o Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func secret(t testing.TB) otp.Secret {
	t.Helper()
	s, err := otp.NewSecret(otp.SHA1)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func forBoth(t *testing.T, f func(t *testing.T, o Options, kr *memKeyring)) {
	for _, b := range []Backend{Keyring, File} {
		t.Run(string(b), func(t *testing.T) {
			kr := newMem()
			f(t, opts(t.TempDir(), b, kr), kr)
		})
	}
}

func TestAddFindSecret(t *testing.T) {
	forBoth(t, func(t *testing.T, o Options, kr *memKeyring) {
		ctx := context.Background()
		s := open(t, o)
		gh := secret(t)
		added := map[string]otp.Secret{}
		for _, a := range []Account{
			{Issuer: "GitHub", Name: "alice"},
			{Issuer: "GitLab", Name: "alice", Digits: 8, Algorithm: otp.SHA256},
			{Issuer: "", Name: "bob@example.com", Type: otp.HOTP, Counter: 5},
		} {
			sec := secret(t)
			if a.Issuer == "GitHub" {
				sec = gh
			}
			got, err := s.Add(ctx, a, sec, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.ID) != 16 || !got.Created.Equal(clock()) {
				t.Fatalf("added %+v", got)
			}
			added[got.ID] = sec
		}
		// A second Store (another process) sees everything, in order.
		s2 := open(t, o)
		as, err := s2.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(as) != 3 || as[0].Issuer != "GitHub" || as[1].Digits != 8 || as[2].Period != 30 || as[0].Digits != 6 {
			t.Fatalf("list %+v", as)
		}
		for id, want := range added {
			sec, err := s2.Secret(ctx, id)
			if err != nil || !bytes.Equal(sec, want) {
				t.Fatalf("secret %s: %v", id, err)
			}
		}
		find := []struct {
			q    string
			want []string
		}{
			{"github", []string{"GitHub:alice"}},
			{"GITHUB:ALICE", []string{"GitHub:alice"}},
			{"alice", []string{"GitHub:alice", "GitLab:alice"}},
			{"git", []string{"GitHub:alice", "GitLab:alice"}},
			{"bob", []string{"bob@example.com"}},
			{"bob@example.com", []string{"bob@example.com"}},
			{"nobody", nil},
			{"", nil},
		}
		for _, f := range find {
			got, err := s2.Find(ctx, f.q)
			if err != nil {
				t.Fatal(err)
			}
			var labels []string
			for _, a := range got {
				labels = append(labels, a.Label())
			}
			if !slices.Equal(labels, f.want) {
				t.Errorf("Find(%q) = %v, want %v", f.q, labels, f.want)
			}
		}
		if _, err := s2.Get(ctx, "0123456789abcdef"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("get missing: %v", err)
		}
	})
}

func TestAddRefuses(t *testing.T) {
	forBoth(t, func(t *testing.T, o Options, kr *memKeyring) {
		ctx := context.Background()
		s := open(t, o)
		if _, err := s.Add(ctx, Account{Issuer: "X", Name: "a"}, secret(t), false); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			a    Account
			sec  otp.Secret
			want error
		}{
			{"duplicate ignoring case", Account{Issuer: "x", Name: "A"}, secret(t), ErrDuplicate},
			{"no name", Account{}, secret(t), ErrInvalid},
			{"no secret", Account{Name: "n"}, nil, ErrInvalid},
			{"bad digits", Account{Name: "n", Digits: 9}, secret(t), ErrInvalid},
			{"bad period", Account{Name: "n", Period: -1}, secret(t), ErrInvalid},
			{"bad type", Account{Name: "n", Type: 7}, secret(t), ErrInvalid},
			{"only control characters", Account{Issuer: "\x1b\x07", Name: "\u202e"}, secret(t), ErrInvalid},
			{"issuer too long", Account{Issuer: strings.Repeat("i", MaxLabel+1), Name: "n"}, secret(t), ErrInvalid},
			{"20 MiB name", Account{Name: strings.Repeat("n", 20<<20)}, secret(t), ErrInvalid},
			{"tag too long", Account{Name: "n", Tags: []string{strings.Repeat("t", MaxTag+1)}}, secret(t), ErrInvalid},
			{"too many tags", Account{Name: "n", Tags: strings.Fields(strings.Repeat("t ", MaxTags+1))}, secret(t), ErrInvalid},
		}
		for _, tt := range tests {
			if _, err := s.Add(ctx, tt.a, tt.sec, false); !errors.Is(err, tt.want) {
				t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
			}
		}
		if _, err := s.Add(ctx, Account{Issuer: "x", Name: "A"}, secret(t), true); err != nil {
			t.Fatalf("force: %v", err)
		}
		as, _ := s.List(ctx)
		if len(as) != 2 {
			t.Fatalf("%d accounts", len(as))
		}
	})
}

// TestLabelsCleaned: what would drive a terminal (escape sequences, bidi
// overrides, newlines that forge a row) never reaches the store, through
// Add, AddMany or Update.
func TestLabelsCleaned(t *testing.T) {
	forBoth(t, func(t *testing.T, o Options, kr *memKeyring) {
		ctx := context.Background()
		s := open(t, o)
		a, err := s.Add(ctx, Account{Issuer: "\x1b]52;c;aGk=\x07Bank", Name: "alice\nGitHub:bob 123456", Tags: []string{"\u202ework", "\x1b[2J"}}, secret(t), false)
		if err != nil {
			t.Fatal(err)
		}
		if a.Issuer != "]52;c;aGk=Bank" || a.Name != "alice GitHub:bob 123456" || !slices.Equal(a.Tags, []string{"work", "[2J"}) {
			t.Fatalf("stored %q %q %q", a.Issuer, a.Name, a.Tags)
		}
		as, err := s.AddMany(ctx, []NewAccount{{Account: Account{Issuer: "Imp\u200bort", Name: "x\ty"}, Secret: secret(t)}})
		if err != nil || as[0].Issuer != "Import" || as[0].Name != "x y" {
			t.Fatalf("AddMany: %q %q %v", as[0].Issuer, as[0].Name, err)
		}
		u, err := s.Update(ctx, a.ID, func(a *Account) error { a.Name = "\u202eevil"; return nil })
		if err != nil || u.Name != "evil" {
			t.Fatalf("Update: %q %v", u.Name, err)
		}
		again, _ := open(t, o).List(ctx)
		for _, b := range again {
			for _, l := range append([]string{b.Issuer, b.Name}, b.Tags...) {
				if strings.ContainsAny(l, "\x1b\x07\n\t\u202e\u200b") {
					t.Errorf("stored label %q", l)
				}
			}
		}
	})
}

// TestVaultWorkFactorCapped: a vault whose scrypt stanza asks for 2^22
// (4 GiB, a minute) is refused before any scrypt work, with its own
// error, and left where it is.
func TestVaultWorkFactorCapped(t *testing.T) {
	o := opts(t.TempDir(), File, nil)
	s := open(t, o)
	if _, err := s.Add(context.Background(), Account{Name: "a"}, secret(t), false); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(o.Home, VaultFile)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	hdr, body, _ := bytes.Cut(data, []byte("\n---"))
	lines := strings.Split(string(hdr), "\n")
	for i, l := range lines {
		if f := strings.Fields(l); len(f) == 4 && f[1] == "scrypt" {
			f[3] = "22"
			lines[i] = strings.Join(f, " ")
		}
	}
	bad := append([]byte(strings.Join(lines, "\n")+"\n---"), body...)
	if err := os.WriteFile(p, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = open(t, o).List(context.Background())
	if !errors.Is(err, ErrWorkFactor) {
		t.Fatalf("List: %v", err)
	}
	if after, _ := os.ReadFile(p); !bytes.Equal(after, bad) {
		t.Fatal("the vault was moved or changed")
	}
}

// TestNeverWritesWhatItCannotRead: an import that would make the file
// larger than the store reads back fails as a whole, the old file stays
// byte for byte, and the store still opens with what it had.
func TestNeverWritesWhatItCannotRead(t *testing.T) {
	forBoth(t, func(t *testing.T, o Options, kr *memKeyring) {
		ctx := context.Background()
		s := open(t, o)
		if _, err := s.Add(ctx, Account{Name: "keep"}, secret(t), false); err != nil {
			t.Fatal(err)
		}
		name := AccountsFile
		if o.Backend == File {
			name = VaultFile
		}
		before, err := os.ReadFile(filepath.Join(o.Home, name))
		if err != nil {
			t.Fatal(err)
		}
		tags := make([]string, MaxTags)
		for i := range tags {
			tags[i] = fmt.Sprintf("%02d", i) + strings.Repeat("t", MaxTag-2)
		}
		items := make([]NewAccount, 4000) // about 4.7 KiB of JSON each
		for i := range items {
			items[i] = NewAccount{Account: Account{Issuer: strings.Repeat("i", MaxLabel), Name: fmt.Sprintf("%d", i), Tags: tags}, Secret: secret(t)}
		}
		if _, err := s.AddMany(ctx, items); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("AddMany: %v", err)
		}
		if after, _ := os.ReadFile(filepath.Join(o.Home, name)); !bytes.Equal(before, after) {
			t.Fatal("the store's file changed")
		}
		as, err := open(t, o).List(ctx)
		if err != nil || len(as) != 1 || as[0].Name != "keep" {
			t.Fatalf("reopened: %v %v", as, err)
		}
		if o.Backend == Keyring && kr.len() != 1 {
			t.Fatalf("%d keyring items left behind", kr.len())
		}
	})
}

func TestNextHOTPPersistsFirst(t *testing.T) {
	forBoth(t, func(t *testing.T, o Options, kr *memKeyring) {
		ctx := context.Background()
		s := open(t, o)
		// RFC 4226 Appendix D secret.
		sec := otp.Secret("12345678901234567890")
		a, err := s.Add(ctx, Account{Name: "h", Type: otp.HOTP, Counter: 1}, sec, false)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"287082", "359152", "969429"}
		for i, w := range want {
			code, acc, err := s.NextHOTP(ctx, a.ID)
			if err != nil || code != w || acc.Counter != uint64(i+2) {
				t.Fatalf("code %d: %q %d %v, want %s", i, code, acc.Counter, err, w)
			}
			// Persisted: a fresh Store (a new process) reads the next counter.
			got, err := open(t, o).Get(ctx, a.ID)
			if err != nil || got.Counter != uint64(i+2) {
				t.Fatalf("persisted counter %d (%v)", got.Counter, err)
			}
		}
		tot, _ := s.Add(ctx, Account{Name: "t"}, secret(t), false)
		if _, _, err := s.NextHOTP(ctx, tot.ID); !errors.Is(err, ErrInvalid) {
			t.Fatalf("totp NextHOTP: %v", err)
		}
	})
}

func TestUpdateMoveDelete(t *testing.T) {
	forBoth(t, func(t *testing.T, o Options, kr *memKeyring) {
		ctx := context.Background()
		s := open(t, o)
		var ids []string
		for _, n := range []string{"a", "b", "c", "d"} {
			a, err := s.Add(ctx, Account{Issuer: "I", Name: n}, secret(t), false)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, a.ID)
		}
		names := func() string {
			as, err := open(t, o).List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var n []string
			for _, a := range as {
				n = append(n, a.Name)
			}
			return strings.Join(n, "")
		}
		if err := s.Move(ctx, ids[3], -2); err != nil {
			t.Fatal(err)
		}
		if got := names(); got != "adbc" {
			t.Fatalf("after move up: %s", got)
		}
		if err := s.Move(ctx, ids[0], 10); err != nil {
			t.Fatal(err)
		}
		if got := names(); got != "dbca" {
			t.Fatalf("after move down: %s", got)
		}
		if _, err := s.Update(ctx, ids[1], func(a *Account) error { a.Name = "z"; a.Tags = []string{"work"}; return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Update(ctx, ids[1], func(a *Account) error { a.Name = "C"; return nil }); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("rename onto another: %v", err)
		}
		if got := names(); got != "dzca" {
			t.Fatalf("after rename: %s", got)
		}
		if err := s.Delete(ctx, ids[2]); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, ids[2]); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		if got := names(); got != "dza" {
			t.Fatalf("after delete: %s", got)
		}
		if o.Backend == Keyring && kr.len() != 3 {
			t.Fatalf("%d keyring items after delete", kr.len())
		}
	})
}

func TestAddManyAllOrNothing(t *testing.T) {
	forBoth(t, func(t *testing.T, o Options, kr *memKeyring) {
		ctx := context.Background()
		s := open(t, o)
		if _, err := s.Add(ctx, Account{Issuer: "X", Name: "a"}, secret(t), false); err != nil {
			t.Fatal(err)
		}
		batch := []NewAccount{{Account{Name: "n1"}, secret(t)}, {Account{Name: "n2"}, secret(t)}, {Account{Issuer: "X", Name: "a"}, secret(t)}}
		if _, err := s.AddMany(ctx, batch); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("duplicate in batch: %v", err)
		}
		within := []NewAccount{{Account{Name: "n1"}, secret(t)}, {Account{Name: "N1"}, secret(t)}}
		if _, err := s.AddMany(ctx, within); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("duplicate within batch: %v", err)
		}
		if o.Backend == Keyring {
			kr.failSet = kr.sets + 2
			if _, err := s.AddMany(ctx, batch[:2]); !errors.Is(err, ErrKeyringUnavailable) {
				t.Fatalf("failing keyring: %v", err)
			}
			if kr.len() != 1 {
				t.Fatalf("%d keyring items left after a failed batch", kr.len())
			}
		}
		as, _ := open(t, o).List(ctx)
		if len(as) != 1 {
			t.Fatalf("%d accounts after failed batches", len(as))
		}
		got, err := s.AddMany(ctx, batch[:2])
		if err != nil || len(got) != 2 || got[1].Order != 2 {
			t.Fatalf("good batch: %v %+v", err, got)
		}
		all, err := open(t, o).Secrets(ctx)
		if err != nil || len(all) != 3 || !bytes.Equal(all[got[1].ID], batch[1].Secret) {
			t.Fatalf("secrets: %v %d", err, len(all))
		}
	})
}

// TestAddManyRestores: items carrying an id keep their id, order and
// created time (a backup being restored); the others are numbered after
// them; a taken or malformed id is refused and nothing is added.
func TestAddManyRestores(t *testing.T) {
	forBoth(t, func(t *testing.T, o Options, kr *memKeyring) {
		ctx := context.Background()
		s := open(t, o)
		created := time.Date(2024, 5, 6, 7, 8, 9, 123, time.FixedZone("x", 3600))
		steam := secret(t)
		batch := []NewAccount{
			{Account{ID: "00000000000000aa", Name: "old", Order: 7, Created: created, Tags: []string{"t"}, Type: otp.HOTP, Counter: 9}, secret(t)},
			{Account{Name: "new"}, secret(t)},
			{Account{ID: "00000000000000bb", Issuer: "Steam", Name: "gamer", Order: 3, Type: otp.Steam}, steam},
		}
		got, err := s.AddMany(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		if got[0].ID != "00000000000000aa" || got[0].Order != 7 || !got[0].Created.Equal(created) || got[0].Counter != 9 ||
			!slices.Equal(got[0].Tags, []string{"t"}) {
			t.Fatalf("restored %+v", got[0])
		}
		if got[1].ID == "" || got[1].Order != 8 || !got[1].Created.Equal(o.Now()) {
			t.Fatalf("new %+v", got[1])
		}
		if got[2].ID != "00000000000000bb" || got[2].Order != 3 || !got[2].Created.Equal(o.Now()) || got[2].Digits != otp.SteamDigits {
			t.Fatalf("restored without a time %+v", got[2])
		}
		list, _ := open(t, o).List(ctx)
		if len(list) != 3 || list[0].ID != "00000000000000bb" || list[1].ID != "00000000000000aa" || !list[1].Created.Equal(created) {
			t.Fatalf("list %+v", list)
		}
		g, err := open(t, o).Generator(ctx, "00000000000000bb")
		if err != nil {
			t.Fatal(err)
		}
		if code := g.At(o.Now()); len(code) != otp.SteamDigits || strings.Trim(code, otp.SteamAlphabet) != "" {
			t.Fatalf("steam code %q", code)
		}
		for _, tc := range []struct {
			items []NewAccount
			want  error
		}{
			{[]NewAccount{{Account{ID: "00000000000000aa", Name: "other"}, secret(t)}}, ErrIDTaken},
			{[]NewAccount{{Account{ID: "00000000000000cc", Name: "x"}, secret(t)}, {Account{ID: "00000000000000cc", Name: "y"}, secret(t)}}, ErrIDTaken},
			{[]NewAccount{{Account{Name: "z"}, secret(t)}, {Account{ID: "../evil", Name: "w"}, secret(t)}}, ErrInvalid},
		} {
			if _, err := s.AddMany(ctx, tc.items); !errors.Is(err, tc.want) {
				t.Errorf("AddMany: %v, want %v", err, tc.want)
			}
		}
		if list, _ := open(t, o).List(ctx); len(list) != 3 {
			t.Fatalf("%d accounts after refused batches", len(list))
		}
	})
}

func TestSecretsFetchedOnce(t *testing.T) {
	ctx := context.Background()
	kr := newMem()
	o := opts(t.TempDir(), Keyring, kr)
	s := open(t, o)
	for i := range 50 {
		if _, err := s.Add(ctx, Account{Name: string(rune('a' + i%26)), Issuer: strings.Repeat("i", i/26+1)}, secret(t), false); err != nil {
			t.Fatal(err)
		}
	}
	s2 := open(t, o)
	kr.gets = 0
	for range 3 {
		all, err := s2.Secrets(ctx)
		if err != nil || len(all) != 50 {
			t.Fatalf("%v %d", err, len(all))
		}
	}
	as, _ := s2.List(ctx)
	if _, err := s2.Generator(ctx, as[0].ID); err != nil {
		t.Fatal(err)
	}
	if kr.gets != 50 {
		t.Fatalf("%d keyring reads for 50 accounts", kr.gets)
	}
	// One code reads exactly one item.
	s3 := open(t, o)
	kr.gets = 0
	if _, err := s3.Generator(ctx, as[7].ID); err != nil || kr.gets != 1 {
		t.Fatalf("one code: %d reads, %v", kr.gets, err)
	}
}

func TestKeyringUnavailable(t *testing.T) {
	ctx := context.Background()
	kr := newMem()
	kr.fail = errDBus
	home := t.TempDir()
	// No backend chosen and the keyring does not answer: one clear sentence.
	_, err := Open(ctx, opts(home, "", kr))
	if !errors.Is(err, ErrKeyringUnavailable) {
		t.Fatalf("open: %v", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "org.freedesktop") || !strings.Contains(msg, "--store file") || !strings.Contains(msg, "LATCHKEY_STORE=file") {
		t.Fatalf("message %q", msg)
	}
	if !errors.Is(err, errDBus) {
		t.Fatal("cause not kept for errors.Is")
	}
	if exists(filepath.Join(home, ConfigFile)) {
		t.Fatal("a failed probe remembered a backend")
	}
	s := open(t, opts(home, Keyring, kr))
	if _, err := s.Add(ctx, Account{Name: "a"}, secret(t), false); !errors.Is(err, ErrKeyringUnavailable) || strings.Contains(err.Error(), "freedesktop") {
		t.Fatalf("add: %v", err)
	}
	if as, _ := s.List(ctx); len(as) != 0 {
		t.Fatal("account stored without its secret")
	}
}

// TestFirstUseFallback is the contract the UIs rely on to offer the file
// store when no keyring answers: opening again with File works, creates
// the vault at the first add with NewPassphrase, and is remembered, so
// later opens never probe the keyring.
func TestFirstUseFallback(t *testing.T) {
	ctx := context.Background()
	kr := newMem()
	kr.fail = errDBus
	home := t.TempDir()
	if _, err := Open(ctx, opts(home, "", kr)); !errors.Is(err, ErrKeyringUnavailable) {
		t.Fatalf("first open: %v", err)
	}
	o := opts(home, File, kr)
	o.Passphrase = func() ([]byte, error) { return nil, errors.New("not for a new vault") }
	o.NewPassphrase = func() ([]byte, error) { return []byte("new"), nil }
	s := open(t, o)
	if _, err := s.Add(ctx, Account{Name: "a"}, secret(t), false); err != nil {
		t.Fatal(err)
	}
	o = opts(home, "", kr)
	o.Passphrase = func() ([]byte, error) { return []byte("new"), nil }
	s = open(t, o)
	if as, err := s.List(ctx); s.Backend() != File || err != nil || len(as) != 1 {
		t.Fatalf("reopened: %s, %d accounts, %v", s.Backend(), len(as), err)
	}
}

func TestRememberedBackend(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	kr := newMem()
	s := open(t, opts(home, File, kr))
	if _, err := s.Add(ctx, Account{Name: "a"}, secret(t), false); err != nil {
		t.Fatal(err)
	}
	if b := open(t, opts(home, "", kr)).Backend(); b != File {
		t.Fatalf("remembered %q", b)
	}
	// An explicit choice wins for this Store without changing the memory.
	if b := open(t, opts(home, Keyring, kr)).Backend(); b != Keyring {
		t.Fatalf("explicit %q", b)
	}
	if b := open(t, opts(home, "", kr)).Backend(); b != File {
		t.Fatalf("remembered after explicit: %q", b)
	}
	// First use with a working keyring picks it.
	if b := open(t, opts(t.TempDir(), "", kr)).Backend(); b != Keyring {
		t.Fatalf("first use: %q", b)
	}
	if _, err := Open(ctx, opts(t.TempDir(), "floppy", kr)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad backend: %v", err)
	}
}

func TestWrongPassphraseLeavesVault(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	o := opts(home, File, nil)
	s := open(t, o)
	if _, err := s.Add(ctx, Account{Name: "a"}, secret(t), false); err != nil {
		t.Fatal(err)
	}
	vault := filepath.Join(home, VaultFile)
	before, _ := os.ReadFile(vault)
	bad := o
	asked := 0
	bad.Passphrase = func() ([]byte, error) { asked++; return []byte("wrong"), nil }
	s2 := open(t, bad)
	for _, op := range []func() error{
		func() error { _, err := s2.List(ctx); return err },
		func() error { _, err := s2.Add(ctx, Account{Name: "b"}, secret(t), false); return err },
		func() error { return s2.Delete(ctx, "0123456789abcdef") },
	} {
		if err := op(); !errors.Is(err, ErrBadPassphrase) {
			t.Fatalf("wrong passphrase: %v", err)
		}
	}
	if asked != 3 {
		t.Fatalf("asked %d times; a wrong passphrase must not be cached", asked)
	}
	after, _ := os.ReadFile(vault)
	if !bytes.Equal(before, after) {
		t.Fatal("the vault changed after wrong passphrases")
	}
	entries, _ := os.ReadDir(home)
	for _, e := range entries {
		if strings.Contains(e.Name(), "corrupt") {
			t.Fatalf("wrong passphrase treated as corruption: %s", e.Name())
		}
	}
	none := o
	none.Passphrase = nil
	if _, err := open(t, none).List(ctx); !errors.Is(err, ErrNoPassphrase) {
		t.Fatalf("no passphrase: %v", err)
	}
}

func TestCorruptKeptAside(t *testing.T) {
	for _, tt := range []struct {
		backend Backend
		file    string
		data    string
	}{
		{Keyring, AccountsFile, `{"version":1,"accounts":[{"id":"zz"`},
		{Keyring, AccountsFile, `{"version":99,"accounts":[]}`},
		{File, VaultFile, "age-encryption.org/v1\n-> scrypt AAAA 2\ngarbage\n"},
		{File, VaultFile, "not age at all"},
	} {
		t.Run(tt.file, func(t *testing.T) {
			ctx := context.Background()
			home := t.TempDir()
			p := filepath.Join(home, tt.file)
			if err := os.WriteFile(p, []byte(tt.data), 0o600); err != nil {
				t.Fatal(err)
			}
			s := open(t, opts(home, tt.backend, newMem()))
			_, err := s.Add(ctx, Account{Name: "a"}, secret(t), false)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("add over corrupt file: %v", err)
			}
			m, _ := filepath.Glob(p + ".corrupt-*")
			if len(m) != 1 {
				t.Fatalf("kept aside: %v", m)
			}
			if kept, _ := os.ReadFile(m[0]); string(kept) != tt.data {
				t.Fatal("the corrupt file was altered")
			}
			if !strings.Contains(err.Error(), filepath.Base(m[0])) {
				t.Fatalf("error does not say where: %v", err)
			}
			// The user can go on; the old file stays aside.
			if _, err := s.Add(ctx, Account{Name: "a"}, secret(t), false); err != nil {
				t.Fatal(err)
			}
			if kept, _ := os.ReadFile(m[0]); string(kept) != tt.data {
				t.Fatal("the kept file was overwritten")
			}
		})
	}
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	kr := newMem()
	o := opts(home, "", kr)
	s := open(t, o)
	want := map[string]otp.Secret{}
	var hotp string
	for _, n := range []string{"a", "b", "c"} {
		a, err := s.Add(ctx, Account{Issuer: "M", Name: n, Type: otp.HOTP, Counter: 3}, secret(t), false)
		if err != nil {
			t.Fatal(err)
		}
		want[a.ID] = s.secrets[a.ID]
		hotp = a.ID
	}
	if _, _, err := s.NextHOTP(ctx, hotp); err != nil {
		t.Fatal(err)
	}
	// A paired account's device key moves with it.
	devKey := bytes.Repeat([]byte{7}, 32)
	pairing := Pairing{Server: "https://id.example", User: "u", Credential: "c", Device: "d"}
	if err := s.SetPairing(ctx, hotp, pairing, devKey); err != nil {
		t.Fatal(err)
	}
	check := func(b Backend) {
		t.Helper()
		s2 := open(t, o)
		if s2.Backend() != b {
			t.Fatalf("backend %s, want %s", s2.Backend(), b)
		}
		got, err := s2.Secrets(ctx)
		if err != nil || len(got) != 3 {
			t.Fatalf("%v %d", err, len(got))
		}
		for id, sec := range want {
			if !bytes.Equal(got[id], sec) {
				t.Fatalf("secret of %s lost", id)
			}
		}
		a, _ := s2.Get(ctx, hotp)
		if a.Counter != 4 {
			t.Fatalf("counter %d after migration", a.Counter)
		}
		if a.Pairing == nil || *a.Pairing != pairing {
			t.Fatalf("pairing %+v after migration", a.Pairing)
		}
		if k, err := s2.DeviceKey(ctx, hotp); err != nil || !bytes.Equal(k, devKey) {
			t.Fatalf("device key after migration: %v %x", err, k)
		}
	}
	if err := s.Migrate(ctx, File, nil); err != nil {
		t.Fatal(err)
	}
	check(File)
	if kr.len() != 0 || exists(filepath.Join(home, AccountsFile)) {
		t.Fatal("keyring source left behind")
	}
	if err := s.Migrate(ctx, File, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("migrate to the same: %v", err)
	}
	// A keyring that fails half way: nothing moves, the vault stays.
	kr.failSet = kr.sets + 2
	if err := open(t, o).Migrate(ctx, Keyring, nil); !errors.Is(err, ErrKeyringUnavailable) {
		t.Fatalf("failing migrate: %v", err)
	}
	if kr.len() != 0 {
		t.Fatal("a failed migration left keyring items")
	}
	check(File)
	if err := open(t, o).Migrate(ctx, Keyring, nil); err != nil {
		t.Fatal(err)
	}
	check(Keyring)
	if exists(filepath.Join(home, VaultFile)) || kr.len() != 4 { // 3 secrets, 1 device key
		t.Fatal("vault source left behind")
	}
}

// TestNoSecretOnDisk greps every file under the home folder for the
// secrets: none in the keyring backend, only age ciphertext in the file
// backend.
func TestNoSecretOnDisk(t *testing.T) {
	forBoth(t, func(t *testing.T, o Options, kr *memKeyring) {
		ctx := context.Background()
		s := open(t, o)
		var secs []otp.Secret
		for _, n := range []string{"a", "b", "c"} {
			sec := secret(t)
			secs = append(secs, sec)
			if _, err := s.Add(ctx, Account{Issuer: "Grep", Name: n}, sec, false); err != nil {
				t.Fatal(err)
			}
		}
		grepHome(t, o.Home, o.Backend, secs)
	})
}

func grepHome(t *testing.T, home string, b Backend, secs []otp.Secret) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(home, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		for _, sec := range secs {
			for _, form := range [][]byte{sec, []byte(sec.Base32()), []byte(strings.ToLower(sec.Base32()))} {
				if bytes.Contains(data, form) {
					t.Errorf("%s holds a secret", filepath.Base(p))
				}
			}
		}
		switch filepath.Base(p) {
		case VaultFile:
			if b != File || !bytes.HasPrefix(data, []byte("age-encryption.org/v1\n-> scrypt ")) {
				t.Errorf("%s is not an age scrypt file", p)
			}
		case AccountsFile:
			if b != Keyring || bytes.Contains(data, []byte("secret")) {
				t.Errorf("accounts.json in the %s backend: %s", b, data)
			}
		case ConfigFile, LockFile, GenerationFile:
		default:
			t.Errorf("unexpected file %s", filepath.Base(p))
		}
		return nil
	})
	if err != nil || n < 2 {
		t.Fatalf("walk: %v (%d files)", err, n)
	}
}

func TestSecretCopies(t *testing.T) {
	forBoth(t, func(t *testing.T, o Options, kr *memKeyring) {
		ctx := context.Background()
		s := open(t, o)
		want := secret(t)
		a, err := s.Add(ctx, Account{Name: "w"}, want, false)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			got, err := s.Secret(ctx, a.ID)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("secret changed: %v", err)
			}
			got.Wipe() // the caller's copy only
			all, err := s.Secrets(ctx)
			if err != nil || !bytes.Equal(all[a.ID], want) {
				t.Fatalf("secrets changed: %v", err)
			}
			all[a.ID].Wipe()
		}
	})
}

// TestDecodeAccountsRefuses: accounts.json that encoding/json would
// bend (a float digit count, trailing garbage, a negative counter) is
// refused, not guessed at.
func TestDecodeAccountsRefuses(t *testing.T) {
	for _, c := range []string{`{"version":1,"accounts":[{"id":"ab","digits":6.0}]}`, `{"version":1,"accounts":[]} x`, `{"version":1,"accounts":[{"id":"ab","counter":-1}]}`, `{"version":2,"accounts":[]}`} {
		if _, err := decodeAccounts([]byte(c)); err == nil {
			t.Errorf("%q accepted", c)
		}
	}
}

// TestOpenTightensHome: a home folder other users can read is tightened
// to 0700 when it is ours, and Open says so.
func TestOpenTightensHome(t *testing.T) {
	home := t.TempDir()
	// An empty folder exposed nothing yet: tightened without a warning.
	if err := os.Chmod(home, 0o755); err != nil {
		t.Fatal(err)
	}
	if w := open(t, opts(home, File, nil)).Warnings(); len(w) != 0 {
		t.Fatalf("warnings for an empty folder: %q", w)
	}
	if fi, _ := os.Stat(home); fi.Mode().Perm() != 0o700 {
		t.Fatalf("an empty folder was left %v", fi.Mode().Perm())
	}
	// One that holds Latchkey's files is tightened, and Open says so.
	// The desktop app's settings are Latchkey's too.
	if err := os.WriteFile(filepath.Join(home, DesktopFile), []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(home, 0o755); err != nil {
		t.Fatal(err)
	}
	s := open(t, opts(home, File, nil))
	fi, err := os.Stat(home)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("home is %v (%v)", fi.Mode().Perm(), err)
	}
	if w := s.Warnings(); len(w) != 1 || !strings.Contains(w[0], "now 0700") {
		t.Fatalf("warnings %q", w)
	}
	if w := open(t, opts(home, File, nil)).Warnings(); len(w) != 0 {
		t.Fatalf("warnings on a tight home: %q", w)
	}
	// A folder with other files in it is not Latchkey's to change.
	shared := t.TempDir()
	os.WriteFile(filepath.Join(shared, "notes.txt"), nil, 0o644)
	os.Chmod(shared, 0o755)
	if w := open(t, opts(shared, File, nil)).Warnings(); len(w) != 1 || !strings.Contains(w[0], "open to other users") {
		t.Fatalf("warnings %q", w)
	}
	if fi, _ := os.Stat(shared); fi.Mode().Perm() != 0o755 {
		t.Fatalf("a shared folder was changed to %v", fi.Mode().Perm())
	}
}

// TestDeleteWipesEveryCopy: after Delete, neither the cache of fetched
// secrets nor the file store's vault copy holds the secret's bytes.
func TestDeleteWipesEveryCopy(t *testing.T) {
	forBoth(t, func(t *testing.T, o Options, kr *memKeyring) {
		ctx := context.Background()
		s := open(t, o)
		a, err := s.Add(ctx, Account{Name: "gone"}, secret(t), false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Secret(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		s.mu.Lock()
		copies := []otp.Secret{s.secrets[a.ID]}
		if s.cache != nil && s.cache.secrets != nil {
			copies = append(copies, s.cache.secrets[a.ID])
		}
		s.mu.Unlock()
		if err := s.Delete(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		for i, c := range copies {
			if len(c) == 0 {
				t.Fatalf("copy %d was never there", i)
			}
			if strings.Trim(string(c), "\x00") != "" {
				t.Errorf("copy %d still holds the secret", i)
			}
		}
	})
}

// TestRollbackDetected: putting an older copy of the store's file back
// (HOTP counters rewound) is noticed: HOTP codes are refused with
// ErrRolledBack, everything else goes on, other writes do not make it
// look new, and AcceptRollback takes it as it is.
func TestRollbackDetected(t *testing.T) {
	forBoth(t, func(t *testing.T, o Options, kr *memKeyring) {
		ctx := context.Background()
		s := open(t, o)
		a, err := s.Add(ctx, Account{Name: "counter", Type: otp.HOTP}, secret(t), false)
		if err != nil {
			t.Fatal(err)
		}
		name := AccountsFile
		if o.Backend == File {
			name = VaultFile
		}
		p := filepath.Join(o.Home, name)
		old, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		first, _, err := s.NextHOTP(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.NextHOTP(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, old, 0o600); err != nil { // the counter is back at 0
			t.Fatal(err)
		}
		s2 := open(t, o)
		if _, _, err := s2.NextHOTP(ctx, a.ID); !errors.Is(err, ErrRolledBack) || !strings.Contains(err.Error(), "accept-rollback") {
			t.Fatalf("NextHOTP on a rolled-back store: %v", err)
		}
		if as, err := s2.List(ctx); err != nil || len(as) != 1 {
			t.Fatalf("List: %v %v", as, err)
		}
		for i := range 3 { // writes go on, and do not make the old file look new
			if _, err := s2.Add(ctx, Account{Name: fmt.Sprintf("more %d", i)}, secret(t), false); err != nil {
				t.Fatal(err)
			}
		}
		s3 := open(t, o)
		if _, _, err := s3.NextHOTP(ctx, a.ID); !errors.Is(err, ErrRolledBack) {
			t.Fatalf("after other writes: %v", err)
		}
		if err := s3.AcceptRollback(); err != nil {
			t.Fatal(err)
		}
		code, _, err := s3.NextHOTP(ctx, a.ID)
		if err != nil || code != first {
			t.Fatalf("after accepting: %q %v, want the rewound counter's %q", code, err, first)
		}
		if _, _, err := open(t, o).NextHOTP(ctx, a.ID); err != nil {
			t.Fatalf("a later process: %v", err)
		}
	})
}

// TestOrphans: a keyring item no account names (a crash between secret
// and metadata, an account removed outside Latchkey) is found, and can be
// given an account again or removed; accounts' own items never are.
func TestOrphans(t *testing.T) {
	ctx := context.Background()
	kr := newMem()
	s := open(t, opts(t.TempDir(), Keyring, kr))
	a, err := s.Add(ctx, Account{Issuer: "Kept", Name: "a"}, secret(t), false)
	if err != nil {
		t.Fatal(err)
	}
	lost := secret(t)
	kr.Set(Service, "00000000000000ff", lost.Base32())
	kr.Set(Service, "latchkey-probe", "x") // not an account id: never offered
	got, err := s.Orphans(ctx)
	if err != nil || !slices.Equal(got, []string{"00000000000000ff"}) {
		t.Fatalf("orphans %v %v", got, err)
	}
	if err := s.RemoveOrphan(ctx, a.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removing an account's own item: %v", err)
	}
	r, err := s.Reattach(ctx, "00000000000000ff", Account{Issuer: "Recovered", Name: "ff"})
	if err != nil || r.ID != "00000000000000ff" {
		t.Fatalf("reattach: %+v %v", r, err)
	}
	if sec, err := open(t, opts(s.Home(), Keyring, kr)).Secret(ctx, r.ID); err != nil || string(sec) != string(lost) {
		t.Fatalf("the reattached account's secret: %v", err)
	}
	kr.Set(Service, "00000000000000ee", lost.Base32())
	if err := s.RemoveOrphan(ctx, "00000000000000ee"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Orphans(ctx); len(got) != 0 || kr.len() != 2 {
		t.Fatalf("after: orphans %v, %d items", got, kr.len())
	}
	if _, err := open(t, opts(t.TempDir(), File, nil)).Orphans(ctx); !errors.Is(err, ErrInvalid) {
		t.Fatalf("orphans of a file store: %v", err)
	}
}

// TestRollbackKeyringCopy: on the keyring backend, putting back both
// accounts.json and generation.json from an older copy is still noticed,
// through the keyring's copy of the highest generation.
func TestRollbackKeyringCopy(t *testing.T) {
	ctx := context.Background()
	kr := newMem()
	o := opts(t.TempDir(), Keyring, kr)
	s := open(t, o)
	a, err := s.Add(ctx, Account{Name: "counter", Type: otp.HOTP}, secret(t), false)
	if err != nil {
		t.Fatal(err)
	}
	var saved [2][]byte
	for i, n := range []string{AccountsFile, GenerationFile} {
		if saved[i], err = os.ReadFile(filepath.Join(o.Home, n)); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if _, _, err := s.NextHOTP(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
	}
	for i, n := range []string{AccountsFile, GenerationFile} {
		if err := os.WriteFile(filepath.Join(o.Home, n), saved[i], 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s2 := open(t, o)
	if _, _, err := s2.NextHOTP(ctx, a.ID); !errors.Is(err, ErrRolledBack) {
		t.Fatalf("both files put back: %v", err)
	}
	if err := s2.AcceptRollback(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := open(t, o).NextHOTP(ctx, a.ID); err != nil {
		t.Fatalf("after accepting: %v", err)
	}
}

// TestRollbackTwoHomesOneKeyring: two homes on one keyring keep their own
// generations; one's writes never make the other look rolled back.
func TestRollbackTwoHomesOneKeyring(t *testing.T) {
	ctx := context.Background()
	kr := newMem()
	a := open(t, opts(t.TempDir(), Keyring, kr))
	b := open(t, opts(t.TempDir(), Keyring, kr))
	h, err := b.Add(ctx, Account{Name: "counter", Type: otp.HOTP}, secret(t), false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := a.Add(ctx, Account{Name: fmt.Sprint(i)}, secret(t), false); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := open(t, opts(b.Home(), Keyring, kr)).NextHOTP(ctx, h.ID); err != nil {
		t.Fatalf("the other home's writes made this one look rolled back: %v", err)
	}
}
