package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"latchkey/core/otp"
	"latchkey/core/store"
)

// Client talks to an agent over one connection. It has the account
// methods of *store.Store that Latchkey's faces use, with the same errors
// (errors.Is matches core/store's sentinels), plus Status, Unlock and
// Lock. Its methods are safe for concurrent use; calls go one at a time.
type Client struct {
	mu   sync.Mutex
	conn net.Conn
	enc  *json.Encoder
	dec  *json.Decoder
}

// Dial connects to the agent at path (SocketPath). No agent there is
// ErrNoAgent, at once.
func Dial(ctx context.Context, path string) (*Client, error) {
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNoAgent, err)
	}
	return &Client{conn: c, enc: json.NewEncoder(c), dec: json.NewDecoder(c)}, nil
}

// Close ends the connection; the agent stays as it is.
func (c *Client) Close() error { return c.conn.Close() }

// call sends one request and reads its answer; ctx's deadline and
// cancellation end a call that waits too long.
func (c *Client) call(ctx context.Context, req *Request) (*Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := ctx.Deadline(); ok {
		c.conn.SetDeadline(d)
		defer c.conn.SetDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Now()) })
	defer stop()
	werr := c.enc.Encode(req)
	var resp Response
	if err := c.dec.Decode(&resp); err != nil {
		if werr != nil {
			err = werr
		}
		return nil, c.lost(ctx, err)
	}
	// An agent that refuses a connection answers before it reads and
	// closes: the write may have failed, but the answer says why.
	return &resp, resp.err()
}

func (c *Client) lost(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("agent: no answer: %w", err)
}

// Status tells whether the agent is locked, and its process id.
func (c *Client) Status(ctx context.Context) (Status, error) {
	r, err := c.call(ctx, &Request{Op: "status"})
	if err != nil {
		return Status{}, err
	}
	if r.Status == nil {
		return Status{}, errors.New("agent: empty status")
	}
	return *r.Status, nil
}

// Unlock opens the vault in the agent with the passphrase; a wrong one is
// store.ErrBadPassphrase. An agent already unlocked stays so.
func (c *Client) Unlock(ctx context.Context, passphrase []byte) error {
	_, err := c.call(ctx, &Request{Op: "unlock", Passphrase: passphrase})
	return err
}

// Lock makes the agent forget the vault's secrets and passphrase.
func (c *Client) Lock(ctx context.Context) error {
	_, err := c.call(ctx, &Request{Op: "lock"})
	return err
}

// List is store.Store.List.
func (c *Client) List(ctx context.Context) ([]store.Account, error) {
	r, err := c.call(ctx, &Request{Op: "list"})
	if err != nil {
		return nil, err
	}
	return orEmpty(r.Accounts), nil
}

// Find is store.Store.Find.
func (c *Client) Find(ctx context.Context, query string) ([]store.Account, error) {
	r, err := c.call(ctx, &Request{Op: "find", Query: query})
	if err != nil {
		return nil, err
	}
	return orEmpty(r.Accounts), nil
}

func orEmpty(as []store.Account) []store.Account {
	if as == nil {
		return []store.Account{}
	}
	return as
}

// Get is store.Store.Get.
func (c *Client) Get(ctx context.Context, id string) (store.Account, error) {
	r, err := c.call(ctx, &Request{Op: "get", ID: id})
	if err != nil {
		return store.Account{}, err
	}
	return *r.Account, nil
}

// Secret is store.Store.Secret.
func (c *Client) Secret(ctx context.Context, id string) (otp.Secret, error) {
	r, err := c.call(ctx, &Request{Op: "secret", ID: id})
	if err != nil {
		return nil, err
	}
	return otp.Secret(r.Secret), nil
}

// DeviceKey is store.Store.DeviceKey: a paired account's device key.
func (c *Client) DeviceKey(ctx context.Context, id string) ([]byte, error) {
	r, err := c.call(ctx, &Request{Op: "devicekey", ID: id})
	if err != nil {
		return nil, err
	}
	return r.Secret, nil
}

