package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"latchkey/core/otp"
	"latchkey/core/store"
)

// arenaLimit bounds the locked memory of one unlocked vault: four times
// the largest vault core/store reads.
const arenaLimit = 64 << 20

// renewAt is the arena size past which the agent moves an unlocked vault
// to fresh memory (see renew): half the limit, or twice what the vault
// took when it was opened, whichever is more.
func renewAt(base int) int { return max(arenaLimit/2, 2*base) }

// DefaultTimeout is how long an unlocked agent waits for a request before
// it locks itself.
const DefaultTimeout = 15 * time.Minute

// Options configure a Server. The zero value of each field is its
// default.
type Options struct {
	// Home is the store's folder (the one holding vault.age).
	Home string
	// Timeout locks the agent after this long without a request;
	// DefaultTimeout when 0.
	Timeout time.Duration
	// Logger receives what the agent does (never a secret, a code or a
	// passphrase); slog.Default() when nil.
	Logger *slog.Logger
	// WorkFactor is the scrypt work factor of the vault the agent writes
	// (core/store's Options); 0 keeps age's default. Tests lower it.
	WorkFactor int
}

// Server holds at most one unlocked store and answers clients.
type Server struct {
	opts Options
	log  *slog.Logger
	// mu is held for reading by each request that uses st, and for
	// writing by unlock and lock, so that a store is never wiped under a
	// request.
	mu       sync.RWMutex
	v        *openVault // nil when locked
	unlocked atomic.Bool
	last     atomic.Int64 // unix nanoseconds of the last request
}

// openVault is an unlocked vault: its store and the locked memory it lives
// in.
type openVault struct {
	st    *store.Store
	pass  []byte // the passphrase, in locked memory the store clears on Close
	free  func() // wipes and releases pass's memory
	arena *arena // the vault's plaintext, secrets and device keys
	base  int    // the arena's size once the vault was read
	stuck bool   // a renewal failed: no other is tried
}

// close wipes what the store holds, then its memory goes.
func (v *openVault) close() {
	v.st.Close()
	v.free()
	v.arena.free()
}

// New returns a locked server.
func New(opts Options) *Server {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Server{opts: opts, log: log}
	s.last.Store(time.Now().UnixNano())
	return s
}

// Serve answers connections on ln until ctx is done, the socket is
// removed or replaced (another agent took over), or the home folder is
// gone; then it locks, closes ln and returns.
func (s *Server) Serve(ctx context.Context, ln *net.UnixListener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	path := ln.Addr().String()
	mine, err := os.Stat(path)
	if err != nil {
		return err
	}
	s.log.Info("agent started", "socket", path, "pid", os.Getpid(), "timeout", s.opts.Timeout.String())
	go s.watch(ctx, cancel, path, mine)
	go watchSessionLock(ctx, s.log, func() { s.Lock("session locked") })
	go func() { <-ctx.Done(); ln.Close() }()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer s.Lock("stopped")
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil {
				s.log.Info("agent stopped")
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveConn(ctx, c)
		}()
	}
}

// watch locks the agent after the idle timeout, and stops it when its
// socket or home is gone.
func (s *Server) watch(ctx context.Context, stop func(), path string, mine os.FileInfo) {
	tick := min(max(s.opts.Timeout/10, 10*time.Millisecond), time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	lastCheck := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if s.unlocked.Load() && now.Sub(time.Unix(0, s.last.Load())) >= s.opts.Timeout {
				s.Lock("idle timeout")
			}
			if now.Sub(lastCheck) < 2*time.Second {
				continue
			}
			lastCheck = now
			fi, err := os.Stat(path)
			if err != nil || !os.SameFile(fi, mine) {
				s.log.Info("socket removed or replaced; stopping")
				stop()
				return
			}
			if _, err := os.Stat(s.opts.Home); err != nil {
				s.log.Info("home folder gone; stopping")
				stop()
				return
			}
		}
	}
}

// Lock forgets the unlocked store: its secrets and the passphrase are
// wiped. Reason goes to the log.
func (s *Server) Lock(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.v == nil {
		return
	}
	s.v.close()
	s.v = nil
	s.unlocked.Store(false)
	s.log.Info("locked", "reason", reason)
}

