package render

import (
	"cmp"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/elmcity/elmcity/shared/calendar"
)

// templateFS holds the HTML templates of the hub page and the stats
// report; they are parsed once.
//
//go:embed templates/*.html
var templateFS embed.FS

// htmlTemplates are the hub page ("page"), its events fragment
// ("events") and the stats report ("stats"). Parsed templates are
// immutable and safe for concurrent use.
var htmlTemplates = template.Must(template.New("").ParseFS(templateFS, "templates/*.html"))

// PageOptions are the options of the hub page.
type PageOptions struct {
	// EventsOnly renders only the events, as an HTML fragment (no html,
	// head or body) with absolute links, for pasting into another site.
	EventsOnly bool
}

// Page writes the hub page of the view: the events grouped by day (in
// the hub's zone) and time of day, a tag picker, subscribe links for the
// hub and for the current view, and an about section with the feeds and
// the publish time. It needs no JavaScript and no external resource. With
// opt.EventsOnly it writes only the events fragment.
func Page(w io.Writer, v *View, opt PageOptions) error {
	name := "page"
	if opt.EventsOnly {
		name = "events"
	}
	if err := htmlTemplates.ExecuteTemplate(w, name, newPageData(v, opt)); err != nil {
		return fmt.Errorf("render hub page of %s: %w", v.Cal.Hub.ID, err)
	}
	return nil
}

// Parts of the day the page groups a day's events into, in order.
var pageParts = [...]string{"All day", "Morning", "Afternoon", "Evening"}

// pageData is what the page templates read.
type pageData struct {
	Title     string
	HubHref   string // the hub page, absolute in a fragment
	Days      []pageDay
	Count     int
	Tags      []pageTag
	ViewLabel string // the current view, "music, not kids"; empty without one
	ClearHref string // the page without the view
	Subscribe pageSubscribe
	Feeds     []pageFeed
	Updated   string // publish time in the hub's zone
	UpdatedAt string // the same, RFC 3339
	StatsHref string
	RSSHref   string
	Zone      string
	// EventsOnly marks the fragment, which credits the hub.
	EventsOnly bool
	// NextHref pages on when the view was cut at its count.
	NextHref string
}

// pageDay is one day of events.
type pageDay struct {
	ID    string // anchor, d-2026-12-05
	Date  string // 2026-12-05
	Label string // Saturday, December 5
	Parts []pagePart
}

// pagePart is one part of a day (all day, morning ...).
type pagePart struct {
	Name   string
	Events []pageEvent
}

// pageEvent is one event as the page shows it.
type pageEvent struct {
	ID          string // anchor
	UID         string
	When        string // 7:00 PM – 9:00 PM
	StartAt     string // RFC 3339 or a date, for <time datetime>
	Title       string
	URL         string
	Location    string
	Description string
	Source      pageLink
	More        []pageLink // the other sources of a merged event
	Tags        []pageTag
	AddHref     string // single-event ICS
}

// pageLink is a named link; URL is empty when there is nothing safe to
// link to.
type pageLink struct {
	Name string
	URL  string
}

// pageTag is one entry of the tag picker or of an event's tags.
type pageTag struct {
	Name        string
	Href        string
	Count       int
	Current     bool
	Contributed bool
}

// pageSubscribe are the subscribe links. The webcal ones are typed as
// trusted URLs: html/template would otherwise refuse the scheme, and they
// are built from View.Base (the configured public URL), never from user
// input; they are empty without one.
type pageSubscribe struct {
	HubWebcal  template.URL
	HubHTTPS   string
	ViewWebcal template.URL
	ViewHTTPS  string
	Formats    []pageLink // the view in other formats
}

// pageFeed is one feed of the about section.
type pageFeed struct {
	Source  string
	HomeURL string
	FeedURL string
	Status  string
	Events  int
	Failed  bool
}

