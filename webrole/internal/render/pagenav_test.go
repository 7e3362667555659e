package render_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/webrole/internal/render"
)

// navCalendar is a hub with an event every day at 19:00 for 30 days from
// pageNow's day, a morning event today that is over by pageNow, and on
// the 8th a run of eight classes from one gym.
func navCalendar(t testing.TB) *render.Calendar {
	t.Helper()
	cal := pageCalendar(t)
	loc := cal.Loc
	var events []hubcal.Event
	lib := []hubcal.Source{{Feed: "f-lib", Name: "Keene Public Library", URL: "https://library.example.org/"}}
	gym := []hubcal.Source{{Feed: "f-gym", Name: "Keene YMCA", URL: "https://ymca.example.org/"}}
	events = append(events, hubcal.Event{UID: "over@elmcity", Title: "Early Yoga", Start: time.Date(2026, 12, 5, 7, 0, 0, 0, loc),
		End: time.Date(2026, 12, 5, 8, 0, 0, 0, loc), Location: "YMCA", Sources: gym})
	for d := range 30 {
		s := time.Date(2026, 12, 5+d, 19, 0, 0, 0, loc)
		events = append(events, hubcal.Event{UID: fmt.Sprintf("night%02d@elmcity", d), Title: fmt.Sprintf("Evening %d", d), Start: s, End: s.Add(time.Hour),
			Location: "Library, 60 Winter St", Tags: []string{"talks"}, Sources: lib})
	}
	for i := range 8 {
		s := time.Date(2026, 12, 8, 6+i, 0, 0, 0, loc)
		events = append(events, hubcal.Event{UID: fmt.Sprintf("class%d@elmcity", i), Title: fmt.Sprintf("Class %d", i), Start: s, End: s.Add(45 * time.Minute),
			Location: "YMCA, 200 Summer St", Tags: []string{"fitness"}, Sources: gym})
	}
	slices.SortFunc(events, func(a, b hubcal.Event) int { return a.Start.Compare(b.Start) })
	cal.Events = render.Events(events)
	return cal
}

// navPage renders the hub page of navCalendar for the query at pageNow.
func navPage(t *testing.T, q string, opt render.PageOptions) (*render.View, *html.Node, string) {
	t.Helper()
	cal := navCalendar(t)
	vals, err := url.ParseQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	f, err := render.ParseFilter(vals, cal.Loc, pageNow)
	if err != nil {
		t.Fatalf("ParseFilter(%q) = %v", q, err)
	}
	v := pageViewOf(cal, f, pageNow)
	var buf bytes.Buffer
	if err := render.Page(&buf, v, opt); err != nil {
		t.Fatal(err)
	}
	return v, checkHTML(t, buf.Bytes(), opt.EventsOnly), buf.String()
}

func titlesOf(doc *html.Node) []string {
	var out []string
	for _, n := range findAll(doc, hasClass("title")) {
		out = append(out, textOf(n))
	}
	return out
}

func TestPageWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, query string
		first, last string // titles shown
		count       int
		label       string
		prev, next  string // hrefs of the window's links
	}{
		// Today and the next six days; the morning class is over.
		{name: "Default", first: "Evening 0", last: "Evening 6", count: 7 + 3,
			label: "Saturday, December 5 – Friday, December 11", next: "/keene?from=2026-12-12&to=2026-12-18"},
		{name: "FromADate", query: "from=2026-12-12", first: "Evening 7", last: "Evening 13", count: 7,
			label: "Saturday, December 12 – Friday, December 18", prev: "/keene", next: "/keene?from=2026-12-19&to=2026-12-25"},
		{name: "PrevStopsAtToday", query: "from=2026-12-08&to=2026-12-10", first: "Class 0", last: "Evening 5", count: 3 + 3,
			label: "Tuesday, December 8 – Thursday, December 10", prev: "/keene?from=2026-12-05&to=2026-12-07", next: "/keene?from=2026-12-11&to=2026-12-13"},
		{name: "NoNextAfterTheLastEvent", query: "from=2027-01-01&to=2027-01-03", first: "Evening 27", last: "Evening 29", count: 3,
			label: "Friday, January 1 – Sunday, January 3, 2027", prev: "/keene?from=2026-12-29&to=2026-12-31"},
		{name: "Days", query: "days=2", first: "Evening 0", last: "Evening 1", count: 2,
			label: "Saturday, December 5 – Sunday, December 6", next: "/keene?from=2026-12-07&to=2026-12-08"},
		{name: "ViewKept", query: "view=talks&from=2026-12-12", first: "Evening 7", last: "Evening 13", count: 7,
			prev: "/keene?view=talks", next: "/keene?from=2026-12-19&to=2026-12-25&view=talks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, doc, out := navPage(t, tt.query, render.PageOptions{})
			titles := titlesOf(doc)
			if len(titles) == 0 || titles[0] != tt.first || titles[len(titles)-1] != tt.last {
				t.Errorf("titles = %q, want %s ... %s", titles, tt.first, tt.last)
			}
			if slices.Contains(titles, "Early Yoga") {
				t.Errorf("the page lists an event that has ended")
			}
			if len(titles) != tt.count {
				t.Errorf("the page shows %d events, want %d", len(titles), tt.count)
			}
			nav := findAll(doc, func(n *html.Node) bool { return n.Data == "nav" && attr(n, "aria-label") == "Dates" })
			if len(nav) != 1 {
				t.Fatalf("%d date navigations, want 1", len(nav))
			}
			if tt.label != "" && !strings.Contains(out, tt.label) {
				t.Errorf("the page does not name its window %q", tt.label)
			}
			rel := func(r string) string {
				for _, a := range findAll(nav[0], func(n *html.Node) bool { return n.Data == "a" && attr(n, "rel") == r }) {
					return attr(a, "href")
				}
				return ""
			}
			if got := rel("prev"); got != tt.prev {
				t.Errorf("previous days link = %q, want %q", got, tt.prev)
			}
			if got := rel("next"); got != tt.next {
				t.Errorf("next days link = %q, want %q", got, tt.next)
			}
		})
	}
}

// TestPageJumpsWithoutJavaScript: the page's form goes to a date with a
// plain GET to the hub page, keeping the view, and each day has an
// anchor the day list links to.
func TestPageJumpsWithoutJavaScript(t *testing.T) {
	t.Parallel()
	_, doc, _ := navPage(t, "view=talks&source=Keene+Public+Library", render.PageOptions{Layout: render.LayoutFull})
	forms := findAll(doc, func(n *html.Node) bool { return n.Data == "form" })
	if len(forms) != 1 || attr(forms[0], "method") != "get" || attr(forms[0], "action") != "/keene" {
		t.Fatalf("forms = %d, want one GET to /keene", len(forms))
	}
	inputs := map[string]string{}
	for _, in := range findAll(forms[0], func(n *html.Node) bool { return n.Data == "input" }) {
		inputs[attr(in, "name")] = attr(in, "type") + "=" + attr(in, "value")
	}
	want := map[string]string{"from": "date=2026-12-05", "view": "hidden=talks", "source": "hidden=Keene Public Library", "layout": "hidden=full"}
	if fmt.Sprint(inputs) != fmt.Sprint(want) {
		t.Errorf("form inputs = %v, want %v", inputs, want)
	}
	labels := findAll(forms[0], func(n *html.Node) bool { return n.Data == "label" && attr(n, "for") == "jump" })
	if len(labels) != 1 {
		t.Errorf("the date input has no label")
	}
	for _, a := range findAll(doc, func(n *html.Node) bool { return n.Data == "a" && strings.HasPrefix(attr(n, "href"), "#d-") }) {
		id := strings.TrimPrefix(attr(a, "href"), "#")
		if len(findAll(doc, func(n *html.Node) bool { return attr(n, "id") == id && hasClass("day")(n) })) != 1 {
			t.Errorf("day link %s has no day", attr(a, "href"))
		}
	}
}

