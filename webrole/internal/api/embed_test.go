package api_test

import (
	"cmp"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// TestEmbedScript: the widget is a script any site may load, the same
// for every hub that has published, cached and revalidated.
func TestEmbedScript(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	publishUpcoming(t, w.cals, time.Now())
	rec := do(t, w.h, http.MethodGet, "/services/keene/embed.js", nil)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/javascript; charset=utf-8" ||
		rec.Header().Get("Access-Control-Allow-Origin") != "*" || rec.Header().Get("ETag") == "" ||
		!strings.Contains(rec.Body.String(), "attachShadow") {
		t.Fatalf("GET embed.js = %d %v\n%.200s", rec.Code, rec.Header(), rec.Body)
	}
	if again := do(t, w.h, http.MethodGet, "/services/keene/embed.js", map[string]string{"If-None-Match": rec.Header().Get("ETag")}); again.Code != 304 {
		t.Errorf("GET embed.js If-None-Match = %d, want 304", again.Code)
	}
	for path, want := range map[string]int{"/services/nosuchhub/embed.js": 404, "/services/other/embed.js": 404, "/services/bad%20hub/embed.js": 404} {
		if rec := do(t, w.h, http.MethodGet, path, nil); rec.Code != want {
			t.Errorf("GET %s = %d, want %d", path, rec.Code, want)
		}
	}
}

// TestEmbedInChromium puts the hub's events on a page of another origin
// (a second server on 127.0.0.1) under a strict policy of that page's
// own, in headless Chromium: the widget shows the view's events in its
// shadow root, the page's hostile styles do not reach them and the
// widget's do not reach the page, no policy is broken, and a check for
// changes is a conditional request answered 304. The frame variant is
// framed there, and the hub page itself is refused.
func TestEmbedInChromium(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: the browser test needs Chromium")
	}
	w := newWorld(t)
	_, music := publishUpcoming(t, w.cals, time.Now())
	var mu sync.Mutex
	var jsonAsks []string // the widget's requests for the JSON: method and If-None-Match
	hubMux := http.NewServeMux()
	hubMux.HandleFunc("/services/keene/json", func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		jsonAsks = append(jsonAsks, r.Method+" "+r.Header.Get("If-None-Match"))
		mu.Unlock()
		w.h.ServeHTTP(rw, r)
	})
	hubMux.Handle("/", w.h)
	hubSrv := httptest.NewServer(hubMux)
	t.Cleanup(hubSrv.Close)
	site := http.NewServeMux()
	hostCSP := "default-src 'none'; script-src " + hubSrv.URL + "; connect-src " + hubSrv.URL + "; frame-src " + hubSrv.URL + "; style-src 'self'"
	site.HandleFunc("GET /host.css", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/css")
		// Hostile to anything it reaches.
		fmt.Fprint(rw, `*,li,a,time,h2,span,ol,div{color:rgb(255,0,0)!important;font-family:serif!important;background:rgb(0,255,0)!important;letter-spacing:9px!important}`)
	})
	site.HandleFunc("GET /widget", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Security-Policy", hostCSP)
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(rw, `<!doctype html><html lang="en"><head><title>A site</title><link rel="stylesheet" href="/host.css"></head><body>
<ul><li class="event"><time>host time</time> <span class="meta">host meta</span></li></ul>
<script src="%s/services/keene/embed.js" data-view="music" data-days="7" data-refresh="0" async></script>
</body></html>`, hubSrv.URL)
	})
	site.HandleFunc("GET /frames", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Security-Policy", hostCSP)
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(rw, `<!doctype html><html lang="en"><head><title>A site</title></head><body>
<iframe id="ok" src="%[1]s/services/keene/html?frame=yes&view=music&days=7" title="Events"></iframe>
<iframe id="refused" src="%[1]s/keene" title="The hub page"></iframe>
</body></html>`, hubSrv.URL)
	})
	siteSrv := httptest.NewServer(site)
	t.Cleanup(siteSrv.Close)
	if siteSrv.URL == hubSrv.URL {
		t.Fatal("the two servers share an origin")
	}

	var logMu sync.Mutex
	var messages []string
	tab, cancel := chromedp.NewContext(newBrowser(t, 90*time.Second), chromedp.WithListener(func(ev any) {
		switch e := ev.(type) {
		case *cdplog.EventEntryAdded:
			logMu.Lock()
			messages = append(messages, e.Entry.Text)
			logMu.Unlock()
		case *runtime.EventExceptionThrown:
			logMu.Lock()
			messages = append(messages, "exception: "+e.ExceptionDetails.Text)
			logMu.Unlock()
		}
	}))
	defer cancel()
	if _, err := chromedp.Call(tab, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(tab, runtime.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	const widget = `document.querySelector('.elmcity-embed')`
	step("load the site's page", chromedp.Do(tab,
		chromedp.Navigate(siteSrv.URL+"/widget"),
		chromedp.Poll[chromedp.Void](widget+`?.dataset.state === 'ready'`, chromedp.WithPollingTimeout(20*time.Second)),
	))
	// Each event's title, after the word "Cancelled" when it is.
	const widgetTitles = `[...` + widget + `.shadowRoot.querySelectorAll('.event')].map(li => [...li.querySelectorAll('.status, .title')].map(e => e.textContent).join(' '))`
	titles, err := chromedp.Run(tab, chromedp.Evaluate[[]string](widgetTitles))
	step("read the widget's events", err)
	if !slices.Equal(titles, music) {
		t.Errorf("the widget shows %q, want the week's music %q", titles, music)
	}
	// The cancelled event's title is struck through, the others' not.
	struck, err := chromedp.Run(tab, chromedp.Evaluate[[]bool](`[...`+widget+`.shadowRoot.querySelectorAll('.event .title')].map(e => getComputedStyle(e).textDecorationLine.includes('line-through'))`))
	step("read the widget's titles' style", err)
	if want := []bool{false, false, true}; !slices.Equal(struck, want) {
		t.Errorf("titles struck through = %v, want %v (the cancelled recital's only)", struck, want)
	}
	// The page's styles stop at the shadow root...
	style, err := chromedp.Run(tab, chromedp.Evaluate[map[string]string](`(() => {
		const s = getComputedStyle(`+widget+`.shadowRoot.querySelector('.event .title'));
		return {color: s.color, font: s.fontFamily, spacing: s.letterSpacing, background: getComputedStyle(`+widget+`.shadowRoot.querySelector('.event')).backgroundColor};
	})()`))
	step("read the widget's styles", err)
	if style["color"] == "rgb(255, 0, 0)" || style["font"] == "serif" || style["spacing"] == "9px" || style["background"] == "rgb(0, 255, 0)" {
		t.Errorf("the site's styles reach the widget's events: %v", style)
	}
	// ... and the widget's stop there too.
	host, err := chromedp.Run(tab, chromedp.Evaluate[map[string]string](`(() => {
		const t = getComputedStyle(document.querySelector('body > ul time')), m = getComputedStyle(document.querySelector('body > ul .meta'));
		return {weight: t.fontWeight, display: m.display};
	})()`))
	step("read the site's styles", err)
	if host["weight"] != "400" || host["display"] != "inline" {
		t.Errorf("the widget's styles reach the site's page: %v", host)
	}
	// A check for changes: the same ETag, a 304.
	step("check for changes", chromedp.Do(tab,
		chromedp.Evaluate[chromedp.Void](widget+`.dispatchEvent(new Event('elmcity:refresh')), undefined`),
		chromedp.Poll[chromedp.Void](widget+`.dataset.fetches === '2' && `+widget+`.dataset.status === '304'`, chromedp.WithPollingTimeout(20*time.Second)),
	))
	mu.Lock()
	asks := slices.Clone(jsonAsks)
	mu.Unlock()
	if len(asks) < 3 || asks[0] != "GET " || !slices.Contains(asks, "OPTIONS ") || !strings.HasPrefix(asks[len(asks)-1], `GET "`) {
		t.Errorf("the widget's requests = %q, want a GET, then a preflight and a GET with If-None-Match", asks)
	}
	if again, err := chromedp.Run(tab, chromedp.Evaluate[[]string](widgetTitles)); err != nil || !slices.Equal(again, music) {
		t.Errorf("after the 304 the widget shows %q (%v), want %q", again, err, music)
	}
	screenshot(t, tab, filepath.Join(cmp.Or(*screenshotDir, t.TempDir()), "widget.png"))

	// Frames: the frame variant is shown, the hub page is refused.
	step("load the site's frames", chromedp.Do(tab, chromedp.Navigate(siteSrv.URL+"/frames"), chromedp.WaitReady(chromedp.CSS("#refused"))))
	deadline := time.Now().Add(20 * time.Second)
	var okFrame, refusedFrame *cdp.Frame
	for time.Now().Before(deadline) {
		res, err := chromedp.Call(tab, page.GetFrameTree, cdp.Empty{})
		step("read the frame tree", err)
		okFrame, refusedFrame = nil, nil
		for _, c := range res.FrameTree.ChildFrames {
			switch {
			case strings.Contains(c.Frame.URL, "frame=yes"):
				okFrame = c.Frame
			case strings.HasSuffix(c.Frame.URL, "/keene") || c.Frame.UnreachableURL != "" || strings.HasPrefix(c.Frame.URL, "chrome-error:"):
				refusedFrame = c.Frame
			}
		}
		logMu.Lock()
		refused := slices.ContainsFunc(messages, func(m string) bool { return strings.Contains(m, "frame-ancestors") })
		logMu.Unlock()
		if okFrame != nil && refused {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if okFrame == nil || okFrame.UnreachableURL != "" {
		t.Errorf("the frame variant was not shown: %+v", okFrame)
	}
	logMu.Lock()
	defer logMu.Unlock()
	var refusals, others []string
	for _, m := range messages {
		switch {
		case strings.Contains(m, "frame-ancestors 'none'"):
			refusals = append(refusals, m)
		case strings.Contains(m, "Content Security Policy") || strings.Contains(m, "Refused") || strings.HasPrefix(m, "exception:"):
			others = append(others, m)
		}
	}
	if len(refusals) != 1 || refusedFrame == nil || !strings.HasSuffix(refusedFrame.UnreachableURL, "/keene") {
		t.Errorf("frame refusals %q, refused frame %+v: want the hub page refused, and only it", refusals, refusedFrame)
	}
	if len(others) > 0 {
		t.Errorf("policy violations or errors: %q", others)
	}
}
