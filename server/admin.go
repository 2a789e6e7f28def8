package server

import (
	"context"
	"net/http"
	"time"
)

// Unlock ends user's lock and resets the failure count and back-off,
// audited with actor. It reports whether the user was locked at the time.
func (s *Server) Unlock(ctx context.Context, user, actor string) (bool, error) {
	if err := checkUser(user); err != nil {
		return false, err
	}
	now := s.now()
	prev, err := s.store.Unlock(ctx, user)
	if err != nil {
		return false, err
	}
	was := prev.LockedUntil.After(now)
	outcome := "not_locked"
	if was {
		outcome = "unlocked"
	}
	if err := s.store.Audit(ctx, Event{Time: now, User: user, Client: actor, Action: "unlock", Outcome: outcome}); err != nil {
		return was, err
	}
	s.log.InfoContext(ctx, "user unlocked", "user", user, "was_locked", was, "failures", prev.Failures)
	return was, nil
}

// LockedUntil returns when user's current lock ends, or the zero time
// when the user is not locked.
func (s *Server) LockedUntil(ctx context.Context, user string) (time.Time, error) {
	st, err := s.store.UserState(ctx, user)
	if err != nil || !st.LockedUntil.After(s.now()) {
		return time.Time{}, err
	}
	return st.LockedUntil, nil
}

func handleUnlock(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := pathUser(r)
		was, err := s.Unlock(r.Context(), user, actor(r.Context()))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, map[string]any{"user": user, "was_locked": was})
	})
}
