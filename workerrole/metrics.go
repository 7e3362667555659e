package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the worker's Prometheus series, in a registry of their own.
type metrics struct {
	reg      *prometheus.Registry
	jobs     *prometheus.CounterVec
	started  *prometheus.CounterVec
	duration *prometheus.HistogramVec
	leader   prometheus.Gauge
	feeds    *prometheus.CounterVec
	events   prometheus.Counter
}

// newMetrics registers the job series and gauges that ask the queue for
// its approximate length when scraped.
func newMetrics(length, poison func(context.Context) (int, error), logDropped func() uint64) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "elmcity_jobs_total",
			Help: "Jobs finished by kind and outcome (ok, retry, snoozed, parked, cancelled).",
		}, []string{"kind", "outcome"}),
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "elmcity_jobs_started_total",
			Help: "Jobs started by kind.",
		}, []string{"kind"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "elmcity_job_duration_seconds",
			Help:    "Job duration by kind.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 12),
		}, []string{"kind"}),
		feeds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "elmcity_feeds_fetched_total",
			Help: "Feeds fetched by status (ok, not_modified, unchanged, failed) and error class.",
		}, []string{"status", "error_class"}),
		events: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "elmcity_events_published_total",
			Help: "Events (occurrences after merging, cancelled ones included) in the calendars published.",
		}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "elmcity_scheduler_leader",
			Help: "1 while this instance holds the scheduler's leader lease.",
		}),
	}
	gauge := func(name, help string, f func(context.Context) (int, error)) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			n, err := f(ctx)
			if err != nil {
				return -1
			}
			return float64(n)
		})
	}
	m.reg.MustRegister(m.jobs, m.started, m.duration, m.leader, m.feeds, m.events,
		gauge("elmcity_queue_length", "Approximate number of jobs in the queue (-1 when storage does not answer).", length),
		gauge("elmcity_poison_queue_length", "Approximate number of parked jobs (-1 when storage does not answer).", poison),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "elmcity_table_log_dropped_total",
			Help: "Log entries the table log could not keep (its buffer full while storage was unreachable, or refused by storage)."},
			func() float64 { return float64(logDropped()) }),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observeJob is the runner's Observe hook.
func (m *metrics) observeJob(kind, outcome string, d time.Duration) {
	m.jobs.WithLabelValues(kind, outcome).Inc()
	m.duration.WithLabelValues(kind).Observe(d.Seconds())
}

// setLeader is the scheduler's OnLeader hook.
func (m *metrics) setLeader(lead bool) {
	if lead {
		m.leader.Set(1)
	} else {
		m.leader.Set(0)
	}
}

// Feed counts one feed's outcome (aggregate.Observer).
func (m *metrics) Feed(status, errorClass string) { m.feeds.WithLabelValues(status, errorClass).Inc() }

// Published counts a publish's events (aggregate.Observer).
func (m *metrics) Published(events int) { m.events.Add(float64(events)) }

// jobStarted is the runner's Started hook.
func (m *metrics) jobStarted(kind string) { m.started.WithLabelValues(kind).Inc() }
