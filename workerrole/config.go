package main

import (
	"time"

	"github.com/elmcity/elmcity/shared/envconfig"
)

// Config is the worker role's whole configuration, read from the
// environment once in run.
type Config struct {
	envconfig.Common
	MetricsAddr       string
	VisibilityTimeout time.Duration
	MaxDequeueCount   int
}

// loadConfig reads and validates the configuration; the error names every
// bad variable.
func loadConfig(getenv func(string) string) (Config, []envconfig.Var, error) {
	r := envconfig.New(getenv)
	c := Config{
		Common:      r.Common(envconfig.Hostname()),
		MetricsAddr: r.Addr("ELMCITY_WORKER_METRICS_ADDR", "127.0.0.1:9090", "worker health, readiness and metrics listen address"),
		VisibilityTimeout: r.Duration("ELMCITY_JOB_VISIBILITY_TIMEOUT", 60*time.Second, 5*time.Second, 2*time.Hour,
			"how long a received job stays hidden from other workers; renewed while the job runs"),
		MaxDequeueCount: r.Int("ELMCITY_JOB_MAX_DEQUEUE", 5, 1, 100, "receives after which a job is parked in the poison queue"),
	}
	return c, r.Vars(), r.Err()
}
