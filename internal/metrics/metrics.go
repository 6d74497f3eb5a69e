// Package metrics exposes IPS Export's Prometheus metrics: requests by
// operation and fault code, jobs by state, assets exported and failed,
// render time, queue depth and bytes written. Each App has its own
// registry, so tests and several servers in one process never share
// counters.
package metrics

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// UnknownOperation is the operation label of calls the server does not
// serve, whatever name they gave.
const UnknownOperation = "unknown"

// Gauges reads the values that live in the database, at scrape time.
type Gauges struct {
	// JobStates counts jobs by state (of every company).
	JobStates func(ctx context.Context) (map[string]int, error)
	// QueueDepth counts queue jobs waiting to be worked.
	QueueDepth func(ctx context.Context) (int, error)
}

// Metrics holds the collectors.
type Metrics struct {
	registry       *prometheus.Registry
	requests       *prometheus.CounterVec
	requestSeconds *prometheus.HistogramVec
	assets         *prometheus.CounterVec
	renderSeconds  prometheus.Histogram
	bytesWritten   prometheus.Counter
	jobsEnded      *prometheus.CounterVec
	renditions     *prometheus.CounterVec
}

// New registers the collectors on a fresh registry.
func New(g Gauges, log *slog.Logger) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ipsd_requests_total", Help: "IPS API calls by operation and fault code (0: no fault).",
		}, []string{"operation", "fault_code"}),
		requestSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ipsd_request_seconds", Help: "IPS API call duration by operation.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}, []string{"operation"}),
		assets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ipsd_assets_total", Help: "Assets of jobs finished, by outcome (Success, Warning, Error).",
		}, []string{"outcome"}),
		renderSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ipsd_render_seconds", Help: "Time to convert one asset (fmt=convert).",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10),
		}),
		bytesWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ipsd_bytes_written_total", Help: "Bytes of exported files written.",
		}),
		jobsEnded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ipsd_jobs_ended_total", Help: "Jobs ended by this process, by final state.",
		}, []string{"state"}),
		renditions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ipsd_rendition_cache_total",
			Help: "Conversions by their use of the rendition cache: hit (reused), miss (rendered and kept).",
		}, []string{"result"}),
	}
	m.renditions.WithLabelValues("hit")
	m.renditions.WithLabelValues("miss")
	m.registry.MustRegister(m.requests, m.requestSeconds, m.assets, m.renderSeconds, m.bytesWritten, m.jobsEnded, m.renditions,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&dbCollector{g: g, log: log,
			jobs:  prometheus.NewDesc("ipsd_jobs", "Jobs by state, all companies.", []string{"state"}, nil),
			queue: prometheus.NewDesc("ipsd_queue_depth", "Queue jobs (chunks of exports) waiting to be worked.", nil, nil),
		})
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// RequireToken serves h only to requests that bear token, as Prometheus
// sends it with `authorization: {credentials: …}` or `bearer_token`:
// "Authorization: Bearer TOKEN" (compared in constant time). Others get
// 401 and no metrics: they name operations, job states and queue depth,
// which an outsider has no business reading (docs/operations.md).
func RequireToken(token string, h http.Handler) http.Handler {
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if token == "" || !strings.EqualFold(scheme, "Bearer") ||
			subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ipsd metrics"`)
			http.Error(w, "metrics need the bearer token (--metrics-token)", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// ObserveRequest counts one IPS call (soap.Observer). Label values are
// kept for the life of the process, so operation must come from a bounded
// set: the caller passes "" for a name the server does not serve (or could
// not read), and it is counted as "unknown".
func (m *Metrics) ObserveRequest(operation string, faultCode int, elapsed time.Duration) {
	if operation == "" {
		operation = UnknownOperation
	}
	m.requests.WithLabelValues(operation, strconv.Itoa(faultCode)).Inc()
	m.requestSeconds.WithLabelValues(operation).Observe(elapsed.Seconds())
}

// AssetDone counts one finished asset of a job.
func (m *Metrics) AssetDone(outcome string, bytes int64) {
	m.assets.WithLabelValues(outcome).Inc()
	if bytes > 0 {
		m.bytesWritten.Add(float64(bytes))
	}
}

// Rendered records one conversion's duration.
func (m *Metrics) Rendered(d time.Duration) { m.renderSeconds.Observe(d.Seconds()) }

// RenditionCache counts a conversion's use of the rendition cache
// (export.CacheHit, export.CacheMiss).
func (m *Metrics) RenditionCache(result string) { m.renditions.WithLabelValues(result).Inc() }

// JobEnded counts a job that ended.
func (m *Metrics) JobEnded(state string) { m.jobsEnded.WithLabelValues(state).Inc() }

// dbCollector reads gauges from the database at scrape time, so that
// every front end reports the same numbers whichever process did the work.
type dbCollector struct {
	g           Gauges
	log         *slog.Logger
	jobs, queue *prometheus.Desc
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.jobs
	ch <- c.queue
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c.g.JobStates != nil {
		if counts, err := c.g.JobStates(ctx); err != nil {
			c.log.Warn("metrics: job states", "err", err)
		} else {
			for state, n := range counts {
				ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(n), state)
			}
		}
	}
	if c.g.QueueDepth != nil {
		if n, err := c.g.QueueDepth(ctx); err != nil {
			c.log.Warn("metrics: queue depth", "err", err)
		} else {
			ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(n))
		}
	}
}
