package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"time"

	"latchkey/server/oidc"
)

// errBody marks a request body that is not the JSON the endpoint takes.
var errBody = errors.New("invalid request body")

// errTooLarge marks a body over the size limit.
var errTooLarge = errors.New("request body too large")

// decode reads one JSON object of type T from r's body, at most limit
// bytes, refusing unknown fields and trailing data. Every failure wraps
// errBody or errTooLarge, so it maps to 400 or 413, never 500.
func decode[T any](w http.ResponseWriter, r *http.Request, limit int64) (T, error) {
	b, err := readBody(w, r, limit)
	if err != nil {
		var zero T
		return zero, err
	}
	return decodeBytes[T](b)
}

// decodeOptional is decode for endpoints whose body may be left out: an
// empty body (also a chunked one) means the zero value.
func decodeOptional[T any](w http.ResponseWriter, r *http.Request, limit int64) (T, error) {
	b, err := readBody(w, r, limit)
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		var zero T
		return zero, err
	}
	return decodeBytes[T](b)
}

// readBody checks the Content-Type and reads at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "text/json") {
			return nil, fmt.Errorf("%w: Content-Type must be application/json", errBody)
		}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fmt.Errorf("%w: limit is %d bytes", errTooLarge, limit)
		}
		return nil, fmt.Errorf("%w: %v", errBody, err)
	}
	return b, nil
}

// decodeBytes is decode's parser, separate for fuzzing.
func decodeBytes[T any](b []byte) (T, error) {
	var v T
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, fmt.Errorf("%w: %s", errBody, describeJSONError(err))
	}
	if dec.More() {
		return v, fmt.Errorf("%w: data after the JSON object", errBody)
	}
	if _, err := dec.Token(); err != io.EOF {
		return v, fmt.Errorf("%w: data after the JSON object", errBody)
	}
	return v, nil
}

func describeJSONError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("field %q must be %s", te.Field, te.Type)
		}
		return "the body must be a JSON object"
	case errors.Is(err, io.EOF):
		return "empty body; a JSON object is required"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	}
	// Unknown fields and the like: the message names the field, never a value.
	return err.Error()
}

// encode writes v as JSON with status.
func encode(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// apiError is the body of every error response.
type apiError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// writeError maps an error to a status and an OAuth-style body: the one
// place where service errors become HTTP. Internal faults are logged and
// answered 500 without detail.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var locked *LockedError
	switch {
	case errors.Is(err, errTooLarge):
		encode(w, http.StatusRequestEntityTooLarge, apiError{"request_too_large", err.Error()})
	case errors.Is(err, oidc.ErrInvalidMetadata):
		encode(w, http.StatusBadRequest, apiError{"invalid_client_metadata", err.Error()})
	case errors.Is(err, errBody), errors.Is(err, ErrInvalidInput):
		encode(w, http.StatusBadRequest, apiError{"invalid_request", err.Error()})
	case errors.Is(err, ErrInvalidCode):
		encode(w, http.StatusBadRequest, apiError{"invalid_code", "the code is wrong or was already used"})
	case errors.As(err, &locked):
		setRetryAfter(w, locked.Until.Sub(s.now()))
		encode(w, http.StatusTooManyRequests, apiError{"locked", "too many failed attempts; try again later"})
	case errors.Is(err, ErrNotFound):
		encode(w, http.StatusNotFound, apiError{"not_found", "no such credential (or it expired)"})
	case errors.Is(err, ErrAlreadyVerified):
		encode(w, http.StatusConflict, apiError{"already_verified", "the credential is already verified"})
	case oidc.Ended(w, r, s.log, err): // the client went away (499), or a deadline (503)
	default:
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		encode(w, http.StatusInternalServerError, apiError{"server_error", "internal error"})
	}
}

func setRetryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(d.Seconds())))))
}
