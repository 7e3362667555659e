package render_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/webrole/internal/render"
)

// pageNow is the clock of the page fixture: Saturday, December 5, 2026,
// 10:30 in Keene.
var pageNow = time.Date(2026, 12, 5, 15, 30, 0, 0, time.UTC)

// pageCalendar is a small published hub: an all-day show that began
// before today, a morning event, a merged event with two sources and a
// contributed tag, hostile text and links from a failed feed, a
// cancelled carol sing, an event past midnight, an all-day market, and
// one event already over.
func pageCalendar(t testing.TB) *render.Calendar {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	at := func(m time.Month, d, hh, mm int) time.Time { return time.Date(2026, m, d, hh, mm, 0, 0, loc) }
	date := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
	lib := hubcal.Source{Feed: "f-lib", Name: "Keene Public Library", URL: "https://library.example.org/events"}
	events := []hubcal.Event{
		{UID: "show@elmcity", Title: "Holiday Art Show", Start: date(12, 1), End: date(12, 9), AllDay: true, Tags: []string{"arts"},
			Location: "Thorne-Sagendorph Art Gallery", Sources: []hubcal.Source{{Feed: "f-lib", Name: "Keene Public Library"}}},
		{UID: "past@elmcity", Title: "Yesterday's Lecture", Start: at(12, 4, 18, 0), End: at(12, 4, 19, 0), Tags: []string{"talks"}, Sources: []hubcal.Source{lib}},
		{UID: "story@elmcity", Title: "Story Time", Start: at(12, 5, 10, 0), End: at(12, 5, 11, 0), Tags: []string{"kids", "{books}"},
			Location:    "Keene Public Library, 60 Winter St",
			Description: "Stories and songs for ages 2-5.\nCaregivers stay with their children.",
			URL:         "https://library.example.org/events/story", Sources: []hubcal.Source{lib}},
		{UID: "jazz@elmcity", Title: "Jazz Night", Start: at(12, 5, 19, 0), End: at(12, 5, 21, 30), Tags: []string{"music", "{jazz}"},
			Location: "Colonial Theatre, 95 Main St", URL: "https://colonial.example.org/jazz",
			Sources: []hubcal.Source{
				{Feed: "f-col", Name: "Colonial Theatre", URL: "https://colonial.example.org/jazz", UID: "c-17", ID: "jazz@elmcity"},
				{Feed: "f-dtj", Name: "Downtown Jazz", URL: "https://downtownjazz.example.net/dec", UID: "dj-4", ID: "jazz2@elmcity"},
			},
			Merged: []hubcal.MergeNote{{Feed: "f-dtj", UID: "dj-4", Reason: "same start and title"}}},
		{UID: "x@elmcity", Title: "<script>alert(1)</script>", Start: at(12, 6, 14, 0), End: at(12, 6, 15, 0), Tags: []string{"{civic}"},
			Location: `"Quotes" & <b>bold</b>`, URL: "javascript:alert(2)", Description: `<img src=x onerror=alert(3)>`,
			Sources: []hubcal.Source{{Feed: "f-city", Name: "City Hall <i>", URL: "javascript:alert(4)"}}},
		{UID: "carol@elmcity", Title: "Carol Sing", Start: at(12, 6, 19, 0), End: at(12, 6, 20, 0), Tags: []string{"music"}, Cancelled: true,
			Location: "Central Square", Sources: []hubcal.Source{{Feed: "f-city", Name: "City Hall <i>"}}},
		{UID: "movie@elmcity", Title: "Midnight Movie", Start: at(12, 6, 22, 0), End: at(12, 7, 1, 0), Tags: []string{"arts", "music"},
			Sources: []hubcal.Source{{Feed: "f-col", Name: "Colonial Theatre", URL: "https://colonial.example.org/movie"}}},
		{UID: "market@elmcity", Title: "Winter Farmers Market", Start: date(12, 7), End: date(12, 8), AllDay: true, Tags: []string{"{food}", "kids"},
			Location: "Keene Recreation Center", Sources: []hubcal.Source{{Feed: "f-lib", Name: "Keene Public Library"}}},
	}
	return &render.Calendar{
		Hub:         hub.Hub{ID: "keene", Title: "Keene, NH", TZ: "America/New_York", Vocabulary: []string{"arts", "kids", "music", "talks"}},
		Loc:         loc,
		Generation:  "g-0001",
		PublishedAt: time.Date(2026, 12, 5, 14, 2, 0, 0, time.UTC),
		Feeds: []render.Feed{
			{ID: "f-lib", Source: "Keene Public Library", FeedURL: "https://library.example.org/events.ics", HomeURL: "https://library.example.org", Status: "ok", Events: 4},
			{ID: "f-col", Source: "Colonial Theatre", FeedURL: "https://colonial.example.org/cal.ics", HomeURL: "https://colonial.example.org", Status: "unchanged", Events: 2},
			{ID: "f-dtj", Source: "Downtown Jazz", FeedURL: "https://downtownjazz.example.net/events.ics", Status: "ok", Events: 1},
			{ID: "f-city", Source: "City Hall <i>", FeedURL: "https://city.example.gov/cal.ics", HomeURL: "javascript:alert(5)", Status: "failed", Events: 1},
		},
		Events: render.Events(events),
		Run:    []byte(statsFixtureRun),
	}
}

