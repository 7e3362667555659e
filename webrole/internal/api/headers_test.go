package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/chromedp"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/webrole/internal/outputs"
	"github.com/elmcity/elmcity/webrole/internal/render"
)

// TestSecurityHeaders checks the headers of every kind of response:
// nosniff and no-referrer everywhere, the pages' policy on everything
// but the embeddable fragment, which any site may frame.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	publishUpcoming(t, w.cals, time.Now())
	page, fragment := render.ContentSecurityPolicy(false), render.ContentSecurityPolicy(true)
	hubPage := render.PagePolicy(hub.Look{}) // keene sets no look
	tests := []struct {
		name, path string
		code       int
		csp        string
	}{
		{"HubPage", "/keene", 200, hubPage},
		{"HTML", "/services/keene/html", 200, hubPage},
		{"HTMLAlias", "/keene/html", 200, hubPage},
		{"Fragment", "/services/keene/html?eventsonly=yes", 200, fragment},
		{"Frame", "/services/keene/html?frame=yes", 200, render.FramePolicy()},
		{"FrameError", "/services/keene/html?frame=yes&days=0", 400, fragment},
		{"EmbedScript", "/services/keene/embed.js", 200, page},
		{"Home", "/", 200, hubPage},
		{"FragmentOtherSpelling", "/services/keene/html?eventsonly=1", 200, fragment},
		{"FragmentAlias", "/keene/html?eventsonly=yes", 200, fragment},
		{"Alias", "/keene/ics", 200, page},
		{"EventsOnlyIsForHTMLOnly", "/services/keene/json?eventsonly=yes", 200, page},
		{"Stats", "/services/keene/stats", 200, page},
		{"ICS", "/services/keene/ics", 200, page},
		{"CSV", "/services/keene/csv", 200, page},
		{"BadFilter", "/keene?days=0", 400, page},
		{"UnknownHub", "/nosuchhub", 404, page},
		{"NoRoute", "/no/such/path", 404, page},
		{"API", "/api/hubs", 401, page},
		{"Probe", "/healthz", 200, page},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := do(t, w.h, http.MethodGet, tt.path, nil)
			if rec.Code != tt.code {
				t.Fatalf("GET %s = %d, want %d", tt.path, rec.Code, tt.code)
			}
			want := map[string]string{
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
				"Content-Security-Policy": tt.csp,
			}
			for k, v := range want {
				if got := rec.Header().Values(k); len(got) != 1 || got[0] != v {
					t.Errorf("GET %s %s = %q, want %q", tt.path, k, got, v)
				}
			}
		})
	}
}

