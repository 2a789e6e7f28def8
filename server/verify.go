package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"latchkey/core/otp"
)

// generator opens a stored credential's secret and prepares its codes.
func (s *Server) generator(c Credential) (*otp.Generator, error) {
	secret, err := s.keys.Open(c.Secret, c.User, c.ID)
	if err != nil {
		return nil, fmt.Errorf("credential %s: %w", c.ID, err)
	}
	defer secret.Wipe()
	alg, err := otp.ParseAlgorithm(c.Algorithm)
	if err != nil {
		return nil, fmt.Errorf("credential %s: %w", c.ID, err)
	}
	return otp.NewGenerator(secret, otp.Options{Algorithm: alg, Digits: c.Digits, Period: c.Period})
}

// generators returns the prepared generators of verified credentials,
// from the cache when it holds them.
func (s *Server) generators(creds []Credential, now time.Time) ([]*otp.Generator, error) {
	gens := make([]*otp.Generator, len(creds))
	for i := range creds {
		g, err := s.gens.get(creds[i], now, s.generator)
		if err != nil {
			return nil, err
		}
		gens[i] = g
	}
	return gens, nil
}

// match checks code against every credential, so that the time taken
// does not tell which one matched, and returns the check of the first
// that did (no Credential when none), naming the credentials checked.
func (s *Server) match(gens []*otp.Generator, creds []Credential, client, user, code string, now time.Time) Check {
	c := Check{Credentials: make([]string, len(creds))}
	for i := range creds {
		c.Credentials[i] = creds[i].ID
	}
	for i, g := range gens {
		if step, ok := g.Verify(code, now, s.cfg.Window); ok && c.Credential == "" {
			c.Credential, c.Step = creds[i].ID, int64(step)
			c.Event = Event{Time: now, User: user, Credential: creds[i].ID, Client: client, Action: "verify", Outcome: OutcomeValid}
		}
	}
	return c
}

func (s *Server) lockout() Lockout {
	return Lockout{MaxFailures: s.cfg.MaxFailures, Base: s.cfg.LockBase, Max: s.cfg.LockMax}
}

// attempt runs check as one atomic step of user's throttling (see
// Store.Attempt) and logs a new lock.
func (s *Server) attempt(ctx context.Context, user, cred, actor string, now time.Time, check func() (Check, error)) (AttemptResult, error) {
	r, err := s.store.Attempt(ctx, user, now, s.lockout(), check)
	if err != nil {
		return r, err
	}
	s.logLock(ctx, user, cred, actor, now, r)
	return r, nil
}

// record is attempt for a code already checked (see checkedRecorder).
func (s *Server) record(ctx context.Context, rec checkedRecorder, user, actor string, now time.Time, c Check) (AttemptResult, error) {
	r, err := rec.Record(ctx, user, now, s.lockout(), c)
	if err != nil {
		return r, err
	}
	s.logLock(ctx, user, "", actor, now, r)
	return r, nil
}

// logLock audits and logs the lock an attempt set, if it did.
func (s *Server) logLock(ctx context.Context, user, cred, actor string, now time.Time, r AttemptResult) {
	if r.NewLock {
		s.metrics.lockouts.Inc()
		s.audit.add(Event{Time: now, User: user, Credential: cred, Client: actor, Action: "lockout",
			Outcome: "locked for " + r.State.LockedUntil.Sub(now).Round(time.Second).String()})
		s.log.WarnContext(ctx, "user locked", "user", user, "lockouts", r.State.Lockouts, "until", r.State.LockedUntil.UTC())
	}
}

// LockedError carries when a locked user may try again.
type LockedError struct{ Until time.Time }

// Error returns "user locked"; Until is for the Retry-After header.
func (e *LockedError) Error() string { return "user locked" }

// Unwrap returns ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }

