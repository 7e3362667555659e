package api_test

import (
	"cmp"
	"context"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/webrole/internal/browsertest"
)

var screenshotDir = flag.String("screenshots", "", "keep the hub page screenshots of the browser test in this directory (default: the test's temporary directory)")

// TestHubPageInChromium serves the web role over Azurite, loads a hub
// page in headless Chromium at phone and desktop widths, picks a tag and
// checks that only that tag's events remain, then clears the view, and
// loads the stats report. It saves a screenshot of each page.
func TestHubPageInChromium(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: the browser test needs Chromium")
	}
	w := newWorld(t)
	all, music := publishUpcoming(t, w.cals, time.Now())
	srv := httptest.NewServer(w.h) // 127.0.0.1
	t.Cleanup(srv.Close)
	ctx := newBrowser(t, 90*time.Second)
	shots := cmp.Or(*screenshotDir, t.TempDir())
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name          string
		width, height int64
		mobile        bool
	}{
		{name: "Phone", width: 390, height: 844, mobile: true},
		{name: "Desktop", width: 1280, height: 900},
	}
	for _, tt := range tests {
		// One tab per viewport, one after the other: the test already
		// shares two cores with the rest of the suite.
		tab, cancel := chromedp.NewContext(ctx)
		opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
		if tt.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
		}
		step := func(what string, err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %s: %v", tt.name, what, err)
			}
		}
		// The page must work without JavaScript: the tab runs none of
		// the page's (the test's own evaluations still run).
		_, err := chromedp.Call(tab, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		step("disable JavaScript", err)
		step("load a page with a script", chromedp.Do(tab,
			chromedp.Navigate(`data:text/html,<title>off</title><script>document.title="on"</script>`)))
		if title, err := chromedp.Run(tab, chromedp.Title()); err != nil || title != "off" {
			t.Fatalf("%s: with JavaScript disabled a page's script set the title to %q (%v)", tt.name, title, err)
		}
		step("load the hub page", chromedp.Do(tab,
			chromedp.EmulateViewport(tt.width, tt.height, opts...),
			chromedp.Navigate(srv.URL+"/keene"),
			chromedp.WaitVisible(chromedp.CSS("nav.picker")),
		))
		if got := visibleTitles(t, tab); !slices.Equal(got, all) {
			t.Errorf("%s: events on the hub page = %q, want %q", tt.name, got, all)
		}
		if tt.mobile {
			// Against the screen's width, not window.innerWidth: a
			// mobile browser zooms out to fit a page that is too wide,
			// and innerWidth grows with it.
			w, err := chromedp.Run(tab, chromedp.Evaluate[int64](`document.documentElement.scrollWidth`))
			step("measure the page", err)
			if w > tt.width {
				t.Errorf("%s: the page is %dpx wide, wider than the %dpx screen", tt.name, w, tt.width)
			}
		}
		screenshot(t, tab, filepath.Join(shots, "hub-"+strings.ToLower(tt.name)+".png"))
		if !tt.mobile {
			add, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector('[data-uid="jazz@elmcity"] a.add').href`))
			step("read the add-to-calendar link", err)
			checkSingleEventICS(t, add, "Jazz Night")
		}

		// Pick the tag: a plain link, so the browser loads a new page.
		_, err = chromedp.Run(tab, chromedp.WaitEvent(page.LoadEventFired, nil,
			chromedp.Click(chromedp.CSS(`nav.picker a[href$="view=music"]`))))
		step("click the music tag", err)
		loc, err := chromedp.Run(tab, chromedp.Location())
		step("read the location", err)
		if !strings.HasSuffix(loc, "/keene?view=music") {
			t.Errorf("%s: after the click the page is %s, want /keene?view=music", tt.name, loc)
		}
		if got := visibleTitles(t, tab); !slices.Equal(got, music) {
			t.Errorf("%s: events tagged music = %q, want %q", tt.name, got, music)
		}
		current, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(`nav.picker a[aria-current="page"]`)))
		step("read the current tag", err)
		if !strings.HasPrefix(strings.TrimSpace(current), "music") {
			t.Errorf("%s: highlighted tag = %q, want music", tt.name, current)
		}
		screenshot(t, tab, filepath.Join(shots, "hub-"+strings.ToLower(tt.name)+"-music.png"))

		_, err = chromedp.Run(tab, chromedp.WaitEvent(page.LoadEventFired, nil,
			chromedp.Click(chromedp.CSS(`nav.picker a.clear`))))
		step("clear the view", err)
		if got := visibleTitles(t, tab); !slices.Equal(got, all) {
			t.Errorf("%s: events after clearing the view = %q, want %q", tt.name, got, all)
		}
		// The stats report: the failed feed stands out, and a phone
		// scrolls the table, not the page.
		step("load the stats report", chromedp.Do(tab,
			chromedp.Navigate(srv.URL+"/services/keene/stats"),
			chromedp.WaitVisible(chromedp.CSS("table")),
		))
		attention, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(".attention")))
		step("read the stats report", err)
		if !strings.Contains(attention, "City Hall") || !strings.Contains(attention, "failed") {
			t.Errorf("%s: stats report needs attention = %q, want the failed City Hall feed", tt.name, attention)
		}
		if tt.mobile {
			w, err := chromedp.Run(tab, chromedp.Evaluate[int64](`document.documentElement.scrollWidth`))
			step("measure the stats report", err)
			if w > tt.width {
				t.Errorf("%s: the stats report is %dpx wide, wider than the %dpx screen", tt.name, w, tt.width)
			}
		}
		screenshot(t, tab, filepath.Join(shots, "stats-"+strings.ToLower(tt.name)+".png"))
		cancel()
	}
	t.Logf("screenshots in %s", shots)
}

// TestHubPageNavigationInChromium walks the hub page's window in
// headless Chromium, with JavaScript off and on (the page needs none):
// the next week's link, the date form (a real click on its button after
// typing a date), the link back, a day anchor, and an event's own page
// from the compact list.
func TestHubPageNavigationInChromium(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: the browser test needs Chromium")
	}
	w := newWorld(t)
	now := time.Now()
	all, _ := publishUpcoming(t, w.cals, now)
	srv := httptest.NewServer(w.h)
	t.Cleanup(srv.Close)
	ctx := newBrowser(t, 90*time.Second)
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	meetingDay := now.In(loc).AddDate(0, 0, 10).Format(time.DateOnly)
	for _, script := range []bool{false, true} {
		name := "NoJavaScript"
		if script {
			name = "JavaScript"
		}
		tab, cancel := chromedp.NewContext(ctx)
		step := func(what string, err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %s: %v", name, what, err)
			}
		}
		_, err := chromedp.Call(tab, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !script})
		step("set JavaScript", err)
		step("load the hub page", chromedp.Do(tab,
			chromedp.EmulateViewport(1280, 900),
			chromedp.Navigate(srv.URL+"/keene"),
			chromedp.WaitVisible(chromedp.CSS("nav.window")),
		))
		if got := visibleTitles(t, tab); !slices.Equal(got, all) {
			t.Errorf("%s: the first week = %q, want %q", name, got, all)
		}
		// The next week: a plain link.
		_, err = chromedp.Run(tab, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(`nav.window a[rel="next"]`))))
		step("follow the next week's link", err)
		if got := visibleTitles(t, tab); !slices.Equal(got, []string{"Town Meeting"}) {
			t.Errorf("%s: the next week = %q, want the town meeting", name, got)
		}
		// Back: the previous week is the default page again.
		_, err = chromedp.Run(tab, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(`nav.window a[rel="prev"]`))))
		step("follow the previous week's link", err)
		if loc, err := chromedp.Run(tab, chromedp.Location()); err != nil || !strings.HasSuffix(loc, "/keene") {
			t.Errorf("%s: the previous week is %s (%v), want /keene", name, loc, err)
		}
		// The date form: type the meeting's date, click Go.
		step("type a date", chromedp.Do(tab, chromedp.SetValue(chromedp.CSS(`#jump`), meetingDay)))
		_, err = chromedp.Run(tab, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(`form.jump button`))))
		step("submit the date form", err)
		where, err := chromedp.Run(tab, chromedp.Location())
		step("read the location", err)
		if !strings.HasSuffix(where, "/keene?from="+meetingDay) {
			t.Errorf("%s: the date form went to %s, want /keene?from=%s", name, where, meetingDay)
		}
		if got := visibleTitles(t, tab); len(got) == 0 || got[0] != "Town Meeting" {
			t.Errorf("%s: from the meeting's day = %q, want the town meeting first", name, got)
		}
		// A day anchor of the day list scrolls to its day.
		step("load the hub page", chromedp.Do(tab, chromedp.Navigate(srv.URL+"/keene?layout=compact"), chromedp.WaitVisible(chromedp.CSS("ul.days"))))
		href, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector('ul.days li:last-child a').getAttribute('href')`))
		step("read a day link", err)
		step("follow the day link", chromedp.Do(tab, chromedp.Click(chromedp.CSS(`ul.days li:last-child a`))))
		if hash, err := chromedp.Run(tab, chromedp.Evaluate[string](`location.hash`)); err != nil || hash != href {
			t.Errorf("%s: after the day link the page is at %q (%v), want %q", name, hash, err, href)
		}
		// The compact list's title opens the event's own page.
		_, err = chromedp.Run(tab, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(`.event a.title`))))
		step("open an event", err)
		if got := visibleTitles(t, tab); len(got) != 1 || got[0] != all[0] {
			t.Errorf("%s: the event's own page = %q, want %q", name, got, all[0])
		}
		screenshot(t, tab, filepath.Join(cmp.Or(*screenshotDir, t.TempDir()), "event-"+strings.ToLower(name)+".png"))
		cancel()
	}
}

// checkSingleEventICS fetches an add-to-calendar link and checks it is a
// calendar with that one event.
func checkSingleEventICS(t *testing.T, link, title string) {
	t.Helper()
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	ics := string(body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/calendar") ||
		strings.Count(ics, "BEGIN:VEVENT") != 1 || !strings.Contains(ics, "SUMMARY:"+title+"\r\n") {
		t.Errorf("GET %s = %d %s:\n%s\nwant a calendar with only %q", link, resp.StatusCode, resp.Header.Get("Content-Type"), ics, title)
	}
}

// newBrowser starts headless Chromium for the test, bounded by timeout.
func newBrowser(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	return browsertest.Start(t, timeout)
}

// visibleTitles are the titles of the events the page shows, in order.
func visibleTitles(t *testing.T, tab context.Context) []string {
	t.Helper()
	titles, err := chromedp.Run(tab, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('.event .title')].filter(e => e.offsetParent !== null).map(e => e.textContent.trim())`))
	if err != nil {
		t.Fatalf("read the event titles: %v", err)
	}
	return titles
}

