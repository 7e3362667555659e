package console_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/shared/hubrun"
	"github.com/elmcity/elmcity/shared/publish"
)

// addFeed adds a feed to keene through the API and returns its id.
func addFeed(t testing.TB, b testBundle, body string) string {
	t.Helper()
	code, out := apiCall(t, b.h, "POST", "/api/hubs/keene/feeds", adminToken, body)
	if code != 201 {
		t.Fatalf("POST feed = %d %s", code, out)
	}
	var f hub.Feed
	if err := json.Unmarshal([]byte(out), &f); err != nil {
		t.Fatal(err)
	}
	return f.ID
}

// publishRun publishes keene with a run header about its feeds.
func publishRun(t testing.TB, b testBundle, feeds ...hubrun.FeedStats) {
	t.Helper()
	ok, bad := 0, 0
	for _, f := range feeds {
		if f.Status == "failed" {
			bad++
		} else {
			ok++
		}
	}
	head := hubrun.Header{V: 2, Hub: "keene", Started: time.Now(), Finished: time.Now(), FeedsOK: ok, FeedsBad: bad, Events: 7, Feeds: feeds}
	payload, err := hubcal.FromEvents(nil).Encode(head)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.cals.Publish(context.Background(), publish.Generation{Hub: "keene", Payload: payload}); err != nil {
		t.Fatal(err)
	}
}

var etagField = regexp.MustCompile(`name="etag" value="([^"]*)"`)

func TestHubPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	lib := addFeed(t, b, `{"feedurl":"https://library.example.org/events.ics","source":"Library","approved":true}`)
	city := addFeed(t, b, `{"feedurl":"https://city.example.org/council.ics","source":"City Hall","approved":true}`)
	fresh := addFeed(t, b, `{"feedurl":"https://club.example.org/club.ics","source":"Chess Club"}`)
	last := time.Now().Add(-48 * time.Hour)
	publishRun(t, b,
		hubrun.FeedStats{Feed: lib, Source: "Library", Status: "ok", Occurrences: 12, Previous: 30, Flag: "dropped by more than half", Zones: map[string]int{"floating": 3}, LastSuccess: time.Now()},
		hubrun.FeedStats{Feed: city, Source: "City Hall", Status: "failed", ErrorClass: "http_4xx", HTTPStatus: 403, Error: "fetch feed: unexpected http status 403", LastSuccess: last, FailingSince: last.Add(8 * time.Hour),
			Occurrences: 4, Cancelled: 2, Previous: 4, PreviousCancelled: 1},
	)
	br := newBrowser(t, b.h)
	br.signIn(b.curator)

	page, _ := br.page("/console/hubs")
	for _, want := range []string{"7", "1 failing", "Keene"} {
		if !strings.Contains(page, want) {
			t.Errorf("hubs page lacks %q:\n%s", want, page)
		}
	}
	page, tok := br.page("/console/hubs/keene")
	for _, want := range []string{
		"failing: the server refused the request (HTTP 403); failing since ",
		"; last worked ",
		`health warn">fetched, but its events dropped by more than half`,
		"3 floating times",
		`4 <span class="muted">+2 cancelled</span>`, // City Hall now, then in the run before
		`4 <span class="muted">+1 cancelled</span>`,
		"not approved: the hub does not fetch it",
		"Chess Club",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("hub page lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("hub page:\n%s", page)
	}

	// Approve the new feed: a PATCH conditional on the table's ETag.
	rec := br.post("/console/hubs/keene/feeds/"+fresh+"/approval", url.Values{"csrf": {tok}, "approved": {"yes"}, "etag": {""}}, nil)
	if rec.Code != http.StatusSeeOther || !strings.HasSuffix(rec.Header().Get("Location"), "done=approved") {
		t.Fatalf("approve = %d %s\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if f := getFeed(t, b, fresh); !f.Approved || f.Source != "Chess Club" {
		t.Errorf("after approval feed = %+v", f)
	}

	// Edit: the catmap editor's rows become the catmap; fields left as
	// they were stay.
	page, tok = br.page("/console/hubs/keene/feeds/" + lib)
	etag := html.UnescapeString(etagField.FindStringSubmatch(page)[1])
	form := url.Values{"csrf": {tok}, "etag": {etag}, "source": {"Keene Library"}, "url": {"https://library.example.org/"},
		"categories": {"library, books"}, "from_0": {"Kids"}, "to_0": {"family"}, "from_1": {""}, "to_1": {""}, "comments": {"ask Jo"}, "approved": {"yes"}}
	if rec := br.post("/console/hubs/keene/feeds/"+lib, form, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("save feed = %d\n%s", rec.Code, rec.Body)
	}
	f := getFeed(t, b, lib)
	if f.Source != "Keene Library" || f.CatMap["kids"] != "family" || len(f.Categories) != 2 || f.Comments != "ask Jo" || !f.Approved || f.FeedURL != "https://library.example.org/events.ics" {
		t.Errorf("after edit feed = %+v", f)
	}
	// The same form again carries a stale ETag: nothing is lost, and the
	// form comes back with the feed as it is now.
	form.Set("source", "Stale")
	rec = br.post("/console/hubs/keene/feeds/"+lib, form, nil)
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "Someone changed this feed") || !strings.Contains(rec.Body.String(), `value="Keene Library"`) {
		t.Errorf("save with a stale ETag = %d, want 409 with the current feed\n%s", rec.Code, rec.Body)
	}
	if f := getFeed(t, b, lib); f.Source != "Keene Library" {
		t.Errorf("a stale save changed the feed: %+v", f)
	}
	// A half-filled catmap row is the curator's to fix.
	page, tok = br.page("/console/hubs/keene/feeds/" + lib)
	form.Set("csrf", tok)
	form.Set("etag", html.UnescapeString(etagField.FindStringSubmatch(page)[1]))
	form.Set("from_1", "jazz")
	if rec := br.post("/console/hubs/keene/feeds/"+lib, form, nil); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "needs both") {
		t.Errorf("save with half a catmap row = %d, want 400", rec.Code)
	}
	// An invalid field comes back named.
	form.Set("from_1", "")
	form.Set("url", "ftp://nope")
	if rec := br.post("/console/hubs/keene/feeds/"+lib, form, nil); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "url: must be http or https") {
		t.Errorf("save with a bad url = %d, want 400 naming url\n%s", rec.Code, rec.Body)
	}

	// Delete, confirmed.
	page, tok = br.page("/console/hubs/keene/feeds/" + city + "/delete")
	if !strings.Contains(page, "City Hall") || !strings.Contains(page, "Remove the feed") {
		t.Errorf("delete confirmation:\n%s", page)
	}
	if rec := br.post("/console/hubs/keene/feeds/"+city+"/delete", url.Values{"csrf": {tok}}, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("delete = %d", rec.Code)
	}
	if code, _ := apiCall(t, b.h, "GET", "/api/hubs/keene/feeds/"+city, adminToken, ""); code != 404 {
		t.Errorf("GET deleted feed = %d, want 404", code)
	}
}

