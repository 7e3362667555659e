package main

import (
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/envconfig"
	"github.com/elmcity/elmcity/workerrole/internal/aggregate"
	"github.com/elmcity/elmcity/workerrole/internal/worker"
)

// Config is the worker role's whole configuration, read from the
// environment once in run.
type Config struct {
	envconfig.Common
	Scripts           envconfig.Scripts
	SchedulerTick     time.Duration
	HubLeaseTTL       time.Duration
	MetricsAddr       string
	FetchAllowPrivate bool
	FetchTimeout      time.Duration
	FetchMaxBytes     int
	Concurrency       int
	FeedConcurrency   int
	VisibilityTimeout time.Duration
	MaxDequeueCount   int
	JobTimeout        time.Duration
	ParseTimeout      time.Duration
	MaxHubEvents      int
	MaxRegionMembers  int
	Bounds            calendar.Config
}

// loadConfig reads and validates the configuration; the error names every
// bad variable.
func loadConfig(getenv func(string) string) (Config, []envconfig.Var, error) {
	r := envconfig.New(getenv)
	c := Config{
		Common:  r.Common(envconfig.Hostname()),
		Scripts: r.Scripts(),
		HubLeaseTTL: r.Duration("ELMCITY_HUB_LEASE_TTL", 2*time.Minute, 3*time.Second, time.Hour,
			"how long a worker's claim on a hub lasts without renewal (renewed at a third); a killed worker's hub is free again after it"),
		SchedulerTick: r.Duration("ELMCITY_SCHEDULER_TICK", time.Minute, time.Second, time.Hour,
			"how often the elected scheduler enqueues stale hubs and runs due maintenance scripts; its lease lasts three ticks"),
		MetricsAddr: r.Addr("ELMCITY_WORKER_METRICS_ADDR", "127.0.0.1:9090", "worker health, readiness and metrics listen address"),
		VisibilityTimeout: r.Duration("ELMCITY_JOB_VISIBILITY_TIMEOUT", 60*time.Second, 5*time.Second, 2*time.Hour,
			"how long a received job stays hidden from other workers; renewed while the job runs"),
		MaxDequeueCount: r.Int("ELMCITY_JOB_MAX_DEQUEUE", 5, 1, 100, "receives after which a job is parked in the poison queue"),
		FetchAllowPrivate: r.Bool("ELMCITY_FETCH_ALLOW_PRIVATE", false,
			"allow feeds on loopback and private addresses (development and tests only)"),
		FetchTimeout:    r.Duration("ELMCITY_FETCH_TIMEOUT", 30*time.Second, time.Second, 10*time.Minute, "total time to fetch one feed"),
		FetchMaxBytes:   r.Int("ELMCITY_FETCH_MAX_BYTES", 10<<20, 1<<10, 256<<20, "largest feed body accepted (bigger ones fail, never truncate)"),
		Concurrency:     r.Int("ELMCITY_WORKER_CONCURRENCY", 2, 1, 64, "aggregation jobs one worker runs at once"),
		FeedConcurrency: r.Int("ELMCITY_FEED_CONCURRENCY", 8, 1, 64, "feeds of one hub fetched at once"),
		JobTimeout: r.Duration("ELMCITY_JOB_TIMEOUT", worker.DefaultJobTimeout, 10*time.Second, 24*time.Hour,
			"longest one aggregation job may run; then it is cancelled and retried, and parked at ELMCITY_JOB_MAX_DEQUEUE"),
		ParseTimeout: r.Duration("ELMCITY_FEED_PARSE_TIMEOUT", aggregate.DefaultParseTimeout, 100*time.Millisecond, time.Hour,
			"longest parsing and expanding one feed may take; then the feed fails (parse_timeout) and keeps its last good events"),
		MaxHubEvents: r.Int("ELMCITY_MAX_HUB_EVENTS", aggregate.DefaultMaxHubEvents, 100, 10_000_000,
			"events a hub publishes at most (the earliest), cancelled ones included; the stats say how many were cut"),
		MaxRegionMembers: r.Int("ELMCITY_MAX_REGION_MEMBERS", aggregate.DefaultMaxRegionMembers, 1, 400,
			"member hubs a region merges at most (the first, once each)"),
	}
	c.Bounds = calendar.Config{
		MaxFeedBytes: c.FetchMaxBytes,
		MaxSteps: r.Int("ELMCITY_EXPAND_SERIES_STEPS", calendar.DefaultMaxSteps, 10_000, 1_000_000_000,
			"work one event's recurrence may cost in one expansion (periods, days and times looked at); past it the series is cut short"),
		MaxFeedSteps: r.Int("ELMCITY_EXPAND_FEED_STEPS", calendar.DefaultMaxFeedSteps, 100_000, 10_000_000_000,
			"work all the events of one feed may cost in one expansion (about half a second at the default); each series gets a fair share"),
		MaxPeriodInstants: r.Int("ELMCITY_RRULE_MAX_PERIOD_INSTANTS", calendar.DefaultMaxPeriodInstants, 100, 100_000_000,
			"instants one period of an RRULE may hold (a YEARLY rule with every BYHOUR, BYMINUTE and BYSECOND holds millions); a rule over it is ignored with a warning"),
		MaxComponents: r.Int("ELMCITY_FEED_MAX_COMPONENTS", calendar.DefaultMaxComponents, 100, 100_000_000,
			"top-level components (events, time zones) read from one feed; the rest are left out with a note"),
		MaxOccurrences: r.Int("ELMCITY_FEED_MAX_OCCURRENCES", calendar.DefaultMaxOccurrences, 1000, 100_000_000,
			"occurrences one feed may contribute to a hub's window"),
	}
	r.Check(c.JobTimeout > c.FetchTimeout, "ELMCITY_JOB_TIMEOUT", c.JobTimeout.String(), "must be longer than ELMCITY_FETCH_TIMEOUT")
	return c, r.Vars(), r.Err()
}