// screenshot saves the whole page as PNG.
func screenshot(t *testing.T, tab context.Context, path string) {
	t.Helper()
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// publishUpcoming publishes keene's calendar with events in the coming
// days relative to now (the page starts today): a merged concert, a story
// time, an all-day market and a late show, and, after the page's default
// week, a town meeting ten days from now. It returns the titles the hub
// page lists by default, in order, and those tagged music.
func publishUpcoming(t *testing.T, cals *publish.Store, now time.Time) (all, music []string) {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	y, m, d := now.In(loc).Date()
	at := func(days, hour int) time.Time { return time.Date(y, m, d+days, hour, 0, 0, 0, loc) }
	date := func(days int) time.Time { return time.Date(y, m, d+days, 0, 0, 0, 0, time.UTC) }
	lib := hubcal.Source{Feed: "f-lib", Name: "Keene Library", URL: "https://library.example.org/events"}
	thr := hubcal.Source{Feed: "f-thr", Name: "Colonial Theatre", URL: "https://theatre.example.org/jazz"}
	events := []hubcal.Event{
		{UID: "story@elmcity", Title: "Story Time", Start: at(1, 10), End: at(1, 11), Location: "Keene Public Library",
			Tags: []string{"kids", "{books}"}, Sources: []hubcal.Source{lib}},
		{UID: "jazz@elmcity", Title: "Jazz Night", Start: at(1, 19), End: at(1, 21), Location: "Colonial Theatre, 95 Main St",
			URL: "https://theatre.example.org/jazz", Tags: []string{"music", "{jazz}"}, Sources: []hubcal.Source{thr, lib},
			Merged: []hubcal.MergeNote{{Feed: "f-lib", UID: "l1", Reason: "same start and title"}}},
		{UID: "market@elmcity", Title: "Winter Market", Start: date(2), End: date(3), AllDay: true, Location: "Town Common",
			Tags: []string{"market", "kids"}, Sources: []hubcal.Source{{Feed: "f-city", Name: "City Hall"}}},
		{UID: "choir@elmcity", Title: "Choir Concert", Start: at(2, 15), End: at(2, 16), Location: "St. James Church",
			Tags: []string{"music"}, Sources: []hubcal.Source{{Feed: "f-city", Name: "City Hall"}}},
		{UID: "recital@elmcity", Title: "Piano Recital", Start: at(2, 18), End: at(2, 19), Location: "Colonial Theatre, 95 Main St",
			Tags: []string{"music"}, Sources: []hubcal.Source{thr}, Cancelled: true},
		{UID: "film@elmcity", Title: "Late Film", Start: at(3, 21), End: at(3, 23), Tags: []string{"film"}, Sources: []hubcal.Source{thr}},
		{UID: "meeting@elmcity", Title: "Town Meeting", Start: at(10, 18), End: at(10, 20), Location: "City Hall, 3 Washington St",
			Tags: []string{"civic"}, Sources: []hubcal.Source{{Feed: "f-city", Name: "City Hall"}}},
	}
	header := map[string]any{"v": 1, "hub": "keene", "events": len(events), "feeds_ok": 2, "feeds_failed": 1,
		"feeds": []map[string]any{{"feed": "f-city", "source": "City Hall", "status": "failed", "error_class": "timeout"}}}
	payload, err := hubcal.FromEvents(events).Encode(header)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cals.Publish(context.Background(), publish.Generation{Hub: "keene", Payload: payload}); err != nil {
		t.Fatal(err)
	}
	// The titles as the page shows them: a cancelled event's after the
	// word that says so.
	return []string{"Story Time", "Jazz Night", "Winter Market", "Choir Concert", "Cancelled Piano Recital", "Late Film"},
		[]string{"Jazz Night", "Choir Concert", "Cancelled Piano Recital"}
}
