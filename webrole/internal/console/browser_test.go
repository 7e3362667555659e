package console_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/elmcity/elmcity/shared/azstorage/storagetest"
	"github.com/elmcity/elmcity/webrole/internal/browsertest"
)

var screenshotDir = flag.String("screenshots", "", "keep the console's screenshots in this directory (default: the test's temporary directory)")

// TestCuratorDayInChromium is a curator's whole day in headless Chromium,
// at phone and desktop widths, against the web role and a real worker
// process over Azurite: sign in; add a feed after its preview; approve
// it; refresh and watch it publish; see its events on the public hub
// page; change the catmap, refresh, and see the tags change; read the
// logs and log_info; sign out, after which the pages are refused. Every
// console page passes axe-core with no serious or critical violation, and
// runs its own script and style under its Content-Security-Policy.
func TestCuratorDayInChromium(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: the browser test needs Chromium and a worker")
	}
	axe := browsertest.Axe(t)
	b := setup(t)
	feeds := dayFeeds(t)
	web := httptest.NewServer(b.h)
	t.Cleanup(web.Close)
	startWorker(t, b)
	// A second hub for the phone's day, Ann's too.
	if code, out := apiCall(t, b.h, "PUT", "/api/hubs/swanzey", adminToken, `{"title":"Swanzey","tz":"America/New_York"}`); code != 201 {
		t.Fatalf("PUT swanzey = %d %s", code, out)
	}
	_, token, err := b.store.CreateCurator(context.Background(), "Ann", []string{"keene", "swanzey"})
	if err != nil {
		t.Fatal(err)
	}
	shots := cmp.Or(*screenshotDir, t.TempDir())
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	browser := startChromium(t, 6*time.Minute)

	tests := []struct {
		name          string
		hub, feed     string
		width, height int64
		mobile        bool
	}{
		{name: "Desktop", hub: "keene", feed: "/chess.ics", width: 1280, height: 900},
		{name: "Phone", hub: "swanzey", feed: "/garden.ics", width: 390, height: 844, mobile: true},
	}
	for _, tt := range tests {
		d := &day{t: t, name: tt.name, web: web.URL, hub: tt.hub, axe: string(axe), shots: shots, mobile: tt.mobile, width: tt.width}
		tab, cancel := newTab(t, browser)
		d.tab = tab
		opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
		if tt.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
		}
		d.run("set the viewport", chromedp.EmulateViewport(tt.width, tt.height, opts...))

		// Sign in.
		d.run("open the console", chromedp.Navigate(web.URL+"/console/"), chromedp.WaitVisible(chromedp.CSS("#token")))
		d.check("login")
		d.run("sign in", chromedp.SendKeys(chromedp.CSS("#token"), token), chromedp.Submit(chromedp.CSS("#token")), chromedp.WaitVisible(chromedp.CSS("ul.cards")))
		d.check("hubs")
		d.run("open the hub", chromedp.Click(chromedp.CSS(`ul.cards a[href="/console/hubs/`+tt.hub+`"]`)), chromedp.WaitVisible(chromedp.CSS("nav.hub")))
		d.check("hub-empty")

		// Add a feed, after its preview.
		d.run("open the add form", chromedp.Click(chromedp.CSS(`nav.hub a[href$="/add"]`)), chromedp.WaitVisible(chromedp.CSS("#feedurl")))
		d.check("add")
		d.run("check the feed", chromedp.SendKeys(chromedp.CSS("#feedurl"), feeds.URL+tt.feed), chromedp.SendKeys(chromedp.CSS("#source"), "Club of "+tt.hub),
			chromedp.Submit(chromedp.CSS("#feedurl")), chromedp.WaitVisible(chromedp.CSS("p.progress")))
		preview := d.text("main")
		for _, want := range []string{"No problems found", "Weekly meeting", "The next 10 events, in America/New_York"} {
			if !strings.Contains(preview, want) {
				t.Errorf("%s: the preview lacks %q:\n%s", tt.name, want, preview)
			}
		}
		d.check("preview")
		d.load("add it without approving", `button[name="approve"][value="no"]`)
		if got := d.text("table.cards tbody"); !strings.Contains(got, "not approved") {
			t.Errorf("%s: the new feed's health = %q, want not approved", tt.name, got)
		}
		d.load("approve it", `form[action$="/approval"] button`)
		if got := d.text("table.cards tbody"); !strings.Contains(got, "waiting for the next refresh") {
			t.Errorf("%s: the approved feed's health = %q", tt.name, got)
		}
		d.check("hub-feeds")

		// Refresh and watch it publish; the page's script follows it.
		d.refresh()
		d.check("job")
		d.run("back to the feeds", chromedp.Click(chromedp.CSS(`main a.button[href="/console/hubs/`+tt.hub+`"]`)), chromedp.WaitVisible(chromedp.CSS("table.cards")))
		if got := d.text("table.cards tbody"); !strings.Contains(got, "OK") {
			t.Errorf("%s: the feed's health after the refresh = %q, want OK", tt.name, got)
		}
		d.check("hub-published")

		// The public page lists the feed's events with its tags.
		d.run("open the public page", chromedp.Navigate(web.URL+"/"+tt.hub), chromedp.WaitVisible(chromedp.CSS("nav.picker")))
		if got := d.text("body"); !strings.Contains(got, "Weekly meeting") {
			t.Errorf("%s: the public page lacks the feed's events:\n%s", tt.name, got)
		}
		if tags := d.text("nav.picker"); !strings.Contains(tags, "games") || strings.Contains(tags, "strategy") {
			t.Errorf("%s: tags before the catmap = %q, want games", tt.name, tags)
		}

		// Change the catmap, refresh, and the tags change.
		d.run("open the feed", chromedp.Navigate(web.URL+"/console/hubs/"+tt.hub), chromedp.WaitVisible(chromedp.CSS("table.cards")),
			chromedp.Click(chromedp.CSS(`table.cards th a`)), chromedp.WaitVisible(chromedp.CSS("#from_0")))
		d.check("feed")
		d.run("map games to strategy", chromedp.SendKeys(chromedp.CSS("#from_0"), "games"), chromedp.SendKeys(chromedp.CSS("#to_0"), "strategy"))
		d.load("save the feed", `main form button[type="submit"]`)
		d.refresh()
		// Another URL than the first visit's, which the browser may cache
		// for max-age.
		d.run("open the public page again", chromedp.Navigate(web.URL+"/"+tt.hub+"?count=200"), chromedp.WaitVisible(chromedp.CSS("nav.picker")))
		if tags := d.text("nav.picker"); !strings.Contains(tags, "strategy") || strings.Contains(tags, "games") {
			t.Errorf("%s: tags after the catmap = %q, want strategy instead of games", tt.name, tags)
		}

		// The other pages: settings, history, logs (the worker's entries
		// reach the table within seconds) and log_info in a tab.
		d.run("open the settings", chromedp.Navigate(web.URL+"/console/hubs/"+tt.hub+"/settings"), chromedp.WaitVisible(chromedp.CSS("#tz")))
		d.check("settings")
		d.run("open the history", chromedp.Navigate(web.URL+"/console/hubs/"+tt.hub+"/history"), chromedp.WaitVisible(chromedp.CSS("ol.log")))
		if got := d.text("ol.log"); !strings.Contains(got, "feed changed") || !strings.Contains(got, "strategy") {
			t.Errorf("%s: the history lacks the catmap change:\n%s", tt.name, got)
		}
		d.check("history")
		d.waitFor("the log's publish entry", web.URL+"/console/hubs/"+tt.hub+"/logs?q=published", "main", "published")
		d.check("logs")
		d.waitFor("log_info", web.URL+"/services/"+tt.hub+"/log_info?include=published", "body", "published")

		// Sign out: the pages are refused.
		d.run("sign out", chromedp.Navigate(web.URL+"/console/hubs"), chromedp.WaitVisible(chromedp.CSS("header.top form button")),
			chromedp.Click(chromedp.CSS("header.top form button")), chromedp.WaitVisible(chromedp.CSS("#token")))
		if got := d.text("main"); !strings.Contains(got, "You have signed out") {
			t.Errorf("%s: after signing out: %q", tt.name, got)
		}
		d.run("open a page signed out", chromedp.Navigate(web.URL+"/console/hubs/"+tt.hub), chromedp.WaitVisible(chromedp.CSS("#token")))
		d.run("open log_info signed out", chromedp.Navigate(web.URL+"/services/"+tt.hub+"/log_info"), chromedp.WaitReady(chromedp.CSS("body")))
		if got := d.text("body"); !strings.Contains(got, "unauthorized") {
			t.Errorf("%s: log_info signed out = %q, want unauthorized", tt.name, got)
		}
		cancel()
	}

	// The administrator's pages pass axe too.
	tab, cancel := newTab(t, browser)
	defer cancel()
	d := &day{t: t, name: "Admin", web: web.URL, axe: string(axe), shots: shots, tab: tab, width: 1280}
	d.run("set the viewport", chromedp.EmulateViewport(1280, 900, chromedp.EmulateScale(1)))
	d.run("sign in", chromedp.Navigate(web.URL+"/console/login"), chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), adminToken), chromedp.Submit(chromedp.CSS("#token")), chromedp.WaitVisible(chromedp.CSS("ul.cards")))
	d.check("admin-hubs-mine")
	for _, p := range []struct{ name, path, sel string }{
		{"admin-hubs", "/console/admin/hubs", "#id"},
		{"admin-curators", "/console/admin/curators", "#name"},
		{"admin-delete-hub", "/console/admin/hubs/other/delete", "button.danger"},
	} {
		d.run("open "+p.name, chromedp.Navigate(web.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.sel)))
		d.check(p.name)
	}
	d.run("add a curator", chromedp.Navigate(web.URL+"/console/admin/curators"), chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "Bo"), chromedp.SendKeys(chromedp.CSS("#hubs"), "other"), chromedp.Submit(chromedp.CSS("#name")), chromedp.WaitVisible(chromedp.CSS("#token")))
	if got := d.text("#token"); !strings.HasPrefix(got, "ect_") {
		t.Errorf("the new curator's token = %q", got)
	}
	d.check("admin-token-shown")
	t.Logf("screenshots in %s", shots)
}

