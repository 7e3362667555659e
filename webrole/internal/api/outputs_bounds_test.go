package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/shared/script"
	"github.com/elmcity/elmcity/shared/scripthost"
	"github.com/elmcity/elmcity/webrole/internal/api"
	"github.com/elmcity/elmcity/webrole/internal/outputs"
)

// outageCalendars is the calendar store with an outage switch: while down,
// every call hangs until its context ends, as a frozen storage service
// does.
type outageCalendars struct {
	*publish.Store
	down  atomic.Bool
	calls atomic.Int32
}

func (c *outageCalendars) hang(ctx context.Context) error {
	c.calls.Add(1)
	<-ctx.Done()
	return ctx.Err()
}

func (c *outageCalendars) Current(ctx context.Context, hub string) (publish.Pointer, error) {
	if c.down.Load() {
		return publish.Pointer{}, c.hang(ctx)
	}
	return c.Store.Current(ctx, hub)
}

func (c *outageCalendars) Load(ctx context.Context, hub string) (publish.Generation, error) {
	if c.down.Load() {
		return publish.Generation{}, c.hang(ctx)
	}
	return c.Store.Load(ctx, hub)
}

// calendarStore is what an instance reads published calendars from.
type calendarStore interface {
	Current(ctx context.Context, hub string) (publish.Pointer, error)
	Load(ctx context.Context, hub string) (publish.Generation, error)
	Delete(ctx context.Context, hub string) error
}

// apiDeps are an instance's dependencies over the bundle's storage, with
// cals in place of its calendar store and storage always ready.
func apiDeps(t testing.TB, b testBundle, clock *testClock, cfg outputs.Config, cals calendarStore) api.Deps {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	eng, err := script.New(script.Config{Source: scriptsDir, Timeout: 2 * time.Second, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	return api.Deps{
		Logger: logger, Ready: func(context.Context) error { return nil },
		Store: b.store, Jobs: b.jobs, Log: b.tlog, Scripts: eng, Calendars: cals,
		ScriptHost: scripthost.New(b.tlog, b.store, b.cals, nil, "test"), AdminToken: adminToken,
		Now: clock.Now, Outputs: cfg,
	}
}

// outputsServer is an instance whose calendars and readiness the test
// controls.
func outputsServer(t testing.TB, b testBundle, clock *testClock, cfg outputs.Config, cals *outageCalendars) *api.Server {
	t.Helper()
	deps := apiDeps(t, b, clock, cfg, cals)
	deps.Ready = func(ctx context.Context) error {
		if cals.down.Load() {
			return cals.hang(ctx)
		}
		return nil
	}
	return api.New(deps)
}

// hourly is n events an hour apart from the day after now, each with its
// own tag, so that views of them differ.
func hourly(now time.Time, n int) []hubcal.Event {
	src := []hubcal.Source{{Feed: "f1", Name: "Library", UID: "u"}}
	at := now.Truncate(time.Hour).Add(24 * time.Hour)
	out := make([]hubcal.Event, n)
	for i := range out {
		s := at.Add(time.Duration(i) * time.Hour)
		out[i] = hubcal.Event{UID: fmt.Sprintf("e%05d@elmcity", i), Title: fmt.Sprintf("Event %d", i), Start: s, End: s.Add(time.Hour),
			Tags: []string{"t" + strconv.Itoa(i%16)}, Sources: src}
	}
	return out
}

// metricValue reads one sample of the Prometheus text.
func metricValue(t testing.TB, srv *api.Server, series string) float64 {
	t.Helper()
	body := do(t, srv.MetricsHandler(), http.MethodGet, "/metrics", nil).Body.String()
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s = %q", series, v)
			}
			return f
		}
	}
	return 0
}

