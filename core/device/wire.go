package device

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// The wire format of what a device signs. Both the device (this package)
// and the server (server/oidc/grants/ciba) use these functions, so the
// two sides cannot drift apart.
//
// A device request carries, in the Authorization header,
//
//	Authorization: Latchkey-Device JWS
//
// a compact JWS (EdDSA, typ "latchkey-device-request+jwt", kid = the
// device id) over {iss: device id, htm: method, htu: path, iat, exp,
// jti}: it is valid for at most MaxRequestAge, once (the server remembers
// the jti), and for one method and path only.
//
// An answer is a compact JWS (typ "latchkey-device-answer+jwt") over
// {iss, auth_req_id, binding_message, decision, iat, code?}; the server
// checks it against the request it answers before recording it.

// AuthScheme is the Authorization scheme of device requests.
const AuthScheme = "Latchkey-Device"

// MaxRequestAge is the longest a signed device request or answer is
// valid, and the clock skew the server tolerates.
const MaxRequestAge = time.Minute

// Decisions of an answer.
const (
	Approve = "approve"
	Deny    = "deny"
)

const (
	typRequest = "latchkey-device-request+jwt"
	typAnswer  = "latchkey-device-answer+jwt"
)

// ErrSignature is every failure to verify a device's signature or claims.
var ErrSignature = errors.New("device signature invalid")

type requestClaims struct {
	jwt.Claims
	Method string `json:"htm"`
	Path   string `json:"htu"`
}

// Answer is what a device signs to answer a sign-in request.
type Answer struct {
	Device         string `json:"iss"`
	AuthReqID      string `json:"auth_req_id"`
	BindingMessage string `json:"binding_message"`
	Decision       string `json:"decision"`
	// IssuedAt is the answer's time, in unix seconds.
	IssuedAt int64 `json:"iat"`
	// Code is the account's current code, when the client requires one.
	Code string `json:"code,omitempty"`
}

func signer(key ed25519.PrivateKey, device, typ string) (jose.Signer, error) {
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader(jose.HeaderKey("kid"), device)
	return jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: key}, opts)
}

// SignRequest returns the Authorization header value of a request with
// method to path (the URL's path, without query) signed at now.
func SignRequest(key ed25519.PrivateKey, device, method, path string, now time.Time) (string, error) {
	s, err := signer(key, device, typRequest)
	if err != nil {
		return "", err
	}
	jti := make([]byte, 16)
	rand.Read(jti)
	c := requestClaims{Claims: jwt.Claims{Issuer: device, IssuedAt: jwt.NewNumericDate(now),
		Expiry: jwt.NewNumericDate(now.Add(MaxRequestAge)), ID: base64.RawURLEncoding.EncodeToString(jti)},
		Method: method, Path: path}
	tok, err := jwt.Signed(s).Claims(c).Serialize()
	if err != nil {
		return "", err
	}
	return AuthScheme + " " + tok, nil
}

// SignAnswer signs a; a.Device names the key.
func SignAnswer(key ed25519.PrivateKey, a Answer) (string, error) {
	if a.Decision != Approve && a.Decision != Deny {
		return "", fmt.Errorf("device: decision %q", a.Decision)
	}
	s, err := signer(key, a.Device, typAnswer)
	if err != nil {
		return "", err
	}
	return jwt.Signed(s).Claims(a).Serialize()
}

// KeyID returns the device id a signed request or answer names, before
// it is verified, so that the verifier can find the device's key.
func KeyID(token string) (string, error) {
	tok, err := parse(token)
	if err != nil {
		return "", err
	}
	return tok.Headers[0].KeyID, nil
}

// maxTokenLen bounds what is parsed.
const maxTokenLen = 4 << 10

func parse(token string) (*jwt.JSONWebToken, error) {
	if len(token) > maxTokenLen {
		return nil, ErrSignature
	}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil || len(tok.Headers) != 1 || tok.Headers[0].KeyID == "" {
		return nil, ErrSignature
	}
	return tok, nil
}

func typeOf(tok *jwt.JSONWebToken) string {
	t, _ := tok.Headers[0].ExtraHeaders[jose.HeaderType].(string)
	return t
}

// Verified is a verified device request: its device, and the jti and
// expiry the verifier must remember so that it is used once.
type Verified struct {
	Device  string
	JTI     string
	Expires time.Time
}

// VerifyRequest checks the Authorization header value of a request with
// method to path against the device's public key at now. It does not
// check that the jti is new; the caller records it.
func VerifyRequest(header string, pub ed25519.PublicKey, method, path string, now time.Time) (Verified, error) {
	const prefix = AuthScheme + " "
	if len(header) <= len(prefix) || header[:len(prefix)] != prefix {
		return Verified{}, ErrSignature
	}
	tok, err := parse(header[len(prefix):])
	if err != nil || typeOf(tok) != typRequest {
		return Verified{}, ErrSignature
	}
	var c requestClaims
	if err := tok.Claims(pub, &c); err != nil {
		return Verified{}, ErrSignature
	}
	kid := tok.Headers[0].KeyID
	switch {
	case c.Issuer != kid, c.Method != method, c.Path != path, c.ID == "", len(c.ID) > 64,
		c.IssuedAt == nil, c.Expiry == nil:
		return Verified{}, ErrSignature
	}
	iat, exp := c.IssuedAt.Time(), c.Expiry.Time()
	if exp.Sub(iat) > MaxRequestAge || !now.Before(exp) || iat.After(now.Add(MaxRequestAge)) {
		return Verified{}, ErrSignature
	}
	return Verified{Device: kid, JTI: c.ID, Expires: exp}, nil
}

// VerifyAnswer checks a signed answer against the device's public key
// and returns it; its time must be within MaxRequestAge of now. The
// caller compares the answer with the request it answers.
func VerifyAnswer(token string, pub ed25519.PublicKey, now time.Time) (Answer, error) {
	tok, err := parse(token)
	if err != nil || typeOf(tok) != typAnswer {
		return Answer{}, ErrSignature
	}
	var a Answer
	if err := tok.Claims(pub, &a); err != nil {
		return Answer{}, ErrSignature
	}
	t := time.Unix(a.IssuedAt, 0)
	if a.Device != tok.Headers[0].KeyID || (a.Decision != Approve && a.Decision != Deny) ||
		t.Before(now.Add(-MaxRequestAge)) || t.After(now.Add(MaxRequestAge)) {
		return Answer{}, ErrSignature
	}
	return a, nil
}