// day drives one tab through the console.
type day struct {
	t      *testing.T
	name   string
	web    string
	hub    string
	axe    string
	shots  string
	mobile bool
	width  int64
	tab    context.Context
	// checked counts the pages checked.
	checked int
}

// run runs actions, failing the test with what it was doing.
func (d *day) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.tab, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		body, _ := chromedp.Run(d.tab, chromedp.Text(chromedp.CSS("body")))
		d.t.Fatalf("%s: %s: %v\npage:\n%s", d.name, what, err, body)
	}
}

// eval evaluates a script in the page.
func eval[T any](d *day, what, expr string, opts ...chromedp.EvaluateOption) T {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.tab, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		d.t.Fatalf("%s: %s: %v", d.name, what, err)
	}
	return v
}

// load clicks what sel matches and waits for the page it loads.
func (d *day) load(what, sel string) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.tab, 60*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel)))); err != nil {
		d.t.Fatalf("%s: %s: %v", d.name, what, err)
	}
}

// text is the visible text of the first element sel matches.
func (d *day) text(sel string) string {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.tab, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		d.t.Fatalf("%s: read %s: %v", d.name, sel, err)
	}
	return s
}

// refresh clicks Refresh now and waits for the job to be done.
func (d *day) refresh() {
	d.t.Helper()
	d.load("refresh now", `form[action$="/refresh"] button`)
	d.waitDone()
}

