package enroll

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"latchkey/core/device"
	"latchkey/core/label"
	"latchkey/core/otp"
	"latchkey/core/store"
)

// currentCode is the TOTP code of a stored account at now.
func currentCode(ctx context.Context, s interface {
	Generator(ctx context.Context, id string) (*otp.Generator, error)
}, id string, now time.Time) (string, error) {
	g, err := s.Generator(ctx, id)
	if err != nil {
		return "", err
	}
	return g.At(now), nil
}

// Pairing makes an account the device that approves sign-ins on its
// server (OpenID CIBA). Enroll pairs as it confirms when its store keeps
// device keys; an account added by QR or by hand pairs with a pairing
// link (SERVER/pair#TOKEN) from the helpdesk: Pair proves it holds the
// secret with the current code and registers a new device key. The
// key's private half goes to the store (keyring or vault) and nowhere
// else.
//
// A paired account then lists its pending sign-in requests (Requests,
// long-polling) and answers them (Answer), each call signed with its key.

// Errors of pairing and answering.
var (
	ErrInvalidPairingLink = errors.New("the pairing link is invalid, expired or already used; ask the helpdesk for a new one")
	// ErrNotPaired: the account was enrolled but its device key could
	// not be stored or registered; a pairing link pairs it later.
	ErrNotPaired = errors.New("the account is enrolled but not paired for sign-in approval")
	// ErrDeviceRefused: the server no longer knows this device (it was
	// revoked or its credential deleted).
	ErrDeviceRefused = errors.New("the server refused this device; it may have been unpaired")
	// ErrAnswerRefused: the request was answered already, expired, or
	// needs a code.
	ErrAnswerRefused = errors.New("the server refused the answer")
	// ErrNoAccount / ErrAmbiguous: which account a pairing link is for.
	ErrNoAccount = errors.New("no stored account matches the pairing link; name one")
	ErrAmbiguous = errors.New("several stored accounts match; name one")
	// ErrNoRequest: no pending request has that id (or prefix).
	ErrNoRequest = errors.New("no pending sign-in request has that id")
)

// Pairer is the part of core/store that keeps device keys.
type Pairer interface {
	SetPairing(ctx context.Context, id string, p store.Pairing, key []byte) error
}

// paired is the server's answer to a pairing.
type paired struct {
	Device     string `json:"device_id"`
	User       string `json:"user"`
	Credential string `json:"credential_id"`
}

// ParsePairingLink reads a pairing link (SERVER/pair#TOKEN), as
// ParseLink reads an enrollment link; its errors wrap
// ErrInvalidPairingLink.
func ParsePairingLink(s string) (Link, error) {
	return parseLink(s, "/pair", ErrInvalidPairingLink)
}

// PairingInfo names the credential a pairing link is for.
type PairingInfo struct {
	User       string `json:"user"`
	Credential string `json:"credential_id"`
	Issuer     string `json:"issuer"`
	Name       string `json:"name"`
}

// PairStore is what Pair needs of core/store; *store.Store has it.
type PairStore interface {
	Pairer
	List(ctx context.Context) ([]store.Account, error)
	Find(ctx context.Context, query string) ([]store.Account, error)
	Generator(ctx context.Context, id string) (*otp.Generator, error)
}

// Pair pairs a stored account with the pairing link: the account named
// by query, else the one whose issuer and name match the link's
// credential (as a QR from that server made it). It returns the account.
func Pair(ctx context.Context, c Client, link string, s PairStore, query string, now time.Time) (store.Account, error) {
	l, err := ParsePairingLink(link)
	if err != nil {
		return store.Account{}, err
	}
	var info PairingInfo
	if err := call(ctx, c.HTTP, http.MethodPost, l.Server, "/api/v1/pair/info", "", map[string]string{"token": l.Token}, &info); err != nil {
		return store.Account{}, err
	}
	var cands []store.Account
	if query != "" {
		cands, err = s.Find(ctx, query)
	} else {
		var all []store.Account
		all, err = s.List(ctx)
		for _, a := range all {
			if a.Issuer == info.Issuer && a.Name == info.User && a.Type == otp.TOTP {
				cands = append(cands, a)
			}
		}
	}
	if err != nil {
		return store.Account{}, err
	}
	switch len(cands) {
	case 0:
		return store.Account{}, ErrNoAccount
	case 1:
	default:
		return store.Account{}, ErrAmbiguous
	}
	acc := cands[0]
	code, err := currentCode(ctx, s, acc.ID, now)
	if err != nil {
		return store.Account{}, err
	}
	seed, pub := device.NewKey()
	defer clear(seed)
	var out paired
	body := map[string]string{"token": l.Token, "code": code, "public_key": base64.RawURLEncoding.EncodeToString(pub)}
	if err := call(ctx, c.HTTP, http.MethodPost, l.Server, "/api/v1/pair", "", body, &out); err != nil {
		return store.Account{}, err
	}
	p := store.Pairing{Server: l.Server, User: out.User, Credential: out.Credential, Device: out.Device}
	if err := s.SetPairing(ctx, acc.ID, p, seed); err != nil {
		return store.Account{}, fmt.Errorf("%w: %w", ErrNotPaired, err)
	}
	acc.Pairing = &p
	return acc, nil
}

