package server

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus series. They live in the server's
// own registry, so two servers in one process do not collide. Series and
// registry are built by New, never at package init: every `latchkey`
// command imports this package, and only `serve` needs them. (What
// GODEBUG=inittrace=1 still shows under github.com/prometheus is the
// library's own init, about 0.5 ms and 200 KB, paid by any binary that
// links it.)
type metrics struct {
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	verifications *prometheus.CounterVec
	lockouts      prometheus.Counter
	enrollments   prometheus.Counter
	ciba          *prometheus.CounterVec
	// outcomes are verifications' series, looked up once (read only
	// after newMetrics).
	outcomes map[string]prometheus.Counter
}

// verified counts a verification with outcome.
func (m *metrics) verified(outcome string) {
	if c, ok := m.outcomes[outcome]; ok {
		c.Inc()
		return
	}
	m.verifications.WithLabelValues(outcome).Inc()
}

// cibaEvent counts a step of the CIBA service by its audit action and
// outcome, under a few fixed event names.
func (m *metrics) cibaEvent(action, outcome string) {
	var ev string
	switch action {
	case "ciba_authorize":
		ev = "refused"
		if outcome == "pending" {
			ev = "requested"
		}
	case "ciba_answer":
		ev = "answer_refused"
		if outcome == "approved" || outcome == "denied" {
			ev = outcome
		}
	case "ciba_token":
		ev = "token_issued"
	case "device_pair":
		ev = "paired"
	case "device_revoke":
		ev = "unpaired"
	default:
		return
	}
	m.ciba.WithLabelValues(ev).Inc()
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "latchkey_http_request_duration_seconds",
			Help:    "HTTP request latency by route.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_verifications_total", Help: "Code verifications by outcome.",
		}, []string{"outcome"}),
		lockouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "latchkey_lockouts_total", Help: "Users locked after consecutive failures.",
		}),
		enrollments: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "latchkey_enrollments_total", Help: "Credentials created.",
		}),
		ciba: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_ciba_total",
			Help: "CIBA sign-in approval events: requested, refused (at bc-authorize), approved, denied, answer_refused, token_issued, paired, unpaired.",
		}, []string{"event"}),
	}
	m.outcomes = map[string]prometheus.Counter{}
	for _, o := range []string{OutcomeValid, OutcomeInvalid, OutcomeReplayed, OutcomeNoCredential, OutcomeLocked} {
		m.outcomes[o] = m.verifications.WithLabelValues(o)
	}
	reg.MustRegister(m.requests, m.latency, m.verifications, m.lockouts, m.enrollments, m.ciba)
	// A second server on the same registry shares the process collectors.
	for _, c := range []prometheus.Collector{collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := reg.Register(c); err != nil {
			if _, ok := err.(prometheus.AlreadyRegisteredError); !ok {
				panic(err)
			}
		}
	}
	return m
}

// statusWriter records the status code a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument counts and times requests of one route. The route's series
// are looked up once (a label lookup hashes its values every time).
func (m *metrics) instrument(route string, h http.Handler) http.Handler {
	obs := m.latency.WithLabelValues(route)
	var counts sync.Map // status code -> the route's prometheus.Counter
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		obs.Observe(time.Since(start).Seconds())
		c, ok := counts.Load(sw.code)
		if !ok {
			c, _ = counts.LoadOrStore(sw.code, m.requests.WithLabelValues(route, strconv.Itoa(sw.code)))
		}
		c.(prometheus.Counter).Inc()
	})
}
