package aggregate_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/azstorage/storagetest"
	"github.com/elmcity/elmcity/shared/fetch"
	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/shared/tablestore"
	"github.com/elmcity/elmcity/workerrole/internal/aggregate"
)

// feedServer serves an ICS body with an ETag, answering 304 to a matching
// If-None-Match, or fails with status when set.
type feedServer struct {
	mu       sync.Mutex
	body     []byte
	status   int
	requests atomic.Int32
	srv      *httptest.Server
}

func newFeedServer(t *testing.T, file string) *feedServer {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	f := &feedServer{body: b}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.status != 0 {
			w.WriteHeader(f.status)
			return
		}
		etag := `"` + calendarHash(f.body) + `"`
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "text/calendar")
		_, _ = w.Write(f.body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func calendarHash(b []byte) string { return fetch.ContentHash(b)[:16] }

func (f *feedServer) fail(status int) { f.mu.Lock(); f.status = status; f.mu.Unlock() }

type testBundle struct {
	store *tablestore.Store
	pub   *publish.Store
	job   *aggregate.Job
	now   time.Time
}

func setup(t *testing.T) testBundle {
	t.Helper()
	ctx := context.Background()
	acct := storagetest.Account(t)
	st, err := tablestore.Open(ctx, acct, tablestore.Config{HubsTable: storagetest.Table(t, acct, "hubs"), FeedsTable: storagetest.Table(t, acct, "feeds")})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := publish.Open(ctx, acct, publish.Config{Table: storagetest.Table(t, acct, "cals")})
	if err != nil {
		t.Fatal(err)
	}
	f, err := fetch.New(fetch.Config{AllowPrivate: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.CloseIdleConnections)
	now := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	b := testBundle{store: st, pub: pub, now: now}
	b.job = aggregate.New(st, f, pub, aggregate.Config{
		Instance: "test", Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now },
	})
	return b
}

func (b testBundle) load(t *testing.T, hubID string) (aggregate.Header, []hubcal.Event) {
	t.Helper()
	g, err := b.pub.Load(context.Background(), hubID)
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	var h aggregate.Header
	evs, err := hubcal.DecodePayload(g.Payload, &h)
	if err != nil {
		t.Fatalf("Decode() = %v", err)
	}
	return h, evs
}

func titles(evs []hubcal.Event) map[string]int {
	m := map[string]int{}
	for _, e := range evs {
		m[e.Title]++
	}
	return m
}

func feedStat(h aggregate.Header, id string) aggregate.FeedStats {
	for _, f := range h.Feeds {
		if f.Feed == id {
			return f
		}
	}
	return aggregate.FeedStats{}
}

func TestAggregateHub(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	lib := newFeedServer(t, "testdata/library.ics")
	thr := newFeedServer(t, "testdata/theatre.ics")
	down := newFeedServer(t, "testdata/library.ics")
	down.fail(http.StatusServiceUnavailable)

	if _, err := b.store.CreateHub(ctx, hub.Hub{ID: "keene", Title: "Keene", TZ: "America/New_York", HorizonDays: 60}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range []hub.Feed{
		{FeedURL: lib.srv.URL + "/lib.ics", Source: "Library", Approved: true},
		{FeedURL: thr.srv.URL + "/thr.ics", Source: "Colonial Theatre", Approved: true},
		{FeedURL: down.srv.URL + "/down.ics", Source: "Broken", Approved: true},
		{FeedURL: "http://127.0.0.1:1/never.ics", Source: "Unapproved"},
	} {
		got, err := b.store.CreateFeed(ctx, "keene", f)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got.ID)
	}

	// First run: the broken feed fails, the others merge.
	if err := b.job.Handle(ctx, queue.Job{Hub: "keene", ID: "j1"}); err != nil {
		t.Fatalf("Handle() = %v", err)
	}
	h, evs := b.load(t, "keene")
	want := map[string]int{"Story Time": 4, "The Nutcracker": 1}
	got := titles(evs)
	if got["Story Time"] != 4 || got["The Nutcracker"] != 1 || len(evs) != 6 {
		t.Errorf("events = %v (%d), want %v plus one merged jazz night", got, len(evs), want)
	}
	var jazz hubcal.Event
	for _, e := range evs {
		if len(e.Sources) == 2 {
			jazz = e
		}
	}
	if jazz.Start.UTC() != time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC) {
		t.Errorf("merged jazz night = %+v, want one event at 19:00 Eastern from both feeds", jazz)
	}
	if h.FeedsOK != 2 || h.FeedsBad != 1 {
		t.Errorf("header = %+v, want 2 ok and 1 failed", h)
	}
	if st := feedStat(h, ids[2]); st.Status != "failed" || st.ErrorClass != "http_5xx" || st.HTTPStatus != 503 {
		t.Errorf("broken feed stats = %+v", st)
	}
	if st := feedStat(h, ids[1]); st.Zones["windows"] != 1 || st.ProdID != "Microsoft Exchange Server 2010" {
		t.Errorf("theatre stats = %+v, want the Windows zone counted", st)
	}
	if feedStat(h, ids[3]).Feed != "" {
		t.Error("an unapproved feed was aggregated")
	}

	// Second run: the library answers 304 and then goes down; its events
	// are carried both times, with the same UIDs.
	if err := b.job.Handle(ctx, queue.Job{Hub: "keene", ID: "j2"}); err != nil {
		t.Fatal(err)
	}
	h2, evs2 := b.load(t, "keene")
	if st := feedStat(h2, ids[0]); st.Status != "not_modified" || st.Occurrences != 5 {
		t.Errorf("library stats on the second run = %+v, want not_modified with 5 occurrences", st)
	}
	lib.fail(http.StatusInternalServerError)
	if err := b.job.Handle(ctx, queue.Job{Hub: "keene", ID: "j3"}); err != nil {
		t.Fatal(err)
	}
	_, evs3 := b.load(t, "keene")
	uids := func(evs []hubcal.Event) map[string]bool {
		m := map[string]bool{}
		for _, e := range evs {
			m[e.UID] = true
		}
		return m
	}
	if len(evs2) != len(evs) || len(evs3) != len(evs) {
		t.Errorf("event counts %d, %d, %d: want the same calendar while a feed is unchanged or down", len(evs), len(evs2), len(evs3))
	}
	for uid := range uids(evs) {
		if !uids(evs3)[uid] {
			t.Errorf("UID %s churned", uid)
		}
	}
}

