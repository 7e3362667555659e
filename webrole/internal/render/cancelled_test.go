package render_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ical "github.com/emersion/go-ical"
	"golang.org/x/net/html"

	"github.com/elmcity/elmcity/webrole/internal/render"
)

// cancelledView is the fixture's view q with the story time cancelled.
func cancelledView(t testing.TB, q string) *render.View {
	t.Helper()
	v := testView(t, q)
	for i := range v.Events {
		if v.Events[i].UID == "story@elmcity" {
			v.Events[i].Cancelled = true
		}
	}
	return v
}

// TestCancelledInEveryFormat: a cancelled event is listed in every format,
// marked the format's way, and no other event is.
func TestCancelledInEveryFormat(t *testing.T) {
	t.Parallel()
	const story = "Story Time for toddlers"
	tests := []struct {
		format string
		// cancelled returns, per UID, whether the document marks that
		// event cancelled.
		cancelled func(t *testing.T, doc string) map[string]bool
	}{
		{"ics", func(t *testing.T, doc string) map[string]bool {
			cal, err := ical.NewDecoder(strings.NewReader(doc)).Decode()
			if err != nil {
				t.Fatalf("go-ical: %v", err)
			}
			out := map[string]bool{}
			for _, e := range cal.Events() {
				uid, _ := e.Props.Text(ical.PropUID)
				status, _ := e.Props.Text(ical.PropStatus)
				out[uid] = status == "CANCELLED"
				if status != "" && status != "CANCELLED" {
					t.Errorf("%s: STATUS:%s", uid, status)
				}
			}
			return out
		}},
		{"json", func(t *testing.T, doc string) map[string]bool {
			var cal struct {
				Events []map[string]any `json:"events"`
			}
			if err := json.Unmarshal([]byte(doc), &cal); err != nil {
				t.Fatal(err)
			}
			out := map[string]bool{}
			for _, e := range cal.Events {
				c, has := e["cancelled"]
				if has && c != true {
					t.Errorf("%s: \"cancelled\": %v, want true or nothing", e["uid"], c)
				}
				out[e["uid"].(string)] = has
			}
			return out
		}},
		{"xml", func(t *testing.T, doc string) map[string]bool {
			var cal struct {
				Events []struct {
					UID       string  `xml:"uid,attr"`
					Cancelled *string `xml:"cancelled,attr"`
				} `xml:"event"`
			}
			if err := xml.Unmarshal([]byte(doc), &cal); err != nil {
				t.Fatal(err)
			}
			out := map[string]bool{}
			for _, e := range cal.Events {
				if e.Cancelled != nil && *e.Cancelled != "true" {
					t.Errorf("%s: cancelled=%q, want \"true\" or nothing", e.UID, *e.Cancelled)
				}
				out[e.UID] = e.Cancelled != nil
			}
			return out
		}},
		{"rss", func(t *testing.T, doc string) map[string]bool {
			var rss rssDoc
			if err := strictXML(doc, &rss); err != nil {
				t.Fatal(err)
			}
			out := map[string]bool{}
			for _, it := range rss.Channel.Items {
				out[it.GUID.ID] = strings.HasPrefix(it.Title, "Cancelled: ")
			}
			return out
		}},
		{"csv", func(t *testing.T, doc string) map[string]bool {
			out := map[string]bool{}
			for _, r := range readCSV(t, doc)[1:] {
				out[r[11]] = strings.HasPrefix(r[0], "Cancelled: ")
			}
			return out
		}},
		{"text", func(t *testing.T, doc string) map[string]bool {
			if !strings.Contains(doc, "\n5 events, 1 of them cancelled (times in America/New_York)\n") {
				t.Errorf("the text's count does not say how many are cancelled:\n%s", doc)
			}
			v := testView(t, "")
			out := map[string]bool{}
			for _, e := range v.Events {
				out[e.UID] = strings.Contains(doc, "Cancelled: "+e.Title)
			}
			return out
		}},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			t.Parallel()
			v := cancelledView(t, "")
			doc := renderString(t, tt.format, v)
			got := tt.cancelled(t, doc)
			want := map[string]bool{}
			for _, e := range v.Events {
				want[e.UID] = e.UID == "story@elmcity"
			}
			if !mapsEqual(got, want) {
				t.Errorf("cancelled events = %v, want %v (every event listed, only the story time cancelled)", got, want)
			}
			if !strings.Contains(doc, story) {
				t.Errorf("the cancelled event's title is not there")
			}
		})
	}
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestCancelledCSVCellIsDefused: the Subject of a cancelled event goes
// through the formula defuser like every cell.
func TestCancelledCSVCellIsDefused(t *testing.T) {
	t.Parallel()
	v := cancelledView(t, "")
	for i := range v.Events {
		if v.Events[i].Cancelled {
			v.Events[i].Title = "=cmd|' /C calc'!A0"
		}
	}
	for _, r := range readCSV(t, renderString(t, "csv", v))[1:] {
		if r[11] == "story@elmcity" && r[0] != "Cancelled: =cmd|' /C calc'!A0" {
			t.Errorf("Subject = %q", r[0])
		}
		for _, c := range r {
			if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				t.Errorf("cell %q would run as a formula", c)
			}
		}
	}
}

