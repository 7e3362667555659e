// Package render turns a hub's published calendar into what the public
// reads: ICS, JSON, RSS, XML, CSV, plain text, the tag list, the hub page
// and the per-feed report. It does no I/O beyond writing to an io.Writer;
// the web role loads the generation, builds a Calendar once per
// generation, parses a Filter from the query string and hands both to a
// renderer.
package render

import (
	"net/url"
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/hub"
)

// Calendar is one published generation of a hub, ready to render. It is
// built once per generation and read concurrently; renderers never modify
// it.
type Calendar struct {
	// Hub is the hub's settings (title, time zone, vocabulary ...).
	Hub hub.Hub
	// Loc is the hub's time zone, loaded from Hub.TZ.
	Loc *time.Location
	// Generation is the published generation id; PublishedAt its time.
	Generation  string
	PublishedAt time.Time
	// Feeds are the hub's feeds with their last run's state, for the
	// about section.
	Feeds []Feed
	// Events are the merged events, sorted by start, title and UID.
	Events []calendar.HubEvent
	// Run is the published run header (the per-feed stats) as JSON, for
	// the stats report.
	Run []byte
}

// Feed is one feed of the hub as the public sees it.
type Feed struct {
	ID      string
	Source  string // display name
	FeedURL string // the ICS feed, as render.PublicFeedURL shows it
	HomeURL string // the contributor's home page, if any
	Status  string // last run: ok, not_modified, unchanged, failed
	Events  int    // occurrences contributed in the last run
}

// View is one request's rendering: the calendar, the filter and the
// events the filter kept.
type View struct {
	Cal    *Calendar
	Filter Filter
	// Events are Cal.Events after Filter.Apply.
	Events []calendar.HubEvent
	// Now is the request time; Today is local midnight of Now in Cal.Loc.
	Now time.Time
	// Base is the absolute URL of the site root ("https://host"), for
	// links in feeds and subscribe links; no trailing slash.
	Base string
}

// HubPath is the path of the hub page; FormatPath the path of one format
// ("ics", "json" ...). Both are relative to View.Base.
func HubPath(hubID string) string { return "/" + url.PathEscape(hubID) }

// FormatPath is the path of the hub's calendar in format.
func FormatPath(hubID, format string) string {
	return "/services/" + url.PathEscape(hubID) + "/" + format
}