// waitDone waits on a job page until its script reloads it done, and
// wants it published.
func (d *day) waitDone() {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.tab, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("p.progress.ok, p.progress.bad"))); err != nil {
		d.t.Fatalf("%s: the refresh did not finish: %v (%s)", d.name, err, d.text("main"))
	}
	if got := d.text("p.progress"); !strings.Contains(got, "Done: published") {
		d.t.Errorf("%s: the refresh ended %q, want published", d.name, got)
	}
}

// waitFor loads url until the text of sel holds want (the table log
// writes in batches), for at most 30 seconds.
func (d *day) waitFor(what, url, sel, want string) {
	d.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d.run("open "+what, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS(sel)))
		got := d.text(sel)
		if strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			d.t.Errorf("%s: %s lacks %q:\n%s", d.name, what, want, got)
			return
		}
		time.Sleep(time.Second) // polling a page a person would reload
	}
}

// check runs the page checks: its own script ran and its style applied
// under the page's CSP, it fits a phone's width, and axe-core finds no
// serious or critical violation. It saves a screenshot.
func (d *day) check(page string) {
	d.t.Helper()
	js := eval[bool](d, "read the page's state", `document.documentElement.classList.contains("js")`)
	bg := eval[string](d, "read the page's style", `getComputedStyle(document.querySelector("header.top")).backgroundColor`)
	if !js || bg != "rgb(244, 245, 247)" {
		d.t.Errorf("%s: %s: script ran %v, header background %q: the CSP blocked the page's own script or style", d.name, page, js, bg)
	}
	if d.mobile {
		// Against the screen's width, not window.innerWidth: a mobile
		// browser zooms out to fit a page that is too wide, and
		// innerWidth grows with it.
		if w := eval[int64](d, "measure the page", `document.documentElement.scrollWidth`); w > d.width {
			d.t.Errorf("%s: %s is %dpx wide, wider than the %dpx screen", d.name, page, w, d.width)
		}
	}
	if !eval[bool](d, "look for axe", `typeof window.axe !== "undefined"`) {
		eval[bool](d, "load axe", d.axe+"\n;true")
	}
	res := eval[json.RawMessage](d, "run axe", `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))})))`,
		chromedp.EvalAwaitPromise)
	var violations []struct {
		ID, Impact, Help string
		Nodes            []string
	}
	if err := json.Unmarshal(res, &violations); err != nil {
		d.t.Fatalf("axe result: %v", err)
	}
	for _, v := range violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			d.t.Errorf("%s: %s: axe %s (%s): %s at %v", d.name, page, v.ID, v.Impact, v.Help, v.Nodes)
		} else {
			d.t.Logf("%s: %s: axe %s (%s): %s at %v", d.name, page, v.ID, v.Impact, v.Help, v.Nodes)
		}
	}
	d.checked++
	png, err := chromedp.Run(d.tab, chromedp.FullScreenshot(100))
	if err != nil {
		d.t.Fatalf("%s: screenshot: %v", d.name, err)
	}
	if err := os.WriteFile(filepath.Join(d.shots, strings.ToLower(d.name)+"-"+page+".png"), png, 0o644); err != nil {
		d.t.Fatal(err)
	}
}