// Device is one paired account's side of the device API.
type Device struct {
	Client
	Account store.Account // paired: Account.Pairing is set
	Key     ed25519.PrivateKey
	Now     func() time.Time
}

// Request is a pending sign-in request as a device sees it. Its
// BindingMessage and ClientName come from outside; Requests and
// PendingRequests have removed control and escape characters.
type Request struct {
	ID             string `json:"id"`
	Account        string `json:"account"` // the local account id
	Client         string `json:"client"`
	ClientName     string `json:"client_name"`
	BindingMessage string `json:"binding_message"`
	ExpiresIn      int    `json:"expires_in"`
	RequireOTP     bool   `json:"require_otp"`
}

func (d Device) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

// do sends a request signed with the device key for method and path.
func (d Device) do(ctx context.Context, method, path, query string, body, out any) error {
	p := d.Account.Pairing
	u, err := url.Parse(p.Server + path)
	if err != nil {
		return err
	}
	h, err := device.SignRequest(d.Key, p.Device, method, u.EscapedPath(), d.now())
	if err != nil {
		return err
	}
	return callAuth(ctx, d.HTTP, method, p.Server, path+query, h, body, out)
}

// clean removes control and escape characters from text a server sent,
// so that it is shown as it is and cannot drive the terminal.
func clean(s string) string {
	c, _ := label.Clean(s)
	return c
}

// Requests lists the device's pending requests, waiting up to wait for
// one to arrive; binding messages and client names are cleaned for
// display with label.Clean.
func (d Device) Requests(ctx context.Context, wait time.Duration) ([]Request, error) {
	rs, err := d.rawRequests(ctx, wait, nil)
	for i := range rs {
		rs[i].BindingMessage, rs[i].ClientName = clean(rs[i].BindingMessage), clean(rs[i].ClientName)
	}
	return rs, err
}

// Answer approves or denies r (decision device.Approve or device.Deny);
// code is the account's current code, for a request that requires one.
// bindingMessage must be the message as the server sent it.
func (d Device) answer(ctx context.Context, id, bindingMessage, decision, code string) (string, error) {
	a := device.Answer{Device: d.Account.Pairing.Device, AuthReqID: id, BindingMessage: bindingMessage,
		Decision: decision, IssuedAt: d.now().Unix(), Code: code}
	signed, err := device.SignAnswer(d.Key, a)
	if err != nil {
		return "", err
	}
	var out struct {
		Status string `json:"status"`
	}
	err = d.do(ctx, http.MethodPost, "/api/v1/device/requests/"+url.PathEscape(id), "", map[string]string{"answer": signed}, &out)
	return out.Status, err
}

// Unpair revokes the device key on the server.
func (d Device) Unpair(ctx context.Context) error {
	return d.do(ctx, http.MethodDelete, "/api/v1/device", "", nil, nil)
}

// KeyStore is what the device side needs of core/store.
type KeyStore interface {
	List(ctx context.Context) ([]store.Account, error)
	DeviceKey(ctx context.Context, id string) ([]byte, error)
	Generator(ctx context.Context, id string) (*otp.Generator, error)
}

