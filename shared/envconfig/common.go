package envconfig

import (
	"log/slog"
	"os"
	"regexp"
	"strings"
	"time"
)

// Common is the configuration both roles share: where storage is, which
// table and queue they use, who they are, and how they log.
type Common struct {
	Storage         Secret
	LogTable        string
	HubsTable       string
	FeedsTable      string
	CalendarsTable  string
	JobQueue        string
	Instance        string
	LogLevel        slog.Level
	ShutdownTimeout time.Duration
	StartupTimeout  time.Duration
	// StorageTryTimeout bounds each try of a storage request, so a
	// storage service that stops answering fails the call (and its
	// retries) instead of holding it.
	StorageTryTimeout time.Duration
}

var (
	tableName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{2,62}$`)
	queueName = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,55}$`)
)

// Common reads the shared variables. hostname is the default instance name
// (os.Hostname in main).
func (r *Reader) Common(hostname string) Common {
	c := Common{
		Storage: r.Secret("AZURE_STORAGE_CONNECTION_STRING",
			"Azure Storage connection string; unset or UseDevelopmentStorage=true means Azurite on 127.0.0.1"),
		LogTable:   r.String("ELMCITY_LOG_TABLE", "elmcitylog", "table that holds every role's per-hub log entries"),
		HubsTable:  r.String("ELMCITY_HUBS_TABLE", "elmcityhubs", "table that holds hubs and curators"),
		FeedsTable: r.String("ELMCITY_FEEDS_TABLE", "elmcityfeeds", "table that holds each hub's feeds"),
		CalendarsTable: r.String("ELMCITY_CALENDARS_TABLE", "elmcitycalendars",
			"table that holds each hub's published calendars"),
		JobQueue: r.String("ELMCITY_JOB_QUEUE", "elmcity-jobs", "queue of aggregation jobs; parked jobs go to NAME-poison"),
		Instance: r.String("ELMCITY_INSTANCE", "", "instance name stamped on log entries (empty: the host name)"),
		ShutdownTimeout: r.Duration("ELMCITY_SHUTDOWN_TIMEOUT", 20*time.Second, time.Second, 10*time.Minute,
			"how long a stopping role drains in-flight work before cancelling it"),
		StartupTimeout: r.Duration("ELMCITY_STARTUP_TIMEOUT", 60*time.Second, 0, 30*time.Minute,
			"how long a starting role waits for storage to answer"),
		StorageTryTimeout: r.Duration("ELMCITY_STORAGE_TRY_TIMEOUT", 10*time.Second, 100*time.Millisecond, 10*time.Minute,
			"longest one try of a storage request may take before it is abandoned (and retried)"),
	}
	if c.Instance == "" {
		c.Instance = hostname
	}
	r.Check(tableName.MatchString(c.LogTable), "ELMCITY_LOG_TABLE", c.LogTable, "must be 3-63 letters and digits, starting with a letter")
	r.Check(tableName.MatchString(c.HubsTable), "ELMCITY_HUBS_TABLE", c.HubsTable, "must be 3-63 letters and digits, starting with a letter")
	r.Check(tableName.MatchString(c.FeedsTable), "ELMCITY_FEEDS_TABLE", c.FeedsTable, "must be 3-63 letters and digits, starting with a letter")
	r.Check(tableName.MatchString(c.CalendarsTable), "ELMCITY_CALENDARS_TABLE", c.CalendarsTable, "must be 3-63 letters and digits, starting with a letter")
	r.Check(queueName.MatchString(c.JobQueue), "ELMCITY_JOB_QUEUE", c.JobQueue, "must be 3-56 lowercase letters, digits and single hyphens")
	lvl := r.String("ELMCITY_LOG_LEVEL", "info", "stdout log level: debug, info, warn or error")
	if err := c.LogLevel.UnmarshalText([]byte(lvl)); err != nil {
		r.fail("ELMCITY_LOG_LEVEL", lvl, "must be debug, info, warn or error")
	}
	return c
}

// Hostname is os.Hostname with a fallback, for the default instance name.
func Hostname() string {
	h, err := os.Hostname()
	if err != nil || strings.TrimSpace(h) == "" {
		return "unknown"
	}
	return h
}
