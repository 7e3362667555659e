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
		if r.Level != slog.LevelWarn || r.Msg != "feed failed" || r.Attrs["source"] != "Museum" {
			continue
		}
		found = true
		// What curators read in the hub's table log.
		said := aggregate.Sentences()["feed failed"](r.Attrs)
		if said != "feed Museum failed (http_4xx); it has no earlier events to serve" || !strings.Contains(r.Attrs["detail"], "403") {
			t.Errorf("warning says %q with detail %q, want no claim of last good events and the error in the detail", said, r.Attrs["detail"])
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
		if strings.HasPrefix(r.Msg, "feed ") || r.Attrs["source"] != "" {
			t.Errorf("a cancelled run logged %q", r.Msg)
		}
	}
}

// TestSentences checks what curators read in the hub's table log for each
// of the job's records, from the attributes the job logs.
func TestSentences(t *testing.T) {
	t.Parallel()
	s := aggregate.Sentences()
	tests := []struct {
		name  string
		msg   string
		attrs map[string]string
		want  string
	}{
		{name: "FeedFailedCarried", msg: "feed failed", attrs: map[string]string{"source": "Library", "error_class": "http_4xx", "carried": "12"},
			want: "feed Library failed (http_4xx); serving its last 12 good events"},
		{name: "FeedFailedNothingToServe", msg: "feed failed", attrs: map[string]string{"source": "Museum", "error_class": "dns", "carried": "0"},
			want: "feed Museum failed (dns); it has no earlier events to serve"},
		{name: "FeedUnusable", msg: "feed failed", attrs: map[string]string{"source": "Library", "error_class": "parse", "carried": "3"},
			want: "feed Library is not a usable calendar; serving its last 3 good events"},
		{name: "FeedParseTimeout", msg: "feed failed", attrs: map[string]string{"source": "Library", "error_class": aggregate.ClassParseTimeout, "carried": "0"},
			want: "feed Library took too long to parse; it has no earlier events to serve"},
		{name: "FeedDropped", msg: "feed dropped", attrs: map[string]string{"source": "Library", "flag": "dropped to zero", "listed_before": "9", "listed": "0"},
			want: "feed Library dropped to zero (9 to 0 occurrences)"},
		{name: "MembersLeftOut", msg: "region members left out", attrs: map[string]string{"left_out": "3", "max_members": "50"},
			want: "region lists 3 more member hubs than the 50 merged; the rest are left out"},
		{name: "MemberFailed", msg: "member hub failed", attrs: map[string]string{"member": "keene", "error": "never published"},
			want: "member hub keene: never published"},
		{name: "MemberDropped", msg: "member hub dropped", attrs: map[string]string{"member": "x", "flag": "dropped by more than half", "listed_before": "120", "listed": "40"},
			want: "member hub x dropped by more than half (120 to 40 events)"},
		{name: "Capped", msg: "calendar capped", attrs: map[string]string{"max_events": "100000", "cut": "7"},
			want: "calendar capped at 100000 events; the 7 latest were left out"},
		{name: "Published", msg: "calendar published", attrs: map[string]string{"events": "40", "cancelled": "0", "feeds_ok": "3", "feeds_total": "4"},
			want: "published 40 events from 3 of 4 feeds"},
		{name: "PublishedWithCancelled", msg: "calendar published", attrs: map[string]string{"events": "40", "cancelled": "2", "feeds_ok": "4", "feeds_total": "4"},
			want: "published 40 events (2 cancelled) from 4 of 4 feeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, ok := s[tt.msg]
			if !ok {
				t.Fatalf("Sentences() has no sentence for %q", tt.msg)
			}
			if got := f(tt.attrs); got != tt.want {
				t.Errorf("sentence of %q = %q, want %q", tt.msg, got, tt.want)
			}
		})
	}
}
