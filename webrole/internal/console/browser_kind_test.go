package console_test

import (
	"cmp"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/elmcity/elmcity/webrole/internal/browsertest"
)

// TestAddCSVFeedInChromium adds a CSV feed with a mapping through the
// console in headless Chromium: the kind select shows the mapping fields
// for CSV only (the page's script), the preview shows the conversion's
// report above the usual one, the feed is added, and the hub's table and
// the edit page show its kind. Then a script feed's preview shows what
// its adapter returned. The add form with its CSV fields, the previews
// and the edit page pass axe-core.
func TestAddCSVFeedInChromium(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: the browser test needs Chromium")
	}
	axe := browsertest.Axe(t)
	b := setup(t)
	feeds := csvServer(t)
	srv := httptest.NewServer(b.h)
	t.Cleanup(srv.Close)
	web := srv.URL
	browser := startChromium(t, 3*time.Minute)
	tab, cancel := newTab(t, browser)
	defer cancel()
	d := &day{t: t, name: "CSV", web: web, hub: "keene", axe: string(axe), shots: cmp.Or(*screenshotDir, t.TempDir()), tab: tab, width: 1280}
	d.run("set the viewport", chromedp.EmulateViewport(1280, 900, chromedp.EmulateScale(1)))
	d.run("sign in", chromedp.Navigate(web+"/console/login"), chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), b.curator), chromedp.Submit(chromedp.CSS("#token")), chromedp.WaitVisible(chromedp.CSS("ul.cards")))

	d.run("open the add form", chromedp.Navigate(web+"/console/hubs/keene/add"), chromedp.WaitVisible(chromedp.CSS("#kind")))
	if eval[bool](d, "look at the iCalendar form", `!document.getElementById("m_title").checkVisibility() && !document.getElementById("adapter").checkVisibility()`) != true {
		t.Errorf("the iCalendar form shows the mapping or the adapter")
	}
	eval[bool](d, "choose CSV", `(() => { const k = document.getElementById("kind"); k.value = "csv"; k.dispatchEvent(new Event("change")); return true })()`)
	shown := eval[map[string]bool](d, "look at the CSV form", `({
		title: document.getElementById("m_title").checkVisibility(),
		header: document.getElementById("m_header").checkVisibility(),
		path: document.getElementById("m_path").checkVisibility(),
		adapter: document.getElementById("adapter").checkVisibility(),
		help: document.querySelector('[data-kind-help="csv"]').checkVisibility(),
		otherHelp: document.querySelector('[data-kind-help="json"]').checkVisibility()})`)
	if !shown["title"] || !shown["header"] || shown["path"] || shown["adapter"] || !shown["help"] || shown["otherHelp"] {
		t.Errorf("the CSV form shows %v, want the columns, the header box and CSV's help only", shown)
	}
	d.run("fill in the feed and its mapping",
		chromedp.SendKeys(chromedp.CSS("#feedurl"), feeds.URL+"/events.csv"), chromedp.SendKeys(chromedp.CSS("#source"), "Chess Club"),
		chromedp.SendKeys(chromedp.CSS("#m_title"), "Event"), chromedp.SendKeys(chromedp.CSS("#m_start_date"), "Date"),
		chromedp.SendKeys(chromedp.CSS("#m_start_time"), "Time"), chromedp.SendKeys(chromedp.CSS("#m_location"), "Venue"),
		chromedp.Click(chromedp.CSS("#m_header")), chromedp.SendKeys(chromedp.CSS("#m_date_format"), "M/D/YYYY"))
	d.check("add-csv")
	// The mapping's rows on a phone: the form fits its width.
	d.run("hold it as a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1), chromedp.EmulateMobile))
	d.mobile, d.width = true, 390
	d.check("add-csv-phone")
	d.run("back to a desktop", chromedp.EmulateViewport(1280, 900, chromedp.EmulateScale(1)))
	d.mobile, d.width = false, 1280
	d.run("check the feed", chromedp.Submit(chromedp.CSS("#feedurl")), chromedp.WaitVisible(chromedp.CSS("p.progress")))
	preview := d.text("main")
	for _, want := range []string{"Converted from csv", "Items found\n3", "Items skipped\n1", "row 4 skipped: no start date", "Chess night", "Book sale"} {
		if !strings.Contains(preview, want) {
			t.Errorf("the preview lacks %q:\n%s", want, preview)
		}
	}
	if !eval[bool](d, "look at the preview's form", `document.getElementById("m_title").checkVisibility() && document.getElementById("m_title").value === "Event"`) {
		t.Errorf("the preview's form does not keep the mapping")
	}
	d.check("preview-csv")
	d.load("add it without approving", `button[name="approve"][value="no"]`)
	if got := d.text("table.cards tbody"); !strings.Contains(got, "CSV") || !strings.Contains(got, "not approved") {
		t.Errorf("the hub's feed table = %q, want the CSV feed, not approved", got)
	}
	d.run("open the feed", chromedp.Click(chromedp.CSS(`table.cards th a`)), chromedp.WaitVisible(chromedp.CSS("#m_title")))
	if got := eval[string](d, "read the kind", `document.getElementById("kind").value + " " + document.getElementById("m_start_date").value`); got != "csv Date" {
		t.Errorf("the edit page's kind and start column = %q, want csv Date", got)
	}
	d.check("feed-csv")

	venue := venueServer(t)
	d.run("open the add form again", chromedp.Navigate(web+"/console/hubs/keene/add"), chromedp.WaitVisible(chromedp.CSS("#kind")))
	eval[bool](d, "choose an adapter script", `(() => { const k = document.getElementById("kind"); k.value = "script"; k.dispatchEvent(new Event("change")); return true })()`)
	d.run("fill in the script feed",
		chromedp.SendKeys(chromedp.CSS("#feedurl"), venue.URL+"/api/events"), chromedp.SendKeys(chromedp.CSS("#source"), "Venue"),
		chromedp.SendKeys(chromedp.CSS("#adapter"), "example"))
	d.run("check the script feed", chromedp.Submit(chromedp.CSS("#feedurl")), chromedp.WaitVisible(chromedp.CSS("p.progress")))
	preview = d.text("main")
	for _, want := range []string{"Read by adapter example", "Events returned\n3", "Pages the adapter fetched\n1", "Open mic", "Craft fair"} {
		if !strings.Contains(preview, want) {
			t.Errorf("the script feed's preview lacks %q:\n%s", want, preview)
		}
	}
	d.check("preview-script")
	d.run("hold the preview as a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1), chromedp.EmulateMobile))
	d.mobile, d.width = true, 390
	d.check("preview-script-phone")
}
