package api

import (
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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
}

func newMetrics() *metrics {
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
			Help: "Script runs by script and outcome (ok, error, timeout).",
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
			Help: "Bytes of rendered views held in memory, all hubs together.",
		}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.scriptRuns, m.views, m.loads, m.cacheBytes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
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

// handler serves the registry in the Prometheus text format.
func (m *metrics) handler() gin.HandlerFunc {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return gin.WrapH(h)
}
