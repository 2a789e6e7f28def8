package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"net/http"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// Recovery codes: ten single-use codes a user keeps on paper for when
// the authenticator is lost. Each is 100 random bits written as 20
// base32 letters in groups of five; the first group names the code's
// row (so a check hashes once, not ten times) and the whole code is
// stored as an argon2id hash.
const (
	RecoveryCodes   = 10
	recoveryLen     = 20 // base32 characters
	recoveryIDLen   = 5
	recoverySaltLen = 16
	recoveryKeyLen  = 32
)

// The argon2id cost of a recovery code (RFC 9106 / OWASP's 19 MiB, two
// passes). A code holds 100 random bits, so the hash guards a leaked
// database, not a guessable secret: a modest cost suffices and keeps a
// set of ten quick to make.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
)

var recoveryEnc = base32.StdEncoding.WithPadding(base32.NoPadding)

// RecoveryCode is one stored recovery code: ID is its first group, Hash
// the salt followed by the argon2id key of the whole code.
type RecoveryCode struct {
	ID   string
	Hash []byte
}

func recoveryHash(code string, salt []byte) []byte {
	return argon2.IDKey([]byte(code), salt, argonTime, argonMemory, argonThreads, recoveryKeyLen)
}

// normalRecovery returns code without dashes and spaces, in lower case,
// and whether it has the shape of a recovery code (TOTP codes are
// digits, so the two never mix).
func normalRecovery(code string) (string, bool) {
	var b strings.Builder
	for _, r := range code {
		switch {
		case r == '-' || r == ' ':
		case r >= 'a' && r <= 'z', r >= '2' && r <= '7':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + ('a' - 'A'))
		default:
			return "", false
		}
	}
	n := b.String()
	return n, len(n) == recoveryLen && strings.IndexFunc(n, func(r rune) bool { return r >= 'a' && r <= 'z' }) >= 0
}

// NewRecoveryCodes makes a new set of codes for user, ending the old
// set, and returns the codes: the only time they are shown.
func (s *Server) NewRecoveryCodes(ctx context.Context, user, actor string) ([]string, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	codes := make([]string, 0, RecoveryCodes)
	rows := make([]RecoveryCode, 0, RecoveryCodes)
	seen := map[string]bool{}
	for len(codes) < RecoveryCodes {
		raw := make([]byte, 13) // 104 bits, of which the 20 letters keep 100
		rand.Read(raw)
		c := strings.ToLower(recoveryEnc.EncodeToString(raw))[:recoveryLen]
		if seen[c[:recoveryIDLen]] || strings.IndexFunc(c, func(r rune) bool { return r >= 'a' && r <= 'z' }) < 0 {
			continue
		}
		seen[c[:recoveryIDLen]] = true
		salt := make([]byte, recoverySaltLen)
		rand.Read(salt)
		rows = append(rows, RecoveryCode{ID: c[:recoveryIDLen], Hash: append(salt, recoveryHash(c, salt)...)})
		codes = append(codes, c[0:5]+"-"+c[5:10]+"-"+c[10:15]+"-"+c[15:20])
	}
	ev := Event{Time: s.now(), User: user, Client: actor, Action: "recovery_codes", Outcome: "created"}
	if err := s.store.SetRecoveryCodes(ctx, user, rows, ev); err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "recovery codes created", "user", user)
	return codes, nil
}

// dummyRecovery stands in for a code id the user does not have, so that
// a miss costs one hash like a hit.
var dummyRecovery = make([]byte, recoverySaltLen+recoveryKeyLen)

// verifyRecovery checks a recovery code (normalised) for user. The hash
// is computed before the user's throttling row is taken, so the single
// writer of SQLite never waits on argon2; its result counts only if the
// user is unlocked inside the transaction, so a locked user learns
// nothing from it, and a failure counts as a wrong code.
func (s *Server) verifyRecovery(ctx context.Context, client, user, code string) (verdict, error) {
	now := s.now()
	stored, err := s.store.RecoveryCodeHash(ctx, user, code[:recoveryIDLen])
	if err != nil {
		return verdict{}, err
	}
	match := stored != nil
	if !match {
		stored = dummyRecovery
	}
	sum := recoveryHash(code, stored[:recoverySaltLen])
	match = subtle.ConstantTimeCompare(sum, stored[recoverySaltLen:]) == 1 && match
	id := ""
	if match {
		id = code[:recoveryIDLen]
	}
	ev := Event{Time: now, User: user, Client: client, Action: "verify", Outcome: "recovery_code"}
	r, remaining, err := s.store.UseRecoveryCode(ctx, user, id, now, s.lockout(), ev)
	if err != nil {
		return verdict{}, err
	}
	if r.NewLock {
		s.metrics.lockouts.Inc()
		s.audit.add(Event{Time: now, User: user, Client: client, Action: "lockout",
			Outcome: "locked for " + r.State.LockedUntil.Sub(now).Round(time.Second).String()})
		s.log.WarnContext(ctx, "user locked", "user", user, "lockouts", r.State.Lockouts, "until", r.State.LockedUntil.UTC())
	}
	var v verdict
	switch r.Outcome {
	case AttemptAccepted:
		v = verdict{Result: Result{Outcome: OutcomeValid}, recovery: true, remaining: remaining}
	case AttemptLocked:
		v = verdict{Result: Result{Outcome: OutcomeLocked, RetryAfter: r.State.LockedUntil}}
	default:
		v = verdict{Result: Result{Outcome: OutcomeInvalid}}
	}
	s.metrics.verified(v.Outcome)
	if !v.recovery {
		s.audit.add(Event{Time: now, User: user, Client: client, Action: "verify_recovery", Outcome: v.Outcome})
	}
	return v, nil
}

func handleNewRecoveryCodes(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		codes, err := s.NewRecoveryCodes(r.Context(), pathUser(r), actor(r.Context()))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusCreated, map[string]any{"codes": codes})
	})
}
