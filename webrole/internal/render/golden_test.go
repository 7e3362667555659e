package render_test

import (
	"bytes"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/webrole/internal/render"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// fixtureNow is the clock of the fixture views: Wednesday 2 December
// 2026, 10:00 in Keene.
var fixtureNow = time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC)

// testCalendar is a fixed published hub: an all-day market, a jazz night
// two feeds list (merged, with a contributed tag), a story time with a
// long accented description, an event whose text needs escaping, one in
// the past and one after the change to daylight saving time.
func testCalendar(t testing.TB) *render.Calendar {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	at := func(y int, m time.Month, d, hh, mm int) time.Time { return time.Date(y, m, d, hh, mm, 0, 0, loc) }
	date := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
	lib := hubcal.Source{Feed: "f-lib", Name: "Keene Library", URL: "https://library.example.org/events", UID: "l1", ID: "l1@elmcity"}
	thr := hubcal.Source{Feed: "f-thr", Name: "Colonial Theatre", URL: "https://theatre.example.org/jazz", UID: "t1", ID: "t1@elmcity"}
	city := hubcal.Source{Feed: "f-city", Name: "City Hall", UID: "c1", ID: "c1@elmcity"}
	events := []hubcal.Event{
		{UID: "past@elmcity", Title: "Tree Lighting", Start: at(2026, 11, 30, 17, 0), End: at(2026, 11, 30, 18, 0), Sources: []hubcal.Source{city}},
		{UID: "market@elmcity", Title: "Winter Market", Start: date(12, 5), End: date(12, 6), AllDay: true, Location: "Town Common", Tags: []string{"market"}, Sources: []hubcal.Source{city}},
		{UID: "jazz@elmcity", Title: "Jazz Night", Start: at(2026, 12, 5, 19, 0), End: at(2026, 12, 5, 21, 30),
			Description: "Trio; bring friends, all welcome\nDoors at 6:30", Location: "Colonial Theatre, 95 Main St", URL: "https://theatre.example.org/jazz",
			Tags: []string{"music", "{jazz}"}, Sources: []hubcal.Source{thr, lib},
			Merged: []hubcal.MergeNote{{Feed: "f-lib", UID: "l1", Reason: `same start 2026-12-06T00:00:00Z and same title ("Jazz Night" ~ "Jazz Night")`}}},
		{UID: "story@elmcity", Title: "Story Time for toddlers", Start: at(2026, 12, 7, 10, 30), End: at(2026, 12, 7, 11, 15),
			Description: "Élodie reads winter stories in the children's room — songs, rhymes and a craft 🎨; caregivers stay with their little ones.",
			Location:    "Keene Public Library", Tags: []string{"kids", "library"}, Sources: []hubcal.Source{lib}},
		{UID: "xss@elmcity", Title: `<script>alert(1)</script> & "friends"`, Start: at(2026, 12, 8, 18, 0), End: at(2026, 12, 8, 19, 0),
			Location: "=HYPERLINK(\"x\")", Tags: []string{"music"}, Sources: []hubcal.Source{city}},
		{UID: "spring@elmcity", Title: "Spring Concert", Start: at(2027, 3, 20, 19, 0), End: at(2027, 3, 20, 21, 0), Tags: []string{"music"}, Sources: []hubcal.Source{thr}},
	}
	return &render.Calendar{
		Hub:        hub.Hub{ID: "keene", Title: "Keene, NH", TZ: "America/New_York", IntervalHours: 8},
		Loc:        loc,
		Generation: "20261201T1200000000000Z0000abcd", PublishedAt: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC),
		Feeds: []render.Feed{
			{ID: "f-lib", Source: "Keene Library", FeedURL: "https://library.example.org/events.ics", HomeURL: "https://library.example.org/", Status: "ok", Events: 2},
			{ID: "f-thr", Source: "Colonial Theatre", FeedURL: "https://theatre.example.org/cal.ics", Status: "ok", Events: 2},
			{ID: "f-city", Source: "City Hall", FeedURL: "https://city.example.org/cal.ics", Status: "failed", Events: 3},
		},
		Events: render.Events(events),
		Run:    []byte(`{"v":1,"hub":"keene","feeds_ok":2,"feeds_failed":1,"events":6,"feeds":[{"feed":"f-city","source":"City Hall","status":"failed","error_class":"http_5xx","http_status":503}]}`),
	}
}

// testView applies the query q to the fixture at fixtureNow.
func testView(t testing.TB, q string) *render.View {
	t.Helper()
	cal := testCalendar(t)
	vals, err := url.ParseQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	f, err := render.ParseFilter(vals, cal.Loc, fixtureNow)
	if err != nil {
		t.Fatalf("ParseFilter(%q) = %v", q, err)
	}
	return &render.View{Cal: cal, Filter: f, Events: f.Apply(cal.Events, cal.Loc), Now: fixtureNow, Base: "https://cal.example.org"}
}