// TestCancelledXMLMatchesItsSchema: the cancelled attribute is in
// calendar.xsd, which refuses any other value for it.
func TestCancelledXMLMatchesItsSchema(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("needs xmllint (Debian's libxml2-utils)")
	}
	if _, err := exec.LookPath("xmllint"); err != nil {
		t.Fatal("xmllint is not installed (apt-get install libxml2-utils; make test installs it)")
	}
	doc := renderString(t, "xml", cancelledView(t, ""))
	if !strings.Contains(doc, `cancelled="true"`) {
		t.Fatalf("the XML does not mark the cancelled event:\n%s", doc)
	}
	dir := t.TempDir()
	for name, tt := range map[string]struct {
		doc   string
		valid bool
	}{
		"Cancelled": {doc, true},
		"NotABool":  {strings.Replace(doc, `cancelled="true"`, `cancelled="yes"`, 1), false},
	} {
		path := filepath.Join(dir, name+".xml")
		if err := os.WriteFile(path, []byte(tt.doc), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("xmllint", "--noout", "--schema", "calendar.xsd", path).CombinedOutput()
		if (err == nil) != tt.valid {
			t.Errorf("%s: xmllint = %v, want valid %v\n%s", name, err, tt.valid, out)
		}
	}
}

// cancelledPage renders the hub page of pageCalendar, the carol sing
// cancelled, for the query q.
func cancelledPage(t *testing.T, q string, opt render.PageOptions) (*html.Node, string) {
	t.Helper()
	v := pageView(t, q)
	var buf bytes.Buffer
	if err := render.Page(&buf, v, opt); err != nil {
		t.Fatal(err)
	}
	return checkHTML(t, buf.Bytes(), opt.EventsOnly), buf.String()
}

