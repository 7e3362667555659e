package aggregate_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/feedkind"
	"github.com/elmcity/elmcity/shared/fetch"
	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/shared/logtest"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/shared/script"
	"github.com/elmcity/elmcity/shared/scripthost"
	"github.com/elmcity/elmcity/workerrole/internal/aggregate"
)

// sourceServer serves one body of any kind with an ETag, answering 304
// to a matching If-None-Match, and other paths from extra.
type sourceServer struct {
	mu       sync.Mutex
	body     string
	ctype    string
	extra    map[string]string
	requests atomic.Int32
	srv      *httptest.Server
}

func newSourceServer(t *testing.T, ctype, body string, extra map[string]string) *sourceServer {
	t.Helper()
	s := &sourceServer{body: body, ctype: ctype, extra: extra}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		if x, ok := s.extra[r.URL.Path]; ok {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(x))
			return
		}
		etag := `"` + calendarHash([]byte(s.body)) + `"`
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", s.ctype)
		_, _ = w.Write([]byte(s.body))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sourceServer) set(body string) { s.mu.Lock(); s.body = body; s.mu.Unlock() }

const kindsCSV = `Title,Date,Time,Place,Id
Board games,2026-12-02,18:30,Library,bg-1
Knitting circle,12/03/2026,10:00,Library,kn-1
,2026-12-04,10:00,Library,blank-1
Choir practice,2026-12-09,19:00,Church,ch-1
`

const kindsPage = `<!doctype html><html><head><title>The Colonial</title>
<script type="application/ld+json">
{"@context": "https://schema.org", "@graph": [
  {"@type": "MusicEvent", "@id": "https://colonial.example/e/jazz", "name": "Jazz Night at the Colonial",
   "startDate": "2026-12-05T19:00:00-05:00", "endDate": "2026-12-05T21:00:00-05:00",
   "location": {"@type": "Place", "name": "The Colonial", "address": "95 Main St"}},
  {"@type": "TheaterEvent", "@id": "https://colonial.example/e/play", "name": "A Christmas Carol",
   "startDate": "2026-12-12T14:00:00-05:00"},
  {"@type": "Event", "name": "No date yet"}
]}
</script></head><body>What's on</body></html>`

const kindsRSS = `<?xml version="1.0"?>
<rss version="2.0" xmlns:ev="http://purl.org/rss/1.0/modules/event/">
<channel><title>Club news</title>
<item><title>Winter walk</title><guid>walk-1</guid><ev:startdate>2026-12-06T09:00:00-05:00</ev:startdate><ev:location>Town green</ev:location></item>
<item><title>Newsletter is out</title><guid>news-1</guid><pubDate>Mon, 30 Nov 2026 12:00:00 GMT</pubDate></item>
</channel></rss>`

// kindsAdapter reads the venue's listing from elmcity.source and each
// event's details from the API host.
const kindsAdapter = `// adapters/venue.js
var list = JSON.parse(elmcity.source.body);
result = list.map(function (e) {
  var d = JSON.parse(elmcity.fetch(argv[0].replace(/listing\.json$/, "detail/" + e.id + ".json")).body);
  return {uid: "venue-" + e.id, title: e.name, start: e.start, location: d.room, categories: ["music"]};
});
result.push({title: "Broken", start: "tomorrow"});
`

