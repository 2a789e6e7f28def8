package enroll

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestClockSkew: the server's Date header, set off the local clock by a
// known amount, comes back as that skew with the opposite sign (to within
// Date's one-second resolution).
func TestClockSkew(t *testing.T) {
	tests := []struct {
		name   string
		server time.Duration // the server's clock minus ours
	}{
		{"in step", 0},
		{"local clock ahead", -90 * time.Second},
		{"local clock behind", 2 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var path string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				path = r.URL.Path
				w.Header().Set("Date", time.Now().Add(tc.server).UTC().Format(http.TimeFormat))
			}))
			defer srv.Close()
			skew, err := ClockSkew(context.Background(), srv.Client(), srv.URL+"/")
			if err != nil {
				t.Fatal(err)
			}
			if path != "/healthz" {
				t.Errorf("asked for %q, want /healthz", path)
			}
			if d := skew + tc.server; d.Abs() > 1500*time.Millisecond {
				t.Errorf("skew %v, want about %v", skew, -tc.server)
			}
		})
	}
}

// TestClockSkewAnyStatus: only the Date header counts; an error status
// (an older server without /healthz) still tells the time.
func TestClockSkewAnyStatus(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	skew, err := ClockSkew(context.Background(), srv.Client(), srv.URL)
	if err != nil || skew.Abs() > 1500*time.Millisecond {
		t.Errorf("ClockSkew = %v, %v; want about 0", skew, err)
	}
}

func TestClockSkewErrors(t *testing.T) {
	noDate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Date"] = nil // suppresses the server's own Date
	}))
	defer noDate.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)

	tests := []struct {
		name string
		hc   *http.Client
		url  string
		want string
	}{
		{"no Date header", noDate.Client(), noDate.URL, "clock check: the server sent no Date header"},
		{"server down", nil, down.URL, "clock check: "},
		{"silent server", &http.Client{Timeout: 50 * time.Millisecond}, slow.URL, "Client.Timeout"},
		{"bad URL", nil, "http://[::1", "clock check: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			skew, err := ClockSkew(context.Background(), tc.hc, tc.url)
			if err == nil {
				t.Fatalf("no error (skew %v)", skew)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}