func getFeed(t testing.TB, b testBundle, id string) hub.Feed {
	t.Helper()
	code, out := apiCall(t, b.h, "GET", "/api/hubs/keene/feeds/"+id, adminToken, "")
	if code != 200 {
		t.Fatalf("GET feed = %d %s", code, out)
	}
	var f hub.Feed
	if err := json.Unmarshal([]byte(out), &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestCuratorSeesOnlyTheirHubs walks every console page and form of the
// hub "other" as Ann, curator of keene: each is refused with the same
// words, whether or not the hub exists.
func TestCuratorSeesOnlyTheirHubs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if code, out := apiCall(t, b.h, "POST", "/api/hubs/other/feeds", adminToken, `{"feedurl":"https://other.example.org/o.ics","source":"Other"}`); code != 201 {
		t.Fatalf("POST feed = %d %s", code, out)
	}
	otherFeed := hub.FeedID("https://other.example.org/o.ics")
	br := newBrowser(t, b.h)
	br.signIn(b.curator)
	_, tok := br.page("/console/hubs")
	for _, id := range []string{"other", "nosuchhub"} {
		base := "/console/hubs/" + id
		for _, p := range []string{"", "/add", "/settings", "/logs", "/history", "/feeds/" + otherFeed, "/feeds/" + otherFeed + "/delete", "/jobs/0123456789abcdef0123456789abcdef"} {
			rec := br.get(base + p)
			if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "No access to hub "+id+": it does not exist or is not yours") {
				t.Errorf("GET %s%s = %d, want 403", base, p, rec.Code)
			}
		}
		for _, p := range []string{"/add", "/feeds", "/feeds/" + otherFeed, "/feeds/" + otherFeed + "/approval", "/feeds/" + otherFeed + "/delete", "/settings", "/tags", "/refresh"} {
			rec := br.post(base+p, url.Values{"csrf": {tok}, "approved": {"yes"}, "feedurl": {"https://x.example/x.ics"}, "source": {"X"}}, nil)
			if rec.Code != http.StatusForbidden {
				t.Errorf("POST %s%s = %d, want 403", base, p, rec.Code)
			}
		}
	}
	if f := func() hub.Feed {
		code, out := apiCall(t, b.h, "GET", "/api/hubs/other/feeds/"+otherFeed, adminToken, "")
		var f hub.Feed
		_ = json.Unmarshal([]byte(out), &f)
		if code != 200 {
			t.Fatalf("GET other's feed = %d", code)
		}
		return f
	}(); f.Approved {
		t.Errorf("Ann approved a feed of another hub")
	}
}
