package render_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/elmcity/elmcity/webrole/internal/render"
)

// statsFixtureRun is the run header of the fixture, as the worker writes it:
// a feed that is fine (listing cancelled occurrences), one unchanged, one
// flagged and one failed (with a hostile error text), plus a field the
// report does not read.
const statsFixtureRun = `{"v":1,"hub":"keene","started":"2026-12-05T14:00:00Z","finished":"2026-12-05T14:01:58.400Z",
"from":"2026-12-05T05:00:00Z","to":"2027-03-05T05:00:00Z","feeds_ok":3,"feeds_failed":1,"events":6,"cancelled":2,"merged":1,"cut":2,
"feeds":[
{"feed":"f-lib","url":"https://library.example.org/events.ics","source":"Keene Public Library","status":"ok","http_status":200,"bytes":48213,"duration_ms":412,"events":31,"recurring":4,"occurrences":57,"cancelled":2,"skipped":1,"zones":{"floating":2,"windows":1},"prodid":"-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN","last_success":"2026-12-05T14:00:01Z","previous_occurrences":55,"previous_cancelled":1,"validators":{"etag":"\"x\""}},
{"feed":"f-col","url":"https://colonial.example.org/cal.ics","source":"Colonial Theatre","status":"unchanged","duration_ms":88,"events":12,"recurring":0,"occurrences":12,"skipped":0,"prodid":"-//Colonial//Tickets//EN","last_success":"2026-12-05T14:00:00Z","previous_occurrences":12},
{"feed":"f-dtj","url":"https://downtownjazz.example.net/events.ics","source":"Downtown Jazz","status":"ok","http_status":200,"bytes":912,"duration_ms":1530,"events":1,"recurring":0,"occurrences":1,"skipped":0,"truncated":3,"last_success":"2026-12-05T14:00:02Z","previous_occurrences":9,"previous_cancelled":3,"flag":"dropped by more than half"},
{"feed":"f-city","url":"javascript:alert(6)","source":"City Hall <i>","status":"failed","error_class":"http_5xx","error":"GET: 503 <b>Service Unavailable</b>","http_status":503,"duration_ms":65012,"events":0,"recurring":0,"occurrences":0,"skipped":0,"last_success":"2026-11-28T09:00:00Z","previous_occurrences":1}
]}`

func TestStatsPageGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		run    string
		golden string
		// wantAttention are the feeds under "needs attention"; wantRows
		// the class of each table row.
		wantAttention []string
		wantRows      []string
	}{
		{name: "Run", run: statsFixtureRun, golden: "stats.golden",
			wantAttention: []string{"City Hall <i>", "Downtown Jazz"}, wantRows: []string{"", "", "flagged", "failed"}},
		{name: "NoRun", golden: "stats_norun.golden"},
		{name: "NoFeeds", run: `{"hub":"keene","started":"2026-12-05T14:00:00Z","finished":"2026-12-05T14:00:00.2Z","feeds":[]}`, golden: "stats_nofeeds.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cal := pageCalendar(t)
			cal.Run = []byte(tt.run)
			var buf bytes.Buffer
			if err := render.StatsPage(&buf, cal); err != nil {
				t.Fatalf("StatsPage() = %v", err)
			}
			checkGolden(t, tt.golden, buf.Bytes())
			doc := checkHTML(t, buf.Bytes(), false)
			var attention []string
			for _, sec := range findAll(doc, hasClass("attention")) {
				for _, a := range findAll(sec, func(n *html.Node) bool { return n.Data == "a" }) {
					attention = append(attention, textOf(a))
				}
			}
			if !slices.Equal(attention, tt.wantAttention) {
				t.Errorf("needs attention = %q, want %q", attention, tt.wantAttention)
			}
			var rows []string
			for _, tr := range findAll(doc, func(n *html.Node) bool { return n.Data == "tr" && strings.HasPrefix(attr(n, "id"), "feed-") }) {
				rows = append(rows, attr(tr, "class"))
			}
			if !slices.Equal(rows, tt.wantRows) {
				t.Errorf("row classes = %q, want %q", rows, tt.wantRows)
			}
		})
	}
}

// TestStatsPageShowsCancelled: the report counts a feed's cancelled
// occurrences beside those that take place, now and in the run before,
// and the hub's cancelled events among those published.
func TestStatsPageShowsCancelled(t *testing.T) {
	t.Parallel()
	cal := pageCalendar(t)
	cal.Run = []byte(statsFixtureRun)
	var buf bytes.Buffer
	if err := render.StatsPage(&buf, cal); err != nil {
		t.Fatal(err)
	}
	doc := checkHTML(t, buf.Bytes(), false)
	out := buf.String()
	for _, want := range []string{
		"6 events published, 2 of them cancelled",
		`(9 occurrences and 3 cancelled before, 1 now)`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	row := findAll(doc, func(n *html.Node) bool { return attr(n, "id") == "feed-1" })[0]
	var cells []string
	for _, td := range findAll(row, func(n *html.Node) bool { return n.Data == "td" }) {
		cells = append(cells, textOf(td))
	}
	if cells[4] != "57 +2 cancelled" || cells[5] != "55 +1 cancelled" {
		t.Errorf("the library's occurrences and previous = %q and %q, want 57 +2 cancelled and 55 +1 cancelled", cells[4], cells[5])
	}
}

func TestStatsPageBadRun(t *testing.T) {
	t.Parallel()
	cal := pageCalendar(t)
	cal.Run = []byte(`{"feeds":`)
	var buf bytes.Buffer
	if err := render.StatsPage(&buf, cal); err == nil || !strings.Contains(err.Error(), "run header") {
		t.Errorf("StatsPage(truncated header) = %v, want an error about the run header", err)
	}
}
