package main

import (
	"net/url"
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/envconfig"
	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/tablestore"
	"github.com/elmcity/elmcity/webrole/internal/api"
	"github.com/elmcity/elmcity/webrole/internal/console"
	"github.com/elmcity/elmcity/webrole/internal/outputs"
)

// Config is the web role's whole configuration, read from the environment
// once in run.
type Config struct {
	envconfig.Common
	Scripts           envconfig.Scripts
	HTTPAddr          string
	MetricsAddr       string
	AdminToken        envconfig.Secret
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxBodyBytes      int
	Outputs           outputs.Config
	// Limits bound what curators may store and how often they may queue
	// work; run passes them to tablestore.Config.
	Limits tablestore.Limits
	// SessionLifetime is how long a console sign-in lasts.
	SessionLifetime time.Duration
	// Check bounds POST /api/hubs/{hub}/check, which fetches feeds under
	// the worker's rules (the same variables); run adds the fetcher.
	Check             api.CheckConfig
	FetchAllowPrivate bool
	FetchTimeout      time.Duration
	FetchMaxBytes     int
}

// loadConfig reads and validates the configuration; the error names every
// bad variable.
func loadConfig(getenv func(string) string) (Config, []envconfig.Var, error) {
	r := envconfig.New(getenv)
	c := Config{
		Common:            r.Common(envconfig.Hostname()),
		Scripts:           r.Scripts(),
		HTTPAddr:          r.Addr("ELMCITY_HTTP_ADDR", "127.0.0.1:8080", "web role listen address"),
		MetricsAddr:       r.Addr("ELMCITY_METRICS_ADDR", "127.0.0.1:9091", "listen address of the web role's Prometheus /metrics, apart from the public one; keep it off the internet"),
		AdminToken:        r.Secret("ELMCITY_ADMIN_TOKEN", "bearer token of the administrator (creates hubs and curators); unset disables admin access"),
		ReadHeaderTimeout: r.Duration("ELMCITY_HTTP_READ_HEADER_TIMEOUT", 5*time.Second, time.Second, time.Minute, "time to read request headers"),
		ReadTimeout:       r.Duration("ELMCITY_HTTP_READ_TIMEOUT", 15*time.Second, time.Second, 10*time.Minute, "time to read a whole request"),
		WriteTimeout:      r.Duration("ELMCITY_HTTP_WRITE_TIMEOUT", 30*time.Second, time.Second, 10*time.Minute, "time to write a response"),
		IdleTimeout:       r.Duration("ELMCITY_HTTP_IDLE_TIMEOUT", 120*time.Second, time.Second, time.Hour, "keep-alive idle time"),
		MaxBodyBytes:      r.Int("ELMCITY_HTTP_MAX_BODY_BYTES", 1<<20, 1<<10, 64<<20, "largest request body accepted"),
		Outputs: outputs.Config{
			PublicURL:  r.String("ELMCITY_PUBLIC_URL", "", "absolute root URL of the public site (https://calendar.example.org) for absolute links in the outputs (ICS, RSS, JSON, subscribe links); set it in production. Empty: those links are relative or left out; the request's Host is never used"),
			CheckEvery: r.Duration("ELMCITY_OUTPUT_CHECK_INTERVAL", outputs.DefaultCheckEvery, 100*time.Millisecond, time.Hour, "how often an instance checks a hub for a new published calendar; the longest a new one takes to reach readers"),
			MaxAge:     r.Duration("ELMCITY_OUTPUT_MAX_AGE", outputs.DefaultMaxAge, time.Second, 24*time.Hour, "Cache-Control max-age of the public outputs"),
			CacheBytes: int64(r.Int("ELMCITY_OUTPUT_CACHE_BYTES", outputs.DefaultCacheBytes, 1<<20, 1<<34, "memory for the decoded calendars and the rendered views they are served from, all hubs together")),
		},
		Limits: tablestore.Limits{
			MaxFeedsPerHub: r.Int("ELMCITY_MAX_FEEDS_PER_HUB", tablestore.DefaultMaxFeedsPerHub, 1, 10_000,
				"feeds one hub may have; adding another is a 409 too_many_feeds"),
			MaxRegionMembers: r.Int("ELMCITY_MAX_REGION_MEMBERS", hub.DefaultMaxRegionMembers, 1, 400,
				"member hubs a region may list, repeats counted once (more is a 400); at most 400, which a hub record can store"),
			PendingJobTTL: r.Duration("ELMCITY_AGGREGATE_PENDING_TTL", tablestore.DefaultPendingJobTTL, time.Minute, 24*time.Hour,
				"how long a queued aggregation that has not started holds off another for its hub (requests meanwhile answer with it)"),
			HistoryRetention: r.Duration("ELMCITY_HISTORY_RETENTION", tablestore.DefaultHistoryRetention, time.Hour, 10*366*24*time.Hour,
				"how long a hub's history of changes (GET /api/hubs/{hub}/history) keeps an entry"),
		},
	}
	c.SessionLifetime = r.Duration("ELMCITY_CONSOLE_SESSION_LIFETIME", console.DefaultLifetime, 5*time.Minute, 30*24*time.Hour,
		"how long a sign-in to the curator console lasts; revoking or rotating the curator's token ends it sooner")
	c.FetchAllowPrivate = r.Bool("ELMCITY_FETCH_ALLOW_PRIVATE", false,
		"let feed checks (POST /api/hubs/{hub}/check) fetch loopback and private addresses (development and tests only), as the worker's variable does")
	c.FetchTimeout = r.Duration("ELMCITY_FETCH_TIMEOUT", 30*time.Second, time.Second, 10*time.Minute, "total time a feed check may take to fetch the feed")
	c.FetchMaxBytes = r.Int("ELMCITY_FETCH_MAX_BYTES", 10<<20, 1<<10, 256<<20, "largest feed body a check reads (bigger ones are reported too large)")
	c.Check = api.CheckConfig{
		Bounds: calendar.Config{MaxFeedBytes: c.FetchMaxBytes},
		ParseTimeout: r.Duration("ELMCITY_FEED_PARSE_TIMEOUT", 20*time.Second, 100*time.Millisecond, time.Hour,
			"longest parsing and expanding a checked feed may take"),
		PerMinute: r.Int("ELMCITY_CHECKS_PER_MINUTE", api.DefaultChecksPerMinute, 1, 1000,
			"feed checks one curator may start in a minute (one at a time); more is a 429"),
		AtOnce: r.Int("ELMCITY_CHECKS_AT_ONCE", api.DefaultChecksAtOnce, 1, 64,
			"feed checks the web role runs at once, all curators together; more is a 429"),
		Timeout: r.Duration("ELMCITY_CHECK_TIMEOUT", api.DefaultCheckTimeout, time.Second, 10*time.Minute,
			"longest a feed check may take in all, fetch and parse (keep it under ELMCITY_HTTP_WRITE_TIMEOUT)"),
	}
	if u := c.Outputs.PublicURL; u != "" {
		p, err := url.Parse(u)
		r.Check(err == nil && (p.Scheme == "https" || p.Scheme == "http") && p.Host != "" && (p.Path == "" || p.Path == "/") && p.RawQuery == "",
			"ELMCITY_PUBLIC_URL", u, "must be an absolute http(s) URL of a site root, such as https://calendar.example.org")
	}
	r.Check(c.Check.Timeout < c.WriteTimeout, "ELMCITY_CHECK_TIMEOUT", c.Check.Timeout.String(), "must be shorter than ELMCITY_HTTP_WRITE_TIMEOUT")
	r.Check(c.AdminToken == "" || len(c.AdminToken) >= 16, "ELMCITY_ADMIN_TOKEN", "REDACTED", "must be at least 16 characters")
	return c, r.Vars(), r.Err()
}
