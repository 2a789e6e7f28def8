package server

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"latchkey/server/oidc"
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

// inScope reports whether client c may learn about user: always for a
// client without allowed_groups, else when the user is in one of them.
func (s *Server) inScope(ctx context.Context, c Client, user string) (bool, error) {
	if len(c.AllowedGroups) == 0 {
		return true, nil
	}
	gs, err := s.store.UserGroups(ctx, user)
	if err != nil {
		return false, err
	}
	for _, g := range gs {
		if slices.Contains(c.AllowedGroups, g) {
			return true, nil
		}
	}
	return false, nil
}

// SetGroups replaces user's groups (validated, duplicates dropped),
// audited with actor.
func (s *Server) SetGroups(ctx context.Context, user string, groups []string, actor string) ([]string, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	out := []string{}
	for _, g := range groups {
		if !oidc.ValidGroup(g) {
			return nil, invalidf("a group is 1..%d characters without spaces or control characters", oidc.MaxGroupLen)
		}
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	if len(out) > oidc.MaxGroups {
		return nil, invalidf("at most %d groups", oidc.MaxGroups)
	}
	slices.Sort(out)
	if err := s.store.SetUserGroups(ctx, user, out); err != nil {
		return nil, err
	}
	s.audit.add(Event{Time: s.now(), User: user, Client: actor, Action: "groups", Outcome: strings.Join(out, " ")})
	return out, nil
}

// groupsBody is the body of PUT /api/v1/users/{user}/groups.
type groupsBody struct {
	Groups *[]string `json:"groups"`
}

func handleSetGroups(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[groupsBody](w, r, s.cfg.MaxBody)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if req.Groups == nil {
			s.writeError(w, r, invalidf("groups is required (an empty list removes the user from every group)"))
			return
		}
		user := pathUser(r)
		gs, err := s.SetGroups(r.Context(), user, *req.Groups, actor(r.Context()))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, map[string]any{"user": user, "groups": gs})
	})
}

func handleGetGroups(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := pathUser(r)
		if err := checkUser(user); err != nil {
			s.writeError(w, r, err)
			return
		}
		gs, err := s.store.UserGroups(r.Context(), user)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, map[string]any{"user": user, "groups": gs})
	})
}