func TestAggregateCoalescesAndRefusesUnknownHubs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	if err := b.job.Handle(ctx, queue.Job{Hub: "nope"}); !queue.IsPermanent(err) {
		t.Errorf("Handle(unknown hub) = %v, want a permanent error", err)
	}
	if _, err := b.store.CreateHub(ctx, hub.Hub{ID: "empty", Title: "Empty"}); err != nil {
		t.Fatal(err)
	}
	if err := b.job.Handle(ctx, queue.Job{Hub: "empty", EnqueuedAt: b.now}); err != nil {
		t.Fatal(err)
	}
	first, err := b.pub.Current(ctx, "empty")
	if err != nil {
		t.Fatal(err)
	}
	// A request enqueued before that run started is already covered.
	if err := b.job.Handle(ctx, queue.Job{Hub: "empty", EnqueuedAt: b.now.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if again, _ := b.pub.Current(ctx, "empty"); again.ID != first.ID {
		t.Errorf("a covered request published again: %s then %s", first.ID, again.ID)
	}
	// Another run holding the hub's lease: a request made before it took
	// the hub is covered by it; a later one waits, and is no failure.
	if _, err := b.store.AcquireLease(ctx, aggregate.LeaseName("empty"), "other-worker/job/1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := b.job.Handle(ctx, queue.Job{Hub: "empty", EnqueuedAt: time.Now().Add(-time.Hour)}); err != nil {
		t.Errorf("Handle(request covered by the run in progress) = %v, want nil", err)
	}
	err = b.job.Handle(ctx, queue.Job{Hub: "empty", EnqueuedAt: time.Now().Add(time.Hour)})
	if delay, ok := queue.SnoozeDelay(err); !ok || delay <= 0 || delay > time.Minute {
		t.Errorf("Handle(hub leased elsewhere) = %v, want a snooze of at most the lease's ttl", err)
	}
}

func TestScheduledJobForFreshHubIsANoOp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	if _, err := b.store.CreateHub(ctx, hub.Hub{ID: "fresh", Title: "Fresh"}); err != nil {
		t.Fatal(err)
	}
	if err := b.job.Handle(ctx, queue.Job{Hub: "fresh", EnqueuedAt: b.now}); err != nil {
		t.Fatal(err)
	}
	first, _ := b.pub.Current(ctx, "fresh")
	// Enqueued after that run started, but by the scheduler, which only
	// wants stale hubs.
	if err := b.job.Handle(ctx, queue.Job{Hub: "fresh", EnqueuedAt: b.now.Add(time.Second), RequestedBy: aggregate.ScheduledBy}); err != nil {
		t.Fatal(err)
	}
	if again, _ := b.pub.Current(ctx, "fresh"); again.ID != first.ID {
		t.Errorf("a scheduled job for a fresh hub published again")
	}
}

