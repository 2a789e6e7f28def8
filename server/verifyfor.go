package server

import "context"

// verdict is a verification as /api/v1/verify answers it: Verify's
// result and what the client's settings made of it.
type verdict struct {
	Result
	// acceptedEmpty: the user has no verified credential and the client
	// has accept_empty, so the answer is valid.
	acceptedEmpty bool
	// recovery: a recovery code was accepted; remaining are left.
	recovery  bool
	remaining int
}

// verifyFor is Verify as seen by client c: a user outside the client's
// allowed_groups has no credential (nothing is checked or counted), and
// the client's accept_empty applies on top of Verify's result.
func (s *Server) verifyFor(ctx context.Context, c Client, user, code string) (verdict, error) {
	ok, err := s.inScope(ctx, c, user)
	if err != nil {
		return verdict{}, err
	}
	if !ok {
		// Not even a lock shows: the answer of a user with nothing.
		s.audit.add(Event{Time: s.now(), User: user, Client: c.ID, Action: "verify", Outcome: "out_of_scope"})
		return verdict{Result: Result{Outcome: OutcomeNoCredential}}, nil
	}
	if rc, ok := normalRecovery(code); ok {
		return s.verifyRecovery(ctx, c.ID, user, rc)
	}
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
