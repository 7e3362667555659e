package console_test

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/hub"
)

// csvServer serves a club's spreadsheet export as /events.csv: two
// events in the coming days and a row without a date.
func csvServer(t testing.TB) *httptest.Server {
	t.Helper()
	day := time.Now().AddDate(0, 0, 2).Format("1/2/2006")
	body := "Event,Date,Time,Venue\r\nChess night," + day + ",7:00 PM,Library annex\r\nBook sale," + day + ",,Town hall\r\nNo date,,,Nowhere\r\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/events.csv" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/csv")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// csvForm is the add form for the club's CSV with its mapping.
func csvForm(tok, feedURL string) url.Values {
	return url.Values{"csrf": {tok}, "feedurl": {feedURL}, "source": {"Chess Club"}, "kind": {"csv"},
		"m_title": {"Event"}, "m_start_date": {"Date"}, "m_start_time": {"Time"}, "m_location": {"Venue"},
		"m_header": {"yes"}, "m_date_format": {"M/D/YYYY"}, "m_delimiter": {""},
		// Fields of other kinds, posted as a form without JavaScript posts
		// them all: left out for csv.
		"m_path": {"data.events"}, "adapter": {"ignored"}, "hosts": {"x.example.org"}}
}

func TestAddCSVFeedWithPreview(t *testing.T) {
	t.Parallel()
	b := setup(t)
	feeds := csvServer(t)
	br := newBrowser(t, b.h)
	br.signIn(b.curator)
	page, tok := br.page("/console/hubs/keene/add")
	for _, want := range []string{`<select id="kind" name="kind"`, `<option value="csv">Spreadsheet (CSV)</option>`, `name="m_title"`, `name="m_header"`, `name="adapter"`, `data-kind-help="jsonld"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the add page lacks %s", want)
		}
	}
	form := csvForm(tok, feeds.URL+"/events.csv")
	rec := br.post("/console/hubs/keene/add", form, nil)
	preview := html.UnescapeString(rec.Body.String())
	if rec.Code != 200 {
		t.Fatalf("preview = %d\n%s", rec.Code, preview)
	}
	for _, want := range []string{"Converted from csv", "Items found</dt><dd>3", "Events made</dt><dd>2", "Items skipped</dt><dd>1",
		"row 4 skipped: no start date", "Chess night", "19:00", "Book sale", "Check again", `<option value="csv" selected>`, `value="M/D/YYYY"`} {
		if !strings.Contains(preview, want) {
			t.Errorf("the preview lacks %q", want)
		}
	}
	if strings.Index(preview, "Converted from csv") > strings.Index(preview, "Usable") {
		t.Errorf("the conversion's report is not above the usual one")
	}
	if t.Failed() {
		t.Logf("preview:\n%s", preview)
	}
	// A mapping without a start is the API's 400, said on the form.
	bad := csvForm(tok, feeds.URL+"/events.csv")
	bad.Set("m_start_date", "")
	if rec := br.post("/console/hubs/keene/add", bad, nil); rec.Code != 400 || !strings.Contains(rec.Body.String(), "start_date") {
		t.Errorf("preview without a start column = %d\n%s", rec.Code, rec.Body)
	}

	form.Set("approve", "no")
	if rec := br.post("/console/hubs/keene/feeds", form, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("add = %d\n%s", rec.Code, rec.Body)
	}
	id := hub.FeedID(hub.NormalizeFeedURL(feeds.URL + "/events.csv"))
	f := getFeed(t, b, id)
	if f.Kind != "csv" || f.Mapping == nil || f.Mapping.Title != "Event" || !f.Mapping.Header || f.Mapping.DateFormat != "M/D/YYYY" ||
		f.Mapping.Path != "" || f.Adapter != "" || f.Hosts != nil {
		t.Fatalf("added feed = %+v mapping %+v, want csv with its mapping and nothing of other kinds", f, f.Mapping)
	}
	if page, _ := br.page("/console/hubs/keene"); !strings.Contains(page, `<span class="kind">CSV</span>`) {
		t.Errorf("the feed table does not say the feed is CSV:\n%s", page)
	}

	// The edit page edits the mapping: a field emptied is removed.
	page, tok = br.page("/console/hubs/keene/feeds/" + id)
	if !strings.Contains(page, `<option value="csv" selected>`) || !strings.Contains(page, `id="m_location" name="m_location" type="text" value="Venue"`) {
		t.Fatalf("the edit page does not show the mapping:\n%s", page)
	}
	edit := csvForm(tok, feeds.URL+"/events.csv")
	edit.Set("etag", html.UnescapeString(etagField.FindStringSubmatch(page)[1]))
	edit.Set("m_location", "")
	edit.Set("m_description", "Venue")
	if rec := br.post("/console/hubs/keene/feeds/"+id, edit, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("save = %d\n%s", rec.Code, rec.Body)
	}
	if f := getFeed(t, b, id); f.Mapping == nil || f.Mapping.Location != "" || f.Mapping.Description != "Venue" || f.Mapping.Title != "Event" {
		t.Errorf("mapping after the edit = %+v, want location removed and description set", f.Mapping)
	}
	// Back to iCalendar: the mapping goes.
	page, tok = br.page("/console/hubs/keene/feeds/" + id)
	edit.Set("csrf", tok)
	edit.Set("etag", html.UnescapeString(etagField.FindStringSubmatch(page)[1]))
	edit.Set("kind", "ics")
	if rec := br.post("/console/hubs/keene/feeds/"+id, edit, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("save as ics = %d\n%s", rec.Code, rec.Body)
	}
	if f := getFeed(t, b, id); f.Kind != "" || f.Mapping != nil {
		t.Errorf("feed after the change to ics = %+v, want no kind and no mapping", f)
	}
}

// venueServer serves a venue's JSON API, as the repository's example
// adapter (scripts/adapters/example.js) reads it, in two pages at
// /api/events, and a web page at /page.html.
func venueServer(t testing.TB) *httptest.Server {
	t.Helper()
	day := time.Now().AddDate(0, 0, 2).Format("2006-01-02")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/events" && r.URL.Query().Get("page") == "":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"next":"/api/events?page=2","events":[{"id":1,"name":"Open mic","date":"` + day + `","doors":"19:00","ends":"22:00","room":"Hall B"}]}`))
		case r.URL.Path == "/api/events":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"next":null,"events":[{"id":2,"name":"Craft fair","date":"` + day + `","doors":""},{"id":3,"name":"No date","doors":"20:00"}]}`))
		case r.URL.Path == "/page.html":
			_, _ = w.Write([]byte("<html><body>What's on</body></html>"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestAddScriptFeed checks that a script feed is previewed (the check
// runs its adapter as the worker would and shows what it returned, or
// its error with the file and line) and is added with its adapter and
// hosts.
func TestAddScriptFeed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	venue := venueServer(t)
	br := newBrowser(t, b.h)
	br.signIn(b.curator)
	_, tok := br.page("/console/hubs/keene/add")
	preview := url.Values{"csrf": {tok}, "feedurl": {venue.URL + "/api/events"}, "source": {"Venue"}, "kind": {"script"},
		"adapter": {"example"}, "hosts": {""}, "m_title": {"ignored"}}
	rec := br.post("/console/hubs/keene/add", preview, nil)
	page := html.UnescapeString(rec.Body.String())
	for _, want := range []string{"Read by adapter example", "Events returned</dt><dd>3", "Events made</dt><dd>2", "Events skipped</dt><dd>1",
		"Pages the adapter fetched</dt><dd>1", "result[2]", "Open mic", "19:00", "Craft fair", "Add without approving", `<option value="script" selected>`} {
		if !strings.Contains(page, want) {
			t.Errorf("the preview of a script feed lacks %q", want)
		}
	}
	if rec.Code != 200 || strings.Contains(page, "Not checked") || strings.Index(page, "Read by adapter") > strings.Index(page, "Usable") {
		t.Errorf("preview of a script feed = %d, want the adapter's report above the usual one", rec.Code)
	}
	if t.Failed() {
		t.Fatalf("preview:\n%s", page)
	}
	// An adapter that fails: its error, with the file and line.
	preview.Set("feedurl", venue.URL+"/page.html")
	rec = br.post("/console/hubs/keene/add", preview, nil)
	if page := html.UnescapeString(rec.Body.String()); rec.Code != 200 || !strings.Contains(page, "Not usable") || !strings.Contains(page, "adapter example failed") ||
		!strings.Contains(page, "adapters/example.js:") {
		t.Errorf("preview of a page the adapter cannot read = %d\n%s", rec.Code, page)
	}
	// An adapter that does not exist: the API's 400, said on the form.
	preview.Set("adapter", "nosuch")
	if rec := br.post("/console/hubs/keene/add", preview, nil); rec.Code != 400 || !strings.Contains(rec.Body.String(), "adapters/nosuch.js") {
		t.Errorf("preview with an unknown adapter = %d\n%s", rec.Code, rec.Body)
	}

	form := url.Values{"csrf": {tok}, "feedurl": {"https://theatre.example.org/whats-on"}, "source": {"Theatre"}, "kind": {"script"},
		"adapter": {"theatre"}, "hosts": {"api.theatre.example.org, cdn.theatre.example.org"}, "m_title": {"ignored"}}
	form.Set("approve", "no")
	if rec := br.post("/console/hubs/keene/feeds", form, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("add = %d\n%s", rec.Code, rec.Body)
	}
	f := getFeed(t, b, hub.FeedID(hub.NormalizeFeedURL("https://theatre.example.org/whats-on")))
	if f.Kind != "script" || f.Adapter != "theatre" || len(f.Hosts) != 2 || f.Mapping != nil || f.Approved {
		t.Errorf("added script feed = %+v", f)
	}
	if page, _ := br.page("/console/hubs/keene"); !strings.Contains(page, `<span class="kind">adapter theatre</span>`) {
		t.Errorf("the feed table does not name the adapter")
	}
	// Without an adapter name, the API's 400 names the field.
	form.Del("adapter")
	form.Set("feedurl", "https://theatre.example.org/other")
	if rec := br.post("/console/hubs/keene/feeds", form, nil); rec.Code != 400 || !strings.Contains(rec.Body.String(), "adapter: required") {
		t.Errorf("add without an adapter = %d\n%s", rec.Code, rec.Body)
	}
}
