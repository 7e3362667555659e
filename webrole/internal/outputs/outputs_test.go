package outputs_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/shared/hubrun"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/shared/tablestore"
	"github.com/elmcity/elmcity/webrole/internal/outputs"
	"github.com/elmcity/elmcity/webrole/internal/render"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeStorage is the hub store and the published calendars in memory.
type fakeStorage struct {
	mu    sync.Mutex
	hubs  map[string]hub.Hub
	feeds map[string][]hub.Feed
	gens  map[string]publish.Generation
	down  bool // every call fails
	loads int  // calls of Load
	// blocked, when set, makes Current wait for its context after
	// sending on blocked.
	blocked chan struct{}
}

var errDown = errors.New("storage is down")

func (f *fakeStorage) Current(ctx context.Context, id string) (publish.Pointer, error) {
	f.mu.Lock()
	blocked := f.blocked
	f.mu.Unlock()
	if blocked != nil {
		blocked <- struct{}{}
		<-ctx.Done()
		return publish.Pointer{}, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return publish.Pointer{}, errDown
	}
	g, ok := f.gens[id]
	if !ok {
		return publish.Pointer{}, publish.ErrNotFound
	}
	return publish.Pointer{Hub: id, ID: g.ID, PublishedAt: g.PublishedAt, Meta: g.Meta}, nil
}

func (f *fakeStorage) Load(_ context.Context, id string) (publish.Generation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loads++
	if f.down {
		return publish.Generation{}, errDown
	}
	g, ok := f.gens[id]
	if !ok {
		return publish.Generation{}, publish.ErrNotFound
	}
	return g, nil
}

func (f *fakeStorage) GetHub(_ context.Context, id string) (hub.Hub, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return hub.Hub{}, errDown
	}
	h, ok := f.hubs[id]
	if !ok {
		return hub.Hub{}, tablestore.ErrNotFound
	}
	return h, nil
}

func (f *fakeStorage) ListFeeds(_ context.Context, id string) ([]hub.Feed, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errDown
	}
	return f.feeds[id], nil
}

func (f *fakeStorage) ListHubsPage(_ context.Context, after string, limit int) ([]hub.Hub, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, "", errDown
	}
	var out []hub.Hub
	for _, h := range f.hubs {
		if h.ID > after {
			out = append(out, h)
		}
	}
	return out, "", nil
}

// publish makes id a hub with one approved feed and publishes n events
// for it, with a run header that says how the feed did.
func (f *fakeStorage) publish(t testing.TB, id string, n int, now time.Time) {
	t.Helper()
	src := []hubcal.Source{{Feed: "f1", Name: "Library", UID: "u"}}
	events := make([]hubcal.Event, n)
	for i := range events {
		at := now.Truncate(time.Hour).Add(time.Duration(i+1) * time.Hour)
		events[i] = hubcal.Event{UID: fmt.Sprintf("e%d@elmcity", i), Title: fmt.Sprintf("Event %d", i), Start: at, End: at.Add(time.Hour), Sources: src}
	}
	head := hubrun.Header{V: 1, Hub: id, Events: n, Feeds: []hubrun.FeedStats{{Feed: "f1", Source: "Library", Status: "ok", Occurrences: n}}}
	payload, err := hubcal.FromEvents(events).Encode(head)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hubs[id] = hub.Hub{ID: id, Title: strings.ToUpper(id), TZ: "America/New_York"}
	f.feeds[id] = []hub.Feed{{ID: "f1", Source: "Library", FeedURL: "https://user:pw@lib.example.org/cal.ics", Approved: true}}
	f.gens[id] = publish.Generation{Hub: id, ID: fmt.Sprintf("g%d", len(f.gens)+1), PublishedAt: now, Payload: payload,
		Meta: map[string]string{"events": fmt.Sprint(n)}}
}

type testBundle struct {
	store   *fakeStorage
	cache   *outputs.Cache
	metrics outputs.Metrics
	now     time.Time // the clock's start

	mu    sync.Mutex
	clock time.Time
}

// advance moves the cache's clock on by d.
func (b *testBundle) advance(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.clock = b.clock.Add(d)
}

func setup(t testing.TB, cfg outputs.Config) *testBundle {
	t.Helper()
	now := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	st := &fakeStorage{hubs: map[string]hub.Hub{}, feeds: map[string][]hub.Feed{}, gens: map[string]publish.Generation{}}
	m := outputs.Metrics{
		Views:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "views"}, []string{"format", "cache"}),
		Loads:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loads"}, []string{"outcome"}),
		Renders:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "renders"}, []string{"format"}),
		CacheBytes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "cache_bytes"}),
		StorageUp:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "storage_up"}),
	}
	b := &testBundle{store: st, metrics: m, now: now, clock: now}
	b.cache = outputs.New(outputs.Deps{Calendars: st, Store: st, Metrics: m, Config: cfg, Now: func() time.Time {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.clock
	}})
	return b
}

func TestServeErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, outputs.Config{})
	b.store.publish(t, "keene", 3, b.now)
	b.store.hubs["quiet"] = hub.Hub{ID: "quiet", TZ: "UTC"}
	tests := []struct {
		name string
		req  outputs.Request
		want error
	}{
		{name: "NoSuchFormat", req: outputs.Request{Hub: "keene", Format: "pdf"}, want: outputs.ErrNoSuchFormat},
		{name: "InvalidHubID", req: outputs.Request{Hub: "Not A Hub", Format: "ics"}, want: outputs.ErrNoSuchHub},
		{name: "NoSuchHub", req: outputs.Request{Hub: "nowhere", Format: "ics"}, want: outputs.ErrNoSuchHub},
		{name: "NotPublished", req: outputs.Request{Hub: "quiet", Format: "ics"}, want: outputs.ErrNotPublished},
		{name: "NoSuchEvent", req: outputs.Request{Hub: "keene", Format: "json", Query: url.Values{"uid": {"gone@elmcity"}}}, want: outputs.ErrNoSuchEvent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := b.cache.Serve(context.Background(), tt.req); !errors.Is(err, tt.want) {
				t.Errorf("Serve(%+v) = %v, want %v", tt.req, err, tt.want)
			}
		})
	}
}

func TestServeQueryErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, outputs.Config{})
	b.store.publish(t, "keene", 3, b.now)
	tests := []struct {
		name, format string
		query        url.Values
		wantParam    string
	}{
		{name: "BadFrom", format: "ics", query: url.Values{"from": {"yesterday"}}, wantParam: "from"},
		{name: "BadLayout", format: "html", query: url.Values{"layout": {"wide"}}, wantParam: "layout"},
		{name: "CountOverLimit", format: "json", query: url.Values{"count": {"100000"}}, wantParam: "count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := b.cache.Serve(context.Background(), outputs.Request{Hub: "keene", Format: tt.format, Query: tt.query})
			var fe *render.FilterError
			if !errors.As(err, &fe) || fe.Param != tt.wantParam {
				t.Errorf("Serve(%s?%s) = %v, want a *render.FilterError for %s", tt.format, tt.query.Encode(), err, tt.wantParam)
			}
		})
	}
}

