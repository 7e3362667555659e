package script

import (
	"context"
	"time"
)

// LogEntry is one entry of a hub's table log, as scripts read and
// maintenance scripts write it.
type LogEntry struct {
	// ID identifies the entry within its hub (the table's RowKey).
	ID string
	// Hub is the hub the entry belongs to.
	Hub string
	// Type is the entry type: "info", "warning", "exception", or another
	// type a maintenance script chose, such as "summary".
	Type string
	// Message is the one-line message; Detail is optional longer text.
	Message, Detail string
	// Role and Instance say which role and instance wrote the entry. The
	// host fills them for entries written by scripts.
	Role, Instance string
	// Time is when the entry was written.
	Time time.Time
	// Attrs holds the entry's other attributes.
	Attrs map[string]string
}

// LogQuery selects a hub's log entries, with the filters of the table log
// reader.
type LogQuery struct {
	// Hub is the hub whose entries are read.
	Hub string
	// Types keeps entries of these types; empty keeps all.
	Types []string
	// Since and Until bound Time (Since inclusive, Until exclusive); zero
	// means unbounded.
	Since, Until time.Time
	// Include keeps entries whose message or detail contains at least one
	// of these substrings (case-insensitive); empty keeps all.
	Include []string
	// Exclude drops entries whose message or detail contains any of these
	// substrings (case-insensitive).
	Exclude []string
	// Limit is the most entries to return; the engine always sets it,
	// between 1 and Config.MaxLogEntries.
	Limit int
	// After is the continuation token a previous ReadLog returned; empty
	// starts from the newest entry.
	After string
}

// Host is the read side of the host API, which every run with a host may
// use. The web role adapts its storage to it for query scripts. Methods
// honour ctx (the run's, which ends at its time limit) and return errors
// that the script sees as exceptions; they should return ErrNotFound for
// an unknown hub. What they return belongs to the engine until the run
// ends and is not modified by it. Methods may be called concurrently by
// different runs.
type Host interface {
	// ReadLog returns a hub's log entries matching q, newest first, and a
	// continuation token for the next page (empty when there is none).
	ReadLog(ctx context.Context, q LogQuery) ([]LogEntry, string, error)
	// Hub returns a hub's record as JSON-like data (strings, numbers,
	// bools, time.Time, nested maps and slices).
	Hub(ctx context.Context, hub string) (map[string]any, error)
	// Feeds returns a hub's feeds, each with its per-feed statistics, as
	// JSON-like data.
	Feeds(ctx context.Context, hub string) ([]map[string]any, error)
	// Events returns up to limit of a hub's published events, soonest
	// first, as JSON-like data.
	Events(ctx context.Context, hub string, limit int) ([]map[string]any, error)
}

// MaintenanceHost is the host API of maintenance scripts: the read side
// plus functions that change state. The worker role adapts its storage
// and queue to it. A run gets these functions only when
// Request.Maintenance is set; the engine checks that, not the host.
type MaintenanceHost interface {
	Host
	// WriteLog appends e to e.Hub's log. Time is set by the engine; the
	// host fills Role, Instance and ID.
	WriteLog(ctx context.Context, e LogEntry) error
	// PurgeLog deletes a hub's log entries older than olderThan and
	// returns how many it deleted.
	PurgeLog(ctx context.Context, hub string, olderThan time.Time) (int, error)
	// Enqueue queues an aggregation job for hub and returns its id.
	Enqueue(ctx context.Context, hub, reason string) (string, error)
	// Hubs returns the ids of all hubs.
	Hubs(ctx context.Context) ([]string, error)
}

// Request is one run of a script.
type Request struct {
	// Name is the script's name relative to Config.Source, such as
	// "services/log_info.js"; ".js" is appended when missing.
	Name string
	// Argv becomes the script's argv, a JavaScript array of strings.
	Argv []string
	// Params becomes the script's params, a read-only object of strings
	// (the query parameters in the web role).
	Params map[string]string
	// Hub is the hub the run acts for. Console output is logged with
	// the "hub" attribute set to it, and a query script may read only
	// this hub. Empty means no hub (a maintenance run over all hubs).
	Hub string
	// Host is the host API; nil gives a run whose elmcity functions all
	// fail with ErrCapability.
	Host Host
	// Maintenance grants the maintenance functions. Host must then also
	// implement MaintenanceHost, or Run fails with ErrCapability.
	Maintenance bool
}
