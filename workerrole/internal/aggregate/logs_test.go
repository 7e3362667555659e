package aggregate_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/fetch"
	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/logtest"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/workerrole/internal/aggregate"
)

// recordingJob is b's job logging into a Recorder.
func recordingJob(t *testing.T, b testBundle) (*aggregate.Job, *logtest.Recorder) {
	t.Helper()
	f, err := fetch.New(fetch.Config{AllowPrivate: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.CloseIdleConnections)
	rec := &logtest.Recorder{}
	return aggregate.New(b.store, f, b.pub, aggregate.Config{
		Instance: "test", Logger: slog.New(rec), Now: func() time.Time { return b.now },
	}), rec
}

// TestNewFeedFailureSaysWhatHappened checks the warning of a feed that
// fails on its first run: it has nothing to serve, says so, and carries
// its error in the detail curators read.
func TestNewFeedFailureSaysWhatHappened(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	down := newFeedServer(t, "testdata/library.ics")
	down.fail(http.StatusForbidden)
	if _, err := b.store.CreateHub(ctx, hub.Hub{ID: "new", Title: "New", TZ: "America/New_York", HorizonDays: 60}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.CreateFeed(ctx, "new", hub.Feed{FeedURL: down.srv.URL + "/cal.ics", Source: "Museum", Approved: true}); err != nil {
		t.Fatal(err)
	}
	job, rec := recordingJob(t, b)
	if err := job.Handle(ctx, queue.Job{Hub: "new"}); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, r := range rec.Records() {
		if r.Level != slog.LevelWarn || !strings.HasPrefix(r.Msg, "feed Museum failed") {
			continue
		}
		found = true
		if r.Msg != "feed Museum failed (http_4xx); it has no earlier events to serve" || !strings.Contains(r.Attrs["detail"], "403") {
			t.Errorf("warning = %q with detail %q, want no claim of last good events and the error in the detail", r.Msg, r.Attrs["detail"])
		}
	}
	if !found {
		t.Errorf("no warning for the failed feed: %+v", rec.Records())
	}
}

// TestCancelledRunBlamesNoFeed checks that a run cancelled while feeds are
// being fetched logs no feed as failed: the cancellation is not theirs.
func TestCancelledRunBlamesNoFeed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	arrived := make(chan struct{}, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done() // a feed that never answers
	}))
	t.Cleanup(srv.Close)
	if _, err := b.store.CreateHub(context.Background(), hub.Hub{ID: "stopped", Title: "Stopped", TZ: "America/New_York", HorizonDays: 60}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b", "c"} {
		if _, err := b.store.CreateFeed(context.Background(), "stopped", hub.Feed{FeedURL: srv.URL + "/" + name + ".ics", Source: name, Approved: true}); err != nil {
			t.Fatal(err)
		}
	}
	job, rec := recordingJob(t, b)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- job.Handle(ctx, queue.Job{Hub: "stopped"}) }()
	for range 3 {
		select {
		case <-arrived:
		case <-time.After(20 * time.Second):
			t.Fatal("the feeds were never fetched")
		}
	}
	cancel()
	if err := <-done; err == nil {
		t.Error("Handle() of a cancelled run = nil, want its error")
	}
	for _, r := range rec.Records() {
		if strings.HasPrefix(r.Msg, "feed ") {
			t.Errorf("a cancelled run logged %q", r.Msg)
		}
	}
}
