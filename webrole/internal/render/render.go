// Package render turns a hub's published calendar into what the public
// reads: ICS, JSON, RSS, XML, CSV, plain text, the tag list, the hub page
// and the per-feed report. It does no I/O beyond writing to an io.Writer;
// the web role loads the generation, builds a Calendar once per
// generation, parses a Filter from the query string and hands both to a
// renderer.
//
// Everything in a Calendar comes from strangers' feeds, so the renderers
// share one rule per hazard: every link passes SafeURL (http and https
// only), a feed's own URL passes PublicFeedURL (scheme, host and path),
// every CSV cell passes one formula defuser, and the public report shows
// a failure's class, never its error text.
package render

import (
	"net/url"
	"time"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/hubcal"
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
	// Events are the merged events, sorted by start, title and UID: the
	// published calendar in its compact form, made into hubcal.Events one at
	// a time as views need them.
	Events EventList
	// Run is the published run header (the per-feed stats) as JSON, for
	// the stats report.
	Run []byte
}

// EventList is a published calendar's events in calendar order (by start,
// title and UID), made one at a time: *hubcal.Calendar, or Events.
// It is read concurrently.
type EventList interface {
	// Len is the number of events.
	Len() int
	// Span is the start and end of event i (midnight UTC of its dates
	// for an all-day event), without making it.
	Span(i int) (start, end time.Time)
	// UID is the hub UID of event i, without making it.
	UID(i int) string
	// Event makes event i.
	Event(i int) hubcal.Event
}

var _ EventList = (*hubcal.Calendar)(nil)

// Feed is one feed of the hub as the public sees it.
type Feed struct {
	ID      string
	Source  string // display name
	FeedURL string // the ICS feed; the page shows it as PublicFeedURL does
	HomeURL string // the contributor's home page, if any (SafeURL)
	Status  string // last run: ok, not_modified, unchanged, failed
	Events  int    // occurrences contributed in the last run
}

// View is one request's rendering: the calendar, the filter and the
// events the filter kept.
type View struct {
	Cal    *Calendar
	Filter Filter
	// Events are Cal.Events after Filter.Apply.
	Events []hubcal.Event
	// Next, when set, is the start of the first event the view left out
	// at its count: the hub page links to the events from there.
	Next time.Time
	// WindowFrom and WindowTo are the hub page's window of days
	// (PageWindow): its first day and the day after its last; zero for
	// other formats and a single event.
	WindowFrom, WindowTo time.Time
	// Collapsed are the runs of one source's events on one day that the
	// hub page shows in part (SelectPage).
	Collapsed []Collapsed
	// Now is the request time; Today is local midnight of Now in Cal.Loc.
	Now time.Time
	// Base is the configured absolute URL of the site root
	// ("https://host", no trailing slash) for the absolute links of
	// ICS, RSS, JSON, the subscribe links and the embeddable fragment.
	// It must never come from the request (Host, X-Forwarded-Host): the
	// output is cached and served to everyone. Empty leaves those links
	// out, or relative where the format allows (HTML, the RSS channel).
	Base string
}

// HubPath is the path of the hub page; FormatPath the path of one format
// ("ics", "json" ...). Both are relative to View.Base.
func HubPath(hubID string) string { return "/" + url.PathEscape(hubID) }

// FormatPath is the path of the hub's calendar in format.
func FormatPath(hubID, format string) string {
	return "/services/" + url.PathEscape(hubID) + "/" + format
}