// Secrets is store.Store.Secrets, with its *store.MissingError when some
// secrets are gone.
func (c *Client) Secrets(ctx context.Context) (map[string]otp.Secret, error) {
	r, err := c.call(ctx, &Request{Op: "secrets"})
	if err != nil {
		return nil, err
	}
	out := make(map[string]otp.Secret, len(r.Secrets))
	for id, sec := range r.Secrets {
		out[id] = sec
	}
	if len(r.Missing) > 0 {
		return out, &store.MissingError{IDs: r.Missing}
	}
	return out, nil
}

// Generator is store.Store.Generator: the account and its secret come
// from the agent, the code is computed here.
func (c *Client) Generator(ctx context.Context, id string) (*otp.Generator, error) {
	a, err := c.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	sec, err := c.Secret(ctx, id)
	if err != nil {
		return nil, err
	}
	defer sec.Wipe()
	g, err := otp.NewGenerator(sec, a.Options())
	if err != nil {
		return nil, fmt.Errorf("store: generator %q: %w", id, err)
	}
	return g, nil
}

// Add is store.Store.Add.
func (c *Client) Add(ctx context.Context, a store.Account, secret otp.Secret, force bool) (store.Account, error) {
	r, err := c.call(ctx, &Request{Op: "add", Account: &a, Secret: secret, Force: force})
	if err != nil {
		return store.Account{}, err
	}
	return *r.Account, nil
}

// AddMany is store.Store.AddMany.
func (c *Client) AddMany(ctx context.Context, items []store.NewAccount) ([]store.Account, error) {
	req := &Request{Op: "addmany", Items: make([]Item, len(items))}
	for i, it := range items {
		req.Items[i] = Item{Account: it.Account, Secret: it.Secret}
	}
	r, err := c.call(ctx, req)
	if err != nil {
		return nil, err
	}
	return r.Accounts, nil
}

// NextHOTP is store.Store.NextHOTP: the agent persists the counter before
// it answers with the code.
func (c *Client) NextHOTP(ctx context.Context, id string) (string, store.Account, error) {
	r, err := c.call(ctx, &Request{Op: "nexthotp", ID: id})
	if err != nil {
		return "", store.Account{}, err
	}
	return r.Code, *r.Account, nil
}

// Update is store.Store.Update. fn runs here, on the account as read; the
// agent stores the result only if the account did not change meanwhile,
// else Update reads it again and runs fn again.
func (c *Client) Update(ctx context.Context, id string, fn func(*store.Account) error) (store.Account, error) {
	for try := 0; ; try++ {
		old, err := c.Get(ctx, id)
		if err != nil {
			return store.Account{}, err
		}
		a := old
		a.Tags = slices.Clone(old.Tags)
		if err := fn(&a); err != nil {
			return store.Account{}, fmt.Errorf("store: update %q: %w", id, err)
		}
		r, err := c.call(ctx, &Request{Op: "update", ID: id, Old: &old, Account: &a})
		if errors.Is(err, errConflict) && try < 20 {
			continue
		}
		if err != nil {
			return store.Account{}, err
		}
		return *r.Account, nil
	}
}

// Move is store.Store.Move.
func (c *Client) Move(ctx context.Context, id string, delta int) error {
	_, err := c.call(ctx, &Request{Op: "move", ID: id, Delta: delta})
	return err
}

// Delete is store.Store.Delete.
func (c *Client) Delete(ctx context.Context, id string) error {
	_, err := c.call(ctx, &Request{Op: "delete", ID: id})
	return err
}

// Backend is store.File: an agent serves the file store's vault.
func (c *Client) Backend() store.Backend { return store.File }

// SetPairing is store.Store.SetPairing: the account's pairing and its
// device key.
func (c *Client) SetPairing(ctx context.Context, id string, p store.Pairing, key []byte) error {
	_, err := c.call(ctx, &Request{Op: "setpairing", ID: id, Pairing: &p, Secret: key})
	return err
}

// Unpair is store.Store.Unpair.
func (c *Client) Unpair(ctx context.Context, id string) error {
	_, err := c.call(ctx, &Request{Op: "unpair", ID: id})
	return err
}

// Migrate has the agent move its vault's accounts to the keyring
// (store.Store.Migrate) and lock; to must be store.Keyring.
func (c *Client) Migrate(ctx context.Context, to store.Backend) error {
	_, err := c.call(ctx, &Request{Op: "migrate", Backend: to})
	return err
}
