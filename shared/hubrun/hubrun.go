// Package hubrun is the summary of one aggregation run of a hub: the
// first line of every published payload, which the worker writes and reads
// back on its next run (conditional GETs, change detection) and the web
// role reads for the stats report and API.
package hubrun

import (
	"time"

	"github.com/elmcity/elmcity/shared/fetch"
)

// Header is the first line of a published payload: the run's summary and
// every feed's state.
type Header struct {
	V        int       `json:"v"`
	Hub      string    `json:"hub"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	// TZ is the hub's time zone in this run, which placed its feeds'
	// floating times: a run in another zone parses every feed again.
	TZ       string `json:"tz,omitempty"`
	FeedsOK  int    `json:"feeds_ok"`
	FeedsBad int    `json:"feeds_failed"`
	// Events counts every event published, cancelled ones included (the
	// publisher's cap on a hub's events counts them too); Cancelled
	// counts those of them that are cancelled.
	Events    int `json:"events"`
	Cancelled int `json:"cancelled,omitempty"`
	Merged    int `json:"merged"`
	// Cut counts the events left out by the publisher's cap on a hub's
	// events (the latest ones); 0 when all were published.
	Cut   int         `json:"cut,omitempty"`
	Feeds []FeedStats `json:"feeds"`
}

// FeedStats is one feed's result in one run.
type FeedStats struct {
	Feed       string `json:"feed"`
	URL        string `json:"url"`
	Source     string `json:"source"`
	Status     string `json:"status"` // ok, not_modified, unchanged, failed
	ErrorClass string `json:"error_class,omitempty"`
	Error      string `json:"error,omitempty"`
	HTTPStatus int    `json:"http_status,omitempty"`
	Bytes      int64  `json:"bytes,omitempty"`
	DurationMS int64  `json:"duration_ms"`
	Events     int    `json:"events"`
	Recurring  int    `json:"recurring"`
	// Occurrences counts the feed's occurrences in the window that take
	// place; Cancelled those it lists as cancelled, which are published
	// too, marked so. The flags compare what the feed lists (both) with
	// the run before, so a feed that cancels events is not flagged.
	Occurrences int            `json:"occurrences"`
	Cancelled   int            `json:"cancelled,omitempty"`
	Skipped     int            `json:"skipped"`
	Truncated   int            `json:"truncated,omitempty"`
	Zones       map[string]int `json:"zones,omitempty"` // anomalies: floating, windows, unknown ...
	ProdID      string         `json:"prodid,omitempty"`
	LastSuccess time.Time      `json:"last_success,omitzero"`
	// FailingSince is the start of the first run of the failures the feed
	// is in now; zero while it works.
	FailingSince time.Time `json:"failing_since,omitzero"`
	// ExpandedTo is the end of the window the feed's events were last
	// expanded over: once the hub's window reaches past it, the feed is
	// fetched and parsed again even if it did not change.
	ExpandedTo time.Time `json:"expanded_to,omitzero"`
	// Previous is the run before's Occurrences, PreviousCancelled its
	// Cancelled.
	Previous          int              `json:"previous_occurrences"`
	PreviousCancelled int              `json:"previous_cancelled,omitempty"`
	Flag              string           `json:"flag,omitempty"` // "dropped to zero", "dropped by more than half"
	Validators        fetch.Validators `json:"validators"`
	// Kind is the feed's kind (shared/feedkind) when it is not
	// iCalendar: jsonld, csv, json, rss or script.
	Kind string `json:"kind,omitempty"`
	// Items counts what the conversion or the adapter script read (CSV
	// rows, JSON objects, JSON-LD events, RSS items, the adapter's
	// events), ItemsSkipped those left out. KindWarnings say why, and
	// name the events the parser then skipped: at most MaxKindWarnings
	// of them, MoreKindWarnings counting the rest.
	Items            int      `json:"items,omitempty"`
	ItemsSkipped     int      `json:"items_skipped,omitempty"`
	KindWarnings     []string `json:"kind_warnings,omitempty"`
	MoreKindWarnings int      `json:"more_kind_warnings,omitempty"`
	// Fetches counts the pages a script feed's adapter fetched.
	Fetches int `json:"fetches,omitempty"`
}

// MaxKindWarnings bounds FeedStats.KindWarnings.
const MaxKindWarnings = 20

// AddKindWarning appends w to st.KindWarnings, or counts it in
// MoreKindWarnings once there are MaxKindWarnings.
func (st *FeedStats) AddKindWarning(w string) {
	if len(st.KindWarnings) >= MaxKindWarnings {
		st.MoreKindWarnings++
		return
	}
	st.KindWarnings = append(st.KindWarnings, w)
}
