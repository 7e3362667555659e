package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/elmcity/elmcity/webrole/internal/outputs"
)

// metrics are the web role's Prometheus series, in a registry of their own
// (no package globals).
type metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	scriptRuns *prometheus.CounterVec
	views      *prometheus.CounterVec
	loads      *prometheus.CounterVec
	cacheBytes prometheus.Gauge
	storageUp  prometheus.Gauge
	renders    *prometheus.CounterVec
}

func newMetrics(logDropped func() uint64) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "elmcity_http_requests_total",
			Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "elmcity_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		scriptRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "elmcity_script_runs_total",
			Help: "Script runs by script and outcome (ok, error, timeout; invalid, limit, too_large: refused as the caller's error).",
		}, []string{"script", "outcome"}),
		views: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "elmcity_output_views_total",
			Help: "Public outputs served by format and cache (hit: rendered before; miss: rendered for this request).",
		}, []string{"format", "cache"}),
		loads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "elmcity_output_calendar_loads_total",
			Help: "Published calendars this instance loaded and decoded, by outcome (ok, error, stale: storage failed and the known calendar was served).",
		}, []string{"outcome"}),
		cacheBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "elmcity_output_cache_bytes",
			Help: "Bytes of published calendars and rendered views held in memory, all hubs together (bounded by ELMCITY_OUTPUT_CACHE_BYTES).",
		}),
		renders: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "elmcity_output_renders_total",
			Help: "Views rendered, by format: one per cache miss, however many requests shared it.",
		}, []string{"format"}),
		storageUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "elmcity_storage_up",
			Help: "1 when the last storage call of the readiness probe or of a calendar check succeeded, 0 when it failed.",
		}),
	}
	m.storageUp.Set(1)
	if logDropped != nil {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "elmcity_table_log_dropped_total",
			Help: "Log entries the table log could not keep (its buffer full while storage was unreachable, or refused by storage)."},
			func() float64 { return float64(logDropped()) }))
	}
	m.reg.MustRegister(m.requests, m.latency, m.scriptRuns, m.views, m.loads, m.cacheBytes, m.storageUp, m.renders,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// outputs are the series the public outputs keep.
func (m *metrics) outputs() outputs.Metrics {
	return outputs.Metrics{Views: m.views, Loads: m.loads, Renders: m.renders, CacheBytes: m.cacheBytes, StorageUp: m.storageUp}
}

// observe counts every request by its route pattern (never the raw path,
// which would explode the series count).
func (m *metrics) observe() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, c.Request.Method, strconv.Itoa(c.Writer.Status())).Inc()
		m.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
	}
}

// MetricsHandler serves the Server's Prometheus registry at GET /metrics
// (anything else is a 404). The web role serves it on its own listener
// (ELMCITY_METRICS_ADDR), never on the public one: series by route and
// status, the Go runtime's and the process's are for operators.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	return mux
}