// pageView applies the query q to pageCalendar at pageNow.
func pageView(t testing.TB, q string) *render.View {
	t.Helper()
	cal := pageCalendar(t)
	vals, err := url.ParseQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	f, err := render.ParseFilter(vals, cal.Loc, pageNow)
	if err != nil {
		t.Fatalf("ParseFilter(%q) = %v", q, err)
	}
	return pageViewOf(cal, f, pageNow)
}

// pageViewOf is the hub page's view of cal at now, as the web role makes
// it: the page's window, then its events.
func pageViewOf(cal *render.Calendar, f render.Filter, now time.Time) *render.View {
	v := &render.View{Cal: cal, Now: now, Base: "https://cal.example.org"}
	v.Filter, v.WindowFrom, v.WindowTo, _ = render.PageWindow(cal, f, now)
	render.SelectPage(v)
	return v
}

func TestPageGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		query      string
		eventsOnly bool
		golden     string
		// wantTitles are the events shown, in order.
		wantTitles []string
	}{
		{name: "Hub", golden: "page.golden",
			wantTitles: []string{"Holiday Art Show", "Story Time", "Jazz Night", "<script>alert(1)</script>", "Cancelled Carol Sing", "Midnight Movie", "Winter Farmers Market"}},
		{name: "View", query: "view=music", golden: "page_view.golden",
			wantTitles: []string{"Jazz Night", "Cancelled Carol Sing", "Midnight Movie"}},
		{name: "ContributedAndExcluded", query: "view={food},-music", golden: "page_view_exclude.golden",
			wantTitles: []string{"Winter Farmers Market"}},
		{name: "EventsOnly", eventsOnly: true, golden: "page_eventsonly.golden",
			wantTitles: []string{"Holiday Art Show", "Story Time", "Jazz Night", "<script>alert(1)</script>", "Cancelled Carol Sing", "Midnight Movie", "Winter Farmers Market"}},
		{name: "Empty", query: "view=nosuchtag", golden: "page_empty.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := pageView(t, tt.query)
			var buf bytes.Buffer
			if err := render.Page(&buf, v, render.PageOptions{EventsOnly: tt.eventsOnly}); err != nil {
				t.Fatalf("Page() = %v", err)
			}
			checkGolden(t, tt.golden, buf.Bytes())
			doc := checkHTML(t, buf.Bytes(), tt.eventsOnly)
			var titles []string
			for _, n := range findAll(doc, hasClass("title")) {
				titles = append(titles, textOf(n))
			}
			if !slices.Equal(titles, tt.wantTitles) {
				t.Errorf("event titles = %q, want %q", titles, tt.wantTitles)
			}
		})
	}
}

