package ciba

import (
	"context"
	"errors"

	"latchkey/server/oidc"
)

// Type returns the CIBA grant type.
func (s *Service) Type() string { return GrantType }

// poll outcomes, decided under the request's row lock.
const (
	outPending = iota
	outSlowDown
	outExpired
	outDenied
	outUsed
	outIssue
)

// Token answers a poll (CIBA Core §10-11): authorization_pending until
// the user answers; slow_down when two polls come closer than the
// interval, which then grows by SlowDownStep (the first poll is never
// too early); expired_token, access_denied; invalid_grant for an
// unknown id, another client's, or one whose tokens were already
// handed out. After approval, an id_token and an access token, once.
func (s *Service) Token(ctx context.Context, req *oidc.TokenRequest) (*oidc.TokenResponse, error) {
	id := req.Form.Get("auth_req_id")
	if id == "" {
		return nil, oidc.Errorf("invalid_request", "auth_req_id is required")
	}
	if len(id) > 128 {
		return nil, oidc.Errorf("invalid_grant", "unknown auth_req_id")
	}
	now := s.now()
	out := outPending
	r, err := s.store.UpdateCIBARequest(ctx, id, func(r *Request) error {
		if r.Client != req.Client.ID {
			return oidc.ErrNotFound
		}
		early := !r.LastPoll.IsZero() && now.Sub(r.LastPoll) < r.Interval
		r.LastPoll = now
		switch {
		case r.Status == StatusIssued:
			out = outUsed
		case r.Status == StatusDenied:
			out = outDenied
		case r.Status == StatusApproved:
			r.Status = StatusIssued
			out = outIssue
		case !now.Before(r.Expires):
			out = outExpired
		case early:
			r.Interval += SlowDownStep
			out = outSlowDown
		}
		return nil
	})
	if errors.Is(err, oidc.ErrNotFound) {
		return nil, oidc.Errorf("invalid_grant", "unknown auth_req_id")
	}
	if err != nil {
		return nil, err
	}
	switch out {
	case outPending:
		return nil, oidc.Errorf("authorization_pending", "the user has not answered yet")
	case outSlowDown:
		return nil, oidc.Errorf("slow_down", "poll every %d seconds", int(r.Interval.Seconds()))
	case outExpired:
		return nil, oidc.Errorf("expired_token", "the request expired before the user answered")
	case outDenied:
		return nil, oidc.Errorf("access_denied", "the user denied the request")
	case outUsed:
		return nil, oidc.Errorf("invalid_grant", "the tokens of this auth_req_id were already issued")
	}
	idt, err := s.p.MintIDToken(ctx, oidc.IDToken{Subject: r.User, Audience: r.Client, AuthTime: r.Answered, AMR: r.AMR})
	if err != nil {
		return nil, err
	}
	at, ttl, err := s.p.MintAccessToken(ctx, r.User, r.Client, r.Scope)
	if err != nil {
		return nil, err
	}
	s.cfg.Audit(Event{User: r.User, Client: r.Client, Action: "ciba_token", Outcome: "issued"})
	return &oidc.TokenResponse{AccessToken: at, TokenType: "Bearer", ExpiresIn: int(ttl.Seconds()), IDToken: idt, Scope: r.Scope}, nil
}
