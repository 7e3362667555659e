package aggregate_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/fetch"
	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/shared/tablestore"
	"github.com/elmcity/elmcity/workerrole/internal/aggregate"
)

// TestJobProgress checks that the worker records the progress of a job
// the API recorded: published with its figures, or failed with why; and
// writes nothing for a job the API did not record.
func TestJobProgress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	f, err := fetch.New(fetch.Config{AllowPrivate: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	job := aggregate.New(b.store, f, b.pub, aggregate.Config{Instance: "test", Logger: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return b.now }, Jobs: b.store})
	lib := newFeedServer(t, "testdata/library.ics")
	if _, err := b.store.CreateHub(ctx, hub.Hub{ID: "keene", Title: "Keene", TZ: "America/New_York"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.CreateFeed(ctx, "keene", hub.Feed{FeedURL: lib.srv.URL + "/lib.ics", Source: "Library", Approved: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.CreateFeed(ctx, "keene", hub.Feed{FeedURL: lib.srv.URL + "/missing.ics", Source: "Gone", Approved: true}); err != nil {
		t.Fatal(err)
	}
	queued := tablestore.JobStatus{Hub: "keene", JobID: "job-1", State: tablestore.JobQueued, RequestedBy: "curator:x", EnqueuedAt: b.now.Add(-time.Minute)}
	if err := b.store.CreateJob(ctx, queued); err != nil {
		t.Fatal(err)
	}
	if err := job.Handle(ctx, queue.Job{ID: "job-1", Kind: queue.KindAggregate, Hub: "keene", RequestedBy: "curator:x", EnqueuedAt: queued.EnqueuedAt}); err != nil {
		t.Fatalf("Handle() = %v", err)
	}
	got, err := b.store.GetJob(ctx, "keene", "job-1")
	if err != nil || got.State != tablestore.JobPublished || got.FeedsTotal != 2 || got.Events == 0 || got.StartedAt.IsZero() || got.FinishedAt.IsZero() ||
		!strings.HasPrefix(got.Message, "published ") || got.RequestedBy != "curator:x" {
		t.Errorf("job after Handle = %+v, %v", got, err)
	}

	// A job for a hub that is gone fails, and says so.
	if err := b.store.CreateJob(ctx, tablestore.JobStatus{Hub: "keene", JobID: "job-2", State: tablestore.JobQueued, EnqueuedAt: b.now}); err != nil {
		t.Fatal(err)
	}
	if err := job.Handle(ctx, queue.Job{ID: "job-2", Kind: queue.KindAggregate, Hub: "nosuch"}); err == nil {
		t.Fatal("Handle(no such hub) = nil")
	}
	// Its record is under its own hub; the hub keene's job-2 is untouched,
	// and nothing was created for the unknown hub.
	if _, err := b.store.GetJob(ctx, "nosuch", "job-2"); err == nil {
		t.Errorf("the worker created a job record")
	}

	// The scheduler's jobs leave no record.
	if err := job.Handle(ctx, queue.Job{ID: "sched-1", Kind: queue.KindAggregate, Hub: "keene", RequestedBy: aggregate.ScheduledBy, EnqueuedAt: b.now}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.GetJob(ctx, "keene", "sched-1"); err == nil {
		t.Errorf("a scheduler job got a record")
	}
}

// TestJobProgressFailure checks a failed run's record says why.
func TestJobProgressFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	if _, err := b.store.CreateHub(ctx, hub.Hub{ID: "keene", Title: "Keene", TZ: "America/New_York"}); err != nil {
		t.Fatal(err)
	}
	f, err := fetch.New(fetch.Config{AllowPrivate: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	job := aggregate.New(b.store, f, failingPub{b.pub}, aggregate.Config{Instance: "test", Logger: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return b.now }, Jobs: b.store})
	if err := b.store.CreateJob(ctx, tablestore.JobStatus{Hub: "keene", JobID: "job-f", State: tablestore.JobQueued, EnqueuedAt: b.now}); err != nil {
		t.Fatal(err)
	}
	if err := job.Handle(ctx, queue.Job{ID: "job-f", Kind: queue.KindAggregate, Hub: "keene", EnqueuedAt: b.now}); err == nil {
		t.Fatal("Handle() = nil, want the publish failure")
	}
	got, err := b.store.GetJob(ctx, "keene", "job-f")
	if err != nil || got.State != tablestore.JobFailed || !strings.Contains(got.Message, "storage is down") || !strings.Contains(got.Message, "will be tried again") {
		t.Errorf("failed job = %+v, %v", got, err)
	}

	// On its last try (the queue parks it after this), the status says so.
	last := aggregate.New(b.store, f, failingPub{b.pub}, aggregate.Config{Instance: "test", Logger: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return b.now }, Jobs: b.store, MaxAttempts: 3})
	if err := last.Handle(ctx, queue.Job{ID: "job-f", Kind: queue.KindAggregate, Hub: "keene", EnqueuedAt: b.now, Attempt: 2}); err == nil {
		t.Fatal("Handle() = nil, want the publish failure")
	}
	if got, err := b.store.GetJob(ctx, "keene", "job-f"); err != nil || !strings.Contains(got.Message, "last try") {
		t.Errorf("job failed on its last try = %+v, %v; want it said to be set aside", got, err)
	}
}

// failingPub is a publisher whose writes fail.
type failingPub struct{ *publish.Store }

func (failingPub) Publish(context.Context, publish.Generation) (publish.Generation, error) {
	return publish.Generation{}, errors.New("storage is down")
}
