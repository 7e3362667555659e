package api_test

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/shared/script"
	"github.com/elmcity/elmcity/shared/scripthost"
	"github.com/elmcity/elmcity/webrole/internal/api"
	"github.com/elmcity/elmcity/webrole/internal/outputs"
)

// testClock is a settable clock for the outputs' check interval.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *testClock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// newInstance is one more web role instance over the bundle's storage,
// with its own clock and output cache, as a second replica would be.
func newInstance(t testing.TB, b testBundle, clock *testClock, cfg outputs.Config) http.Handler {
	t.Helper()
	return newInstanceServer(t, b, clock, cfg).Handler()
}

// newInstanceServer is newInstance's Server, for its MetricsHandler.
func newInstanceServer(t testing.TB, b testBundle, clock *testClock, cfg outputs.Config) *api.Server {
	t.Helper()
	logger := slog.New(slog.NewJSONHandler(&syncWriter{w: &strings.Builder{}}, nil))
	eng, err := script.New(script.Config{Source: scriptsDir, Timeout: 2 * time.Second, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	return api.New(api.Deps{
		Logger: logger, Ready: func(context.Context) error { return nil },
		Store: b.store, Jobs: b.jobs, Log: b.tlog, Scripts: eng, Calendars: b.cals,
		ScriptHost: scripthost.New(b.tlog, b.store, b.cals, nil, "test"), AdminToken: adminToken,
		Now: clock.Now, Outputs: cfg,
	})
}

// publishEvents publishes events for hub and returns the generation.
func publishEvents(t testing.TB, cals *publish.Store, hubID string, events []hubcal.Event) publish.Generation {
	t.Helper()
	payload, err := hubcal.FromEvents(events).Encode(map[string]any{"v": 1, "hub": hubID, "events": len(events)})
	if err != nil {
		t.Fatal(err)
	}
	g, err := cals.Publish(context.Background(), publish.Generation{Hub: hubID, Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// upcoming is a small calendar starting the day after now.
func upcoming(now time.Time, titles ...string) []hubcal.Event {
	src := []hubcal.Source{{Feed: "f1", Name: "Library", UID: "u"}}
	var out []hubcal.Event
	for i, title := range titles {
		at := now.Truncate(time.Hour).Add(time.Duration(24*(i+1)) * time.Hour)
		out = append(out, hubcal.Event{UID: title + "@elmcity", Title: title, Start: at, End: at.Add(time.Hour), Tags: []string{"music"}, Sources: src})
	}
	return out
}

func TestOutputsEveryFormat(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	clock := &testClock{now: time.Now()}
	h := newInstance(t, w.testBundle, clock, outputs.Config{})
	publishEvents(t, w.cals, "keene", upcoming(clock.Now(), "Jazz Night", "Story Time"))
	tests := []struct{ path, ctype, contains string }{
		{"/services/keene/ics", "text/calendar", "SUMMARY:Jazz Night"},
		{"/services/keene/json", "application/json", `"title":"Story Time"`},
		{"/services/keene/rss", "application/rss+xml", "<title>Jazz Night</title>"},
		{"/services/keene/xml", "application/xml", "<title>Story Time</title>"},
		{"/services/keene/csv", "text/csv", "Subject,Start Date"},
		{"/services/keene/text", "text/plain", "Jazz Night"},
		{"/services/keene/tags_json", "application/json", `"tag":"music","count":2`},
		{"/services/keene/html", "text/html", "Jazz Night"},
		{"/services/keene/html?eventsonly=yes", "text/html", "Story Time"},
		{"/services/keene/stats", "text/html", "keene"},
		{"/keene", "text/html", "Story Time"},
		{"/services/keene/json?view=-music", "application/json", `"count":0`},
	}
	for _, tt := range tests {
		rec := do(t, h, http.MethodGet, tt.path, nil)
		if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), tt.ctype) || !strings.Contains(rec.Body.String(), tt.contains) {
			t.Errorf("GET %s = %d %s, want 200 %s containing %q; body:\n%.400s", tt.path, rec.Code, rec.Header().Get("Content-Type"), tt.ctype, tt.contains, rec.Body)
			continue
		}
		for _, k := range []string{"ETag", "Last-Modified", "Cache-Control"} {
			if rec.Header().Get(k) == "" {
				t.Errorf("GET %s has no %s", tt.path, k)
			}
		}
		if rec.Header().Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("GET %s is not open to every origin", tt.path)
		}
	}
}

func TestOutputsConditional(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	clock := &testClock{now: time.Now()}
	srv := newInstanceServer(t, w.testBundle, clock, outputs.Config{})
	h := srv.Handler()
	publishEvents(t, w.cals, "keene", upcoming(clock.Now(), "Jazz Night"))
	first := do(t, h, http.MethodGet, "/services/keene/ics", nil)
	etag, lastMod := first.Header().Get("ETag"), first.Header().Get("Last-Modified")
	if first.Code != 200 || !strings.HasPrefix(etag, `"`) {
		t.Fatalf("GET = %d, ETag %q (want a strong one)", first.Code, etag)
	}
	if again := do(t, h, http.MethodGet, "/services/keene/ics", nil); again.Body.String() != first.Body.String() || again.Header().Get("ETag") != etag {
		t.Error("a second GET of the same generation differs")
	}
	tests := []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"IfNoneMatch", map[string]string{"If-None-Match": etag}, 304},
		{"IfNoneMatchList", map[string]string{"If-None-Match": `"other", ` + etag}, 304},
		{"IfNoneMatchOther", map[string]string{"If-None-Match": `"other"`}, 200},
		{"IfModifiedSince", map[string]string{"If-Modified-Since": lastMod}, 304},
		{"IfModifiedSinceEarlier", map[string]string{"If-Modified-Since": "Mon, 02 Jan 2006 15:04:05 GMT"}, 200},
		{"NoneMatchWinsOverModifiedSince", map[string]string{"If-None-Match": `"other"`, "If-Modified-Since": lastMod}, 200},
	}
	for _, tt := range tests {
		rec := do(t, h, http.MethodGet, "/services/keene/ics", tt.hdr)
		if rec.Code != tt.want {
			t.Errorf("%s: GET = %d, want %d", tt.name, rec.Code, tt.want)
		}
		if tt.want == 304 && (rec.Body.Len() != 0 || rec.Header().Get("ETag") != etag) {
			t.Errorf("%s: 304 with body %d bytes, ETag %q", tt.name, rec.Body.Len(), rec.Header().Get("ETag"))
		}
	}
	// Another view has another tag.
	if other := do(t, h, http.MethodGet, "/services/keene/ics?days=30", nil); other.Header().Get("ETag") == "" || other.Code != 200 {
		t.Errorf("GET ?days=30 = %d %q", other.Code, other.Header().Get("ETag"))
	}
	metrics := do(t, srv.MetricsHandler(), http.MethodGet, "/metrics", nil).Body.String()
	for _, want := range []string{
		`elmcity_output_views_total{cache="miss",format="ics"} 2`,
		`elmcity_output_views_total{cache="hit",format="ics"} 7`,
		`elmcity_output_calendar_loads_total{outcome="ok"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestOutputsFollowNewGenerations checks invalidation without instances
// knowing of each other: two instances serve the first generation, a new
// one is published, and each serves it once its check interval passed.
func TestOutputsFollowNewGenerations(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	clock := &testClock{now: time.Now()}
	// A due check is waited for however long it takes: a slow check is
	// not what this test is about.
	cfg := outputs.Config{CheckEvery: time.Minute, CheckWait: time.Minute}
	a, b := newInstance(t, w.testBundle, clock, cfg), newInstance(t, w.testBundle, clock, cfg)
	publishEvents(t, w.cals, "keene", upcoming(clock.Now(), "Jazz Night"))
	for _, h := range []http.Handler{a, b} {
		if rec := do(t, h, http.MethodGet, "/services/keene/json", nil); !strings.Contains(rec.Body.String(), "Jazz Night") {
			t.Fatalf("first generation not served: %d %s", rec.Code, rec.Body)
		}
	}
	publishEvents(t, w.cals, "keene", upcoming(clock.Now(), "Blues Night"))
	if rec := do(t, a, http.MethodGet, "/services/keene/json", nil); !strings.Contains(rec.Body.String(), "Jazz Night") {
		t.Errorf("within the check interval the cached generation is served; got %s", rec.Body)
	}
	clock.Add(2 * time.Minute)
	for i, h := range []http.Handler{a, b} {
		if rec := do(t, h, http.MethodGet, "/services/keene/json", nil); !strings.Contains(rec.Body.String(), "Blues Night") {
			t.Errorf("instance %d still serves the old generation: %s", i, rec.Body)
		}
	}
}

func TestOutputsErrors(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	clock := &testClock{now: time.Now()}
	h := newInstance(t, w.testBundle, clock, outputs.Config{})
	if rec := do(t, h, http.MethodGet, "/services/keene/ics", nil); rec.Code != 404 || !strings.Contains(rec.Body.String(), "not_published") {
		t.Errorf("before the first run = %d %s, want 404 not_published", rec.Code, rec.Body)
	}
	publishEvents(t, w.cals, "keene", upcoming(clock.Now(), "Jazz Night"))
	clock.Add(time.Hour)
	tests := []struct {
		path  string
		code  int
		field string
	}{
		{"/services/keene/ics?days=0", 400, "days"},
		{"/services/keene/json?from=tomorrow", 400, "from"},
		{"/services/keene/json?from=2026-12-05&days=3", 400, "days"},
		{"/services/keene/rss?count=x", 400, "count"},
		{"/keene?view=", 400, "view"},
		{"/services/nosuchhub/ics", 404, ""},
		{"/nosuchhub", 404, ""},
		{"/services/bad%20hub/json", 404, ""},
	}
	for _, tt := range tests {
		rec := do(t, h, http.MethodGet, tt.path, nil)
		var body struct {
			Error struct {
				Code    string            `json:"code"`
				Message string            `json:"message"`
				Fields  map[string]string `json:"fields"`
			} `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != tt.code {
			t.Errorf("GET %s = %d %s, want %d with a JSON error", tt.path, rec.Code, rec.Body, tt.code)
			continue
		}
		if tt.field != "" && body.Error.Fields[tt.field] == "" {
			t.Errorf("GET %s error = %+v, want it to name %s", tt.path, body.Error, tt.field)
		}
	}
}

