package render

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/elmcity/elmcity/shared/hubcal"
)

// RSS writes the view as an RSS 2.0 channel that feed validators accept:
// one item per event, its pubDate the event's start, its guid the
// event's UID (not a permalink), one category per tag, and its
// description the time, place, sources and description as escaped HTML
// (readers render a description as HTML: line breaks are <br>, and text
// that looks like markup is shown, never run). Every link is a URI
// (SafeURL). With a configured public URL (View.Base) the channel names
// itself with an atom:link rel="self", as RSS Best Practices ask. A
// cancelled event's title starts "Cancelled: ".
func RSS(w io.Writer, v *View) error {
	// The hub page is absolute with a configured public URL; without one
	// the channel's required link is the relative path, and items
	// without a link of their own get none.
	hubID := v.Cal.Hub.ID
	pageQuery, selfQuery := "", ""
	if q := v.Filter.Query(); len(q) > 0 {
		selfQuery = "?" + q.Encode()
		for _, k := range []string{"count", "uid"} {
			q.Del(k)
		}
		if len(q) > 0 {
			pageQuery = "?" + q.Encode()
		}
	}
	hubPage := v.Base + HubPath(hubID)
	ch := rssChannel{
		Title:       xmlText(cmp.Or(v.Cal.Hub.Title, hubID)),
		Link:        hubPage + pageQuery,
		Description: xmlText(fmt.Sprintf("Events of %s, gathered from %d feeds", cmp.Or(v.Cal.Hub.Title, hubID), len(v.Cal.Feeds))),
		Generator:   "elmcity",
		Docs:        "https://www.rssboard.org/rss-specification",
		Items:       make([]rssItem, len(v.Events)),
	}
	if v.Base != "" {
		ch.Self = &rssAtomLink{Href: v.Base + FormatPath(hubID, "rss") + selfQuery, Rel: "self", Type: "application/rss+xml"}
	}
	if !v.Cal.PublishedAt.IsZero() {
		ch.LastBuildDate = v.Cal.PublishedAt.UTC().Format(time.RFC1123Z)
	}
	if h := v.Cal.Hub.IntervalHours; h > 0 {
		ch.TTL = h * 60
	}
	for i := range v.Events {
		ev := &v.Events[i]
		link := eventURL(ev)
		if link == "" && v.Base != "" {
			link = hubPage
		}
		item := rssItem{
			Title:       xmlText(statusTitle(ev)),
			Link:        link,
			Description: xmlText(describeHTML(v, ev)),
			Categories:  PlainTags(ev.Tags),
			GUID:        rssGUID{ID: xmlText(ev.UID), IsPermaLink: "false"},
			PubDate:     ev.Start.In(v.Cal.Loc).Format(time.RFC1123Z),
		}
		for j, c := range item.Categories {
			item.Categories[j] = xmlText(c)
		}
		if ev.AllDay {
			item.PubDate = LocalDate(ev.Start, v.Cal.Loc).Format(time.RFC1123Z)
		}
		ch.Items[i] = item
	}
	return writeXML(w, rssDoc{Version: "2.0", AtomNS: rssAtomNamespace, Channel: ch})
}

// rssAtomNamespace is the Atom namespace, for the channel's atom:link.
const rssAtomNamespace = "http://www.w3.org/2005/Atom"

// rssDoc is an RSS 2.0 document.
type rssDoc struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	AtomNS  string     `xml:"xmlns:atom,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title         string       `xml:"title"`
	Self          *rssAtomLink `xml:"atom:link,omitempty"`
	Link          string       `xml:"link"`
	Description   string       `xml:"description"`
	LastBuildDate string       `xml:"lastBuildDate,omitempty"`
	Generator     string       `xml:"generator"`
	Docs          string       `xml:"docs"`
	TTL           int          `xml:"ttl,omitempty"`
	Items         []rssItem    `xml:"item"`
}

type rssAtomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr"`
}