// TestPageCollapsesLongRuns: the gym's eight classes on the 8th show as
// three and a link to the rest, its day in the gym's own view, which
// shows all eight.
func TestPageCollapsesLongRuns(t *testing.T) {
	t.Parallel()
	_, doc, out := navPage(t, "from=2026-12-08&to=2026-12-08", render.PageOptions{Layout: render.LayoutFull})
	if got, want := titlesOf(doc), []string{"Class 0", "Class 1", "Class 2", "Evening 3"}; !slices.Equal(got, want) {
		t.Errorf("titles = %q, want %q", got, want)
	}
	more := findAll(doc, func(n *html.Node) bool { return n.Data == "a" && strings.Contains(textOf(n), "more from") })
	if len(more) != 1 || textOf(more[0]) != "5 more from Keene YMCA" {
		t.Fatalf("more links = %d, want one: 5 more from Keene YMCA\n%s", len(more), out)
	}
	href := attr(more[0], "href")
	if href != "/keene?from=2026-12-08&layout=full&source=Keene+YMCA&to=2026-12-08" {
		t.Errorf("more link = %q, want the gym's day", href)
	}
	// The link sits right after the third class, in its part of the day.
	if prev := more[0].Parent.PrevSibling; prev == nil || prev.NextSibling != more[0].Parent {
		t.Errorf("the more link is not in the list of the day's events")
	} else {
		for prev != nil && prev.Type != html.ElementNode {
			prev = prev.PrevSibling
		}
		if prev == nil || textOf(findAll(prev, hasClass("title"))[0]) != "Class 2" {
			t.Errorf("the more link does not follow the third class")
		}
	}
	q, _ := url.ParseQuery(strings.SplitN(href, "?", 2)[1])
	_, doc, _ = navPage(t, q.Encode(), render.PageOptions{Layout: render.LayoutFull})
	if got := titlesOf(doc); len(got) != 8 || got[0] != "Class 0" || got[7] != "Class 7" {
		t.Errorf("the gym's day = %q, want its eight classes", got)
	}
}

// TestPageLayouts: a long list is compact (time, title, place and source
// on a line or two, the title linking to the event's own page), a short
// one full; the query can ask for either, and the page links to the
// other.
func TestPageLayouts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, query string
		opt         render.PageOptions
		compact     bool
		switchHref  string
	}{
		{name: "ShortIsFull", query: "days=3", compact: false, switchHref: "/keene?days=3&layout=compact"},
		{name: "LongIsCompact", query: "days=30", compact: true, switchHref: "/keene?days=30&layout=full"},
		{name: "AskedFull", query: "days=30", opt: render.PageOptions{Layout: render.LayoutFull}, compact: false, switchHref: "/keene?days=30&layout=compact"},
		{name: "AskedCompact", query: "days=3", opt: render.PageOptions{Layout: render.LayoutCompact}, compact: true, switchHref: "/keene?days=3&layout=full"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, doc, _ := navPage(t, tt.query, tt.opt)
			list := findAll(doc, hasClass("elmcity-events"))[0]
			if got := hasClass("compact")(list); got != tt.compact {
				t.Errorf("compact = %v, want %v", got, tt.compact)
			}
			switches := findAll(doc, func(n *html.Node) bool { return n.Data == "a" && ancestor(n, hasClass("layout")) })
			if len(switches) != 1 || attr(switches[0], "href") != tt.switchHref {
				t.Errorf("layout switch = %d links, want %s", len(switches), tt.switchHref)
			}
			if !tt.compact {
				return
			}
			for _, ev := range findAll(doc, hasClass("event")) {
				a := findAll(ev, hasClass("title"))
				if len(a) != 1 || !strings.HasPrefix(attr(a[0], "href"), "/keene?") || !strings.Contains(attr(a[0], "href"), "uid=") {
					t.Fatalf("a compact event's title does not link to its own page: %s", textOf(ev))
				}
				if len(findAll(ev, func(n *html.Node) bool { return n.Data == "time" })) != 1 || len(findAll(ev, hasClass("meta"))) != 1 {
					t.Errorf("a compact event lacks its time or its place and source: %s", textOf(ev))
				}
			}
		})
	}
}

