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

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/hubcal"
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
	// Layout is "compact" (time, title, place and source on a line or
	// two, the rest on the event's own page), "full" (every event with
	// its details and add-to-calendar links), or "" for compact when the
	// list is longer than compactAfter events.
	Layout string
	// Frame renders the events as a document of their own, styled, to
	// frame from another site (FramePolicy); its links open a new
	// window, never in the frame.
	Frame bool
}

// Layouts of the hub page (PageOptions.Layout).
const (
	LayoutCompact = "compact"
	LayoutFull    = "full"
)

// compactAfter is the longest list the page shows in the full layout
// by default.
const compactAfter = 20

// Page writes the hub page of the view: the events of its window (see
// PageWindow and SelectPage) grouped by day (in the hub's zone) and time
// of day, navigation to the days before and after and to any date, a tag
// picker, subscribe links for the hub and for the current view, the
// events as schema.org JSON-LD, and an about section with the feeds and
// the publish time. It needs no JavaScript and no external resource but
// the hub's logo. With opt.EventsOnly it writes only the events
// fragment.
func Page(w io.Writer, v *View, opt PageOptions) error {
	name := "page"
	switch {
	case opt.Frame:
		name, opt.EventsOnly = "frame", true
	case opt.EventsOnly:
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
	Title   string
	HubHref string // the hub page, absolute in a fragment
	Look    pageLook
	Days    []pageDay
	// Count is the events in the window that take place, shown and
	// collapsed; Cancelled those that are cancelled, which the page
	// lists too, marked so.
	Count     int
	Cancelled int
	AtLeast   bool // the window has more than Count (the page was cut)
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
	// Single is a view of one event (uid): its own page.
	Single *pageEvent
	// Compact is the compact layout; LayoutHref and LayoutLabel switch.
	Compact     bool
	LayoutHref  string
	LayoutLabel string
	Window      pageWindow
	// JSONLD is the events as schema.org Event items.
	JSONLD template.JS
	// Embed are the snippets that put this view on another site.
	Embed *pageEmbed
}

// pageLook is the hub's look (hub.Look) as the page writes it.
type pageLook struct {
	Logo   string
	Header string
	// CSS is the hub's own stylesheet (its accent), allowed by
	// PagePolicy.
	CSS template.CSS
}

// pageWindow is the navigation of the page's window of days.
type pageWindow struct {
	Label     string // Saturday, December 5 – Friday, December 11
	PrevHref  string
	PrevLabel string
	NextHref  string
	NextLabel string
	// Jump is the form to go to a date.
	JumpAction string
	JumpValue  string     // the window's first day
	JumpMin    string     // today
	JumpHidden []pageLink // the view's other parameters, as Name=URL
	// Days are the days on the page, linked to their anchors.
	Days []pageLink
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
	TitleID     string // the title's id, which names the event's links
	UID         string
	When        string // 7:00 PM – 9:00 PM
	StartAt     string // RFC 3339 or a date, for <time datetime>
	Title       string
	URL         string
	Location    string
	Description string
	Source      pageLink
	MoreSources []pageLink // the other sources of a merged event
	Tags        []pageTag
	// Cancelled marks an event its feeds cancelled: the page says so in
	// words before its title, which it strikes through.
	Cancelled bool
	AddHref   string // single-event ICS (which says STATUS:CANCELLED when it is)
	// GoogleHref is Google Calendar's form, filled in; none for a
	// cancelled event, which there is no point adding.
	GoogleHref  string
	DetailsHref string // the event's own page (the compact layout's title)
	// More is the rest of a run of this event's source on its day.
	More *pageMore
}

// pageMore is the link to the rest of a collapsed run.
type pageMore struct {
	Count  int
	Source string
	Href   string
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
	look := LookOf(cal.Hub)
	// Links are relative on the page and absolute in the fragment, which
	// lives on another site.
	base := ""
	if opt.EventsOnly {
		base = v.Base
	}
	link := func(path string) string { return base + path }
	layout := ""
	if opt.Layout == LayoutCompact || opt.Layout == LayoutFull {
		layout = opt.Layout
	}
	hrefIn := func(layout string, q url.Values) string {
		if layout != "" {
			q.Set("layout", layout)
		}
		if len(q) == 0 {
			return link(HubPath(hubID))
		}
		return link(HubPath(hubID) + "?" + q.Encode())
	}
	pageHref := func(q url.Values) string { return hrefIn(layout, q) }
	today := Today(v.Now, loc)
	d := &pageData{
		Title:      cmp.Or(cal.Hub.Title, hubID),
		HubHref:    link(HubPath(hubID)),
		Look:       pageLook{Logo: look.Logo, Header: look.Header, CSS: template.CSS(brandCSS(look))},
		AtLeast:    !v.Next.IsZero(),
		StatsHref:  FormatPath(hubID, "stats"),
		Zone:       loc.String(),
		RSSHref:    FormatPath(hubID, "rss"),
		EventsOnly: opt.EventsOnly,
	}
	for i := range v.Events {
		if v.Events[i].Cancelled {
			d.Cancelled++
		}
	}
	d.Count = len(v.Events) - d.Cancelled
	for _, c := range v.Collapsed {
		d.Count += c.More - c.Cancelled
		d.Cancelled += c.Cancelled
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
	if v.Filter.UID == "" {
		window := v.Filter
		window.Tags, window.Exclude, window.Count = nil, nil, 0
		counts, seen := tagCounter{}, 0
		window.Each(cal.Events, loc, func(e *hubcal.Event) bool {
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
	}

	// The layout: compact for long lists, unless the query says.
	d.Compact = layout == LayoutCompact || layout == "" && len(v.Events) > compactAfter
	if v.Filter.UID != "" {
		d.Compact = false
	} else if len(v.Events) > 0 {
		other := LayoutFull
		d.LayoutLabel = "Show every event with its details"
		if !d.Compact {
			other, d.LayoutLabel = LayoutCompact, "Show a compact list"
		}
		d.LayoutHref = hrefIn(other, v.Filter.Query())
	}

	// Days. An event that began before the window's first day (still
	// running) is shown on that day.
	var floor time.Time
	if !v.Filter.From.IsZero() {
		floor = Today(v.Filter.From, loc)
	}
	more := map[string]*pageMore{}
	for _, c := range v.Collapsed {
		q := v.Filter.Query()
		for _, k := range []string{"days", "from", "to", "count"} {
			q.Del(k)
		}
		q.Set("source", c.Source)
		q.Set("from", c.Day.Format(time.DateOnly))
		q.Set("to", c.Day.Format(time.DateOnly))
		more[c.After] = &pageMore{Count: c.More, Source: c.Source, Href: pageHref(q)}
	}
	type placed struct {
		day   time.Time
		part  int
		start time.Time
		ev    pageEvent
	}
	var all []placed
	var ld []jsonLDEvent
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
		h := pageHash(e.UID)
		pe := pageEvent{
			ID:          "ev-" + h,
			TitleID:     "t-" + h,
			UID:         e.UID,
			When:        pageWhen(e, loc, end, day, ongoing),
			Title:       e.Title,
			URL:         eventURL(e),
			Location:    e.Location,
			Description: pageShorten(e.Description, 1000),
			Cancelled:   e.Cancelled,
			AddHref:     EventICSURL(base, hubID, e.UID),
			More:        more[e.UID],
		}
		if d.Compact {
			q := url.Values{"uid": {e.UID}}
			pe.DetailsHref = pageHref(q)
		} else if !e.Cancelled {
			pe.GoogleHref = GoogleCalendarURL(e, loc)
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
				pe.MoreSources = append(pe.MoreSources, l)
			}
		}
		if !d.Compact {
			for _, tag := range PlainTags(e.Tags) {
				pe.Tags = append(pe.Tags, pageTag{Name: tag, Href: tagHref(tag), Current: slices.Contains(current, tag)})
			}
		}
		if item, ok := jsonLD(v, e, pe.Source.Name); ok {
			ld = append(ld, item)
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
				Label: pageDayLabel(p.day, today),
			})
		}
		day := &d.Days[len(d.Days)-1]
		if n := len(day.Parts); n == 0 || day.Parts[n-1].Name != pageParts[p.part] {
			day.Parts = append(day.Parts, pagePart{Name: pageParts[p.part]})
		}
		part := &day.Parts[len(day.Parts)-1]
		part.Events = append(part.Events, p.ev)
	}
	if v.Filter.UID != "" && len(all) == 1 {
		d.Single = &all[0].ev
		title := all[0].ev.Title
		if all[0].ev.Cancelled {
			title = CancelledPrefix + title
		}
		d.Title = title + " · " + d.Title
	}
	if len(ld) > 0 && !opt.EventsOnly {
		d.JSONLD = jsonLDScript(ld)
	}
	if !opt.EventsOnly {
		d.Embed = newPageEmbed(v, d.Title)
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
	if !v.WindowFrom.IsZero() && !opt.EventsOnly {
		d.Window = newPageWindow(v, look, today, base, pageHref)
		if layout != "" {
			d.Window.JumpHidden = append(d.Window.JumpHidden, pageLink{Name: "layout", URL: layout})
		}
		for _, day := range d.Days {
			t, _ := time.ParseInLocation(time.DateOnly, day.Date, loc)
			d.Window.Days = append(d.Window.Days, pageLink{Name: t.Format("Mon 2"), URL: "#" + day.ID})
		}
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

// newPageWindow is the navigation of the view's window: the days before
// it (never before today) and after it (while the calendar has events
// there), of the same length, and the form to go to a date.
func newPageWindow(v *View, look hub.Look, today time.Time, base string, pageHref func(url.Values) string) pageWindow {
	from, to := v.WindowFrom, v.WindowTo
	n := max(1, int(to.Sub(from).Hours()/24+0.5))
	last := to.AddDate(0, 0, -1)
	w := pageWindow{Label: from.Format("Monday, January 2"), JumpValue: from.Format(time.DateOnly), JumpMin: today.Format(time.DateOnly)}
	if last.After(from) {
		w.Label += " – " + last.Format("Monday, January 2")
	}
	if from.Year() != today.Year() || last.Year() != today.Year() {
		w.Label += ", " + last.Format("2006")
	}
	span := func(n int) string {
		if n == 1 {
			return "day"
		}
		return fmt.Sprintf("%d days", n)
	}
	// The links keep the view's source, tags and count, and set the
	// window by its dates (to is the last day).
	q := v.Filter.Query()
	for _, k := range []string{"days", "from", "to", "uid"} {
		q.Del(k)
	}
	window := func(from, last time.Time) string {
		if from.Equal(today) && n == look.Days {
			return pageHref(cloneValues(q)) // the default window
		}
		wq := cloneValues(q)
		wq.Set("from", from.Format(time.DateOnly))
		wq.Set("to", last.Format(time.DateOnly))
		return pageHref(wq)
	}
	if from.After(today) {
		prev := from.AddDate(0, 0, -n)
		if prev.Before(today) {
			prev = today
		}
		w.PrevHref = window(prev, from.AddDate(0, 0, -1))
		w.PrevLabel = "Previous " + span(n)
	}
	if events := v.Cal.Events; events.Len() > 0 {
		if lastStart, _ := events.Span(events.Len() - 1); !lastStart.Before(to) {
			w.NextHref = window(to, to.AddDate(0, 0, n-1))
			w.NextLabel = "Next " + span(n)
		}
	}
	w.JumpAction = base + HubPath(v.Cal.Hub.ID)
	for _, k := range []string{"source", "view", "count"} {
		if val := q.Get(k); val != "" {
			w.JumpHidden = append(w.JumpHidden, pageLink{Name: k, URL: val})
		}
	}
	return w
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	return out
}

// pageWhen is the time of an event as the page shows it, relative to the
// day it is listed on.
func pageWhen(e *hubcal.Event, loc *time.Location, end, day time.Time, ongoing bool) string {
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