type rssItem struct {
	Title       string   `xml:"title"`
	Link        string   `xml:"link,omitempty"`
	Description string   `xml:"description"`
	Categories  []string `xml:"category"`
	GUID        rssGUID  `xml:"guid"`
	PubDate     string   `xml:"pubDate"`
}

type rssGUID struct {
	ID          string `xml:",chardata"`
	IsPermaLink string `xml:"isPermaLink,attr"`
}

// CancelledPrefix starts the title of a cancelled event in the formats
// that have no field of their own for its status (RSS, CSV, text).
const CancelledPrefix = "Cancelled: "

// statusTitle is an event's title with CancelledPrefix when it is
// cancelled.
func statusTitle(ev *hubcal.Event) string {
	if ev.Cancelled {
		return CancelledPrefix + ev.Title
	}
	return ev.Title
}

// describeHTML is an event's time, place, sources and description as
// HTML for an RSS item: every text escaped, line breaks as <br>.
func describeHTML(v *View, ev *hubcal.Event) string {
	esc := func(s string) string {
		s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
		return strings.ReplaceAll(html.EscapeString(s), "\n", "<br>")
	}
	var b strings.Builder
	b.WriteString("<p>" + esc(When(ev, v.Cal.Loc)))
	if ev.Location != "" {
		b.WriteString("<br>" + esc(ev.Location))
	}
	b.WriteString("<br>Source: " + esc(sourceNames(ev)) + "</p>")
	if d := strings.TrimSpace(ev.Description); d != "" {
		b.WriteString("<p>" + esc(d) + "</p>")
	}
	return b.String()
}

// When is an event's date and time in loc, for people:
// "Sat Dec 5, 2026 7:00 PM-9:00 PM" or "Sat Dec 5, 2026 (all day)".
func When(ev *hubcal.Event, loc *time.Location) string {
	if ev.AllDay {
		first, last := ev.Start.UTC(), allDayEnd(ev).UTC().AddDate(0, 0, -1)
		if !last.After(first) {
			return first.Format("Mon Jan 2, 2006") + " (all day)"
		}
		return first.Format("Mon Jan 2, 2006") + " - " + last.Format("Mon Jan 2, 2006") + " (all day)"
	}
	s, e := ev.Start.In(loc), ev.End.In(loc)
	out := s.Format("Mon Jan 2, 2006 3:04 PM")
	switch {
	case !e.After(s):
	case Today(e, loc).Equal(Today(s, loc)) || e.Equal(Today(s, loc).AddDate(0, 0, 1)):
		out += "-" + e.Format("3:04 PM")
	default:
		out += " - " + e.Format("Mon Jan 2, 2006 3:04 PM")
	}
	return out
}

