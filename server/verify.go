package server

import (
	"context"
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

func (s *Server) lockout() Lockout {
	return Lockout{MaxFailures: s.cfg.MaxFailures, Base: s.cfg.LockBase, Max: s.cfg.LockMax}
}

// failed counts a failure for user and reports a new lock.
func (s *Server) failed(ctx context.Context, user, cred, actor, action string, now time.Time) error {
	st, err := s.store.RecordFailure(ctx, user, now, s.lockout())
	if err != nil {
		return err
	}
	if st.Failures >= s.cfg.MaxFailures {
		s.metrics.lockouts.Inc()
		s.audit.add(Event{Time: now, User: user, Credential: cred, Client: actor, Action: "lockout",
			Outcome: "locked for " + st.LockedUntil.Sub(now).Round(time.Second).String()})
		s.log.WarnContext(ctx, "user locked", "user", user, "failures", st.Failures, "until", st.LockedUntil.UTC())
	}
	return nil
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
	st, err := s.store.UserState(ctx, user)
	if err != nil {
		return err
	}
	if st.LockedUntil.After(now) {
		return &LockedError{Until: st.LockedUntil}
	}
	c, err := s.pending(ctx, user, id)
	if err != nil {
		return err
	}
	g, err := s.generator(c)
	if err != nil {
		return err
	}
	step, ok := g.Verify(code, now, s.cfg.Window)
	if ok {
		ok, err = s.store.Confirm(ctx, user, id, int64(step), now)
		if err != nil {
			return err
		}
	}
	if !ok {
		s.audit.add(Event{Time: now, User: user, Credential: id, Client: actor, Action: "confirm", Outcome: "invalid_code"})
		if err := s.failed(ctx, user, id, actor, "confirm", now); err != nil {
			return err
		}
		return ErrInvalidCode
	}
	s.audit.add(Event{Time: now, User: user, Credential: id, Client: actor, Action: "confirm", Outcome: "verified"})
	s.log.InfoContext(ctx, "credential verified", "user", user, "credential", id)
	return nil
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
	creds, st, err := s.store.VerifiedCredentials(ctx, user)
	if err != nil {
		return Result{}, err
	}
	res, err := s.verify(ctx, client, user, code, now, creds, st)
	if err != nil {
		return Result{}, err
	}
	s.metrics.verifications.WithLabelValues(res.Outcome).Inc()
	s.audit.add(Event{Time: now, User: user, Credential: res.Credential, Client: client, Action: "verify", Outcome: res.Outcome})
	return res, nil
}

func (s *Server) verify(ctx context.Context, client, user, code string, now time.Time, creds []Credential, st UserState) (Result, error) {
	if st.LockedUntil.After(now) {
		return Result{Outcome: OutcomeLocked, RetryAfter: st.LockedUntil}, nil
	}
	if len(creds) == 0 {
		return Result{Outcome: OutcomeNoCredential}, nil
	}
	var match *Credential
	var step uint64
	for i := range creds {
		g, err := s.generator(creds[i])
		if err != nil {
			return Result{}, err
		}
		if st, ok := g.Verify(code, now, s.cfg.Window); ok && match == nil {
			match, step = &creds[i], st
		}
	}
	if match == nil {
		if err := s.failed(ctx, user, "", client, "verify", now); err != nil {
			return Result{}, err
		}
		return Result{Outcome: OutcomeInvalid}, nil
	}
	if int64(step) <= match.LastStep {
		return Result{Outcome: OutcomeReplayed, Credential: match.ID}, nil
	}
	won, err := s.store.Accept(ctx, user, match.ID, int64(step), now)
	if err != nil {
		return Result{}, err
	}
	if won {
		return Result{Outcome: OutcomeValid, Credential: match.ID}, nil
	}
	// Another request won the step, or a concurrent failure locked the user.
	if st, err := s.store.UserState(ctx, user); err == nil && st.LockedUntil.After(now) {
		return Result{Outcome: OutcomeLocked, RetryAfter: st.LockedUntil}, nil
	}
	return Result{Outcome: OutcomeReplayed, Credential: match.ID}, nil
}
