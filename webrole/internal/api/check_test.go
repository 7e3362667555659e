package api_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/feedcheck"
	feedfetch "github.com/elmcity/elmcity/shared/fetch"
	"github.com/elmcity/elmcity/shared/script"
	"github.com/elmcity/elmcity/shared/tablestore"
	"github.com/elmcity/elmcity/webrole/internal/api"
)

// checkWorld is a world whose server checks feeds with cfg (and a
// fetcher that may reach 127.0.0.1 when allowPrivate); adapters run on
// the server's script engine unless cfg names others.
func checkWorld(t *testing.T, allowPrivate bool, cfg api.CheckConfig) world {
	t.Helper()
	f, err := feedfetch.New(feedfetch.Config{AllowPrivate: allowPrivate, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Fetcher = f
	b := setupWith(t, func(context.Context) error { return nil }, tablestore.Limits{}, func(d *api.Deps, eng *script.Engine) {
		if cfg.Adapters == nil {
			cfg.Adapters = eng
		}
		d.Checks = cfg
	})
	return worldOf(t, b)
}

const checkFeed = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Test//EN\nX-WR-CALNAME:Club\n" +
	"BEGIN:VEVENT\nUID:weekly@club\nDTSTART:%s\nDURATION:PT1H\nRRULE:FREQ=WEEKLY;COUNT=20\nSUMMARY:Chess night\nLOCATION:Library\nEND:VEVENT\n" +
	"BEGIN:VEVENT\nUID:broken@club\nSUMMARY:No start\nEND:VEVENT\n" +
	"END:VCALENDAR\n"

func TestCheckFeed(t *testing.T) {
	t.Parallel()
	start := time.Now().Add(48*time.Hour).Format("20060102") + "T190000" // floating: the hub's zone places it
	feeds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/club.ics":
			w.Header().Set("Content-Type", "text/calendar")
			_, _ = w.Write([]byte(strings.ReplaceAll(strings.Replace(checkFeed, "%s", start, 1), "\n", "\r\n")))
		case "/page.html":
			_, _ = w.Write([]byte("<html>not a calendar</html>"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(feeds.Close)
	w := checkWorld(t, true, api.CheckConfig{})
	check := func(token, url string) (int, feedcheck.Report, map[string]any) {
		t.Helper()
		code, body, _ := call(t, w.h, "POST", "/api/hubs/keene/check", token, `{"feedurl":"`+url+`"}`)
		var rep feedcheck.Report
		b, _ := json.Marshal(body)
		_ = json.Unmarshal(b, &rep)
		return code, rep, body
	}

	code, rep, body := check(w.curator, strings.Replace(feeds.URL, "http://", "webcal://", 1)+"/club.ics")
	if code != 200 {
		t.Fatalf("check = %d %v", code, body)
	}
	// webcal:// is read as https://, which the test server does not
	// speak: the check says so instead of failing.
	if rep.Verdict != feedcheck.VerdictUnusable || rep.FailureClass == "" {
		t.Errorf("check of webcal (https) on a plain server = %+v, want an unreadable report", rep)
	}
	code, rep, body = check(w.curator, feeds.URL+"/club.ics")
	if code != 200 || rep.Verdict != feedcheck.VerdictUsable || rep.Events.Usable != 1 || rep.Events.Recurring != 1 || len(rep.Skipped) != 1 || rep.Zone != "America/New_York" {
		t.Fatalf("check = %d %+v", code, body)
	}
	if len(rep.Next) != 10 || rep.Next[0].Title != "Chess night" || rep.Next[0].Start.Hour() != 19 || !strings.Contains(rep.Next[0].Start.Format(time.RFC3339), "-0") {
		t.Errorf("next occurrences = %+v, want 10 at 19:00 New York time", rep.Next)
	}
	if code, rep, _ := check(w.curator, feeds.URL+"/page.html"); code != 200 || rep.Verdict != feedcheck.VerdictUnusable || rep.FailureClass != "parse" {
		t.Errorf("check of a web page = %d %+v, want unusable (parse)", code, rep)
	}
	if code, rep, _ := check(w.curator, feeds.URL+"/gone.ics"); code != 200 || rep.FailureClass != "http_4xx" || rep.HTTPStatus != 404 {
		t.Errorf("check of a missing feed = %d %+v, want http_4xx 404", code, rep)
	}
	if code, _, body := check(w.curator, "ftp://x.example/c.ics"); code != 400 {
		t.Errorf("check of ftp = %d %v, want 400", code, body)
	}
	if code, _, _ := call(t, w.h, "POST", "/api/hubs/other/check", w.curator, `{"feedurl":"https://x.example/c.ics"}`); code != 403 {
		t.Errorf("check on another hub = %d, want 403", code)
	}
}

func TestCheckBlocksPrivateAddresses(t *testing.T) {
	t.Parallel()
	feeds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the check reached a private address: %s", r.URL)
	}))
	t.Cleanup(feeds.Close)
	w := checkWorld(t, false, api.CheckConfig{})
	code, body, _ := call(t, w.h, "POST", "/api/hubs/keene/check", w.curator, `{"feedurl":"`+feeds.URL+`/c.ics"}`)
	if code != 200 || body["verdict"] != "unusable" || body["failure_class"] != "blocked" {
		t.Errorf("check of 127.0.0.1 = %d %v, want unusable, blocked", code, body)
	}
}

// TestCheckIsBounded checks that a curator cannot use checks as a free
// proxy: one at a time, and a few a minute.
func TestCheckIsBounded(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var once sync.Once
	arrived := make(chan struct{})
	feeds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow.ics" {
			once.Do(func() { close(arrived) })
			<-release
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(feeds.Close)
	w := checkWorld(t, true, api.CheckConfig{PerMinute: 3, AtOnce: 4})
	done := make(chan int)
	go func() {
		code, _, _ := call(t, w.h, "POST", "/api/hubs/keene/check", w.curator, `{"feedurl":"`+feeds.URL+`/slow.ics"}`)
		done <- code
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the first check never reached the feed")
	}
	code, body, hdr := call(t, w.h, "POST", "/api/hubs/keene/check", w.curator, `{"feedurl":"`+feeds.URL+`/x.ics"}`)
	if code != 429 || hdr.Get("Retry-After") == "" {
		t.Errorf("a second check while one runs = %d %v, want 429 with Retry-After", code, body)
	}
	// Another principal is not held up by Ann's.
	if code, _, _ := call(t, w.h, "POST", "/api/hubs/keene/check", adminToken, `{"feedurl":"`+feeds.URL+`/x.ics"}`); code != 200 {
		t.Errorf("the administrator's check while Ann's runs = %d, want 200", code)
	}
	close(release)
	if code := <-done; code != 200 {
		t.Errorf("the slow check = %d", code)
	}
	// PerMinute is 3: one ran, one was refused (not counted); two more
	// run, the next is refused.
	for i, want := range []int{200, 200, 429} {
		if code, body, _ := call(t, w.h, "POST", "/api/hubs/keene/check", w.curator, `{"feedurl":"`+feeds.URL+`/x.ics"}`); code != want {
			t.Errorf("check %d = %d %v, want %d", i+2, code, body, want)
		}
	}
}

// testAdapters are the adapter scripts of TestCheckScriptFeed's script
// source, by name.
var testAdapters = map[string]string{
	// venue reads the venue's first page (elmcity.source) and fetches
	// the next one from the same host.
	"venue": `var first = JSON.parse(elmcity.source.body);
var second = JSON.parse(elmcity.fetch(argv[0].replace(/\/api.*$/, first.next)).body);
result = first.events.concat(second.events).map(function (e) {
  return {uid: "v-" + e.id, title: e.name, start: e.date ? e.date + "T19:00" : undefined, location: "The Venue"};
});
`,
	// throws fails on its third line.
	"throws": `var first = JSON.parse(elmcity.source.body);
var n = first.events.length;
throw new Error("the venue changed its API");
`,
	// elsewhere fetches from the host its source names, which must be
	// among the feed's hosts.
	"elsewhere": `var api = JSON.parse(elmcity.source.body).elsewhere;
result = JSON.parse(elmcity.fetch(api).body).events.map(function (e) {
  return {uid: "e-" + e.id, title: e.name, start: e.date + "T10:00"};
});
`,
	// notarray leaves a result that is not an array of events.
	"notarray": "result = \"nope\";\n",
}

// adapterEngine is a script engine over a temporary script source
// holding adapters/{name}.js for each of adapters.
func adapterEngine(t *testing.T, adapters map[string]string) *script.Engine {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "adapters"), 0o750); err != nil {
		t.Fatal(err)
	}
	for name, src := range adapters {
		if err := os.WriteFile(filepath.Join(dir, "adapters", name+".js"), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	eng, err := script.New(script.Config{Source: dir, Timeout: 2 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	return eng
}

// TestCheckScriptFeed checks a script feed against a fake venue on
// 127.0.0.1: the adapter runs over the fetched source as in the worker,
// its report is the conversion's, and a failed adapter (one that throws,
// fetches from a host that is not the feed's, or leaves a bad result)
// is an unusable verdict of class script with the script's error.
func TestCheckScriptFeed(t *testing.T) {
	t.Parallel()
	day := time.Now().AddDate(0, 0, 3).Format("2006-01-02")
	venue := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/events":
			_, _ = w.Write([]byte(`{"next":"/api/page2","events":[{"id":1,"name":"Open mic","date":"` + day + `"},{"id":2,"name":"No date"}]}`))
		case "/api/page2":
			_, _ = w.Write([]byte(`{"events":[{"id":3,"name":"Quiz","date":"` + day + `"}]}`))
		case "/api/other":
			_, _ = w.Write([]byte(`{"elsewhere":"http://localhost:` + r.Host[strings.LastIndex(r.Host, ":")+1:] + `/api/far"}`))
		case "/api/far":
			_, _ = w.Write([]byte(`{"events":[{"id":9,"name":"Far walk","date":"` + day + `"}]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(venue.Close)
	w := checkWorld(t, true, api.CheckConfig{PerMinute: 100, Adapters: adapterEngine(t, testAdapters)})
	check := func(t *testing.T, body string) (int, feedcheck.Report, map[string]any) {
		t.Helper()
		code, out, _ := call(t, w.h, "POST", "/api/hubs/keene/check", w.curator, body)
		var rep feedcheck.Report
		b, _ := json.Marshal(out)
		_ = json.Unmarshal(b, &rep)
		return code, rep, out
	}
	// The subtests run one after another: checks are one at a time per
	// principal.
	feed := func(path, adapter, hosts string) string {
		return `{"feedurl":"` + venue.URL + path + `","kind":"script","adapter":"` + adapter + `","hosts":[` + hosts + `]}`
	}

	t.Run("Venue", func(t *testing.T) {
		code, rep, out := check(t, feed("/api/events", "venue", ""))
		c := rep.Conversion
		if code != 200 || c == nil || c.Kind != "script" || c.Adapter != "venue" || c.Items != 3 || c.Events != 2 || c.Skipped != 1 || c.Fetches != 1 {
			t.Fatalf("check = %d %v, want the adapter's report: 3 items, 2 events, 1 skipped, 1 fetch", code, out)
		}
		if len(c.Warnings) == 0 || !strings.Contains(c.Warnings[0], "result[1]") {
			t.Errorf("conversion warnings = %q, want the skipped result[1] named", c.Warnings)
		}
		if rep.Verdict != feedcheck.VerdictUsable || rep.Events.Usable != 2 || len(rep.Next) != 2 || rep.Next[0].Start.Hour() != 19 {
			t.Errorf("report = %+v, want usable, 2 events at 19:00 in the hub's zone", rep)
		}
	})
	t.Run("Throws", func(t *testing.T) {
		code, rep, out := check(t, feed("/api/events", "throws", ""))
		if code != 200 || rep.Verdict != feedcheck.VerdictUnusable || rep.FailureClass != feedcheck.FailureScript ||
			!strings.Contains(rep.Failure, "adapters/throws.js:3") || !strings.Contains(rep.Failure, "the venue changed its API") {
			t.Fatalf("check of a throwing adapter = %d %v, want unusable, class script, with file:line", code, out)
		}
		if rep.Conversion == nil || rep.Conversion.Failure != rep.Failure {
			t.Errorf("conversion = %+v, want the failure", rep.Conversion)
		}
	})
	t.Run("RefusedHost", func(t *testing.T) {
		code, rep, out := check(t, feed("/api/other", "elsewhere", ""))
		if code != 200 || rep.Verdict != feedcheck.VerdictUnusable || rep.FailureClass != feedcheck.FailureScript ||
			!strings.Contains(rep.Failure, `host "localhost" is neither the feed's`) {
			t.Fatalf("check of an adapter fetching another host = %d %v, want unusable, class script, the host refused", code, out)
		}
	})
	t.Run("AllowedHost", func(t *testing.T) {
		code, rep, out := check(t, feed("/api/other", "elsewhere", `"localhost"`))
		if code != 200 || rep.Verdict != feedcheck.VerdictOK || rep.Conversion == nil || rep.Conversion.Fetches != 1 || rep.Events.Usable != 1 {
			t.Fatalf("check with the host among hosts = %d %v, want OK with 1 fetch", code, out)
		}
	})
	t.Run("NotAnArray", func(t *testing.T) {
		code, rep, out := check(t, feed("/api/events", "notarray", ""))
		if code != 200 || rep.FailureClass != feedcheck.FailureScript || !strings.Contains(rep.Failure, "must be an array") {
			t.Fatalf("check of a bad result = %d %v, want class script", code, out)
		}
	})
	t.Run("UnknownAdapter", func(t *testing.T) {
		code, _, out := check(t, feed("/api/events", "nosuch", ""))
		if fields := errorFields(out); code != 400 || !strings.Contains(fields["adapter"], "adapters/nosuch.js") {
			t.Errorf("check of an unknown adapter = %d %v, want 400 naming adapter", code, out)
		}
	})
	t.Run("NoAdapter", func(t *testing.T) {
		code, _, out := check(t, `{"feedurl":"`+venue.URL+`/api/events","kind":"script"}`)
		if fields := errorFields(out); code != 400 || fields["adapter"] == "" {
			t.Errorf("check without an adapter = %d %v, want 400 naming adapter", code, out)
		}
	})
}
