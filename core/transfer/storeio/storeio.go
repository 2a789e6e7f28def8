// Package storeio moves transfer entries into and out of the account
// store: Import adds parsed entries in one all-or-nothing step, skipping
// exact duplicates and renaming name clashes; Export reads every account
// with its secret for a writer. Entries from a Latchkey backup carry
// their id, order and creation time, and Import keeps them (unless the
// id is already stored), so that a restore gives back the same store. The CLI and the desktop app share it, so
// both import the same way.
package storeio

import (
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"

	lbl "latchkey/core/label"
	"latchkey/core/otp"
	"latchkey/core/otpauth"
	"latchkey/core/store"
	"latchkey/core/transfer"
)

// Store is the part of *store.Store that Import and Export use.
type Store interface {
	List(ctx context.Context) ([]store.Account, error)
	Secret(ctx context.Context, id string) (otp.Secret, error)
	Secrets(ctx context.Context) (map[string]otp.Secret, error)
	AddMany(ctx context.Context, items []store.NewAccount) ([]store.Account, error)
}

// Summary is what an import did.
type Summary struct {
	Added       []store.Account    // stored, in order
	Skipped     []string           // labels already present with the same secret
	Renamed     []Renamed          // name clashes stored under a new name
	Unsupported []transfer.Skipped // entries Latchkey cannot use
	// Cleaned are entries whose issuer, name or tags held characters a
	// terminal would act on (control, format, separator characters),
	// stored without them. From is escaped (label.Line), safe to print.
	Cleaned []Renamed
}

// Renamed is an entry stored under another name because its issuer and
// name were taken by an account with another secret.
type Renamed struct{ From, To string }

// Plan works out what Import would add without writing anything.
func Plan(ctx context.Context, s Store, entries []transfer.Entry) ([]store.NewAccount, Summary, error) {
	var sum Summary
	existing, err := s.List(ctx)
	if err != nil {
		return nil, sum, err
	}
	// Backups carry the order; other formats leave it 0, so the stable
	// sort keeps their file order.
	entries = slices.Clone(entries)
	slices.SortStableFunc(entries, func(a, b transfer.Entry) int { return cmp.Compare(a.Order, b.Order) })

	type taken struct {
		issuer, name string
		secret       func() (otp.Secret, error)
	}
	// used indexes the taken issuer and name pairs, folded as the store
	// compares them (case-insensitively).
	used := map[string][]taken{}
	fold := func(issuer, name string) string { return strings.ToLower(issuer) + "\x00" + strings.ToLower(name) }
	add := func(u taken) { k := fold(u.issuer, u.name); used[k] = append(used[k], u) }
	ids := make(map[string]bool, len(existing)+len(entries))
	for _, a := range existing {
		id := a.ID
		ids[id] = true
		add(taken{a.Issuer, a.Name, func() (otp.Secret, error) { return s.Secret(ctx, id) }})
	}
	clash := func(issuer, name string) []taken {
		var out []taken
		for _, u := range used[fold(issuer, name)] {
			if strings.EqualFold(u.issuer, issuer) && strings.EqualFold(u.name, name) {
				out = append(out, u)
			}
		}
		return out
	}
	suffix := map[string]int{} // the next " (n)" to try per issuer and name
	var items []store.NewAccount
	for i := range entries {
		e := &entries[i]
		if e.Unsupported != "" {
			sum.Unsupported = append(sum.Unsupported, transfer.Skipped{Label: e.Label(), Reason: e.Unsupported})
			continue
		}
		k := &e.Key
		issuer, c1 := lbl.Clean(k.Issuer)
		name, c2 := lbl.Clean(k.Account)
		tags, c3 := cleanTags(e.Tags)
		if c1 || c2 || c3 {
			sum.Cleaned = append(sum.Cleaned, Renamed{From: lbl.Line(e.Label()), To: label(issuer, name)})
		}
		if issuer == "" && name == "" {
			return nil, sum, fmt.Errorf("entry %d: the account has neither an issuer nor a name", i+1)
		}
		dup := false
		for _, u := range clash(issuer, name) {
			sec, err := u.secret()
			if err != nil {
				return nil, sum, err
			}
			if subtle.ConstantTimeCompare(sec, k.Secret) == 1 {
				dup = true
				break
			}
		}
		if dup {
			sum.Skipped = append(sum.Skipped, e.Label())
			continue
		}
		newName := name
		if len(clash(issuer, name)) > 0 {
			// Start after the last suffix used for this name, so that many
			// clashes cost linear time.
			base := fold(issuer, name)
			n := max(suffix[base], 2)
			for newName = fmt.Sprintf("%s (%d)", name, n); len(clash(issuer, newName)) > 0; n++ {
				newName = fmt.Sprintf("%s (%d)", name, n+1)
			}
			suffix[base] = n + 1
		}
		if newName != name {
			sum.Renamed = append(sum.Renamed, Renamed{From: label(issuer, name), To: label(issuer, newName)})
		}
		sec := k.Secret
		add(taken{issuer, newName, func() (otp.Secret, error) { return sec, nil }})
		a := store.Account{
			Issuer: issuer, Name: newName, Type: k.Type, Algorithm: k.Algorithm,
			Digits: k.Digits, Period: k.Period, Counter: k.Counter, Tags: tags,
		}
		if e.ID != "" && !ids[e.ID] {
			// A backup's account comes back as it was; one whose id is
			// stored already is a copy and gets a new id and place.
			ids[e.ID] = true
			a.ID, a.Order, a.Created = e.ID, e.Order, e.Created
		}
		items = append(items, store.NewAccount{Account: a, Secret: sec})
	}
	return items, sum, nil
}