// TestPageLinks checks the links the page is for: the tag picker, the
// add-to-calendar links, the subscribe links and the days and parts.
func TestPageLinks(t *testing.T) {
	t.Parallel()
	page := func(t *testing.T, q string, opt render.PageOptions) *html.Node {
		var buf bytes.Buffer
		if err := render.Page(&buf, pageView(t, q), opt); err != nil {
			t.Fatalf("Page() = %v", err)
		}
		return checkHTML(t, buf.Bytes(), opt.EventsOnly)
	}
	hrefs := func(doc *html.Node, match func(*html.Node) bool) []string {
		var out []string
		for _, n := range findAll(doc, match) {
			out = append(out, attr(n, "href"))
		}
		return out
	}
	inPicker := func(n *html.Node) bool {
		return n.Data == "a" && ancestor(n, hasClass("picker"))
	}
	current := func(n *html.Node) bool { return inPicker(n) && attr(n, "aria-current") == "page" }
	linkText := func(text string) func(*html.Node) bool {
		return func(n *html.Node) bool { return n.Data == "a" && strings.TrimSpace(textOf(n)) == text }
	}

	t.Run("TagPicker", func(t *testing.T) {
		t.Parallel()
		doc := page(t, "view=music&days=30", render.PageOptions{})
		want := []string{
			"/keene?days=30&view=arts", "/keene?days=30&view=books", "/keene?days=30&view=civic", "/keene?days=30&view=food",
			"/keene?days=30&view=jazz", "/keene?days=30&view=kids", "/keene?days=30&view=music",
		}
		if got := hrefs(doc, inPicker); !slices.Equal(got, append([]string{"/keene?days=30"}, want...)) {
			t.Errorf("picker links = %q, want every tag of the window and the clear link", got)
		}
		if got := hrefs(doc, current); !slices.Equal(got, []string{"/keene?days=30&view=music"}) {
			t.Errorf("current tag links = %q, want only music", got)
		}
		if got := hrefs(doc, hasClass("clear")); !slices.Equal(got, []string{"/keene?days=30"}) {
			t.Errorf("clear link = %q", got)
		}
	})
	t.Run("NoViewNoClear", func(t *testing.T) {
		t.Parallel()
		doc := page(t, "", render.PageOptions{})
		if got := hrefs(doc, hasClass("clear")); got != nil {
			t.Errorf("clear link without a view = %q", got)
		}
		if got := hrefs(doc, current); got != nil {
			t.Errorf("current tags without a view = %q", got)
		}
	})
	t.Run("AddToCalendar", func(t *testing.T) {
		t.Parallel()
		got := hrefs(page(t, "view=music", render.PageOptions{}), hasClass("add"))
		want := []string{"/services/keene/ics?uid=jazz%40elmcity", "/services/keene/ics?uid=carol%40elmcity", "/services/keene/ics?uid=movie%40elmcity"}
		if !slices.Equal(got, want) {
			t.Errorf("add-to-calendar links = %q, want %q", got, want)
		}
		got = hrefs(page(t, "view=music", render.PageOptions{EventsOnly: true}), hasClass("add"))
		if len(got) != 3 || got[0] != "https://cal.example.org/services/keene/ics?uid=jazz%40elmcity" {
			t.Errorf("fragment add-to-calendar links = %q, want absolute", got)
		}
	})
	t.Run("Subscribe", func(t *testing.T) {
		t.Parallel()
		doc := page(t, "view=music,-kids&count=5", render.PageOptions{})
		tests := []struct{ text, want string }{
			{"Subscribe in your calendar app", "webcal://cal.example.org/services/keene/ics"},
			{"https://cal.example.org/services/keene/ics", "https://cal.example.org/services/keene/ics"},
			{"Subscribe to this view", "webcal://cal.example.org/services/keene/ics?view=-kids%2Cmusic"},
			{"https://cal.example.org/services/keene/ics?view=-kids%2Cmusic", "https://cal.example.org/services/keene/ics?view=-kids%2Cmusic"},
		}
		for _, tt := range tests {
			if got := hrefs(doc, linkText(tt.text)); !slices.Equal(got, []string{tt.want}) {
				t.Errorf("link %q = %q, want %q", tt.text, got, tt.want)
			}
		}
		if got := hrefs(page(t, "", render.PageOptions{}), linkText("Subscribe to this view")); got != nil {
			t.Errorf("view subscribe link without a view = %q", got)
		}
	})
	t.Run("MoreSources", func(t *testing.T) {
		t.Parallel()
		doc := page(t, "", render.PageOptions{})
		more := findAll(doc, hasClass("more-sources"))
		if len(more) != 1 {
			t.Fatalf("more-sources lists = %d, want 1 (the merged event)", len(more))
		}
		if got := hrefs(more[0], func(n *html.Node) bool { return n.Data == "a" }); !slices.Equal(got, []string{"https://downtownjazz.example.net/dec"}) {
			t.Errorf("more sources = %q", got)
		}
	})
	t.Run("DaysAndParts", func(t *testing.T) {
		t.Parallel()
		doc := page(t, "", render.PageOptions{})
		var got []string
		for _, day := range findAll(doc, hasClass("day")) {
			s := attr(day, "id") + ":"
			for _, h := range findAll(day, func(n *html.Node) bool { return n.Data == "h3" }) {
				s += " " + textOf(h)
			}
			got = append(got, s)
		}
		want := []string{
			"d-2026-12-05: All day Morning Evening", // the show began on the 1st
			"d-2026-12-06: Afternoon Evening",
			"d-2026-12-07: All day",
		}
		if !slices.Equal(got, want) {
			t.Errorf("days = %q, want %q", got, want)
		}
		if got := textOf(findAll(doc, hasClass("day"))[0].FirstChild.NextSibling); got != "Today, Saturday, December 5" {
			t.Errorf("first day heading = %q", got)
		}
	})
}

