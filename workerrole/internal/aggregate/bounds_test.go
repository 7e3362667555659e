package aggregate_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/fetch"
	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/shared/tablestore"
	"github.com/elmcity/elmcity/workerrole/internal/aggregate"
)

// newJob builds a job over b's stores with cfg (Instance, Logger and Now
// filled in) and pub in place of b.pub when set.
func newJob(t *testing.T, b testBundle, pub *countingPublisher, cfg aggregate.Config) *aggregate.Job {
	t.Helper()
	f, err := fetch.New(fetch.Config{AllowPrivate: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.CloseIdleConnections)
	cfg.Instance, cfg.Logger, cfg.Now = "test", slog.New(slog.DiscardHandler), func() time.Time { return b.now }
	if pub != nil {
		return aggregate.New(b.store, f, pub, cfg)
	}
	return aggregate.New(b.store, f, b.pub, cfg)
}

// countingPublisher counts the payloads a job loads.
type countingPublisher struct {
	*publish.Store
	loads atomic.Int32
}

func (p *countingPublisher) Load(ctx context.Context, hubID string) (publish.Generation, error) {
	p.loads.Add(1)
	return p.Store.Load(ctx, hubID)
}

// TestSkipReadsNoPayload checks that a job a later run already covered,
// and a scheduled job for a fresh hub, are dropped on the generation
// pointer alone: a burst of requests must not decode the hub's calendar
// once each.
func TestSkipReadsNoPayload(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	lib := newFeedServer(t, "testdata/library.ics")
	if _, err := b.store.CreateHub(ctx, hub.Hub{ID: "busy", Title: "Busy", TZ: "America/New_York", HorizonDays: 60}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.CreateFeed(ctx, "busy", hub.Feed{FeedURL: lib.srv.URL + "/lib.ics", Source: "Library", Approved: true}); err != nil {
		t.Fatal(err)
	}
	if err := b.job.Handle(ctx, queue.Job{Hub: "busy", EnqueuedAt: b.now}); err != nil {
		t.Fatal(err)
	}
	pub := &countingPublisher{Store: b.pub}
	job := newJob(t, b, pub, aggregate.Config{})
	for i := range 20 {
		covered := queue.Job{Hub: "busy", EnqueuedAt: b.now.Add(-time.Duration(i+1) * time.Second)}
		if err := job.Handle(ctx, covered); err != nil {
			t.Fatal(err)
		}
	}
	if err := job.Handle(ctx, queue.Job{Hub: "busy", EnqueuedAt: b.now.Add(time.Second), RequestedBy: aggregate.ScheduledBy}); err != nil {
		t.Fatal(err)
	}
	if n := pub.loads.Load(); n != 0 {
		t.Errorf("skipped jobs loaded the calendar %d times, want 0", n)
	}
	if n := lib.requests.Load(); n != 1 {
		t.Errorf("feed fetched %d times, want once (by the first run)", n)
	}
}

// TestParseTimeoutKeepsLastGoodEvents checks that a feed whose parse runs
// over Config.ParseTimeout is reported failed with its own error class
// and keeps its last good events.
func TestParseTimeoutKeepsLastGoodEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	lib := newFeedServer(t, "testdata/library.ics")
	if _, err := b.store.CreateHub(ctx, hub.Hub{ID: "slow", Title: "Slow", TZ: "America/New_York", HorizonDays: 60}); err != nil {
		t.Fatal(err)
	}
	feed, err := b.store.CreateFeed(ctx, "slow", hub.Feed{FeedURL: lib.srv.URL + "/lib.ics", Source: "Library", Approved: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.job.Handle(ctx, queue.Job{Hub: "slow"}); err != nil {
		t.Fatal(err)
	}
	_, before := b.load(t, "slow")
	// New bytes, so the feed is parsed again, under a deadline that has
	// always passed by the time the parser looks.
	lib.mu.Lock()
	lib.body = append(append([]byte(nil), lib.body...), "\r\n"...)
	lib.mu.Unlock()
	strict := newJob(t, b, nil, aggregate.Config{ParseTimeout: time.Nanosecond})
	if err := strict.Handle(ctx, queue.Job{Hub: "slow"}); err != nil {
		t.Fatalf("Handle() = %v, want the run to publish despite the slow feed", err)
	}
	h, after := b.load(t, "slow")
	st := feedStat(h, feed.ID)
	if st.Status != "failed" || st.ErrorClass != aggregate.ClassParseTimeout || st.Error == "" {
		t.Errorf("feed stats = %+v, want failed with class %q", st, aggregate.ClassParseTimeout)
	}
	if len(after) != len(before) || len(before) == 0 {
		t.Errorf("events after the timeout = %d, want the last good %d", len(after), len(before))
	}
}

// TestPublishCapKeepsEarliest checks Config.MaxHubEvents: the earliest
// events are published and the header counts what was cut.
func TestPublishCapKeepsEarliest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	lib := newFeedServer(t, "testdata/library.ics")
	if _, err := b.store.CreateHub(ctx, hub.Hub{ID: "capped", Title: "Capped", TZ: "America/New_York", HorizonDays: 60}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.CreateFeed(ctx, "capped", hub.Feed{FeedURL: lib.srv.URL + "/lib.ics", Source: "Library", Approved: true}); err != nil {
		t.Fatal(err)
	}
	job := newJob(t, b, nil, aggregate.Config{MaxHubEvents: 3})
	if err := job.Handle(ctx, queue.Job{Hub: "capped"}); err != nil {
		t.Fatal(err)
	}
	h, evs := b.load(t, "capped")
	if len(evs) != 3 || h.Events != 3 || h.Cut != 2 {
		t.Fatalf("published %d events (header %d, cut %d), want 3 with 2 cut", len(evs), h.Events, h.Cut)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Start.Before(evs[i-1].Start) {
			t.Errorf("events out of order: %v before %v", evs[i-1].Start, evs[i].Start)
		}
	}
	if last := evs[2].Start; !last.Before(time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("last kept event starts %v, want the earliest three (Dec 2, 5 and 9)", last)
	}
}

// TestOneRunPerHubOnOneWorker checks that the hub lease belongs to a run,
// not to the worker: while one job of a worker aggregates a hub, a second
// job of the same worker for that hub does not run; it is dropped when the
// run covers it and put back otherwise.
func TestOneRunPerHubOnOneWorker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	body, err := os.ReadFile("testdata/library.ics")
	if err != nil {
		t.Fatal(err)
	}
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(arrived); <-release })
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	if _, err := b.store.CreateHub(ctx, hub.Hub{ID: "twice", Title: "Twice", TZ: "America/New_York", HorizonDays: 60}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.CreateFeed(ctx, "twice", hub.Feed{FeedURL: srv.URL + "/lib.ics", Source: "Library", Approved: true}); err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() { first <- b.job.Handle(ctx, queue.Job{Hub: "twice", ID: "a", EnqueuedAt: time.Now()}) }()
	select {
	case <-arrived: // the first run holds the hub and is fetching
	case <-time.After(20 * time.Second):
		t.Fatal("the first run never fetched")
	}
	later := b.job.Handle(ctx, queue.Job{Hub: "twice", ID: "b", EnqueuedAt: time.Now().Add(time.Second)})
	if _, ok := queue.SnoozeDelay(later); !ok {
		t.Errorf("second job of the same worker = %v, want it put back while the first runs", later)
	}
	// The same job delivered again (its first worker presumed dead)
	// covers nothing: it waits for the lease.
	again := b.job.Handle(ctx, queue.Job{Hub: "twice", ID: "a", EnqueuedAt: time.Now().Add(-time.Hour)})
	if _, ok := queue.SnoozeDelay(again); !ok {
		t.Errorf("the running job delivered again = %v, want it put back, not dropped as covered", again)
	}
	covered := b.job.Handle(ctx, queue.Job{Hub: "twice", ID: "c", EnqueuedAt: time.Now().Add(-time.Hour)})
	if covered != nil {
		t.Errorf("job made before the run started = %v, want nil (covered)", covered)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first run = %v", err)
	}
	if _, err := b.pub.Current(ctx, "twice"); err != nil {
		t.Errorf("the first run did not publish: %v", err)
	}
}

// TestCuratorEditsReachCarriedEvents checks that a feed whose bytes did
// not change (304) still publishes with the feed's and hub's records as
// they are now: its source name, catmap and the hub's vocabulary. A
// change of the hub's zone, and a window that has moved past what was
// expanded, parse the feed again.
func TestCuratorEditsReachCarriedEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	lib := newFeedServer(t, "testdata/library.ics")
	h, err := b.store.CreateHub(ctx, hub.Hub{ID: "edits", Title: "Edits", TZ: "America/New_York", HorizonDays: 60})
	if err != nil {
		t.Fatal(err)
	}
	f, err := b.store.CreateFeed(ctx, "edits", hub.Feed{FeedURL: lib.srv.URL + "/lib.ics", Source: "Library", Approved: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.job.Handle(ctx, queue.Job{Hub: "edits"}); err != nil {
		t.Fatal(err)
	}
	f.Source, f.CatMap, f.URL = "Keene Public Library", map[string]string{"kids": "children"}, "https://library.example/"
	if _, err := b.store.UpdateFeed(ctx, "edits", f); err != nil {
		t.Fatal(err)
	}
	h.Vocabulary = []string{"music"}
	if _, err := b.store.UpdateHub(ctx, h); err != nil {
		t.Fatal(err)
	}
	if err := b.job.Handle(ctx, queue.Job{Hub: "edits"}); err != nil {
		t.Fatal(err)
	}
	head, evs := b.load(t, "edits")
	if st := feedStat(head, f.ID); st.Status != "not_modified" {
		t.Fatalf("feed status = %q, want not_modified (the edit alone must not refetch)", st.Status)
	}
	for _, e := range evs {
		if e.Sources[0].Name != "Keene Public Library" {
			t.Errorf("%s: source %q, want the renamed source", e.Title, e.Sources[0].Name)
		}
		if e.Title == "Story Time" && strings.Join(e.Tags, ",") != "{children}" {
			t.Errorf("story time tags = %v, want [{children}]: mapped by the new catmap, outside the new vocabulary", e.Tags)
		}
		if e.Title == "Jazz Night at the Colonial" && e.Sources[0].URL != "https://library.example/jazz" {
			t.Errorf("jazz night source URL = %q, want its own URL", e.Sources[0].URL)
		}
	}

	// Another zone: every feed is parsed again, whatever its bytes.
	h, err = b.store.GetHub(ctx, "edits")
	if err != nil {
		t.Fatal(err)
	}
	h.TZ = "America/Chicago"
	if _, err := b.store.UpdateHub(ctx, h); err != nil {
		t.Fatal(err)
	}
	if err := b.job.Handle(ctx, queue.Job{Hub: "edits"}); err != nil {
		t.Fatal(err)
	}
	if head, _ := b.load(t, "edits"); feedStat(head, f.ID).Status != "ok" {
		t.Errorf("after a zone change the feed is %q, want parsed again (ok)", feedStat(head, f.ID).Status)
	}
	// Eight days on, the window reaches past what was expanded.
	later8 := b
	later8.now = b.now.Add(8 * 24 * time.Hour)
	later := newJob(t, later8, nil, aggregate.Config{})
	if err := later.Handle(ctx, queue.Job{Hub: "edits"}); err != nil {
		t.Fatal(err)
	}
	if head, _ := b.load(t, "edits"); feedStat(head, f.ID).Status != "ok" {
		t.Errorf("with the window past the expanded days the feed is %q, want parsed again (ok)", feedStat(head, f.ID).Status)
	}
}

// TestStartedJobClearsItsPendingRecord checks the worker's half of "one
// pending job per hub": once its job starts (or is found covered by the
// run in progress), the hub's pending record is cleared, so the next
// request queues a job again.
func TestStartedJobClearsItsPendingRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	if _, err := b.store.CreateHub(ctx, hub.Hub{ID: "pend", Title: "Pending", TZ: "America/New_York"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"job1", "job2"} {
		if _, err := b.store.ClaimPendingJob(ctx, "pend", id); err != nil {
			t.Fatalf("ClaimPendingJob(%s) = %v, want the hub free", id, err)
		}
		if _, err := b.store.ClaimPendingJob(ctx, "pend", "other"); !errors.Is(err, tablestore.ErrJobPending) {
			t.Fatalf("ClaimPendingJob() while %s is pending = %v, want ErrJobPending", id, err)
		}
		if err := b.job.Handle(ctx, queue.Job{Hub: "pend", ID: id, EnqueuedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFailingSinceKeepsTheFirstFailure checks that a feed failing run
// after run says since when: the start of the first failed run, until it
// works again.
func TestFailingSinceKeepsTheFirstFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	feed := newFeedServer(t, "testdata/library.ics")
	if _, err := b.store.CreateHub(ctx, hub.Hub{ID: "flaky", Title: "Flaky", TZ: "America/New_York", HorizonDays: 60}); err != nil {
		t.Fatal(err)
	}
	f, err := b.store.CreateFeed(ctx, "flaky", hub.Feed{FeedURL: feed.srv.URL + "/f.ics", Source: "Flaky", Approved: true})
	if err != nil {
		t.Fatal(err)
	}
	run := func(at time.Time) aggregate.FeedStats {
		t.Helper()
		bt := b
		bt.now = at
		if err := newJob(t, bt, nil, aggregate.Config{}).Handle(ctx, queue.Job{Hub: "flaky"}); err != nil {
			t.Fatal(err)
		}
		h, _ := b.load(t, "flaky")
		return feedStat(h, f.ID)
	}
	feed.fail(http.StatusForbidden)
	first := run(b.now)
	second := run(b.now.Add(time.Hour))
	if !first.FailingSince.Equal(b.now) || !second.FailingSince.Equal(b.now) {
		t.Errorf("failing since %v, then %v; want both %v, the first failed run", first.FailingSince, second.FailingSince, b.now)
	}
	feed.fail(0)
	if ok := run(b.now.Add(2 * time.Hour)); ok.Status != "ok" || !ok.FailingSince.IsZero() {
		t.Errorf("after it works again: status %s, failing since %v; want ok and none", ok.Status, ok.FailingSince)
	}
}