func sourceNames(ev *hubcal.Event) string {
	names := make([]string, len(ev.Sources))
	for i, s := range ev.Sources {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

// XMLCalendar is the document of GET /services/{hub}/xml; XMLNamespace
// its namespace. calendar.xsd in this package is its schema. It carries
// the fields of the JSON calendar: URL is JSONHub.URL (the hub page).
type XMLCalendar struct {
	XMLName     xml.Name   `xml:"calendar"`
	Xmlns       string     `xml:"xmlns,attr"`
	Hub         string     `xml:"hub,attr"`
	Title       string     `xml:"title,attr"`
	TZ          string     `xml:"tz,attr"`
	URL         string     `xml:"url,attr,omitempty"`
	Generation  string     `xml:"generation,attr,omitempty"`
	PublishedAt string     `xml:"published,attr,omitempty"`
	Count       int        `xml:"count,attr"`
	Events      []XMLEvent `xml:"event"`
}

// XMLNamespace is the namespace of the XML calendar.
const XMLNamespace = "urn:elmcity:calendar:1"

// XMLEvent is one event of the XML calendar; its fields and times follow
// JSONEvent. An event without tags has no tags element, one that nothing
// was merged into no merged element; a cancelled event has
// cancelled="true", one that is not no cancelled attribute.
type XMLEvent struct {
	UID         string      `xml:"uid,attr"`
	AllDay      bool        `xml:"allday,attr"`
	Cancelled   bool        `xml:"cancelled,attr,omitempty"`
	Title       string      `xml:"title"`
	Start       string      `xml:"start"`
	End         string      `xml:"end"`
	Description string      `xml:"description,omitempty"`
	Location    string      `xml:"location,omitempty"`
	URL         string      `xml:"url,omitempty"`
	Tags        *XMLTags    `xml:"tags"`
	Sources     []XMLSource `xml:"sources>source"`
	Merged      *XMLMerged  `xml:"merged"`
	ICS         string      `xml:"ics,omitempty"`
}

// XMLTags are an event's tags (at least one).
type XMLTags struct {
	Tags []XMLTag `xml:"tag"`
}

// XMLMerged are the copies from other feeds folded into an event (at
// least one).
type XMLMerged struct {
	Merges []XMLMerge `xml:"merge"`
}

// XMLMerge is one dedupe decision (JSONMerge).
type XMLMerge struct {
	Feed   string `xml:"feed,attr"`
	UID    string `xml:"uid,attr"`
	Reason string `xml:"reason,attr"`
}

// XMLTag is one tag; Contributed marks a tag outside the hub vocabulary.
type XMLTag struct {
	Name        string `xml:",chardata"`
	Contributed bool   `xml:"contributed,attr,omitempty"`
}

// XMLSource is one feed's copy.
type XMLSource struct {
	Name string `xml:"name,attr"`
	URL  string `xml:"url,attr,omitempty"`
	Feed string `xml:"feed,attr"`
}

// XML writes the view as an XMLCalendar.
func XML(w io.Writer, v *View) error {
	doc := XMLCalendar{
		Xmlns: XMLNamespace, Hub: v.Cal.Hub.ID, Title: xmlText(v.Cal.Hub.Title), TZ: v.Cal.Loc.String(),
		Generation: v.Cal.Generation, Count: len(v.Events), Events: make([]XMLEvent, len(v.Events)),
	}
	if v.Base != "" {
		doc.URL = v.Base + HubPath(v.Cal.Hub.ID)
	}
	if !v.Cal.PublishedAt.IsZero() {
		doc.PublishedAt = v.Cal.PublishedAt.UTC().Format(time.RFC3339)
	}
	for i := range v.Events {
		je := jsonEvent(v, &v.Events[i])
		xe := XMLEvent{
			UID: xmlText(je.UID), AllDay: je.AllDay, Cancelled: je.Cancelled, Title: xmlText(je.Title), Start: je.Start, End: je.End,
			Description: xmlText(je.Description), Location: xmlText(je.Location), URL: je.URL,
			Sources: make([]XMLSource, len(je.Sources)), ICS: je.ICS,
		}
		if len(je.Tags) > 0 {
			xe.Tags = &XMLTags{Tags: make([]XMLTag, len(je.Tags))}
			for j, t := range je.Tags {
				xe.Tags.Tags[j] = XMLTag{Name: xmlText(t), Contributed: contains(je.Contributed, t)}
			}
		}
		for j, s := range je.Sources {
			xe.Sources[j] = XMLSource{Name: xmlText(s.Name), URL: s.URL, Feed: xmlText(s.Feed)}
		}
		if len(je.Merged) > 0 {
			xe.Merged = &XMLMerged{Merges: make([]XMLMerge, len(je.Merged))}
			for j, m := range je.Merged {
				xe.Merged.Merges[j] = XMLMerge{Feed: xmlText(m.Feed), UID: xmlText(m.UID), Reason: xmlText(m.Reason)}
			}
		}
		doc.Events[i] = xe
	}
	return writeXML(w, doc)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func writeXML(w io.Writer, doc any) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	bw.WriteString(xml.Header)
	enc := xml.NewEncoder(bw)
	enc.Indent("", " ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	bw.WriteByte('\n')
	return bw.Flush()
}

// xmlText drops the characters XML 1.0 cannot carry (most C0 controls,
// U+FFFE, U+FFFF): encoding/xml escapes markup but writes those as they
// are, which makes the document ill-formed.
func xmlText(s string) string {
	ok := true
	for _, r := range s {
		if !xmlChar(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	return strings.Map(func(r rune) rune {
		if xmlChar(r) {
			return r
		}
		return -1
	}, s)
}

func xmlChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// CSVHeader is the header row of the CSV output. Dates are ISO 8601 and
// times 24-hour, both in the hub's zone; an all-day event has no times and
// its End Date is its last day (inclusive), as calendar imports expect.
// Tags are comma-separated; Categories holds the same tags separated by
// semicolons, the column and form Outlook's CSV import maps to an
// appointment's categories. A cancelled event's Subject starts
// "Cancelled: ".
var CSVHeader = []string{"Subject", "Start Date", "Start Time", "End Date", "End Time", "All Day Event", "Description", "Location", "URL", "Source", "Tags", "UID", "Categories"}

// CSVBOM is the UTF-8 byte order mark the CSV output starts with: Excel
// and Outlook on Windows read a CSV file without one in the system's
// ANSI code page, which garbles every accented letter.
const CSVBOM = "\uFEFF"

// CSV writes the view as comma-separated values with CSVHeader, after
// CSVBOM.
func CSV(w io.Writer, v *View) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	bw.WriteString(CSVBOM)
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	loc := v.Cal.Loc
	row := make([]string, len(CSVHeader))
	for i := range v.Events {
		ev := &v.Events[i]
		if ev.AllDay {
			row[1], row[2] = ev.Start.UTC().Format(time.DateOnly), ""
			row[3], row[4] = allDayEnd(ev).UTC().AddDate(0, 0, -1).Format(time.DateOnly), ""
		} else {
			s, e := ev.Start.In(loc), ev.End.In(loc)
			row[1], row[2] = s.Format(time.DateOnly), s.Format("15:04")
			row[3], row[4] = e.Format(time.DateOnly), e.Format("15:04")
		}
		row[0], row[5] = statusTitle(ev), strconv.FormatBool(ev.AllDay)
		row[6], row[7], row[8] = ev.Description, ev.Location, eventURL(ev)
		tags := PlainTags(ev.Tags)
		row[9], row[10], row[11] = sourceNames(ev), strings.Join(tags, ","), ev.UID
		row[12] = strings.Join(tags, ";")
		for i := range row {
			row[i] = csvCell(row[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// csvCell defuses a cell a spreadsheet would run as a formula: one that
// starts with = + - @ TAB or CR gets a leading apostrophe (OWASP, CSV
// injection). CSV applies it to every cell of every row, whatever the
// column, so no column can be forgotten.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// Text writes the view as plain text: the events grouped by day, for
// mail and terminals, a cancelled one's title after "Cancelled: ".
func Text(w io.Writer, v *View) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	loc := v.Cal.Loc
	off := 0
	for i := range v.Events {
		if v.Events[i].Cancelled {
			off++
		}
	}
	count := fmt.Sprintf("%d events", len(v.Events))
	if off > 0 {
		count += fmt.Sprintf(", %d of them cancelled", off)
	}
	fmt.Fprintf(bw, "%s\n%s (times in %s)\n", v.Cal.Hub.Title, count, loc)
	var day time.Time
	for i := range v.Events {
		ev := &v.Events[i]
		start, _ := Span(ev, loc)
		if d := Today(start, loc); !d.Equal(day) {
			day = d
			fmt.Fprintf(bw, "\n%s\n", d.Format("Monday, January 2, 2006"))
		}
		at := "all day"
		if !ev.AllDay {
			at = ev.Start.In(loc).Format("3:04 PM")
		}
		fmt.Fprintf(bw, "  %-8s  %s", at, oneLine(statusTitle(ev)))
		if ev.Location != "" {
			fmt.Fprintf(bw, " - %s", oneLine(ev.Location))
		}
		fmt.Fprintf(bw, " [%s]\n", oneLine(sourceNames(ev)))
		if u := eventURL(ev); u != "" {
			fmt.Fprintf(bw, "            %s\n", oneLine(u))
		}
	}
	return bw.Flush()
}

// oneLine folds a text value onto one line without control characters.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)), " ")
}