func newPageData(v *View, opt PageOptions) *pageData {
	cal := v.Cal
	loc := cmp.Or(cal.Loc, time.UTC)
	hubID := cal.Hub.ID
	// Links are relative on the page and absolute in the fragment, which
	// lives on another site.
	base := ""
	if opt.EventsOnly {
		base = v.Base
	}
	link := func(path string) string { return base + path }
	pageHref := func(q url.Values) string {
		if len(q) == 0 {
			return link(HubPath(hubID))
		}
		return link(HubPath(hubID) + "?" + q.Encode())
	}
	d := &pageData{
		Title:      cmp.Or(cal.Hub.Title, hubID),
		HubHref:    link(HubPath(hubID)),
		Count:      len(v.Events),
		StatsHref:  FormatPath(hubID, "stats"),
		Zone:       loc.String(),
		RSSHref:    FormatPath(hubID, "rss"),
		EventsOnly: opt.EventsOnly,
	}
	if !cal.PublishedAt.IsZero() {
		d.Updated = cal.PublishedAt.In(loc).Format("Monday, January 2, 2006 at 3:04 PM MST")
		d.UpdatedAt = cal.PublishedAt.In(loc).Format(time.RFC3339)
	}
	current := v.Filter.Tags
	if len(v.Filter.Tags)+len(v.Filter.Exclude) > 0 {
		label := slices.Clone(v.Filter.Tags)
		for _, t := range v.Filter.Exclude {
			label = append(label, "not "+t)
		}
		d.ViewLabel = strings.Join(label, ", ")
		d.ClearHref = pageHref(v.Filter.WithView())
	}
	tagHref := func(name string) string { return pageHref(v.Filter.WithView(name)) }

	// The picker offers the tags of the events in the window and source
	// of the current view, whatever its tags, so a view can be left for
	// another.
	window := v.Filter
	window.Tags, window.Exclude, window.Count, window.UID = nil, nil, 0, ""
	counts, seen := tagCounter{}, 0
	window.Each(cal.Events, loc, func(e *calendar.HubEvent) bool {
		counts.add(e)
		seen++
		return seen < MaxTagScan
	})
	for _, tc := range counts.list() {
		d.Tags = append(d.Tags, pageTag{
			Name: tc.Tag, Href: tagHref(tc.Tag), Count: tc.Count,
			Current: slices.Contains(current, tc.Tag), Contributed: tc.Contributed,
		})
	}

	// Days. An event that began before the window's first day (still
	// running) is shown on that day.
	var floor time.Time
	if !v.Filter.From.IsZero() {
		floor = Today(v.Filter.From, loc)
	}
	type placed struct {
		day   time.Time
		part  int
		start time.Time
		ev    pageEvent
	}
	var all []placed
	for i := range v.Events {
		e := &v.Events[i]
		start, end := Span(e, loc)
		day, ongoing := Today(start, loc), false
		if !floor.IsZero() && day.Before(floor) {
			day, ongoing = floor, true
		}
		part := 0
		if !e.AllDay && !ongoing {
			switch h := e.Start.In(loc).Hour(); {
			case h < 12:
				part = 1
			case h < 17:
				part = 2
			default:
				part = 3
			}
		}
		pe := pageEvent{
			ID:          "ev-" + pageHash(e.UID),
			UID:         e.UID,
			When:        pageWhen(e, loc, end, day, ongoing),
			Title:       e.Title,
			URL:         eventURL(e),
			Location:    e.Location,
			Description: pageShorten(e.Description, 1000),
			AddHref:     EventICSURL(base, hubID, e.UID),
		}
		if e.AllDay {
			pe.StartAt = e.Start.UTC().Format(time.DateOnly)
		} else {
			pe.StartAt = e.Start.In(loc).Format(time.RFC3339)
		}
		for j, s := range e.Sources {
			l := pageLink{Name: cmp.Or(s.Name, s.Feed), URL: SafeURL(s.URL)}
			if j == 0 {
				pe.Source = l
			} else {
				pe.More = append(pe.More, l)
			}
		}
		for _, tag := range PlainTags(e.Tags) {
			pe.Tags = append(pe.Tags, pageTag{Name: tag, Href: tagHref(tag), Current: slices.Contains(current, tag)})
		}
		all = append(all, placed{day, part, start, pe})
	}
	slices.SortStableFunc(all, func(a, b placed) int {
		return cmp.Or(a.day.Compare(b.day), cmp.Compare(a.part, b.part), a.start.Compare(b.start))
	})
	for _, p := range all {
		if n := len(d.Days); n == 0 || d.Days[n-1].Date != p.day.Format(time.DateOnly) {
			d.Days = append(d.Days, pageDay{
				ID:    "d-" + p.day.Format(time.DateOnly),
				Date:  p.day.Format(time.DateOnly),
				Label: pageDayLabel(p.day, Today(v.Now, loc)),
			})
		}
		day := &d.Days[len(d.Days)-1]
		if n := len(day.Parts); n == 0 || day.Parts[n-1].Name != pageParts[p.part] {
			day.Parts = append(day.Parts, pagePart{Name: pageParts[p.part]})
		}
		part := &day.Parts[len(day.Parts)-1]
		part.Events = append(part.Events, p.ev)
	}

	if !v.Next.IsZero() {
		q := v.Filter.Query()
		q.Del("days")
		q.Set("from", v.Next.In(loc).Format(time.RFC3339))
		if !v.Filter.To.IsZero() {
			q.Set("to", v.Filter.To.In(loc).Format(time.RFC3339))
		}
		d.NextHref = pageHref(q)
	}

	// Subscribe links: the whole hub, and the current view when it
	// selects something. A subscription keeps the source, view and a
	// rolling days window, not a fixed range or count. Without a
	// configured public URL (View.Base) the https links are relative and
	// there is no webcal link, which must be absolute.
	ics := v.Base + FormatPath(hubID, "ics")
	d.Subscribe.HubHTTPS = ics
	q := v.Filter.Query()
	for _, k := range []string{"uid", "count", "from", "to"} {
		q.Del(k)
	}
	if len(q) > 0 {
		d.Subscribe.ViewHTTPS = ics + "?" + q.Encode()
	}
	if v.Base != "" {
		d.Subscribe.HubWebcal = template.URL(pageWebcal(d.Subscribe.HubHTTPS))
		if d.Subscribe.ViewHTTPS != "" {
			d.Subscribe.ViewWebcal = template.URL(pageWebcal(d.Subscribe.ViewHTTPS))
		}
	}
	rq := ""
	if q := v.Filter.Query(); len(q) > 0 {
		rq = "?" + q.Encode()
	}
	for _, f := range []struct{ name, format string }{{"JSON", "json"}, {"RSS", "rss"}, {"CSV", "csv"}, {"Text", "text"}} {
		d.Subscribe.Formats = append(d.Subscribe.Formats, pageLink{Name: f.name, URL: FormatPath(hubID, f.format) + rq})
	}

	for _, f := range cal.Feeds {
		d.Feeds = append(d.Feeds, pageFeed{
			Source:  cmp.Or(f.Source, f.ID),
			HomeURL: SafeURL(f.HomeURL),
			FeedURL: PublicFeedURL(f.FeedURL),
			Status:  cmp.Or(f.Status, "not fetched yet"),
			Events:  f.Events,
			Failed:  f.Status == "failed",
		})
	}
	return d
}