func TestAggregateKinds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	csvSrv := newSourceServer(t, "text/csv", kindsCSV, nil)
	page := newSourceServer(t, "text/html; charset=utf-8", kindsPage, nil)
	rss := newSourceServer(t, "application/rss+xml", kindsRSS, nil)
	lib := newFeedServer(t, "testdata/library.ics")
	venue := newSourceServer(t, "application/json", `[{"id": 1, "name": "Quartet", "start": "2026-12-10T20:00"}]`,
		map[string]string{"/detail/1.json": `{"room": "Hall B"}`})

	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "adapters"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "adapters", "venue.js"), []byte(kindsAdapter), 0o644); err != nil {
		t.Fatal(err)
	}
	eng, err := script.New(script.Config{Source: dir, LocalTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	f, err := fetch.New(fetch.Config{AllowPrivate: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.CloseIdleConnections)
	logs := &logtest.Recorder{}
	job := aggregate.New(b.store, f, b.pub, aggregate.Config{
		Instance: "test", Logger: slog.New(logs), Now: func() time.Time { return b.now },
		Adapters: eng, AdapterFetcher: scripthost.NewFetcher(f),
	})

	if _, err := b.store.CreateHub(ctx, hub.Hub{ID: "kinds", Title: "Kinds", TZ: "America/New_York", HorizonDays: 60}); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for name, fd := range map[string]hub.Feed{
		"csv": {FeedURL: csvSrv.srv.URL + "/events.csv", Source: "Library sheet", Approved: true, Kind: "csv",
			Mapping: &feedkind.Mapping{Header: true, Title: "Title", StartDate: "Date", StartTime: "Time", Location: "Place", UID: "Id"}},
		"jsonld": {FeedURL: page.srv.URL + "/whats-on", Source: "Colonial Theatre", Approved: true, Kind: "jsonld"},
		"rss":    {FeedURL: rss.srv.URL + "/feed.xml", Source: "Walking club", Approved: true, Kind: "rss"},
		"ics":    {FeedURL: lib.srv.URL + "/lib.ics", Source: "Library", Approved: true},
		"script": {FeedURL: venue.srv.URL + "/listing.json", Source: "Venue", Approved: true, Kind: "script", Adapter: "venue"},
	} {
		got, err := b.store.CreateFeed(ctx, "kinds", fd)
		if err != nil {
			t.Fatalf("CreateFeed(%s) = %v", name, err)
		}
		ids[name] = got.ID
	}

	if err := job.Handle(ctx, queue.Job{Hub: "kinds", ID: "k1"}); err != nil {
		t.Fatalf("Handle() = %v", err)
	}
	h, evs := b.load(t, "kinds")
	got := titles(evs)
	for _, title := range []string{"Board games", "Choir practice", "A Christmas Carol", "Winter walk", "Story Time", "Quartet"} {
		if got[title] == 0 {
			t.Errorf("no %q among the events %v", title, got)
		}
	}
	for _, title := range []string{"Knitting circle", "No date yet", "Newsletter is out", "Broken"} {
		if got[title] != 0 {
			t.Errorf("%q was published, want it skipped", title)
		}
	}
	// The jazz night is in the library's ICS feed and on the theatre's
	// page: one event with both sources.
	var jazz []hubcal.Event
	for _, e := range evs {
		if strings.HasPrefix(e.Title, "Jazz Night") {
			jazz = append(jazz, e)
		}
	}
	if len(jazz) != 1 || len(jazz[0].Sources) != 2 {
		t.Errorf("jazz nights = %+v, want one event from the ICS feed and the JSON-LD page", jazz)
	}
	for _, e := range evs {
		if e.Title == "Quartet" && (e.Location != "Hall B" || e.Start.UTC() != time.Date(2026, 12, 11, 1, 0, 0, 0, time.UTC)) {
			t.Errorf("adapter event = %+v, want Hall B at 20:00 Eastern", e)
		}
	}
	if h.FeedsOK != 5 || h.FeedsBad != 0 {
		t.Errorf("header = %+v, want 5 feeds ok", h)
	}
	tests := []struct {
		name                string
		kind                string
		items, skipped      int
		warning             string
		fetches, occurrence int
	}{
		{name: "csv", kind: "csv", items: 4, skipped: 2, warning: "row 4 skipped: no title", occurrence: 2},
		{name: "jsonld", kind: "jsonld", items: 3, skipped: 1, warning: "skipped: no start date", occurrence: 2},
		{name: "rss", kind: "rss", items: 2, skipped: 1, warning: "skipped", occurrence: 1},
		{name: "script", kind: "script", items: 2, skipped: 1, fetches: 1, occurrence: 1,
			warning: `result[1] skipped: start: date "tomorrow" is not ISO 8601`},
	}
	for _, tt := range tests {
		st := feedStat(h, ids[tt.name])
		if st.Status != "ok" || st.Kind != tt.kind || st.Items != tt.items || st.ItemsSkipped != tt.skipped || st.Fetches != tt.fetches ||
			st.Occurrences != tt.occurrence {
			t.Errorf("%s stats = %+v, want ok, %d items, %d skipped, %d fetches, %d occurrences",
				tt.name, st, tt.items, tt.skipped, tt.fetches, tt.occurrence)
		}
		if !strings.Contains(strings.Join(st.KindWarnings, "\n"), tt.warning) {
			t.Errorf("%s warnings = %q, want %q", tt.name, st.KindWarnings, tt.warning)
		}
	}
	if st := feedStat(h, ids["ics"]); st.Kind != "" || st.Items != 0 {
		t.Errorf("ics stats = %+v, want no kind figures", st)
	}
	if skippedLogs := len(logs.Find("feed items skipped")); skippedLogs != 4 {
		t.Errorf("%d 'feed items skipped' warnings, want one per feed with skipped items (4)", skippedLogs)
	}

	// Second run: nothing changed. Every source answers 304, so nothing
	// is converted or run again (the adapter's detail page is not
	// fetched) and the events are carried with their kind figures.
	venueRequests := venue.requests.Load()
	if err := job.Handle(ctx, queue.Job{Hub: "kinds", ID: "k2"}); err != nil {
		t.Fatal(err)
	}
	h2, evs2 := b.load(t, "kinds")
	if len(evs2) != len(evs) {
		t.Errorf("second run published %d events, want %d", len(evs2), len(evs))
	}
	for _, tt := range tests {
		st := feedStat(h2, ids[tt.name])
		if st.Status != "not_modified" || st.Items != tt.items || st.Occurrences != tt.occurrence {
			t.Errorf("%s stats on the second run = %+v, want not_modified and carried", tt.name, st)
		}
	}
	if n := venue.requests.Load() - venueRequests; n != 1 {
		t.Errorf("the venue got %d requests on the second run, want 1 (the conditional GET of the listing)", n)
	}

	// A CSV that is no longer readable fails the feed, which keeps its
	// last good events.
	csvSrv.set("\"unterminated,quote\n")
	if err := job.Handle(ctx, queue.Job{Hub: "kinds", ID: "k3"}); err != nil {
		t.Fatal(err)
	}
	h3, evs3 := b.load(t, "kinds")
	if st := feedStat(h3, ids["csv"]); st.Status != "failed" || st.ErrorClass != aggregate.ClassConvert || st.Occurrences != 2 {
		t.Errorf("csv stats after a bad CSV = %+v, want failed (convert) with its 2 events carried", st)
	}
	if titles(evs3)["Board games"] == 0 {
		t.Error("the failed CSV feed's events were not carried")
	}
}

// TestAggregateAdapterFails: a script feed whose adapter throws fails
// with the class script and the script's file and line, and keeps its
// events.
func TestAggregateAdapterFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	venue := newSourceServer(t, "application/json", `[{"id": 1}]`, nil)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "adapters"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(src string) {
		if err := os.WriteFile(filepath.Join(dir, "adapters", "venue.js"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`result = [{uid: "a", title: "Quartet", start: "2026-12-10T20:00"}];`)
	eng, err := script.New(script.Config{Source: dir, LocalTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	f, err := fetch.New(fetch.Config{AllowPrivate: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.CloseIdleConnections)
	job := aggregate.New(b.store, f, b.pub, aggregate.Config{
		Instance: "test", Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return b.now },
		Adapters: eng, AdapterFetcher: scripthost.NewFetcher(f),
	})
	if _, err := b.store.CreateHub(ctx, hub.Hub{ID: "adapt", Title: "Adapt", TZ: "America/New_York", HorizonDays: 60}); err != nil {
		t.Fatal(err)
	}
	fd, err := b.store.CreateFeed(ctx, "adapt", hub.Feed{FeedURL: venue.srv.URL + "/l.json", Source: "Venue", Approved: true, Kind: "script", Adapter: "venue"})
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Handle(ctx, queue.Job{Hub: "adapt", ID: "a1"}); err != nil {
		t.Fatal(err)
	}
	write("var x;\nthrow new Error('the venue changed its site');\n")
	venue.set(`[{"id": 2}]`) // the source changed: the adapter runs
	if err := job.Handle(ctx, queue.Job{Hub: "adapt", ID: "a2"}); err != nil {
		t.Fatal(err)
	}
	h, evs := b.load(t, "adapt")
	st := feedStat(h, fd.ID)
	if st.Status != "failed" || st.ErrorClass != aggregate.ClassScript || !strings.Contains(st.Error, "adapters/venue.js:2:") ||
		!strings.Contains(st.Error, "the venue changed its site") || st.Occurrences != 1 || len(evs) != 1 {
		t.Errorf("stats = %+v, %d events; want failed (script) at adapters/venue.js:2 with its event carried", st, len(evs))
	}
}
