// Package agent keeps one unlocked file store (vault.age) in a long-lived
// process and serves its accounts to Latchkey's other processes over a
// Unix socket, so that the vault's scrypt unlock (0.7 s, 256 MiB) and its
// passphrase prompt happen once, as ssh-agent does for keys.
//
// One agent serves one vault: its socket is
// $XDG_RUNTIME_DIR/latchkey/agent-HASH.sock, HASH a short hash of the
// vault's absolute path, in a folder only its user can enter (0700; the
// socket is 0600). Without XDG_RUNTIME_DIR the folder is latchkey-UID
// under the OS temp dir, which must be the user's own and 0700. On every
// connection the server checks the peer's uid (SO_PEERCRED on Linux,
// LOCAL_PEERCRED as getpeereid reads it on macOS) and refuses any user
// but its own.
//
// The protocol is JSON over the socket: the client writes one Request,
// the server answers with one Response, and so on for as long as the
// connection lasts. A locked agent answers every account request with
// [ErrLocked], at once; the caller unlocks it (Client.Unlock) with the
// passphrase and asks again.
//
// It locks after its idle timeout, on request, and when logind emits Lock
// for its session (Linux, where a system bus has logind). While unlocked
// it holds the passphrase, the vault's plaintext while reading it, and
// its secrets and device keys in mlock'ed pages outside the Go heap,
// wiped and unmapped on lock. Connect is how the faces (the CLI, the
// terminal UI, the desktop app) reach it, starting it when they can.
//
// The agent changes the vault through core/store, under the store's file
// lock and with its atomic writes, so a command that opens the vault
// itself (LATCHKEY_AGENT=off) and the agent never lose each other's
// changes; and a change is written to disk before the agent answers it.
package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"latchkey/core/store"
)

// Errors of the agent. As with core/store, none ever holds a secret.
var (
	// ErrLocked: the agent holds no unlocked vault (never unlocked, or
	// locked by `latchkey lock` or the idle timeout).
	ErrLocked = errors.New("the agent is locked")
	// ErrNoAgent: no agent answers on the socket.
	ErrNoAgent = errors.New("no agent is running for this vault")
	// ErrRefused: the agent belongs to another user and refused the
	// connection.
	ErrRefused = errors.New("the agent refused the connection: it serves another user")
	// ErrUnsupported: this OS has no peer credentials on Unix sockets, so
	// no agent runs here.
	ErrUnsupported = errors.New("the agent is not supported on this OS")
	// ErrRuntimeDir: the agent's folder is not the user's own, or others
	// can enter it.
	ErrRuntimeDir = errors.New("the agent's folder is not private to this user")
	// ErrRunning: another agent already serves this vault.
	ErrRunning = errors.New("an agent is already running for this vault")
)

// errConflict: the account changed between a client's read and its
// update; the client reads again and retries.
var errConflict = errors.New("the account changed meanwhile")

// SocketDir returns the folder of the agents' sockets:
// $XDG_RUNTIME_DIR/latchkey, else latchkey-UID under the OS temp dir.
func SocketDir(getenv func(string) string) string {
	if d := getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "latchkey")
	}
	return filepath.Join(os.TempDir(), "latchkey-"+strconv.Itoa(os.Getuid()))
}

// SocketPath returns the socket of the agent for the vault in home. Two
// homes give two sockets, hence two agents.
func SocketPath(home string, getenv func(string) string) (string, error) {
	abs, err := filepath.Abs(filepath.Join(home, store.VaultFile))
	if err != nil {
		return "", fmt.Errorf("agent: %w", err)
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(SocketDir(getenv), "agent-"+hex.EncodeToString(sum[:6])+".sock"), nil
}

// Request is one call from a client. Op names the operation; the other
// fields are its arguments, each used by the operations noted.
type Request struct {
	Op         string         `json:"op"`
	ID         string         `json:"id,omitempty"`         // get, secret, devicekey, nexthotp, update, move, delete, setpairing, unpair
	Query      string         `json:"query,omitempty"`      // find
	Passphrase []byte         `json:"passphrase,omitempty"` // unlock
	Account    *store.Account `json:"account,omitempty"`    // add; update: the account as it should be
	Old        *store.Account `json:"old,omitempty"`        // update: the account as the client read it
	Secret     []byte         `json:"secret,omitempty"`     // add, setpairing
	Items      []Item         `json:"items,omitempty"`      // addmany
	Force      bool           `json:"force,omitempty"`      // add
	Delta      int            `json:"delta,omitempty"`      // move
	Pairing    *store.Pairing `json:"pairing,omitempty"`    // setpairing (its device key in Secret)
	Backend    store.Backend  `json:"backend,omitempty"`    // migrate
}

// Item is one account of an addmany request.
type Item struct {
	Account store.Account `json:"account"`
	Secret  []byte        `json:"secret"`
}

// Response is the answer to one Request. Error is empty on success;
// otherwise Kind names the store or agent error it stands for (see
// kinds), so that the client can give back errors that errors.Is knows.
type Response struct {
	Error    string            `json:"error,omitempty"`
	Kind     string            `json:"kind,omitempty"`
	Missing  []string          `json:"missing,omitempty"` // secrets: accounts whose secret is gone
	Status   *Status           `json:"status,omitempty"`
	Accounts []store.Account   `json:"accounts,omitempty"`
	Account  *store.Account    `json:"account,omitempty"`
	Secret   []byte            `json:"secret,omitempty"`
	Secrets  map[string][]byte `json:"secrets,omitempty"`
	Code     string            `json:"code,omitempty"`
}

// Status is what the status operation tells.
type Status struct {
	Locked bool   `json:"locked"`
	PID    int    `json:"pid"`
	Home   string `json:"home"`
}

// kinds maps the wire names of errors to the errors.
var kinds = map[string]error{
	"locked":     ErrLocked,
	"refused":    ErrRefused,
	"conflict":   errConflict,
	"notfound":   store.ErrNotFound,
	"duplicate":  store.ErrDuplicate,
	"idtaken":    store.ErrIDTaken,
	"invalid":    store.ErrInvalid,
	"badpass":    store.ErrBadPassphrase,
	"nopass":     store.ErrNoPassphrase,
	"corrupt":    store.ErrCorrupt,
	"toolarge":   store.ErrTooLarge,
	"rolledback": store.ErrRolledBack,
	"keyring":    store.ErrKeyringUnavailable,
}

// kindOf returns the wire name of err's kind, "" for none known.
func kindOf(err error) string {
	for k, e := range kinds {
		if errors.Is(err, e) {
			return k
		}
	}
	return ""
}

// remoteError is an error the agent answered: its text, and the sentinel
// it matches.
type remoteError struct {
	msg  string
	kind error
}

func (e *remoteError) Error() string        { return e.msg }
func (e *remoteError) Is(target error) bool { return e.kind != nil && target == e.kind }

func (r *Response) err() error {
	if r.Error == "" {
		return nil
	}
	return &remoteError{msg: r.Error, kind: kinds[r.Kind]}
}