// unlock opens the vault with pass, kept in locked memory for the writes
// to come. An agent already unlocked stays as it is.
func (s *Server) unlock(ctx context.Context, pass []byte) error {
	if len(pass) == 0 {
		return store.ErrNoPassphrase
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.v != nil {
		return nil
	}
	v, inRAM, err := s.open(ctx, pass)
	if err != nil {
		return err
	}
	s.v = v
	s.unlocked.Store(true)
	_, allRAM, refused := v.arena.stats()
	s.log.Info("unlocked", "mlocked", inRAM && allRAM, "vault_bytes_mapped", v.base, "heap_fallback", refused)
	return nil
}

// open reads the vault with pass, copied to locked memory for the writes
// to come, into an arena of its own.
func (s *Server) open(ctx context.Context, pass []byte) (*openVault, bool, error) {
	buf, inRAM, free, err := lockedBytes(len(pass))
	if err != nil {
		return nil, false, err
	}
	copy(buf, pass)
	// core/store keeps the slice the callback returns and clears it on
	// Close, so the passphrase never leaves the locked pages.
	give := func() ([]byte, error) { return buf, nil }
	ar := newArena(arenaLimit)
	st, err := store.Open(ctx, store.Options{Home: s.opts.Home, Backend: store.File, Passphrase: give, NewPassphrase: give,
		WorkFactor: s.opts.WorkFactor, Memory: ar.alloc})
	if err == nil {
		_, err = st.List(ctx) // decrypts the vault: checks the passphrase
		if err != nil {
			st.Close()
		}
	}
	if err != nil {
		free()
		ar.free()
		return nil, false, err
	}
	size, _, _ := ar.stats()
	return &openVault{st: st, pass: buf, free: free, arena: ar, base: size}, inRAM, nil
}

// renew moves the unlocked vault to fresh locked memory once its arena
// is past renewAt. The store reads the vault again whenever another
// process rewrote it, each time into new bytes of the arena, which gives
// nothing back before it is freed; an agent that stays unlocked beside a
// vault written elsewhere would otherwise fill it, and keep what it reads
// after that on the heap. The vault is opened anew, then the old store
// and its memory are wiped and released.
func (s *Server) renew(ctx context.Context) {
	s.mu.RLock()
	v := s.v
	full := v != nil && !v.stuck
	if full {
		size, _, _ := v.arena.stats()
		full = size >= renewAt(v.base)
	}
	s.mu.RUnlock()
	if !full {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.v != v { // locked, or renewed, meanwhile
		return
	}
	old, _, _ := v.arena.stats()
	nv, _, err := s.open(ctx, v.pass)
	if err != nil {
		v.stuck = true
		s.log.Warn("could not move the vault to fresh memory; it stays where it is until the agent locks", "err", err)
		return
	}
	v.close()
	s.v = nv
	s.log.Info("vault memory renewed", "vault_bytes_mapped", nv.base, "released", old)
}

// migrate moves the unlocked vault's accounts to the keyring
// (store.Store.Migrate, with the vault's passphrase and secrets it
// holds), then locks: there is no vault left to serve.
func (s *Server) migrate(ctx context.Context, to store.Backend) error {
	if to != store.Keyring {
		return fmt.Errorf("agent: migrate: %w: the agent moves its vault to the keyring only", store.ErrInvalid)
	}
	s.mu.Lock()
	if s.v == nil {
		s.mu.Unlock()
		return ErrLocked
	}
	st := s.v.st
	err := st.Migrate(ctx, to, nil)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.Lock("the vault moved to the keyring")
	return nil
}

func (s *Server) serveConn(ctx context.Context, c *net.UnixConn) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	enc := json.NewEncoder(c)
	if uid, err := peerUID(c); err != nil || uid != os.Getuid() {
		s.log.Warn("refused a connection from another user", "uid", uid, "err", err)
		enc.Encode(Response{Error: ErrRefused.Error(), Kind: "refused"})
		return
	}
	dec := json.NewDecoder(c)
	for {
		var req Request
		if err := dec.Decode(&req); err != nil {
			if !errors.Is(err, io.EOF) && ctx.Err() == nil {
				s.log.Debug("connection ended", "err", err)
			}
			return
		}
		if req.Op != "status" { // asking whether it is locked is no use of it
			s.last.Store(time.Now().UnixNano())
		}
		resp := s.do(ctx, &req)
		clear(req.Passphrase)
		clear(req.Secret)
		for _, it := range req.Items {
			clear(it.Secret)
		}
		err := enc.Encode(resp)
		clear(resp.Secret)
		for _, sec := range resp.Secrets {
			clear(sec)
		}
		if err != nil {
			return
		}
	}
}

// do answers one request. Only the operation and the account id are
// logged.
func (s *Server) do(ctx context.Context, req *Request) *Response {
	s.log.Debug("request", "op", req.Op, "id", req.ID)
	resp, err := s.answer(ctx, req)
	s.renew(ctx)
	if err != nil {
		s.log.Debug("request failed", "op", req.Op, "id", req.ID, "err", err)
		return &Response{Error: err.Error(), Kind: kindOf(err)}
	}
	return resp
}

func (s *Server) answer(ctx context.Context, req *Request) (*Response, error) {
	switch req.Op {
	case "status":
		return &Response{Status: &Status{Locked: !s.unlocked.Load(), PID: os.Getpid(), Home: s.opts.Home}}, nil
	case "unlock":
		return &Response{}, s.unlock(ctx, req.Passphrase)
	case "lock":
		s.Lock("request")
		return &Response{}, nil
	case "migrate":
		return &Response{}, s.migrate(ctx, req.Backend)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.v == nil {
		return nil, ErrLocked
	}
	st := s.v.st
	switch req.Op {
	case "list":
		as, err := st.List(ctx)
		return &Response{Accounts: as}, err
	case "find":
		as, err := st.Find(ctx, req.Query)
		return &Response{Accounts: as}, err
	case "get":
		a, err := st.Get(ctx, req.ID)
		return &Response{Account: &a}, err
	case "secret":
		sec, err := st.Secret(ctx, req.ID)
		return &Response{Secret: sec}, err
	case "secrets":
		m, err := st.Secrets(ctx)
		var missing *store.MissingError
		if errors.As(err, &missing) {
			err = nil
		}
		if err != nil {
			return nil, err
		}
		resp := &Response{Secrets: make(map[string][]byte, len(m))}
		for id, sec := range m {
			resp.Secrets[id] = sec
		}
		if missing != nil {
			resp.Missing = missing.IDs
		}
		return resp, nil
	case "add":
		if req.Account == nil {
			return nil, store.ErrInvalid
		}
		a, err := st.Add(ctx, *req.Account, otp.Secret(req.Secret), req.Force)
		return &Response{Account: &a}, err
	case "addmany":
		items := make([]store.NewAccount, len(req.Items))
		for i, it := range req.Items {
			items[i] = store.NewAccount{Account: it.Account, Secret: it.Secret}
		}
		as, err := st.AddMany(ctx, items)
		return &Response{Accounts: as}, err
	case "devicekey":
		k, err := st.DeviceKey(ctx, req.ID)
		return &Response{Secret: k}, err
	case "nexthotp":
		code, a, err := st.NextHOTP(ctx, req.ID)
		return &Response{Code: code, Account: &a}, err
	case "update":
		if req.Account == nil {
			return nil, store.ErrInvalid
		}
		a, err := st.Update(ctx, req.ID, func(a *store.Account) error {
			if req.Old != nil && !same(*a, *req.Old) {
				return errConflict
			}
			*a = *req.Account
			return nil
		})
		return &Response{Account: &a}, err
	case "move":
		return &Response{}, st.Move(ctx, req.ID, req.Delta)
	case "delete":
		return &Response{}, st.Delete(ctx, req.ID)
	case "setpairing":
		if req.Pairing == nil {
			return nil, store.ErrInvalid
		}
		return &Response{}, st.SetPairing(ctx, req.ID, *req.Pairing, req.Secret)
	case "unpair":
		return &Response{}, st.Unpair(ctx, req.ID)
	}
	return nil, errors.New("agent: unknown operation " + req.Op)
}

// same tells whether two accounts are equal as stored.
func same(a, b store.Account) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}