// TestPageEventLinks: each event of the full layout has its
// add-to-calendar link and, beside it, Google Calendar's, and both say
// which event they add (their accessible names, by aria-labelledby,
// differ from event to event).
func TestPageEventLinks(t *testing.T) {
	t.Parallel()
	_, doc, _ := navPage(t, "days=3", render.PageOptions{})
	ids := map[string]*html.Node{}
	for _, n := range findAll(doc, func(n *html.Node) bool { return attr(n, "id") != "" }) {
		if ids[attr(n, "id")] != nil {
			t.Errorf("id %q is used twice", attr(n, "id"))
		}
		ids[attr(n, "id")] = n
	}
	name := func(a *html.Node) string {
		var parts []string
		for _, id := range strings.Fields(attr(a, "aria-labelledby")) {
			if n := ids[id]; n != nil {
				parts = append(parts, textOf(n))
			}
		}
		return strings.Join(parts, " ")
	}
	names := map[string]bool{}
	events := findAll(doc, hasClass("event"))
	for _, ev := range events {
		title := textOf(findAll(ev, hasClass("title"))[0])
		add, google := findAll(ev, hasClass("add")), findAll(ev, hasClass("google"))
		if len(add) != 1 || len(google) != 1 {
			t.Fatalf("%s: %d add and %d Google links, want one of each", title, len(add), len(google))
		}
		if got := name(add[0]); got != "Add to calendar "+title {
			t.Errorf("add link name = %q, want it to name %q", got, title)
		}
		if got := name(google[0]); got != "Add to Google Calendar "+title {
			t.Errorf("Google link name = %q, want it to name %q", got, title)
		}
		names[name(add[0])] = true
		g, err := url.Parse(attr(google[0], "href"))
		if err != nil || g.Scheme != "https" || g.Host != "calendar.google.com" || g.Query().Get("action") != "TEMPLATE" || g.Query().Get("text") != title {
			t.Errorf("%s: Google link = %q", title, attr(google[0], "href"))
		}
	}
	if len(names) != len(events) {
		t.Errorf("%d distinct add link names for %d events", len(names), len(events))
	}
}