// TestOutputsViewSizes checks each view's documented default and maximum
// size, and the hub page's link to the events after its last.
func TestOutputsViewSizes(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	clock := &testClock{now: time.Now()}
	h := newInstance(t, w.testBundle, clock, outputs.Config{})
	publishEvents(t, w.cals, "keene", hourly(clock.Now(), 1500))
	var doc struct {
		Count int `json:"count"`
	}
	rec := do(t, h, http.MethodGet, "/services/keene/json", nil)
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || doc.Count != 1000 {
		t.Errorf("GET json = %d events (%v), want the default 1000", doc.Count, err)
	}
	if rec := do(t, h, http.MethodGet, "/services/keene/json?count=10001", nil); rec.Code != 400 || !strings.Contains(rec.Body.String(), `"count"`) {
		t.Errorf("GET json?count=10001 = %d %s, want a 400 naming count", rec.Code, rec.Body)
	}
	if rec := do(t, h, http.MethodGet, "/services/keene/ics?count=1500", nil); rec.Code != 200 || strings.Count(rec.Body.String(), "BEGIN:VEVENT") != 1500 {
		t.Errorf("GET ics?count=1500 = %d with %d events", rec.Code, strings.Count(rec.Body.String(), "BEGIN:VEVENT"))
	}
	// One source's view of 90 days: no run is collapsed, and the page
	// is cut at its count.
	page := do(t, h, http.MethodGet, "/keene?source=Library&days=90&layout=full", nil).Body.String()
	if n := strings.Count(page, `class="event"`); n != 200 {
		t.Errorf("hub page lists %d events, want the default 200", n)
	}
	next := regexp.MustCompile(`<p class="next"><a href="([^"]+)" rel="next">`).FindStringSubmatch(page)
	if next == nil {
		t.Fatal("hub page has no link to later events")
	}
	later := do(t, h, http.MethodGet, strings.ReplaceAll(next[1], "&amp;", "&"), nil).Body.String()
	if !strings.Contains(later, "e00200@elmcity") || strings.Contains(later, "e00199@elmcity") {
		t.Errorf("the next page does not start with the 201st event (%s)", next[1])
	}
}

// TestOutputsRenderEachViewOnce checks that requests for one view that
// is not cached yet render it once between them.
func TestOutputsRenderEachViewOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	clock := &testClock{now: time.Now()}
	cals := &outageCalendars{Store: w.cals}
	srv := outputsServer(t, w.testBundle, clock, outputs.Config{}, cals)
	publishEvents(t, w.cals, "keene", hourly(clock.Now(), 3000))
	h := srv.Handler()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if rec := do(t, h, http.MethodGet, "/services/keene/ics?count=3000", nil); rec.Code != 200 {
				t.Errorf("GET = %d", rec.Code)
			}
		})
	}
	wg.Wait()
	if n := metricValue(t, srv, `elmcity_output_renders_total{format="ics"}`); n != 1 {
		t.Errorf("16 requests for one view rendered it %v times, want once", n)
	}
	if n := metricValue(t, srv, `elmcity_output_calendar_loads_total{outcome="ok"}`); n != 1 {
		t.Errorf("the calendar was loaded %v times, want once", n)
	}
}

// TestOutputsCacheCountsCalendars checks that the calendars an instance
// holds count against its cache budget with the views: over it, the least
// recently used hub is dropped and read again when asked for.
func TestOutputsCacheCountsCalendars(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	clock := &testClock{now: time.Now()}
	cals := &outageCalendars{Store: w.cals}
	publishEvents(t, w.cals, "keene", hourly(clock.Now(), 2000))
	publishEvents(t, w.cals, "other", hourly(clock.Now(), 2000))
	// Room for one calendar of 2,000 events and its view, as an instance
	// with room to spare holds them, and not for two.
	probe := outputsServer(t, w.testBundle, clock, outputs.Config{}, cals)
	if rec := do(t, probe.Handler(), http.MethodGet, "/services/keene/text", nil); rec.Code != 200 {
		t.Fatalf("GET = %d", rec.Code)
	}
	one := metricValue(t, probe, "elmcity_output_cache_bytes")
	budget := one * 1.5
	srv := outputsServer(t, w.testBundle, clock, outputs.Config{CacheBytes: int64(budget)}, cals)
	h := srv.Handler()
	for _, path := range []string{"/services/keene/text", "/services/other/text", "/services/keene/text"} {
		if rec := do(t, h, http.MethodGet, path, nil); rec.Code != 200 {
			t.Fatalf("GET %s = %d", path, rec.Code)
		}
		if held := metricValue(t, srv, "elmcity_output_cache_bytes"); held <= 0 || held > budget {
			t.Errorf("after GET %s the cache holds %v bytes, want some and at most %.0f", path, held, budget)
		}
	}
	if n := metricValue(t, srv, `elmcity_output_calendar_loads_total{outcome="ok"}`); n != 3 {
		t.Errorf("calendars loaded %v times, want 3: keene was dropped for other and read again", n)
	}
}