// cleanTags cleans each tag as the store will, and says whether any
// changed.
func cleanTags(tags []string) ([]string, bool) {
	if tags == nil {
		return nil, false
	}
	out := make([]string, 0, len(tags))
	changed := false
	for _, t := range tags {
		c, ch := lbl.Clean(t)
		changed = changed || ch
		if c != "" {
			out = append(out, c)
		}
	}
	return out, changed
}

// Import adds entries to s in one step: all of them or, on any error,
// none. Accounts already stored with the same issuer, name and secret are
// skipped; a taken issuer and name with another secret gets " (2)" (or
// the next free number) after the name.
func Import(ctx context.Context, s Store, entries []transfer.Entry) (Summary, error) {
	items, sum, err := Plan(ctx, s, entries)
	if err != nil {
		return Summary{}, err
	}
	if len(items) == 0 {
		return sum, nil
	}
	added, err := s.AddMany(ctx, items)
	if err != nil {
		if errors.Is(err, store.ErrDuplicate) || errors.Is(err, store.ErrIDTaken) {
			// Another process added one of them meanwhile.
			return Summary{}, fmt.Errorf("%w (another program changed the accounts during the import; nothing was added, try again)", err)
		}
		return Summary{}, err
	}
	sum.Added = added
	return sum, nil
}

// Export returns every stored account with its secret, in list order, as
// entries for a transfer writer. When some accounts' keyring items are
// gone, it returns the others with the *store.MissingError naming those.
func Export(ctx context.Context, s Store) ([]transfer.Entry, error) {
	as, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	secrets, err := s.Secrets(ctx)
	var missing *store.MissingError
	if err != nil && !errors.As(err, &missing) {
		return nil, err
	}
	out := make([]transfer.Entry, 0, len(as))
	for _, a := range as {
		sec, ok := secrets[a.ID]
		if !ok {
			if missing != nil && slices.Contains(missing.IDs, a.ID) {
				continue
			}
			return nil, fmt.Errorf("the secret of %s is missing from the store", a.Label())
		}
		out = append(out, transfer.Entry{
			ID: a.ID,
			Key: otpauth.Key{
				Type: a.Type, Issuer: a.Issuer, Account: a.Name, Secret: sec, Algorithm: a.Algorithm,
				Digits: a.Digits, Period: a.Period, Counter: a.Counter,
			},
			Tags:    slices.Clone(a.Tags),
			Order:   a.Order,
			Created: a.Created,
		})
	}
	if missing != nil {
		return out, missing
	}
	return out, nil
}

func label(issuer, name string) string {
	if issuer == "" {
		return name
	}
	return issuer + ":" + name
}
