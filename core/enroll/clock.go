package enroll

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// clockTimeout bounds a clock check made with a nil client.
const clockTimeout = 10 * time.Second

// ClockSkew reports how far this computer's clock is from the Latchkey
// server's at serverURL: positive when the local clock is ahead. It reads
// the Date header of GET serverURL/healthz and allows for half the round
// trip; the answer's status does not matter, only its Date. hc nil means
// a client with a 10 s timeout.
//
// Codes are checked against the server's clock, so a skew of more than a
// few seconds is why a right code is refused (see ErrCodeRejected).
func ClockSkew(ctx context.Context, hc *http.Client, serverURL string) (time.Duration, error) {
	if hc == nil {
		hc = &http.Client{Timeout: clockTimeout}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(serverURL, "/")+"/healthz", nil)
	if err != nil {
		return 0, fmt.Errorf("clock check: %w", err)
	}
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("clock check: %w", err)
	}
	resp.Body.Close()
	end := time.Now()
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return 0, errors.New("clock check: the server sent no Date header")
	}
	mid := start.Add(end.Sub(start) / 2)
	// Date has whole seconds: compare at the middle of that second.
	return mid.Sub(date.Add(500 * time.Millisecond)), nil
}