// TestPageShowsCancelled: the hub page lists a cancelled event with the
// word "Cancelled" before its title and the title struck through, in both
// layouts and on its own page; it offers no Google Calendar link for it;
// and its count of upcoming events leaves it out, saying how many are
// cancelled.
func TestPageShowsCancelled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, query string
		opt         render.PageOptions
	}{
		{name: "Full", query: "view=music"},
		{name: "Compact", query: "view=music", opt: render.PageOptions{Layout: render.LayoutCompact}},
		{name: "Fragment", query: "view=music", opt: render.PageOptions{EventsOnly: true}},
		{name: "OwnPage", query: "uid=carol%40elmcity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, out := cancelledPage(t, tt.query, tt.opt)
			var cancelled []string
			for _, ev := range findAll(doc, hasClass("event")) {
				title := findAll(ev, hasClass("title"))[0]
				label := findAll(ev, hasClass("status"))
				struck := findAll(ev, func(n *html.Node) bool { return n.Data == "s" })
				if !hasClass("cancelled")(ev) {
					if len(label) != 0 || len(struck) != 0 {
						t.Errorf("%s is marked cancelled", textOf(title))
					}
					continue
				}
				cancelled = append(cancelled, textOf(title))
				if len(label) != 1 || textOf(label[0]) != "Cancelled" || len(struck) != 1 || textOf(struck[0]) != "Carol Sing" {
					t.Errorf("the cancelled event shows %q, want the word Cancelled and its title struck through", textOf(ev))
				}
				if len(findAll(ev, hasClass("google"))) != 0 {
					t.Errorf("the cancelled event has a Google Calendar link")
				}
			}
			if !slices.Equal(cancelled, []string{"Cancelled Carol Sing"}) {
				t.Errorf("cancelled events = %q, want the carol sing, its title read with the word", cancelled)
			}
			switch tt.name {
			case "Full", "Compact":
				if !strings.Contains(out, "2 upcoming events tagged music and 1 cancelled,") {
					t.Errorf("the count does not leave the cancelled event out:\n%s", out)
				}
			case "OwnPage":
				if !strings.Contains(out, "<title>Cancelled: Carol Sing · Keene, NH</title>") {
					t.Errorf("the event's own page does not say it is cancelled in its title")
				}
			}
		})
	}
}

// TestPageCountsCollapsedCancelled: the count includes the events a
// collapsed run hides, the cancelled ones among them counted as such.
func TestPageCountsCollapsedCancelled(t *testing.T) {
	t.Parallel()
	cal := navCalendar(t)
	evs := slices.Clone(cal.Events.(render.Events))
	for i := range evs {
		switch evs[i].UID {
		case "class1@elmcity", "class6@elmcity", "class7@elmcity": // one shown, two hidden
			evs[i].Cancelled = true
		}
	}
	cal.Events = evs
	f, err := render.ParseFilter(url.Values{"from": {"2026-12-08"}, "to": {"2026-12-08"}}, cal.Loc, pageNow)
	if err != nil {
		t.Fatal(err)
	}
	v := pageViewOf(cal, f, pageNow)
	if len(v.Collapsed) != 1 || v.Collapsed[0].More != 5 || v.Collapsed[0].Cancelled != 2 {
		t.Fatalf("collapsed runs = %+v, want one of 5 hidden, 2 of them cancelled", v.Collapsed)
	}
	var buf bytes.Buffer
	if err := render.Page(&buf, v, render.PageOptions{}); err != nil {
		t.Fatal(err)
	}
	// Nine events: eight classes and an evening; three cancelled.
	if !strings.Contains(buf.String(), "6 upcoming events and 3 cancelled, Tuesday, December 8") {
		t.Errorf("the page's count is not 6 upcoming and 3 cancelled:\n%s", buf.String())
	}
}

// TestPageJSONLDCancelled: a cancelled event's JSON-LD item says
// eventStatus EventCancelled; the others say nothing (scheduled).
func TestPageJSONLDCancelled(t *testing.T) {
	t.Parallel()
	doc, _ := cancelledPage(t, "", render.PageOptions{})
	scripts := findAll(doc, func(n *html.Node) bool { return n.Data == "script" })
	if len(scripts) != 1 {
		t.Fatalf("%d scripts, want the JSON-LD", len(scripts))
	}
	var ld struct {
		Graph []map[string]any `json:"@graph"`
	}
	if err := json.Unmarshal([]byte(scripts[0].FirstChild.Data), &ld); err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	for _, e := range ld.Graph {
		got[e["name"].(string)] = e["eventStatus"]
	}
	if got["Carol Sing"] != "https://schema.org/EventCancelled" {
		t.Errorf("the carol sing's eventStatus = %v, want https://schema.org/EventCancelled", got["Carol Sing"])
	}
	for name, s := range got {
		if name != "Carol Sing" && s != nil {
			t.Errorf("%s: eventStatus %v, want none", name, s)
		}
	}
}