// TestFeedCredentialsStayOutOfLogs checks that a failing feed whose URL
// carries a token is logged, and its error recorded, without the token.
func TestFeedCredentialsStayOutOfLogs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	var logs bytes.Buffer
	var mu sync.Mutex
	f, err := fetch.New(fetch.Config{AllowPrivate: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.CloseIdleConnections)
	job := aggregate.New(b.store, f, b.pub, aggregate.Config{
		Instance: "test", Now: func() time.Time { return b.now },
		Logger: slog.New(slog.NewJSONHandler(writerFunc(func(p []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			return logs.Write(p)
		}), nil)),
	})
	down := newFeedServer(t, "testdata/library.ics")
	down.fail(http.StatusForbidden)
	if _, err := b.store.CreateHub(ctx, hub.Hub{ID: "secret", Title: "Secret", TZ: "America/New_York", HorizonDays: 60}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.CreateFeed(ctx, "secret", hub.Feed{FeedURL: down.srv.URL + "/cal.ics?token=s3cret", Source: "Tokened", Approved: true}); err != nil {
		t.Fatal(err)
	}
	if err := job.Handle(ctx, queue.Job{Hub: "secret"}); err != nil {
		t.Fatal(err)
	}
	h, _ := b.load(t, "secret")
	if len(h.Feeds) != 1 || h.Feeds[0].Status != "failed" || strings.Contains(h.Feeds[0].Error, "s3cret") {
		t.Errorf("feed stats = %+v, want a failure whose error hides the token", h.Feeds)
	}
	mu.Lock()
	defer mu.Unlock()
	if s := logs.String(); strings.Contains(s, "s3cret") || !strings.Contains(s, "token=REDACTED") {
		t.Errorf("logs reveal the token or do not name the feed:\n%s", s)
	}
}

// writerFunc is an io.Writer from a function.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// leaseCounter is the hub store, counting the hub leases taken.
type leaseCounter struct {
	*tablestore.Store
	taken atomic.Int32
}

func (l *leaseCounter) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (tablestore.Lease, error) {
	l.taken.Add(1)
	return l.Store.AcquireLease(ctx, name, holder, ttl)
}

// TestSkippedJobTakesNoLease checks that a job with nothing to do decides
// so before it takes the hub: a run that holds the hub covers the requests
// made before it took it, so a holder that then skipped would drop them
// (a curator's refresh, lost behind a stale scheduled job).
func TestSkippedJobTakesNoLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	if _, err := b.store.CreateHub(ctx, hub.Hub{ID: "quiet", Title: "Quiet"}); err != nil {
		t.Fatal(err)
	}
	if err := b.job.Handle(ctx, queue.Job{Hub: "quiet", EnqueuedAt: b.now}); err != nil {
		t.Fatal(err)
	}
	f, err := fetch.New(fetch.Config{AllowPrivate: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	counted := &leaseCounter{Store: b.store}
	job := aggregate.New(counted, f, b.pub, aggregate.Config{
		Instance: "test", Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return b.now },
	})
	for _, j := range []queue.Job{
		{Hub: "quiet", ID: "stale", EnqueuedAt: b.now.Add(-time.Minute)},
		{Hub: "quiet", ID: "scheduled", EnqueuedAt: b.now.Add(time.Minute), RequestedBy: aggregate.ScheduledBy},
	} {
		if err := job.Handle(ctx, j); err != nil {
			t.Fatalf("Handle(%s) = %v", j.ID, err)
		}
	}
	if n := counted.taken.Load(); n != 0 {
		t.Errorf("two jobs with nothing to do took the hub's lease %d times, want never", n)
	}
	if err := job.Handle(ctx, queue.Job{Hub: "quiet", ID: "refresh", EnqueuedAt: b.now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if n := counted.taken.Load(); n != 1 {
		t.Errorf("a refresh took the hub's lease %d times, want once", n)
	}
}
