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

// feedServer serves a weekly club night (floating times) as /club.ics.
func feedServer(t testing.TB) *httptest.Server {
	t.Helper()
	start := time.Now().Add(48*time.Hour).Format("20060102") + "T190000"
	ics := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Club//EN\r\nBEGIN:VEVENT\r\nUID:night@club\r\nDTSTART:" + start +
		"\r\nDURATION:PT2H\r\nRRULE:FREQ=WEEKLY;COUNT=30\r\nSUMMARY:Chess night\r\nLOCATION:Library annex\r\nCATEGORIES:Games,Kids\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/club.ics" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/calendar")
		_, _ = w.Write([]byte(ics))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestAddFeedWithPreview(t *testing.T) {
	t.Parallel()
	b := setup(t)
	feeds := feedServer(t)
	br := newBrowser(t, b.h)
	br.signIn(b.curator)
	page, tok := br.page("/console/hubs/keene/add")
	if !strings.Contains(page, `name="feedurl"`) {
		t.Fatalf("add page has no address field:\n%s", page)
	}
	// Both fields are needed.
	if rec := br.post("/console/hubs/keene/add", url.Values{"csrf": {tok}, "feedurl": {feeds.URL + "/club.ics"}}, nil); rec.Code != 400 || !strings.Contains(rec.Body.String(), "source: required") {
		t.Errorf("preview without a source = %d", rec.Code)
	}
	rec := br.post("/console/hubs/keene/add", url.Values{"csrf": {tok}, "feedurl": {feeds.URL + "/club.ics"}, "source": {"Chess Club"}}, nil)
	preview := html.UnescapeString(rec.Body.String())
	if rec.Code != 200 {
		t.Fatalf("preview = %d\n%s", rec.Code, preview)
	}
	for _, want := range []string{"No problems found", "1 usable of 1", "The next 10 events, in America/New_York", "Chess night", "19:00", "Add and approve"} {
		if !strings.Contains(preview, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("preview:\n%s", preview)
	}
	// A feed that is not there says so, and nothing is saved.
	rec = br.post("/console/hubs/keene/add", url.Values{"csrf": {tok}, "feedurl": {feeds.URL + "/gone.ics"}, "source": {"Gone"}}, nil)
	if !strings.Contains(rec.Body.String(), "Not usable") || !strings.Contains(rec.Body.String(), "404") {
		t.Errorf("preview of a missing feed:\n%s", rec.Body)
	}
	form := url.Values{"csrf": {tok}, "feedurl": {feeds.URL + "/club.ics"}, "source": {"Chess Club"}, "categories": {"games"},
		"from_0": {"kids"}, "to_0": {"family"}, "approve": {"yes"}}
	if rec := br.post("/console/hubs/keene/feeds", form, nil); rec.Code != http.StatusSeeOther || !strings.HasSuffix(rec.Header().Get("Location"), "done=added") {
		t.Fatalf("add = %d\n%s", rec.Code, rec.Body)
	}
	f := getFeed(t, b, hub.FeedID(hub.NormalizeFeedURL(feeds.URL+"/club.ics")))
	if !f.Approved || f.Source != "Chess Club" || f.CatMap["kids"] != "family" {
		t.Errorf("added feed = %+v", f)
	}
	// The same address again is the API's 409, said on the form.
	if rec := br.post("/console/hubs/keene/feeds", form, nil); rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "already has this feed") {
		t.Errorf("add twice = %d\n%s", rec.Code, rec.Body)
	}
}

func TestSettingsAndTags(t *testing.T) {
	t.Parallel()
	b := setup(t)
	lib := addFeed(t, b, `{"feedurl":"https://library.example.org/events.ics","source":"Library","approved":true}`)
	br := newBrowser(t, b.h)
	br.signIn(b.curator)
	page, tok := br.page("/console/hubs/keene/settings")
	if !strings.Contains(page, `<option value="America/New_York" selected>`) || !strings.Contains(page, "Europe/Paris") || strings.Contains(page, "Region members") {
		t.Errorf("settings page: want the zone picker on New York and no members for a curator:\n%s", page)
	}
	etag := html.UnescapeString(etagField.FindStringSubmatch(page)[1])
	form := url.Values{"csrf": {tok}, "etag": {etag}, "title": {"Keene, NH"}, "tz": {"America/Chicago"}, "horizon_days": {"60"},
		"interval_hours": {"4"}, "contact": {"ann@example.org"}, "vocabulary": {"music, family\nbooks"}}
	if rec := br.post("/console/hubs/keene/settings", form, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("save settings = %d\n%s", rec.Code, rec.Body)
	}
	code, out := apiCall(t, b.h, "GET", "/api/hubs/keene", adminToken, "")
	if code != 200 || !strings.Contains(out, `"tz":"America/Chicago"`) || !strings.Contains(out, `"vocabulary":["music","family","books"]`) || !strings.Contains(out, `"horizon_days":60`) {
		t.Errorf("hub after settings = %s", out)
	}
	// A stale form loses; a bad zone is named.
	if rec := br.post("/console/hubs/keene/settings", form, nil); rec.Code != http.StatusConflict {
		t.Errorf("save with a stale ETag = %d, want 409", rec.Code)
	}
	page, tok = br.page("/console/hubs/keene/settings")
	form.Set("etag", html.UnescapeString(etagField.FindStringSubmatch(page)[1]))
	form.Set("csrf", tok)
	form.Set("tz", "Mars/Olympus")
	if rec := br.post("/console/hubs/keene/settings", form, nil); rec.Code != 400 || !strings.Contains(rec.Body.String(), "tz: must be an IANA time zone") {
		t.Errorf("save with a bad zone = %d\n%s", rec.Code, rec.Body)
	}
	// A curator cannot make their hub a region of others.
	form.Set("tz", "America/Chicago")
	form.Set("type", "region")
	form.Set("members", "other")
	if rec := br.post("/console/hubs/keene/settings", form, nil); rec.Code != http.StatusSeeOther {
		t.Errorf("save as curator with type = %d", rec.Code)
	}
	if _, out := apiCall(t, b.h, "GET", "/api/hubs/keene", adminToken, ""); strings.Contains(out, "region") {
		t.Errorf("a curator's form changed the hub's type: %s", out)
	}

	// Map a contributed tag into a feed's catmap; add another to the
	// vocabulary.
	if rec := br.post("/console/hubs/keene/tags", url.Values{"csrf": {tok}, "tag": {"jazz"}, "action": {"map"}, "feed": {lib}, "to": {"music"}}, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("map a tag = %d\n%s", rec.Code, rec.Body)
	}
	if f := getFeed(t, b, lib); f.CatMap["jazz"] != "music" {
		t.Errorf("catmap after mapping = %v", f.CatMap)
	}
	if rec := br.post("/console/hubs/keene/tags", url.Values{"csrf": {tok}, "tag": {"chess"}, "action": {"vocabulary"}}, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("add to vocabulary = %d\n%s", rec.Code, rec.Body)
	}
	if _, out := apiCall(t, b.h, "GET", "/api/hubs/keene", adminToken, ""); !strings.Contains(out, `"vocabulary":["music","family","books","chess"]`) {
		t.Errorf("vocabulary after adding = %s", out)
	}
}