// checkHTML parses out as a page (or, for a fragment, as the children
// of a body), checks that every element is closed in order, that nothing
// loads from elsewhere and that no user text became markup, and returns
// the tree.
func checkHTML(t *testing.T, out []byte, fragment bool) *html.Node {
	t.Helper()
	void := map[string]bool{"meta": true, "link": true, "br": true, "img": true, "input": true, "hr": true, "wbr": true, "base": true}
	z := html.NewTokenizer(bytes.NewReader(out))
	var stack []string
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if !errors.Is(z.Err(), io.EOF) {
				t.Fatalf("tokenize: %v", z.Err())
			}
			break
		}
		tok := z.Token()
		switch tt {
		case html.StartTagToken:
			if fragment && (tok.Data == "html" || tok.Data == "head" || tok.Data == "body") {
				t.Errorf("fragment has a <%s>", tok.Data)
			}
			if !void[tok.Data] {
				stack = append(stack, tok.Data)
			}
		case html.EndTagToken:
			if len(stack) == 0 || stack[len(stack)-1] != tok.Data {
				t.Fatalf("</%s> closes %v", tok.Data, stack)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) != 0 {
		t.Fatalf("unclosed elements %v", stack)
	}
	if bytes.Contains(out, []byte("ZgotmplZ")) {
		t.Errorf("html/template refused a value (ZgotmplZ in the output)")
	}
	var doc *html.Node
	if fragment {
		body := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
		nodes, err := html.ParseFragment(bytes.NewReader(out), body)
		if err != nil {
			t.Fatal(err)
		}
		doc = &html.Node{Type: html.DocumentNode}
		for _, n := range nodes {
			doc.AppendChild(n)
		}
	} else {
		var err error
		if doc, err = html.Parse(bytes.NewReader(out)); err != nil {
			t.Fatal(err)
		}
		if vp := findAll(doc, func(n *html.Node) bool { return n.Data == "meta" && attr(n, "name") == "viewport" }); len(vp) != 1 {
			t.Errorf("viewport meta elements = %d, want 1", len(vp))
		}
	}
	scripts := 0
	for _, n := range findAll(doc, func(n *html.Node) bool { return n.Type == html.ElementNode }) {
		// The page's JSON-LD (data, run by nothing) in its head, and a
		// hub's logo, are the only script and image.
		jsonLD := n.Data == "script" && attr(n, "type") == "application/ld+json" && !fragment && ancestor(n, func(p *html.Node) bool { return p.Data == "head" })
		logo := n.Data == "img" && attr(n, "class") == "logo" && !fragment
		if jsonLD {
			if scripts++; scripts > 1 {
				t.Errorf("%d JSON-LD scripts, want one", scripts)
			}
			if n.FirstChild == nil || !json.Valid([]byte(n.FirstChild.Data)) {
				t.Errorf("the JSON-LD is not JSON")
			}
		}
		if (n.Data == "script" && !jsonLD) || (n.Data == "img" && !logo) || n.Data == "b" || n.Data == "i" || n.Data == "iframe" {
			t.Errorf("element <%s> in the output: user text became markup", n.Data)
		}
		if n.Data == "link" && attr(n, "rel") == "stylesheet" {
			t.Errorf("external stylesheet %q", attr(n, "href"))
		}
		for _, a := range n.Attr {
			if a.Key == "src" && !logo || strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s %s=%q>", n.Data, a.Key, a.Val)
			}
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Val)), "javascript:") {
				t.Errorf("<%s %s=%q>", n.Data, a.Key, a.Val)
			}
		}
		if n.Data == "style" && (strings.Contains(textOf(n), "@import") || strings.Contains(textOf(n), "url(")) {
			t.Errorf("style loads from elsewhere")
		}
	}
	if bytes.Contains(out, []byte("alert(1)")) && !bytes.Contains(out, []byte("&lt;script&gt;alert(1)&lt;/script&gt;")) {
		t.Errorf("the hostile title is not escaped")
	}
	return doc
}

// findAll returns the nodes under n (n included) that match, in document
// order.
func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for d := range n.Descendants() {
		if match(d) {
			out = append(out, d)
		}
	}
	if match(n) {
		out = append([]*html.Node{n}, out...)
	}
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(class string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		return n.Type == html.ElementNode && slices.Contains(strings.Fields(attr(n, "class")), class)
	}
}

func ancestor(n *html.Node, match func(*html.Node) bool) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if match(p) {
			return true
		}
	}
	return false
}

// textOf is the text under n, with runs of space collapsed.
func textOf(n *html.Node) string {
	var b strings.Builder
	if n.Type == html.TextNode {
		b.WriteString(n.Data)
	}
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
