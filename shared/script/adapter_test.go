package script_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/feedkind"
	"github.com/elmcity/elmcity/shared/fetch"
	"github.com/elmcity/elmcity/shared/script"
	"github.com/elmcity/elmcity/shared/scripthost"
)

// newTestFetcher returns the feed fetcher as adapters use it, allowing
// private addresses or not, its connections closed when the test ends.
func newTestFetcher(t testing.TB, allowPrivate bool) script.Fetcher {
	t.Helper()
	f, err := fetch.New(fetch.Config{AllowPrivate: allowPrivate, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.CloseIdleConnections)
	return scripthost.NewFetcher(f)
}

// newVenue serves a venue's JSON API at /api/events (which wants the
// header X-Key: k), a page at /, and at /away a redirect to that page
// under the host name localhost.
func newVenue(t testing.TB) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/events":
			if r.Header.Get("X-Key") != "k" {
				http.Error(w, "no key", http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprint(w, `[{"id": 17, "name": "Open mic", "when": "2026-12-03T19:00:00-05:00"},
				{"id": 18, "name": "Book sale", "when": "2026-12-05"}]`)
		case "/away": // to the same server under another host name
			_, port, _ := net.SplitHostPort(r.Host)
			http.Redirect(w, r, "http://localhost:"+port+"/", http.StatusFound)
		default:
			_, _ = fmt.Fprint(w, "<html><body>venue</body></html>")
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// parseICS parses an adapter's output with the hub's parser.
func parseICS(t testing.TB, ics []byte) *calendar.Calendar {
	t.Helper()
	cal, err := calendar.NewParser(calendar.Config{}).Parse(context.Background(), ics)
	if err != nil {
		t.Fatalf("Parse() error = %v\n%s", err, ics)
	}
	return cal
}

func TestRunAdapter(t *testing.T) {
	t.Parallel()
	venue := newVenue(t)
	b := setup(t, map[string]string{
		"adapters/venue.js": `
var r = elmcity.fetch(argv[0] + "api/events", {headers: {"X-Key": "k", Accept: "application/json"}});
if (r.status !== 200) throw new Error("status " + r.status);
result = JSON.parse(r.body).map(function (e) {
  return {uid: e.id, title: e.name, start: e.when, categories: ["music", "books"], tz: "America/New_York",
          url: "https://venue.example/e/" + e.id, rrule: e.id === 17 ? "FREQ=WEEKLY;COUNT=3" : undefined};
});`,
		"adapters/source.js":   `result = [{title: elmcity.source.body + " " + elmcity.source.status, start: "2026-12-01", end: "2026-12-02", all_day: true}];`,
		"adapters/statuses.js": `var r = elmcity.fetch(argv[0] + "api/events"); result = [{title: "got " + r.status, start: "2026-12-01"}];`,
	}, script.Config{})
	ctx := context.Background()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.engine.RunAdapter(ctx, script.AdapterRequest{
		Adapter: "venue", Hub: "keene", FeedURL: venue.URL + "/", Fetcher: newTestFetcher(t, true),
		Options: feedkind.Options{Zone: ny},
	})
	if err != nil {
		t.Fatalf("RunAdapter() error = %v", err)
	}
	if res.Report.Items != 2 || res.Report.Events != 2 || res.Report.Skipped != 0 || res.Fetches != 1 {
		t.Errorf("RunAdapter() report = %+v, fetches %d; want 2 items, 2 events, 1 fetch", res.Report, res.Fetches)
	}
	cal := parseICS(t, res.ICS)
	if len(cal.Events) != 2 {
		t.Fatalf("parsed %d events, want 2:\n%s", len(cal.Events), res.ICS)
	}
	for _, want := range []string{"UID:17\r\n", "UID:18\r\n", "DTSTART;TZID=America/New_York:20261203T190000", "RRULE:FREQ=WEEKLY;COUNT=3",
		"DTSTART;VALUE=DATE:20261205", "CATEGORIES:music,books", "URL:https://venue.example/e/17"} {
		if !strings.Contains(string(res.ICS), want) {
			t.Errorf("ICS lacks %q:\n%s", want, res.ICS)
		}
	}

	res, err = b.engine.RunAdapter(ctx, script.AdapterRequest{
		Adapter: "source", FeedURL: venue.URL + "/", Fetcher: newTestFetcher(t, true),
		Source: &script.FetchResponse{URL: venue.URL + "/", Status: 200, Body: "page"},
	})
	if err != nil {
		t.Fatalf("RunAdapter(source) error = %v", err)
	}
	if !strings.Contains(string(res.ICS), "SUMMARY:page 200") || !strings.Contains(string(res.ICS), "DTEND;VALUE=DATE:20261203") {
		t.Errorf("RunAdapter(source) ICS =\n%s\nwant the source's body and an inclusive all-day end", res.ICS)
	}

	// A status other than 2xx is an answer the script reads, not an
	// exception.
	res, err = b.engine.RunAdapter(ctx, script.AdapterRequest{Adapter: "statuses", FeedURL: venue.URL + "/", Fetcher: newTestFetcher(t, true)})
	if err != nil {
		t.Fatalf("RunAdapter(statuses) error = %v", err)
	}
	if !strings.Contains(string(res.ICS), "SUMMARY:got 401") {
		t.Errorf("RunAdapter(statuses) ICS =\n%s\nwant got 401", res.ICS)
	}
}

// TestRunAdapterHostile runs adapters that go wrong: each fails with a
// clear error, or skips what it cannot use with a warning naming the
// event and the field, within the limits.
func TestRunAdapterHostile(t *testing.T) {
	t.Parallel()
	venue := newVenue(t)
	scripts := map[string]string{
		"adapters/throws.js":  "var x = 1;\nthrow new Error(\"venue page changed\");\n",
		"adapters/loops.js":   "while (true) {}\n",
		"adapters/string.js":  `result = "not events";`,
		"adapters/none.js":    `var events = [];`,
		"adapters/notitle.js": `result = [{start: "2026-12-01"}, {title: "  ", start: "2026-12-02"}];`,
		"adapters/mixed.js": `result = [
  {title: "ok", start: "2026-12-01T10:00"},
  {uid: "bad-1", title: "bad month", start: "2026-13-01"},
  {title: "bad tz", start: "2026-12-01T10:00", tz: "Mars/Olympus"},
  {title: "bad type", start: 20261201},
  {title: "bad rule", start: "2026-12-01", rrule: "FREQ=DAILY\r\nX-INJECT:1"},
  {title: "all day at a time", start: "2026-12-01T10:00", all_day: true},
  42,
  {title: "typo", strat: "2026-12-01", start: "2026-12-04"}
];`,
		"adapters/million.js":   `var a = []; for (var i = 0; i < 1e6; i++) { a.push({uid: "u" + i, title: "t", start: "2026-12-01"}); } result = a;`,
		"adapters/private.js":   `elmcity.fetch(argv[0]); result = [];`,
		"adapters/otherhost.js": `elmcity.fetch("https://evil.example/steal"); result = [];`,
		"adapters/redirect.js":  `elmcity.fetch(argv[0] + "away"); result = [];`,
		"adapters/many.js":      `for (var i = 0; i < 5; i++) { elmcity.fetch(argv[0]); } result = [];`,
		"adapters/storage.js":   `elmcity.readLog({}); result = [];`,
		"adapters/writes.js":    `elmcity.writeLog({type: "info", message: "x"}); result = [];`,
		"adapters/getter.js":    `result = [{get title() { while (true) {} }, start: "2026-12-01"}];`,
		"services/fetches.js":   `elmcity.fetch("https://venue.example/"); result = "";`,
	}
	b := setup(t, scripts, script.Config{Timeout: 300 * time.Millisecond})
	tests := []struct {
		name       string
		adapter    string
		feedURL    string
		private    bool // the fetcher refuses private addresses
		maxFetches int
		wantErr    error  // errors.Is
		wantMsg    string // in the error, or in the warnings
		wantLine   int    // the *script.Error's line, when set
		wantItems  int
		wantEvents int
	}{
		{name: "Throws", adapter: "throws", wantMsg: "venue page changed", wantLine: 2},
		{name: "LoopsForever", adapter: "loops", wantErr: context.DeadlineExceeded, wantMsg: "timed out"},
		{name: "NotAnArray", adapter: "string", wantMsg: "result must be an array of events, not a string"},
		{name: "NoResult", adapter: "none", wantMsg: "result is undefined"},
		{name: "NoTitles", adapter: "notitle", wantErr: feedkind.ErrInvalidInput, wantMsg: "result[0]: title: required"},
		{name: "Mixed", adapter: "mixed", wantItems: 8, wantEvents: 2, wantMsg: strings.Join([]string{
			`result[1] (uid "bad-1") skipped: start: date "2026-13-01" is not a calendar date`,
			`result[2] skipped: tz: "Mars/Olympus" is not an IANA time zone name`,
			`result[3] skipped: start: must be a string, not a number`,
			`result[4] skipped: rrule: "FREQ=DAILY\r\nX-INJECT:1" has a character ('\r') no rule has`,
			`result[5] skipped: start: an all_day event starts on a date (2026-03-01), not at "2026-12-01T10:00"`,
			`result[6] skipped: not an event object but a number`,
			`1× field "strat" is not an event field; ignored`,
		}, "\n")},
		{name: "PrivateAddress", adapter: "private", private: true, wantErr: fetch.ErrBlocked, wantMsg: "HostError", wantLine: 1},
		{name: "OtherHost", adapter: "otherhost", wantErr: script.ErrCapability,
			wantMsg: `host "evil.example" is neither the feed's (127.0.0.1) nor one of its hosts (none)`},
		{name: "RedirectElsewhere", adapter: "redirect", wantErr: fetch.ErrBlocked, wantMsg: `host "localhost" is not one this request may reach`},
		{name: "TooManyFetches", adapter: "many", maxFetches: 3, wantErr: script.ErrLimit, wantMsg: "over 3 fetches in one run"},
		{name: "NoStorage", adapter: "storage", wantErr: script.ErrCapability, wantMsg: "this run has no host API"},
		{name: "NoLogWriting", adapter: "writes", wantErr: script.ErrCapability, wantMsg: "maintenance function"},
		{name: "GetterLoops", adapter: "getter", wantErr: context.DeadlineExceeded},
		{name: "BadName", adapter: "../services/fetches", wantErr: script.ErrInvalidName},
		{name: "Missing", adapter: "nosuch", wantErr: script.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			feedURL := cmpOr(tt.feedURL, venue.URL+"/")
			start := time.Now()
			res, err := b.engine.RunAdapter(context.Background(), script.AdapterRequest{
				Adapter: tt.adapter, Hub: "keene", FeedURL: feedURL, Fetcher: newTestFetcher(t, !tt.private), MaxFetches: tt.maxFetches,
			})
			if took := time.Since(start); took > 20*time.Second {
				t.Errorf("RunAdapter() took %v", took)
			}
			warnings := strings.Join(res.Report.Warnings, "\n")
			if tt.wantErr == nil && tt.wantLine == 0 && !strings.Contains(tt.wantMsg, "result must") && !strings.Contains(tt.wantMsg, "undefined") {
				if err != nil {
					t.Fatalf("RunAdapter() error = %v", err)
				}
				if res.Report.Items != tt.wantItems || res.Report.Events != tt.wantEvents {
					t.Errorf("RunAdapter() report items %d events %d, want %d and %d", res.Report.Items, res.Report.Events, tt.wantItems, tt.wantEvents)
				}
				for want := range strings.SplitSeq(tt.wantMsg, "\n") {
					if !strings.Contains(warnings, want) {
						t.Errorf("RunAdapter() warnings =\n%s\nwant a line %s", warnings, want)
					}
				}
				if tt.wantEvents > 0 {
					if cal := parseICS(t, res.ICS); len(cal.Events) != tt.wantEvents {
						t.Errorf("parsed %d events, want %d", len(cal.Events), tt.wantEvents)
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("RunAdapter() = %+v, want an error", res.Report)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("RunAdapter() error = %v, want errors.Is %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("RunAdapter() error = %v, want it to contain %q", err, tt.wantMsg)
			}
			if tt.wantLine > 0 {
				var se *script.Error
				if !errors.As(err, &se) || se.File != "adapters/"+tt.adapter+".js" || se.Line != tt.wantLine {
					t.Errorf("RunAdapter() error = %#v, want a *script.Error at adapters/%s.js:%d", err, tt.adapter, tt.wantLine)
				}
			}
		})
	}

	t.Run("FetchIsForAdapters", func(t *testing.T) {
		t.Parallel()
		_, err := b.engine.Run(context.Background(), script.Request{Name: "services/fetches.js", Hub: "keene", Host: newFakeHost()})
		if !errors.Is(err, script.ErrCapability) || !strings.Contains(err.Error(), "elmcity.fetch is an adapter function") {
			t.Errorf("Run() error = %v, want ErrCapability naming elmcity.fetch", err)
		}
	})
}

// TestRunAdapterMillion returns a million events: the first
// Options.MaxItems are read, and Options.MaxEvents written, within
// bounded time.
func TestRunAdapterMillion(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("a million objects")
	}
	b := setup(t, map[string]string{
		"adapters/million.js": `var a = []; for (var i = 0; i < 1e6; i++) { a.push({uid: "u" + i, title: "t", start: "2026-12-01"}); } result = a;`,
	}, script.Config{Timeout: time.Minute})
	start := time.Now()
	res, err := b.engine.RunAdapter(context.Background(), script.AdapterRequest{
		Adapter: "million", FeedURL: "https://venue.example/", Fetcher: newTestFetcher(t, true),
		Options: feedkind.Options{MaxItems: 20_000, MaxEvents: 10_000},
	})
	if err != nil {
		t.Fatalf("RunAdapter() error = %v", err)
	}
	t.Logf("a million events: %v", time.Since(start))
	if res.Report.Items != 10_001 || res.Report.Events != 10_000 {
		t.Errorf("RunAdapter() read %d and wrote %d events, want 10001 and 10000", res.Report.Items, res.Report.Events)
	}
	warnings := strings.Join(res.Report.Warnings, "\n")
	for _, want := range []string{"result has 1000000 events; only the first 20000 were read (the limit)", "stopped after 10000 events (the limit)"} {
		if !strings.Contains(warnings, want) {
			t.Errorf("RunAdapter() warnings =\n%s\nwant %q", warnings, want)
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// BenchmarkRunAdapter runs an adapter that returns n events, made in
// the script: the cost of reading, validating and writing them.
func BenchmarkRunAdapter(b *testing.B) {
	for _, n := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			tb := setup(b, map[string]string{"adapters/gen.js": fmt.Sprintf(`
var out = [];
for (var i = 0; i < %d; i++) {
  out.push({uid: "ev-" + i, title: "Event " + i, start: "2026-12-01T19:00:00-05:00", end: "2026-12-01T21:00:00-05:00",
            location: "Main Hall", url: "https://venue.example/e/" + i, categories: ["music"], description: "An evening."});
}
result = out;`, n)}, script.Config{Timeout: time.Minute})
			f := newTestFetcher(b, true)
			b.ReportAllocs()
			for b.Loop() {
				res, err := tb.engine.RunAdapter(context.Background(), script.AdapterRequest{Adapter: "gen", FeedURL: "https://venue.example/", Fetcher: f})
				if err != nil || res.Report.Events != n {
					b.Fatalf("RunAdapter() = %d events, %v", res.Report.Events, err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
