package render

import (
	"cmp"
	"encoding/json"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/elmcity/elmcity/shared/hubcal"
)

// JSONCalendar is the JSON form of a view: the schema of
// GET /services/{hub}/json, stable across releases (fields are only ever
// added).
type JSONCalendar struct {
	Hub JSONHub `json:"hub"`
	// Generation and PublishedAt identify the published calendar.
	Generation  string    `json:"generation"`
	PublishedAt time.Time `json:"published_at"`
	// Count is len(Events).
	Count  int         `json:"count"`
	Events []JSONEvent `json:"events"`
}

// JSONHub describes the hub.
type JSONHub struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	TZ    string `json:"tz"`
	// URL is the hub page.
	URL string `json:"url,omitempty"`
}

// JSONEvent is one event.
type JSONEvent struct {
	UID   string `json:"uid"`
	Title string `json:"title"`
	// Start and End are RFC 3339 times with the hub zone's offset, or,
	// when AllDay, dates (2026-12-05); an all-day End is exclusive: the
	// day after the last day, as in iCalendar.
	Start  string `json:"start"`
	End    string `json:"end"`
	AllDay bool   `json:"all_day"`
	// Cancelled marks an event its feeds cancelled (STATUS:CANCELLED): it
	// is listed so that readers learn it is off. Absent when it is not.
	Cancelled bool `json:"cancelled,omitempty"`
	// Description, Location and URL are plain text; URL is the event's
	// own page, else its first source's.
	Description string `json:"description,omitempty"`
	Location    string `json:"location,omitempty"`
	URL         string `json:"url,omitempty"`
	// Tags are lowercase; Contributed lists those of them outside the
	// hub's vocabulary.
	Tags        []string `json:"tags"`
	Contributed []string `json:"contributed,omitempty"`
	// Sources are the feeds that list the event, the primary first.
	Sources []JSONSource `json:"sources"`
	// Merged explains each copy from another feed folded into this event.
	Merged []JSONMerge `json:"merged,omitempty"`
	// ICS is the single-event calendar (add to calendar).
	ICS string `json:"ics,omitempty"`
}

// JSONSource is one feed's copy of an event.
type JSONSource struct {
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
	Feed string `json:"feed"`
}

// JSONMerge is one dedupe decision.
type JSONMerge struct {
	Feed   string `json:"feed"`
	UID    string `json:"uid"`
	Reason string `json:"reason"`
}

// JSON writes the view in the JSONCalendar schema.
func JSON(w io.Writer, v *View) error {
	out := JSONCalendar{
		Hub:        JSONHub{ID: v.Cal.Hub.ID, Title: v.Cal.Hub.Title, TZ: v.Cal.Loc.String()},
		Generation: v.Cal.Generation, PublishedAt: v.Cal.PublishedAt.UTC(),
		Count: len(v.Events), Events: make([]JSONEvent, len(v.Events)),
	}
	if v.Base != "" {
		out.Hub.URL = v.Base + HubPath(v.Cal.Hub.ID)
	}
	for i := range v.Events {
		out.Events[i] = jsonEvent(v, &v.Events[i])
	}
	return json.NewEncoder(w).Encode(out)
}

func jsonEvent(v *View, ev *hubcal.Event) JSONEvent {
	loc := v.Cal.Loc
	je := JSONEvent{
		UID: ev.UID, Title: ev.Title, AllDay: ev.AllDay, Cancelled: ev.Cancelled,
		Description: ev.Description, Location: ev.Location, URL: eventURL(ev),
		Tags: PlainTags(ev.Tags), Sources: make([]JSONSource, len(ev.Sources)),
	}
	if ev.AllDay {
		je.Start, je.End = ev.Start.UTC().Format(time.DateOnly), allDayEnd(ev).UTC().Format(time.DateOnly)
	} else {
		je.Start, je.End = ev.Start.In(loc).Format(time.RFC3339), ev.End.In(loc).Format(time.RFC3339)
	}
	for _, t := range ev.Tags {
		if strings.HasPrefix(t, "{") {
			je.Contributed = append(je.Contributed, strings.Trim(t, "{}"))
		}
	}
	for i, s := range ev.Sources {
		je.Sources[i] = JSONSource{Name: s.Name, URL: SafeURL(s.URL), Feed: s.Feed}
	}
	for _, m := range ev.Merged {
		je.Merged = append(je.Merged, JSONMerge(m))
	}
	if v.Base != "" {
		je.ICS = EventICSURL(v.Base, v.Cal.Hub.ID, ev.UID)
	}
	return je
}

// EventICSURL is the single-event calendar of one event (add to calendar).
func EventICSURL(base, hubID, uid string) string {
	return base + FormatPath(hubID, "ics") + "?uid=" + url.QueryEscape(uid)
}

// allDayEnd is the exclusive end date of an all-day event: at least the
// day after its start.
func allDayEnd(ev *hubcal.Event) time.Time {
	if ev.End.After(ev.Start) {
		return ev.End
	}
	return ev.Start.AddDate(0, 0, 1)
}

// TagCount is one tag of the hub with how many events in the view carry it.
type TagCount struct {
	Tag         string `json:"tag"`
	Count       int    `json:"count"`
	Contributed bool   `json:"contributed,omitempty"`
}

// Tags counts the tags of events, sorted by tag.
func Tags(events []hubcal.Event) []TagCount {
	c := tagCounter{}
	for i := range events {
		c.add(&events[i])
	}
	return c.list()
}

// tagCounter counts the tags of events, one event at a time.
type tagCounter map[string]*TagCount

func (c tagCounter) add(e *hubcal.Event) {
	for _, t := range e.Tags {
		name, contributed := strings.Trim(t, "{}"), strings.HasPrefix(t, "{")
		tc := c[name]
		if tc == nil {
			tc = &TagCount{Tag: name, Contributed: contributed}
			c[name] = tc
		}
		tc.Count++
		tc.Contributed = tc.Contributed && contributed
	}
}

// list returns the counts by tag name.
func (c tagCounter) list() []TagCount {
	out := make([]TagCount, 0, len(c))
	for _, tc := range c {
		out = append(out, *tc)
	}
	slices.SortFunc(out, func(a, b TagCount) int { return cmp.Compare(a.Tag, b.Tag) })
	return out
}

// TagsJSON writes the tags of the view's events with their counts: a
// JSON array of {"tag", "count", "contributed"}.
func TagsJSON(w io.Writer, v *View) error {
	return json.NewEncoder(w).Encode(Tags(v.Events))
}