func TestServeCachesAndCompresses(t *testing.T) {
	t.Parallel()
	b := setup(t, outputs.Config{PublicURL: "https://cal.example.org/"})
	b.store.publish(t, "keene", 50, b.now)
	req := outputs.Request{Hub: "keene", Format: "ics"}
	first, err := b.cache.Serve(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	second, err := b.cache.Serve(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if first.Rendered != second.Rendered {
		t.Error("Serve twice rendered twice, want the second from the cache")
	}
	if got := testutil.ToFloat64(b.metrics.Views.WithLabelValues("ics", "hit")); got != 1 {
		t.Errorf("views{ics,hit} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(b.metrics.Renders.WithLabelValues("ics")); got != 1 {
		t.Errorf("renders{ics} = %v, want 1", got)
	}
	if first.Filename != "keene.ics" || first.MaxAge != outputs.DefaultMaxAge || first.ContentType() != "text/calendar; charset=utf-8" {
		t.Errorf("Serve() = filename %q, max-age %v, type %q", first.Filename, first.MaxAge, first.ContentType())
	}
	plain, plainTag, gz := first.Encoded("")
	zipped, zipTag, gz2 := first.Encoded("br, gzip;q=0.5")
	if gz || !gz2 || len(zipped) >= len(plain) || plainTag == zipTag {
		t.Errorf("Encoded: plain %d bytes %s (gzip %v), gzipped %d bytes %s (gzip %v)", len(plain), plainTag, gz, len(zipped), zipTag, gz2)
	}
	if _, _, gz := first.Encoded("gzip;q=0"); gz {
		t.Error(`Encoded("gzip;q=0") gzipped, want plain`)
	}
}

func TestServeAboutUsesRunHeader(t *testing.T) {
	t.Parallel()
	b := setup(t, outputs.Config{})
	b.store.publish(t, "keene", 4, b.now)
	cal, err := b.cache.Calendar(context.Background(), "keene")
	if err != nil {
		t.Fatal(err)
	}
	want := []render.Feed{{ID: "f1", Source: "Library", FeedURL: render.PublicFeedURL("https://user:pw@lib.example.org/cal.ics"), Status: "ok", Events: 4}}
	if diff := cmp.Diff(want, cal.Feeds); diff != "" {
		t.Errorf("Calendar().Feeds mismatch (-want +got):\n%s", diff)
	}
}

// TestCacheBudgetHoldsCalendars checks that decoded calendars count
// against CacheBytes: with room for about one, loading a second hub's
// evicts the first, and the gauge never passes the budget.
func TestCacheBudgetHoldsCalendars(t *testing.T) {
	t.Parallel()
	probe := setup(t, outputs.Config{})
	probe.store.publish(t, "keene", 400, probe.now)
	if _, err := probe.cache.Calendar(context.Background(), "keene"); err != nil {
		t.Fatal(err)
	}
	one := testutil.ToFloat64(probe.metrics.CacheBytes)
	if one <= 0 {
		t.Fatalf("cache bytes after one calendar = %v, want > 0", one)
	}

	budget := int64(one * 1.5)
	b := setup(t, outputs.Config{CacheBytes: budget})
	for _, id := range []string{"keene", "nelson", "keene"} {
		b.store.publish(t, id, 400, b.now)
	}
	for _, id := range []string{"keene", "nelson", "keene"} {
		if _, err := b.cache.Calendar(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		if got := testutil.ToFloat64(b.metrics.CacheBytes); got > float64(budget) {
			t.Errorf("cache bytes after %s = %v, want at most the budget %d", id, got, budget)
		}
	}
	// keene was evicted for nelson, so asking again loaded it again.
	if got := testutil.ToFloat64(b.metrics.Loads.WithLabelValues("ok")); got != 3 {
		t.Errorf(`loads{ok} = %v, want 3 (keene, nelson, keene again)`, got)
	}
}

func TestCalendarServesKnownDuringOutage(t *testing.T) {
	t.Parallel()
	b := setup(t, outputs.Config{CheckEvery: time.Second, CheckWait: time.Minute})
	if b.cache.Ready() {
		t.Error("Ready() before any calendar = true, want false")
	}
	b.store.publish(t, "keene", 3, b.now)
	want, err := b.cache.Calendar(context.Background(), "keene")
	if err != nil {
		t.Fatal(err)
	}
	b.store.mu.Lock()
	b.store.down = true
	b.store.mu.Unlock()
	b.advance(2 * time.Second) // a check is due
	got, err := b.cache.Calendar(context.Background(), "keene")
	if err != nil || got != want {
		t.Errorf("Calendar() during an outage = %p, %v; want the known calendar %p", got, err, want)
	}
	if !b.cache.Ready() {
		t.Error("Ready() with a calendar held = false, want true")
	}
	if up := testutil.ToFloat64(b.metrics.StorageUp); up != 0 {
		t.Errorf("storage up during an outage = %v, want 0", up)
	}
}

func TestHomeAndEmbed(t *testing.T) {
	t.Parallel()
	b := setup(t, outputs.Config{})
	b.store.publish(t, "keene", 3, b.now)
	home, err := b.cache.Home(context.Background(), "kee", "")
	if err != nil {
		t.Fatal(err)
	}
	if body, _, _ := home.Encoded(""); !strings.Contains(string(body), "KEENE") || home.MaxAge != outputs.HomeTTL {
		t.Errorf("Home() = max-age %v, body without the hub:\n%.500s", home.MaxAge, body)
	}
	embed, err := b.cache.Embed(context.Background(), "keene")
	if err != nil || !embed.Modified.Equal(b.now) || !strings.HasPrefix(embed.ContentType(), "text/javascript") {
		t.Errorf("Embed() = %+v, %v; want the script, modified at the publish time", embed, err)
	}
	if _, err := b.cache.Embed(context.Background(), "nowhere"); !errors.Is(err, outputs.ErrNoSuchHub) {
		t.Errorf("Embed(nowhere) = %v, want ErrNoSuchHub", err)
	}
}

// TestCloseStopsBackgroundLoads checks that Close cancels a load that
// outlives the request that started it, and waits for it.
func TestCloseStopsBackgroundLoads(t *testing.T) {
	t.Parallel()
	b := setup(t, outputs.Config{})
	b.store.publish(t, "keene", 1, b.now)
	started := make(chan struct{}, 1)
	b.store.mu.Lock()
	b.store.blocked = started
	b.store.mu.Unlock()

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := b.cache.Calendar(ctx, "keene")
		errc <- err
	}()
	waitOrTimeout(t, started)
	cancel() // the request gives up; its load goes on
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Calendar() after its request was cancelled = %v, want context.Canceled", err)
	}
	closed := make(chan struct{})
	go func() {
		b.cache.Close()
		close(closed)
	}()
	waitOrTimeout(t, closed)
	if _, err := b.cache.Calendar(context.Background(), "nelson"); !errors.Is(err, outputs.ErrClosed) {
		t.Errorf("Calendar() after Close = %v, want ErrClosed", err)
	}
}

// waitOrTimeout waits for ch, failing the test after 10 seconds.
func waitOrTimeout[T any](t testing.TB, ch <-chan T) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting")
	}
}