// dayFeeds serves the feeds of the day: a weekly meeting tagged Games,
// starting tomorrow evening (floating: the hub's zone places it).
func dayFeeds(t *testing.T) *httptest.Server {
	t.Helper()
	start := time.Now().Add(24*time.Hour).Format("20060102") + "T190000"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), ".ics")
		if name != "chess" && name != "garden" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/calendar")
		fmt.Fprintf(w, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Club//EN\r\nBEGIN:VEVENT\r\nUID:%s@club\r\nDTSTART:%s\r\n"+
			"DURATION:PT2H\r\nRRULE:FREQ=WEEKLY;COUNT=20\r\nSUMMARY:Weekly meeting of the %s club\r\nLOCATION:Town hall\r\n"+
			"CATEGORIES:Games\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", name, start, name)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// startWorker builds the worker and runs it over b's tables and queue,
// stopping it at cleanup.
func startWorker(t *testing.T, b testBundle) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "workerrole")
	if out, err := exec.Command("go", "build", "-o", bin, "../../../workerrole").CombinedOutput(); err != nil {
		t.Fatalf("go build workerrole: %v\n%s", err, out)
	}
	scripts, err := filepath.Abs(scriptsDir)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"AZURE_STORAGE_CONNECTION_STRING=" + storagetest.ConnectionString(),
		"ELMCITY_HUBS_TABLE=" + b.names.hubs, "ELMCITY_FEEDS_TABLE=" + b.names.feeds, "ELMCITY_LOG_TABLE=" + b.names.log,
		"ELMCITY_CALENDARS_TABLE=" + b.names.cals, "ELMCITY_JOB_QUEUE=" + b.names.jobs,
		"ELMCITY_FETCH_ALLOW_PRIVATE=true", "ELMCITY_WORKER_METRICS_ADDR=127.0.0.1:0", "ELMCITY_SCRIPTS=" + scripts,
		"ELMCITY_SCHEDULER_TICK=1h", "ELMCITY_INSTANCE=console-test", "ELMCITY_LOG_LEVEL=warn",
	}
	var out syncBuffer
	cmd := exec.Command(bin)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		})
		if t.Failed() {
			t.Logf("worker output:\n%s", bytes.TrimSpace([]byte(out.String())))
		}
	})
}

// newTab opens a tab. Its first action opens it with the tab's own
// context: a tab lives as long as the context of its first action.
func newTab(t *testing.T, browser context.Context) (context.Context, context.CancelFunc) {
	t.Helper()
	tab, cancel := chromedp.NewContext(browser)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return tab, cancel
}

// startChromium starts headless Chromium for the test, bounded by
// timeout, and stops it at cleanup.
func startChromium(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	return browsertest.Start(t, timeout)
}