// ConfirmCredential verifies the first code of an unverified credential.
// On success the credential is verified and the code's step is burned, so
// the first sign-in cannot reuse it. A wrong code returns ErrInvalidCode
// and counts as a failure for the user.
func (s *Server) ConfirmCredential(ctx context.Context, user, id, code, actor string) error {
	now := s.now()
	c, err := s.pending(ctx, user, id)
	if err != nil {
		return err
	}
	g, err := s.generator(c)
	if err != nil {
		return err
	}
	r, err := s.attempt(ctx, user, id, actor, now, func() (Check, error) {
		step, ok := g.Verify(code, now, s.cfg.Window)
		if !ok {
			return Check{}, nil
		}
		return Check{Credential: id, Step: int64(step), Confirm: true,
			Event: Event{Time: now, User: user, Credential: id, Client: actor, Action: "confirm", Outcome: "verified"}}, nil
	})
	if err != nil {
		return err
	}
	switch r.Outcome {
	case AttemptLocked:
		return &LockedError{Until: r.State.LockedUntil}
	case AttemptAccepted:
		s.log.InfoContext(ctx, "credential verified", "user", user, "credential", id)
		return nil
	}
	s.audit.add(Event{Time: now, User: user, Credential: id, Client: actor, Action: "confirm", Outcome: "invalid_code"})
	return ErrInvalidCode
}

// Verification outcomes, as the verify API reports them.
const (
	OutcomeValid        = "valid"
	OutcomeInvalid      = "invalid_code"
	OutcomeReplayed     = "replayed"
	OutcomeNoCredential = "no_credential"
	OutcomeLocked       = "locked"
)

// Result is the outcome of a verification.
type Result struct {
	Outcome    string
	Credential string    // set when valid
	RetryAfter time.Time // set when locked
}

// Verify checks a code for user against the user's verified credentials.
// A valid code advances the credential's last step by compare-and-set, so
// it can be accepted once; a wrong one counts towards the user's lock.
func (s *Server) Verify(ctx context.Context, client, user, code string) (Result, error) {
	now := s.now()
	var res Result
	// A second time when another instance changed the user's
	// credentials after this one read them (ErrStale).
	for try := 0; ; try++ {
		creds, st, err := s.store.VerifiedCredentials(ctx, user)
		if err != nil {
			return Result{}, err
		}
		res, err = s.verify(ctx, client, user, code, now, creds, st)
		if errors.Is(err, ErrStale) && try == 0 {
			continue
		}
		if err != nil {
			return Result{}, err
		}
		break
	}
	s.metrics.verified(res.Outcome)
	if res.Outcome != OutcomeValid { // a valid one was logged with its step
		s.audit.add(Event{Time: now, User: user, Credential: res.Credential, Client: client, Action: "verify", Outcome: res.Outcome})
	}
	return res, nil
}

func (s *Server) verify(ctx context.Context, client, user, code string, now time.Time, creds []Credential, st UserState) (Result, error) {
	if st.LockedUntil.After(now) {
		return Result{Outcome: OutcomeLocked, RetryAfter: st.LockedUntil}, nil
	}
	if len(creds) == 0 {
		return Result{Outcome: OutcomeNoCredential}, nil
	}
	gens, err := s.generators(creds, now)
	if err != nil {
		return Result{}, err
	}
	var match string
	var r AttemptResult
	if rec, ok := s.store.(checkedRecorder); ok {
		// The code is checked before the user's state is locked, so that
		// the store records it in one round trip; a locked user's answer
		// is "locked" all the same.
		c := s.match(gens, creds, client, user, code, now)
		match = c.Credential
		r, err = s.record(ctx, rec, user, client, now, c)
	} else {
		r, err = s.attempt(ctx, user, "", client, now, func() (Check, error) {
			c := s.match(gens, creds, client, user, code, now)
			match = c.Credential
			return c, nil
		})
	}
	if err != nil {
		return Result{}, err
	}
	switch r.Outcome {
	case AttemptLocked:
		return Result{Outcome: OutcomeLocked, RetryAfter: r.State.LockedUntil}, nil
	case AttemptAccepted:
		return Result{Outcome: OutcomeValid, Credential: match}, nil
	case AttemptReplayed:
		return Result{Outcome: OutcomeReplayed, Credential: match}, nil
	}
	return Result{Outcome: OutcomeInvalid}, nil
}
