package render

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/url"
	"strings"
	"time"

	"github.com/elmcity/elmcity/shared/hubcal"
)

// GoogleCalendarURL is Google Calendar's "add event" form for an event,
// filled in: its title, its times (UTC, or its dates when all day, the
// end exclusive), its place, and as details the start of its description
// and its link. It is an https URL of calendar.google.com, built from
// the event's fields only, each query-escaped.
func GoogleCalendarURL(e *hubcal.Event, loc *time.Location) string {
	var dates string
	if e.AllDay {
		dates = e.Start.UTC().Format("20060102") + "/" + allDayEnd(e).UTC().Format("20060102")
	} else {
		end := e.End
		if end.Before(e.Start) {
			end = e.Start
		}
		dates = e.Start.UTC().Format("20060102T150405Z") + "/" + end.UTC().Format("20060102T150405Z")
	}
	details := pageShorten(e.Description, 500)
	if u := eventURL(e); u != "" {
		if details != "" {
			details += "\n\n"
		}
		details += u
	}
	q := url.Values{"action": {"TEMPLATE"}, "text": {pageShorten(e.Title, 200)}, "dates": {dates}}
	if details != "" {
		q.Set("details", details)
	}
	if e.Location != "" {
		q.Set("location", pageShorten(e.Location, 200))
	}
	if !e.AllDay && loc != nil {
		q.Set("ctz", loc.String())
	}
	return "https://calendar.google.com/calendar/render?" + q.Encode()
}

// jsonLDEvent is one event as a schema.org Event, with the properties
// Google's event rich results require (name, startDate, location with
// an address) and those it recommends that a feed can give (endDate,
// url, organizer; eventStatus, for a cancelled event, see below).
type jsonLDEvent struct {
	Type        string          `json:"@type"`
	Name        string          `json:"name"`
	StartDate   string          `json:"startDate"`
	EndDate     string          `json:"endDate,omitempty"`
	EventStatus string          `json:"eventStatus,omitempty"`
	Location    jsonLDPlace     `json:"location"`
	URL         string          `json:"url,omitempty"`
	Organizer   *jsonLDOrganize `json:"organizer,omitempty"`
}

// jsonLDPlace is a schema.org Place: the event's location as written,
// which is the address a feed gives.
type jsonLDPlace struct {
	Type    string `json:"@type"`
	Address string `json:"address"`
}

// jsonLDOrganize is a schema.org Organization: the event's first source.
type jsonLDOrganize struct {
	Type string `json:"@type"`
	Name string `json:"name"`
}

// An event's eventStatus is https://schema.org/EventCancelled when it is
// cancelled, and left out otherwise: Google reads an Event without one as
// scheduled (https://schema.org/EventScheduled). A feed says no more
// (postponed, moved online) that the hub could pass on.
const jsonLDCancelled = "https://schema.org/EventCancelled"

// jsonLD is an event as a schema.org Event, or false for one Google
// could not show: an event without a place.
func jsonLD(v *View, e *hubcal.Event, source string) (jsonLDEvent, bool) {
	if strings.TrimSpace(e.Location) == "" || strings.TrimSpace(e.Title) == "" {
		return jsonLDEvent{}, false
	}
	loc := v.Cal.Loc
	item := jsonLDEvent{
		Type: "Event", Name: e.Title,
		Location: jsonLDPlace{Type: "Place", Address: e.Location},
		URL:      eventURL(e),
	}
	if e.AllDay {
		item.StartDate = e.Start.UTC().Format(time.DateOnly)
		item.EndDate = allDayEnd(e).UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	} else {
		item.StartDate = e.Start.In(loc).Format(time.RFC3339)
		if e.End.After(e.Start) {
			item.EndDate = e.End.In(loc).Format(time.RFC3339)
		}
	}
	if item.URL == "" && v.Base != "" {
		item.URL = v.Base + HubPath(v.Cal.Hub.ID) + "?" + url.Values{"uid": {e.UID}}.Encode()
	}
	if source != "" {
		item.Organizer = &jsonLDOrganize{Type: "Organization", Name: source}
	}
	if e.Cancelled {
		item.EventStatus = jsonLDCancelled
	}
	return item, true
}

// jsonLDScript is the events as one JSON-LD document for a
// <script type="application/ld+json">: encoding/json writes <, > and &
// as \u escapes, so no text of an event can end the script element.
func jsonLDScript(items []jsonLDEvent) template.JS {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	_ = enc.Encode(struct {
		Context string        `json:"@context"`
		Graph   []jsonLDEvent `json:"@graph"`
	}{"https://schema.org", items}) // only strings: it cannot fail
	return template.JS(bytes.TrimSpace(buf.Bytes()))
}