// Devices returns the devices of every paired account in s.
func Devices(ctx context.Context, c Client, s KeyStore, now func() time.Time) ([]Device, error) {
	as, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []Device
	for _, a := range as {
		if a.Pairing == nil {
			continue
		}
		seed, err := s.DeviceKey(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		k, err := device.Key(seed)
		clear(seed)
		if err != nil {
			return nil, fmt.Errorf("account %s: %w", a.ID, err)
		}
		out = append(out, Device{Client: c, Account: a, Key: k, Now: now})
	}
	return out, nil
}

// pending is every device's pending requests, in device order, with the
// raw binding messages (for the signatures) beside the shown ones.
type pending struct {
	reqs []Request
	dev  []int
	raw  []string
}

func listAll(ctx context.Context, ds []Device, wait time.Duration) (pending, error) {
	type res struct {
		rs  []Request
		err error
	}
	out := make([]res, len(ds))
	var wg sync.WaitGroup
	for i, d := range ds {
		wg.Go(func() {
			rs, err := d.rawRequests(ctx, wait, nil)
			out[i] = res{rs, err}
		})
	}
	wg.Wait()
	var p pending
	for i, r := range out {
		if r.err != nil {
			return p, fmt.Errorf("%s: %w", ds[i].Account.Label(), r.err)
		}
		for _, q := range r.rs {
			p.raw = append(p.raw, q.BindingMessage)
			q.BindingMessage, q.ClientName = clean(q.BindingMessage), clean(q.ClientName)
			p.reqs = append(p.reqs, q)
			p.dev = append(p.dev, i)
		}
	}
	return p, nil
}

// rawRequests lists d's pending requests; with wait it long-polls until
// there is one, or with seen (ids) until they differ from those.
func (d Device) rawRequests(ctx context.Context, wait time.Duration, seen []string) ([]Request, error) {
	q := ""
	if wait > 0 {
		q = "?wait=" + strconv.Itoa(int(wait.Seconds()))
		if len(seen) > 0 {
			q += "&seen=" + url.QueryEscape(strings.Join(seen, ","))
		}
	}
	var out struct {
		Requests []Request `json:"requests"`
	}
	if err := d.do(ctx, http.MethodGet, "/api/v1/device/requests", q, nil, &out); err != nil {
		return nil, err
	}
	for i := range out.Requests {
		out.Requests[i].Account = d.Account.ID
	}
	return out.Requests, nil
}

// PendingRequests lists the pending requests of every paired account.
// With wait, it waits until at least one arrives or wait passes: each
// device long-polls its server, and the first that hears of a request
// ends the wait for all.
func PendingRequests(ctx context.Context, ds []Device, wait time.Duration) ([]Request, error) {
	return ChangedRequests(ctx, ds, nil, wait)
}

// minRound is the shortest round of ChangedRequests' long-polls: a server
// that does not know their seen parameter answers at once while a request
// is pending, and is then asked again no sooner than this.
const minRound = 2 * time.Second

// ChangedRequests lists the pending requests of every paired account once
// they differ from seen (a list an earlier call returned): a new request,
// or one answered elsewhere or expired. It waits up to wait: each device
// long-polls its server with the ids it has seen, and the first that
// hears of a change ends the wait for all. After wait it returns the
// list as it is.
func ChangedRequests(ctx context.Context, ds []Device, seen []Request, wait time.Duration) ([]Request, error) {
	p, err := listAll(ctx, ds, 0)
	if err != nil || !sameRequests(p.reqs, seen) || wait <= 0 || len(ds) == 0 {
		return p.reqs, err
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		round := time.Now()
		wctx, cancel := context.WithCancel(ctx)
		found := make(chan struct{}, len(ds))
		var wg sync.WaitGroup
		for _, d := range ds {
			mine := slices.DeleteFunc(slices.Clone(seen), func(r Request) bool { return r.Account != d.Account.ID })
			ids := make([]string, len(mine))
			for i, r := range mine {
				ids[i] = r.ID
			}
			wg.Go(func() {
				rs, err := d.rawRequests(wctx, max(time.Second, time.Until(deadline).Round(time.Second)), ids)
				if err == nil && !sameRequests(rs, mine) {
					found <- struct{}{}
				}
			})
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-found:
		case <-done:
		}
		cancel()
		<-done
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		p, err = listAll(ctx, ds, 0)
		if err != nil || !sameRequests(p.reqs, seen) {
			return p.reqs, err
		}
		sleep(ctx, min(minRound-time.Since(round), time.Until(deadline)))
	}
	return p.reqs, nil
}

// sameRequests reports whether a and b hold the same request ids.
func sameRequests(a, b []Request) bool {
	if len(a) != len(b) {
		return false
	}
	for _, r := range a {
		if !slices.ContainsFunc(b, func(q Request) bool { return q.ID == r.ID }) {
			return false
		}
	}
	return true
}

// AnswerRequest approves (approve true) or denies the pending request
// whose id is id or starts with it, on whichever paired account it came
// to. An approval for a client that requires a code carries the
// account's current code. It returns the request and the new status.
func AnswerRequest(ctx context.Context, ds []Device, s KeyStore, id string, approve bool) (Request, string, error) {
	if id == "" {
		return Request{}, "", ErrNoRequest
	}
	p, err := listAll(ctx, ds, 0)
	if err != nil {
		return Request{}, "", err
	}
	match := -1
	for i, r := range p.reqs {
		if r.ID == id {
			match = i
			break
		}
		if strings.HasPrefix(r.ID, id) {
			if match >= 0 {
				return Request{}, "", fmt.Errorf("%w: give more of the id", ErrAmbiguous)
			}
			match = i
		}
	}
	if match < 0 {
		return Request{}, "", ErrNoRequest
	}
	r, d := p.reqs[match], ds[p.dev[match]]
	decision, code := device.Deny, ""
	if approve {
		decision = device.Approve
		if r.RequireOTP {
			if code, err = currentCode(ctx, s, d.Account.ID, d.now()); err != nil {
				return r, "", err
			}
		}
	}
	status, err := d.answer(ctx, r.ID, p.raw[match], decision, code)
	return r, status, err
}
