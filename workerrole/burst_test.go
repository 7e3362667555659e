package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/azstorage/storagetest"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/shared/roletest"
	"github.com/elmcity/elmcity/shared/tablelog"
)

// TestTwoWorkersBurst runs two workers on one queue and twenty hubs, sends
// a burst of three requests per hub, and checks that every hub was
// aggregated exactly once: the per-hub lease keeps the workers apart and
// requests a run already covered are no-ops.
func TestTwoWorkersBurst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := testEnv(t)
	acct := storagetest.Account(t)
	feed := libraryFeed(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(feed) }))
	t.Cleanup(srv.Close)
	const hubs = 20
	ids := make([]string, hubs)
	for i := range ids {
		ids[i] = fmt.Sprintf("hub%02d", i)
	}
	s := openStores(t, env)
	addHubs(t, s.hubs, srv.URL, ids...)
	jobs := s.jobs
	for range 3 {
		for i := range hubs {
			if _, err := jobs.Enqueue(ctx, queue.Job{Kind: queue.KindAggregate, Hub: fmt.Sprintf("hub%02d", i), Reason: "burst"}, 0); err != nil {
				t.Fatal(err)
			}
		}
	}

	var roles []*roletest.Role
	for _, name := range []string{"worker-a", "worker-b"} {
		e := map[string]string{}
		for k, v := range env {
			e[k] = v
		}
		e["ELMCITY_INSTANCE"] = name
		e["ELMCITY_WORKER_CONCURRENCY"] = "4"
		roles = append(roles, roletest.Start(t, run, e))
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		n, err := jobs.Length(ctx)
		if err == nil && n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue not drained within 90s (%d left)", n)
		}
		time.Sleep(100 * time.Millisecond) // polling storage, not synchronising goroutines
	}
	for _, r := range roles {
		if err := r.Stop(t); err != nil {
			t.Fatalf("run() = %v", err)
		}
	}

	// Both workers flushed their table logs on stop: read each hub's.
	tl, err := tablelog.Open(ctx, acct, tablelog.Config{Table: env["ELMCITY_LOG_TABLE"]})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tl.Close(ctx) }()
	workers := map[string]bool{}
	for i := range hubs {
		id := fmt.Sprintf("hub%02d", i)
		page, err := tl.Read(ctx, tablelog.Query{Hub: id, Types: []string{"info"}, Include: []string{" events from "}, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Entries) != 1 {
			t.Errorf("hub %s was published %d times in one burst, want once", id, len(page.Entries))
		}
		for _, e := range page.Entries {
			workers[e.Instance] = true
		}
	}
	if len(workers) != 2 {
		t.Logf("publishes came from %v (both workers usually share the burst)", workers)
	}
}
