package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"net/http"
	"net/http/httptest"

	"github.com/elmcity/elmcity/shared/azstorage/storagetest"
	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/shared/roletest"
	"github.com/elmcity/elmcity/shared/tablelog"
)

// TestKilledWorkerLosesNothing aggregates a hub once, then starts a worker
// process on a second request, SIGKILLs it in the middle of the job, and
// checks that readers kept the first calendar meanwhile, that a second
// worker completed the job after the visibility timeout and the hub lease
// ran out, that the new calendar is complete with no duplicate events, and
// that the hub's log shows both attempts.
func TestKilledWorkerLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a worker process")
	}
	t.Parallel()
	ctx := context.Background()
	env := testEnv(t)
	env["ELMCITY_JOB_VISIBILITY_TIMEOUT"] = "5s"
	env["ELMCITY_HUB_LEASE_TTL"] = "6s"
	env["ELMCITY_SCHEDULER_TICK"] = "1h"
	acct := storagetest.Account(t)

	feed := libraryFeed(t)
	var mu sync.Mutex
	hang := false
	started := make(chan struct{}, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := hang
		mu.Unlock()
		if h {
			started <- struct{}{}
			<-r.Context().Done() // the killed worker's request never completes
			return
		}
		_, _ = w.Write(feed)
	}))
	t.Cleanup(srv.Close)

	s := openStores(t, env)
	addHubs(t, s.hubs, srv.URL, "keene")
	jobs, pub := s.jobs, s.pub
	poll := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(100 * time.Millisecond) // polling storage, not synchronising goroutines
		}
	}

	// A first, complete calendar.
	first := roletest.Start(t, run, env)
	if _, err := jobs.Enqueue(ctx, queue.Job{Kind: queue.KindAggregate, Hub: "keene", Reason: "first"}, 0); err != nil {
		t.Fatal(err)
	}
	var gen1 publish.Pointer
	poll("the first calendar", func() bool {
		var err error
		gen1, err = pub.Current(ctx, "keene")
		return err == nil
	})
	if err := first.Stop(t); err != nil {
		t.Fatal(err)
	}

	// A worker process that will hang on the feed, then be killed.
	bin := filepath.Join(t.TempDir(), "workerrole")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	mu.Lock()
	hang = true
	mu.Unlock()
	cmd := exec.Command(bin)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "ELMCITY_INSTANCE=doomed", "PATH="+os.Getenv("PATH"))
	// Its output, to say why if it never gets to the feed.
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if _, err := jobs.Enqueue(ctx, queue.Job{Kind: queue.KindAggregate, Hub: "keene", Reason: "second"}, 0); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(60 * time.Second):
		t.Fatalf("the doomed worker never fetched the feed; it wrote:\n%s", out.String())
	}
	tl, err := tablelog.Open(ctx, acct, tablelog.Config{Table: env["ELMCITY_LOG_TABLE"]})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tl.Close(ctx) }()
	doomedStarted := func() bool {
		p, err := tl.Read(ctx, tablelog.Query{Hub: "keene", Types: []string{"info"}, Include: []string{"job started"}, Limit: 100})
		if err != nil {
			return false
		}
		for _, e := range p.Entries {
			if e.Instance == "doomed" {
				return true
			}
		}
		return false
	}
	// Its table log flushes every second; kill it once its start landed.
	poll("the doomed worker's start entry", doomedStarted)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if cur, err := pub.Current(ctx, "keene"); err != nil || cur.ID != gen1.ID {
		t.Fatalf("after the kill readers see %v, %v; want the first calendar %s", cur.ID, err, gen1.ID)
	}

	// A second worker finishes the job once the message and the lease
	// time out.
	mu.Lock()
	hang = false
	mu.Unlock()
	second := roletest.Start(t, run, env)
	poll("the recovered calendar", func() bool {
		cur, err := pub.Current(ctx, "keene")
		return err == nil && cur.ID != gen1.ID
	})
	if err := second.Stop(t); err != nil {
		t.Fatal(err)
	}
	g, err := pub.Load(ctx, "keene")
	if err != nil {
		t.Fatal(err)
	}
	var head map[string]any
	events, err := hubcal.DecodePayload(g.Payload, &head)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range events {
		if seen[e.UID] {
			t.Errorf("duplicate event %s", e.UID)
		}
		seen[e.UID] = true
	}
	if len(events) != 5 {
		t.Errorf("recovered calendar has %d events, want 5", len(events))
	}
	p, err := tl.Read(ctx, tablelog.Query{Hub: "keene", Types: []string{"info"}, Include: []string{"job started"}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var instances []string
	for _, e := range p.Entries {
		instances = append(instances, e.Instance)
	}
	if got := strings.Join(instances, ","); !strings.Contains(got, "doomed") || strings.Count(got, "test") < 2 {
		t.Errorf("job start entries from %q, want the first run, the killed attempt and the recovery", got)
	}
}

// syncBuffer is a bytes.Buffer that a process's output goroutines may
// write while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns the last 8 KiB written.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	return s[max(0, len(s)-8<<10):]
}
