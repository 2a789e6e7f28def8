package server

import "context"

// verdict is a verification as /api/v1/verify answers it: Verify's
// result and what the client's settings made of it.
type verdict struct {
	Result
	// acceptedEmpty: the user has no verified credential and the client
	// has accept_empty, so the answer is valid.
	acceptedEmpty bool
}

// verifyFor is Verify as seen by client c: it applies the client's
// accept_empty on top of Verify's result.
func (s *Server) verifyFor(ctx context.Context, c Client, user, code string) (verdict, error) {
	res, err := s.Verify(ctx, c.ID, user, code)
	if err != nil {
		return verdict{}, err
	}
	v := verdict{Result: res}
	if res.Outcome == OutcomeNoCredential && c.AcceptEmpty {
		v.acceptedEmpty = true
		s.audit.add(Event{Time: s.now(), User: user, Client: c.ID, Action: "verify", Outcome: "accepted_empty"})
	}
	return v, nil
}