// doHost is do with the request's Host set, as a client can send any.
func doHost(t testing.TB, h http.Handler, path, host string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Host = host
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestOutputsIgnoreTheRequestHost sends every output with a forged Host
// and forwarding headers. No output may name that host (the views are
// cached and served to everyone), both hosts get the same cached view,
// and absolute links name the configured public URL, or are left out
// without one.
func TestOutputsIgnoreTheRequestHost(t *testing.T) {
	t.Parallel()
	forged := map[string]string{
		"X-Forwarded-Host":  "evil.example",
		"X-Forwarded-Proto": "https",
		"X-Forwarded-For":   "203.0.113.9",
		"Forwarded":         "host=evil.example;proto=https",
	}
	paths := []string{
		"/keene", "/services/keene/html?eventsonly=yes", "/services/keene/stats", "/services/keene/ics",
		"/services/keene/ics?uid=jazz%40elmcity", "/services/keene/json", "/services/keene/rss",
		"/services/keene/xml", "/services/keene/csv", "/services/keene/text", "/services/keene/tags_json",
		"/", "/keene/ics", "/services/keene/html?frame=yes", "/services/keene/embed.js", "/keene?uid=jazz%40elmcity",
	}
	tests := []struct {
		name      string
		publicURL string
		// want are strings the output of each path must hold.
		want map[string][]string
	}{
		{name: "NoPublicURL", want: map[string][]string{
			"/keene":               {`href="/services/keene/ics"`},
			"/services/keene/ics":  {"SUMMARY:Jazz Night"},
			"/services/keene/rss":  {"<link>/keene</link>"},
			"/services/keene/json": {`"id":"keene"`},
		}},
		{name: "PublicURL", publicURL: "https://cal.example.org", want: map[string][]string{
			"/keene":                              {`href="webcal://cal.example.org/services/keene/ics"`},
			"/services/keene/html?eventsonly=yes": {`href="https://cal.example.org/services/keene/ics?uid=jazz%40elmcity"`},
			"/services/keene/ics":                 {"URL:https://cal.example.org/keene\r\n"},
			"/services/keene/rss":                 {"<link>https://cal.example.org/keene</link>"},
			"/services/keene/json":                {`"url":"https://cal.example.org/keene"`, `"ics":"https://cal.example.org/services/keene/ics?uid=`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			clock := &testClock{now: time.Now()}
			h := newInstance(t, w.testBundle, clock, outputs.Config{PublicURL: tt.publicURL})
			publishUpcoming(t, w.cals, clock.Now())
			for _, p := range paths {
				honest := doHost(t, h, p, "cal.example.org", nil)
				evil := doHost(t, h, p, "evil.example", forged)
				if evil.Code != 200 || honest.Code != 200 {
					t.Fatalf("GET %s = %d and %d, want 200", p, honest.Code, evil.Code)
				}
				if strings.Contains(evil.Body.String(), "evil") {
					t.Errorf("GET %s with Host evil.example names it:\n%s", p, evil.Body)
				}
				if a, b := honest.Header().Get("ETag"), evil.Header().Get("ETag"); a != b {
					t.Errorf("GET %s ETag = %s for one host and %s for another, want one cached view", p, a, b)
				}
				if tt.publicURL == "" && strings.Contains(evil.Body.String(), "cal.example.org") {
					t.Errorf("GET %s without a public URL names the host:\n%s", p, evil.Body)
				}
				for _, want := range tt.want[p] {
					if !strings.Contains(evil.Body.String(), want) {
						t.Errorf("GET %s lacks %q:\n%.2000s", p, want, evil.Body)
					}
				}
			}
		})
	}
}

// TestPagesKeepTheirPolicyInChromium loads the hub page, the stats
// report and the fragment in headless Chromium as the web role serves
// them, headers included, and checks that the browser reports no
// Content-Security-Policy violation and applied the pages' stylesheet. A
// control page with an inline style attribute shows that a violation
// would be seen.
func TestPagesKeepTheirPolicyInChromium(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: the browser test needs Chromium")
	}
	w := newWorld(t)
	publishUpcoming(t, w.cals, time.Now())
	mux := http.NewServeMux()
	mux.Handle("/", w.h)
	mux.HandleFunc("GET /control", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Security-Policy", render.ContentSecurityPolicy(false))
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(rw, `<!doctype html><title>control</title><p class="x" style="color:red">inline style</p>`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	var mu sync.Mutex
	var violations []string
	tab, cancel := chromedp.NewContext(newBrowser(t, 90*time.Second), chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*cdplog.EventEntryAdded); ok && strings.Contains(e.Entry.Text, "Content Security Policy") {
			mu.Lock()
			violations = append(violations, e.Entry.Text)
			mu.Unlock()
		}
	}))
	defer cancel()
	if _, err := chromedp.Call(tab, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		// style is a script whose result shows the stylesheet applied
		// ("" for the fragment, which has none).
		style, want   string
		wantViolation bool
	}{
		{name: "HubPage", path: "/keene", style: `getComputedStyle(document.querySelector('.wrap')).maxWidth`, want: "832px"},
		{name: "Stats", path: "/services/keene/stats", style: `getComputedStyle(document.querySelector('.wrap')).paddingLeft`, want: "16px"},
		{name: "Fragment", path: "/services/keene/html?eventsonly=yes"},
		{name: "Frame", path: "/services/keene/html?frame=yes&view=music", style: `getComputedStyle(document.querySelector('.wrap')).paddingLeft`, want: "16px"},
		{name: "Home", path: "/", style: `getComputedStyle(document.querySelector('.wrap')).maxWidth`, want: "832px"},
		{name: "Control", path: "/control", wantViolation: true},
	}
	for _, tt := range tests { // one tab, one page after another
		mu.Lock()
		violations = nil
		mu.Unlock()
		if err := chromedp.Do(tab, chromedp.Navigate(srv.URL+tt.path), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
			t.Fatalf("%s: load %s: %v", tt.name, tt.path, err)
		}
		if tt.style != "" {
			got, err := chromedp.Run(tab, chromedp.Evaluate[string](tt.style))
			if err != nil || got != tt.want {
				t.Errorf("%s: %s = %q (%v), want %q: the stylesheet was not applied", tt.name, tt.style, got, err, tt.want)
			}
		}
		// Violations are reported as the page is parsed, before load
		// completes; a round trip to the browser flushes the events.
		if _, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.title`)); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		got := violations
		mu.Unlock()
		if (len(got) > 0) != tt.wantViolation {
			t.Errorf("%s: CSP violations = %q, want any: %v", tt.name, got, tt.wantViolation)
		}
	}
}