func TestGoogleCalendarURL(t *testing.T) {
	t.Parallel()
	loc, _ := time.LoadLocation("America/New_York")
	tests := []struct {
		name string
		ev   hubcal.Event
		want map[string]string
	}{
		{name: "Timed", ev: hubcal.Event{Title: "Jazz & Blues", Start: time.Date(2026, 12, 5, 19, 0, 0, 0, loc), End: time.Date(2026, 12, 5, 21, 30, 0, 0, loc),
			Location: "Colonial Theatre", Description: "Trio.", URL: "https://colonial.example.org/jazz"},
			want: map[string]string{"text": "Jazz & Blues", "dates": "20261206T000000Z/20261206T023000Z", "location": "Colonial Theatre",
				"details": "Trio.\n\nhttps://colonial.example.org/jazz", "ctz": "America/New_York", "action": "TEMPLATE"}},
		{name: "AllDay", ev: hubcal.Event{Title: "Market", AllDay: true, Start: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 9, 0, 0, 0, 0, time.UTC)},
			want: map[string]string{"text": "Market", "dates": "20261207/20261209", "action": "TEMPLATE"}},
	}
	for _, tt := range tests {
		u, err := url.Parse(render.GoogleCalendarURL(&tt.ev, loc))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for k, v := range u.Query() {
			got[k] = v[0]
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) || u.Host != "calendar.google.com" {
			t.Errorf("%s: GoogleCalendarURL() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestPageJSONLD checks the page's schema.org data against what Google's
// event rich results require of each Event (name, startDate, location
// with an address) and what it recommends that a feed gives (endDate,
// url, organizer), and that no event text can end the script.
func TestPageJSONLD(t *testing.T) {
	t.Parallel()
	v := pageView(t, "")
	var buf bytes.Buffer
	if err := render.Page(&buf, v, render.PageOptions{}); err != nil {
		t.Fatal(err)
	}
	doc := checkHTML(t, buf.Bytes(), false)
	scripts := findAll(doc, func(n *html.Node) bool { return n.Data == "script" })
	if len(scripts) != 1 || attr(scripts[0], "type") != "application/ld+json" {
		t.Fatalf("%d scripts, want one of JSON-LD", len(scripts))
	}
	var ld struct {
		Context string           `json:"@context"`
		Graph   []map[string]any `json:"@graph"`
	}
	if err := json.Unmarshal([]byte(scripts[0].FirstChild.Data), &ld); err != nil {
		t.Fatal(err)
	}
	if ld.Context != "https://schema.org" {
		t.Errorf("@context = %q", ld.Context)
	}
	// Every event but the one without a place (the movie) is there.
	var names []string
	for _, e := range v.Events {
		if e.Location != "" {
			names = append(names, e.Title)
		}
	}
	if len(ld.Graph) != len(names) {
		t.Fatalf("%d JSON-LD events, want %d (the events with a place)", len(ld.Graph), len(names))
	}
	date := regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}([+-]\d{2}:\d{2}|Z))?$`)
	for i, e := range ld.Graph {
		str := func(k string) string { s, _ := e[k].(string); return s }
		if str("@type") != "Event" || str("name") != names[i] {
			t.Errorf("item %d: @type %q name %q, want Event %q", i, str("@type"), str("name"), names[i])
		}
		if !date.MatchString(str("startDate")) {
			t.Errorf("%s: startDate %q is not ISO 8601", names[i], str("startDate"))
		}
		if end, start := str("endDate"), str("startDate"); !date.MatchString(end) || len(end) == len(start) && end < start {
			t.Errorf("%s: endDate %q", names[i], end)
		}
		loc, _ := e["location"].(map[string]any)
		if loc["@type"] != "Place" || loc["address"] == "" || loc["address"] == nil {
			t.Errorf("%s: location %v, want a Place with an address", names[i], loc)
		}
		if u, err := url.Parse(str("url")); err != nil || !u.IsAbs() {
			t.Errorf("%s: url %q, want an absolute URL", names[i], str("url"))
		}
		if org, _ := e["organizer"].(map[string]any); org["@type"] != "Organization" || org["name"] == "" {
			t.Errorf("%s: organizer %v", names[i], org)
		}
		if s, ok := e["eventStatus"]; ok && s != "https://schema.org/EventCancelled" && s != "https://schema.org/EventScheduled" {
			t.Errorf("%s: eventStatus %v", names[i], s)
		}
	}
	if strings.Contains(scripts[0].FirstChild.Data, "</") || strings.Contains(scripts[0].FirstChild.Data, "<script") {
		t.Errorf("event text can end the script: %s", scripts[0].FirstChild.Data)
	}
}

// TestPageLook: a hub's render options give its page an accent band,
// a logo and a header line, and its default window.
func TestPageLook(t *testing.T) {
	t.Parallel()
	cal := navCalendar(t)
	cal.Hub.Render = map[string]string{"accent": "#7A1F5C", "logo": "https://keene.example.org/logo.png", "header": "What's on in Keene <b>now</b>", "days": "3"}
	f, _ := render.ParseFilter(url.Values{}, cal.Loc, pageNow)
	v := pageViewOf(cal, f, pageNow)
	var buf bytes.Buffer
	if err := render.Page(&buf, v, render.PageOptions{}); err != nil {
		t.Fatal(err)
	}
	doc := checkHTML(t, buf.Bytes(), false)
	out := buf.String()
	for _, want := range []string{
		"<style>:root{--brand:#7a1f5c;--on-brand:#fff}</style>",
		`<img class="logo" src="https://keene.example.org/logo.png" alt="">`,
		`<p class="tagline">What&#39;s on in Keene &lt;b&gt;now&lt;/b&gt;</p>`,
		"Saturday, December 5 – Monday, December 7",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if got := titlesOf(doc); got[len(got)-1] != "Evening 2" {
		t.Errorf("the default window of 3 days ends with %q, want Evening 2", got[len(got)-1])
	}
}

// TestPageOfOneEvent: the uid view is the event's own page, with its
// details open and its add-to-calendar links, whenever it is.
func TestPageOfOneEvent(t *testing.T) {
	t.Parallel()
	_, doc, out := navPage(t, "uid=over%40elmcity", render.PageOptions{})
	if got := titlesOf(doc); !slices.Equal(got, []string{"Early Yoga"}) {
		t.Errorf("titles = %q, want the one event, though it has ended", got)
	}
	if !strings.Contains(out, "<title>Early Yoga · Keene, NH</title>") || len(findAll(doc, hasClass("google"))) != 1 {
		t.Errorf("the event's page lacks its title or its Google Calendar link:\n%s", out)
	}
	if len(findAll(doc, func(n *html.Node) bool { return n.Data == "form" })) != 0 {
		t.Errorf("the event's page has the date form")
	}
}

// TestPageOffersEmbedSnippets: with the site's URL, the page offers the
// widget's script and the frame for its current view (its source, tags
// and window length), as text to copy; without one, none.
func TestPageOffersEmbedSnippets(t *testing.T) {
	t.Parallel()
	v, doc, _ := navPage(t, "view=talks&source=Keene+Public+Library&from=2026-12-12&to=2026-12-14", render.PageOptions{})
	areas := map[string]string{}
	for _, n := range findAll(doc, func(n *html.Node) bool { return n.Data == "textarea" }) {
		areas[attr(n, "id")] = textOf(n)
		if attr(n, "readonly") == "" && !slices.ContainsFunc(n.Attr, func(a html.Attribute) bool { return a.Key == "readonly" }) {
			t.Errorf("textarea %s is not read-only", attr(n, "id"))
		}
	}
	wantScript := `<script src="https://cal.example.org/services/keene/embed.js" data-source="Keene Public Library" data-view="talks" data-days="3" async></script>`
	if areas["embed-script"] != wantScript {
		t.Errorf("script snippet = %q, want %q", areas["embed-script"], wantScript)
	}
	wantFrame := `<iframe src="https://cal.example.org/services/keene/html?days=3&amp;frame=yes&amp;source=Keene+Public+Library&amp;view=talks" title="Events from Keene, NH" width="100%" height="600" style="border:0"></iframe>`
	if areas["embed-frame"] != wantFrame {
		t.Errorf("frame snippet = %q, want %q", areas["embed-frame"], wantFrame)
	}
	v.Base = ""
	var buf bytes.Buffer
	if err := render.Page(&buf, v, render.PageOptions{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "embed.js") {
		t.Errorf("without the site's URL the page offers a snippet")
	}
}

// TestFrameDocument: the frame variant is a document of its own with
// the pages' stylesheet and the events alone, crediting the hub, its
// links opening a new window.
func TestFrameDocument(t *testing.T) {
	t.Parallel()
	_, doc, out := navPage(t, "view=talks", render.PageOptions{Frame: true})
	if !strings.HasPrefix(out, "<!doctype html>") || !strings.Contains(out, `<base target="_blank">`) || !strings.Contains(out, `class="credit"`) {
		t.Errorf("the frame is not a document with a base target and a credit:\n%s", out)
	}
	for _, bad := range []string{"form", "nav", "script", "aside", "footer"} {
		if len(findAll(doc, func(n *html.Node) bool { return n.Data == bad })) > 0 {
			t.Errorf("the frame has a <%s>", bad)
		}
	}
}