// TestOutputsServeCacheThroughOutage checks that while storage hangs, a
// hub known to an instance is served from memory without waiting for
// storage (beyond one short wait per backed-off check), the instance
// stays ready, and storage's state shows in the metrics.
func TestOutputsServeCacheThroughOutage(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	clock := &testClock{now: time.Now()}
	cals := &outageCalendars{Store: w.cals}
	srv := outputsServer(t, w.testBundle, clock, outputs.Config{CheckEvery: time.Second}, cals)
	h := srv.Handler()
	publishEvents(t, w.cals, "keene", upcoming(clock.Now(), "Jazz Night"))
	if rec := do(t, h, http.MethodGet, "/services/keene/ics", nil); rec.Code != 200 {
		t.Fatalf("GET before the outage = %d", rec.Code)
	}
	cals.down.Store(true)
	var slowest time.Duration
	for range 20 {
		clock.Add(time.Second) // every check is due, or backed off
		start := time.Now()
		rec := do(t, h, http.MethodGet, "/services/keene/ics", nil)
		slowest = max(slowest, time.Since(start))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "Jazz Night") {
			t.Fatalf("GET during the outage = %d %.200s", rec.Code, rec.Body)
		}
	}
	if slowest > 2*time.Second { // a check waits 250ms at most; loads time out at 30s
		t.Errorf("slowest cached read during the outage took %v", slowest)
	}
	// While a check runs, only the request that started it waits.
	clock.Add(2 * time.Minute) // past any backoff: the next read starts a check
	var waited atomic.Int32
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			if i > 0 {
				time.Sleep(20 * time.Millisecond) // after the first has started the check
			}
			start := time.Now()
			if rec := do(t, h, http.MethodGet, "/services/keene/ics", nil); rec.Code != 200 {
				t.Errorf("GET during a check = %d", rec.Code)
			}
			if time.Since(start) >= 200*time.Millisecond {
				waited.Add(1)
			}
		})
	}
	wg.Wait()
	if n := waited.Load(); n > 1 {
		t.Errorf("%d of 10 reads waited for one check, want only the one that started it", n)
	}
	if n := cals.calls.Load(); n > 8 {
		t.Errorf("20 reads over 20s of outage asked storage %d times, want backed-off checks", n)
	}
	start := time.Now()
	if rec := do(t, h, http.MethodGet, "/readyz", nil); rec.Code != 200 || !strings.Contains(rec.Body.String(), "unreachable") {
		t.Errorf("GET /readyz during the outage = %d %s, want 200: the instance serves its cache", rec.Code, rec.Body)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("GET /readyz during the outage took %v, want under a probe's 1s timeout", took)
	}
	if up := metricValue(t, srv, "elmcity_storage_up"); up != 0 {
		t.Errorf("elmcity_storage_up = %v during the outage, want 0", up)
	}
	if rec := do(t, h, http.MethodGet, "/services/other/ics", nil); rec.Code < 500 {
		t.Errorf("GET of a hub never loaded during the outage = %d, want a 5xx", rec.Code)
	}
}
