package api_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/azstorage/storagetest"
	"github.com/elmcity/elmcity/shared/feedcheck"
	feedfetch "github.com/elmcity/elmcity/shared/fetch"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/shared/script"
	"github.com/elmcity/elmcity/shared/scripthost"
	"github.com/elmcity/elmcity/shared/tablelog"
	"github.com/elmcity/elmcity/shared/tablestore"
	"github.com/elmcity/elmcity/webrole/internal/api"
)

// checkWorld is a world whose server checks feeds with cfg (and a
// fetcher that may reach 127.0.0.1 when allowPrivate).
func checkWorld(t *testing.T, allowPrivate bool, cfg api.CheckConfig) world {
	t.Helper()
	gin.SetMode(gin.TestMode)
	ctx := context.Background()
	acct := storagetest.Account(t)
	st, err := tablestore.Open(ctx, acct, tablestore.Config{HubsTable: storagetest.Table(t, acct, "hubs"), FeedsTable: storagetest.Table(t, acct, "feeds")})
	if err != nil {
		t.Fatal(err)
	}
	tl, err := tablelog.Open(ctx, acct, tablelog.Config{Table: storagetest.Table(t, acct, "log"), Role: "test", Instance: "t"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tl.Close(context.Background()) })
	jobs, err := queue.Open(ctx, acct, queue.Config{Name: storagetest.Queue(t, acct, "jobs")})
	if err != nil {
		t.Fatal(err)
	}
	cals, err := publish.Open(ctx, acct, publish.Config{Table: storagetest.Table(t, acct, "cals")})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	eng, err := script.New(script.Config{Source: scriptsDir, Timeout: 2 * time.Second, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	f, err := feedfetch.New(feedfetch.Config{AllowPrivate: allowPrivate, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Fetcher = f
	srv := api.New(api.Deps{Logger: logger, Ready: func(context.Context) error { return nil }, Scripts: eng, Calendars: cals,
		ScriptHost: scripthost.New(tl, st, cals, nil, "test"), Store: st, Jobs: jobs, Log: tl, AdminToken: adminToken, Checks: cfg})
	return worldOf(t, testBundle{cals: cals, srv: srv, store: st, tlog: tl, jobs: jobs})
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