// TestNoScriptShadowsAFormat: a query script named like a format is never
// run for that path.
func TestNoScriptShadowsAFormat(t *testing.T) {
	t.Parallel()
	h, _, b := newScriptServer(t, map[string]string{"ics": `var result = "shadowed";`, "json": `var result = "shadowed";`})
	publishEvents(t, b.cals, "keene", upcoming(time.Now(), "Jazz Night"))
	for _, p := range []string{"/services/keene/ics", "/services/keene/json"} {
		rec := do(t, h, http.MethodGet, p, map[string]string{"Authorization": "Bearer " + adminToken})
		if rec.Code != 200 || strings.Contains(rec.Body.String(), "shadowed") {
			t.Errorf("GET %s = %d %.100s, want the built-in format", p, rec.Code, rec.Body)
		}
	}
}

func TestOutputsGzip(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	clock := &testClock{now: time.Now()}
	h := newInstance(t, w.testBundle, clock, outputs.Config{})
	publishEvents(t, w.cals, "keene", upcoming(clock.Now(), "Jazz Night", "Story Time", "Blues Night", "Open Mic", "Choir"))
	plain := do(t, h, http.MethodGet, "/services/keene/ics", nil)
	gz := do(t, h, http.MethodGet, "/services/keene/ics", map[string]string{"Accept-Encoding": "br, gzip;q=0.8"})
	if gz.Header().Get("Content-Encoding") != "gzip" || gz.Header().Get("Vary") != "Accept-Encoding" {
		t.Fatalf("gzip response headers = %v", gz.Header())
	}
	zr, err := gzip.NewReader(gz.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(zr)
	if err != nil || string(body) != plain.Body.String() {
		t.Errorf("gunzipped body differs from the identity one (%v)", err)
	}
	if gz.Header().Get("ETag") == plain.Header().Get("ETag") || gz.Body.Len() >= plain.Body.Len() {
		t.Errorf("gzip ETag %q vs %q, %d vs %d bytes", gz.Header().Get("ETag"), plain.Header().Get("ETag"), gz.Body.Len(), plain.Body.Len())
	}
	if rec := do(t, h, http.MethodGet, "/services/keene/ics", map[string]string{"Accept-Encoding": "gzip", "If-None-Match": gz.Header().Get("ETag")}); rec.Code != 304 {
		t.Errorf("If-None-Match with the gzip tag = %d, want 304", rec.Code)
	}
	for _, ae := range []string{"gzip;q=0", "identity", "br"} {
		if rec := do(t, h, http.MethodGet, "/services/keene/ics", map[string]string{"Accept-Encoding": ae}); rec.Header().Get("Content-Encoding") != "" {
			t.Errorf("Accept-Encoding %q got %q", ae, rec.Header().Get("Content-Encoding"))
		}
	}
}