// pageWhen is the time of an event as the page shows it, relative to the
// day it is listed on.
func pageWhen(e *calendar.HubEvent, loc *time.Location, end, day time.Time, ongoing bool) string {
	const clock = "3:04 PM"
	const date = "Mon, Jan 2"
	if e.AllDay {
		if last := end.AddDate(0, 0, -1); last.After(day) {
			return "All day, until " + last.Format(date)
		}
		return "All day"
	}
	s, en := e.Start.In(loc), e.End.In(loc)
	// An end at midnight belongs to the day before.
	endDay := Today(en.Add(-time.Nanosecond), loc)
	sameDay := !en.After(s) || endDay.Equal(day)
	switch {
	case ongoing && sameDay:
		return "Until " + en.Format(clock)
	case ongoing:
		return "Until " + en.Format(date+", "+clock)
	case !en.After(s):
		return s.Format(clock)
	case sameDay:
		return s.Format(clock) + " – " + en.Format(clock)
	default:
		return s.Format(clock) + " – " + en.Format(date+", "+clock)
	}
}

// pageDayLabel names a day, "Today, Saturday, December 5"; the year
// shows when it is not today's.
func pageDayLabel(day, today time.Time) string {
	layout := "Monday, January 2"
	if day.Year() != today.Year() {
		layout += ", 2006"
	}
	label := day.Format(layout)
	switch {
	case day.Equal(today):
		return "Today, " + label
	case day.Equal(today.AddDate(0, 0, 1)):
		return "Tomorrow, " + label
	}
	return label
}

// pageWebcal is an http(s) URL with the webcal scheme, which calendar
// apps open as a subscription.
func pageWebcal(u string) string {
	if _, rest, ok := strings.Cut(u, "://"); ok {
		return "webcal://" + rest
	}
	return ""
}

// pageHash is a short stable id for an anchor.
func pageHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:6])
}

// pageShorten cuts s to at most n runes at a word boundary.
func pageShorten(s string, n int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n]
	cut := string(r)
	if i := strings.LastIndexAny(cut, " \n\t"); i > n/2 {
		cut = cut[:i]
	}
	return strings.TrimSpace(cut) + "…"
}
