package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/elmcity/elmcity/shared/queue"
)

// TestAggregateOnePendingJobPerHub is the review's flood: many requests
// for one hub while its job waits queue one job, and each answer names
// it. Once the worker starts the job (ClearPendingJob), the next request
// queues a new one.
func TestAggregateOnePendingJobPerHub(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	const n = 30
	answers := make([]map[string]any, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { // call's t.Fatalf is for the test's own goroutine
			req := httptest.NewRequest("POST", "/api/hubs/keene/aggregate", nil)
			req.Header.Set("Authorization", "Bearer "+w.curator)
			rec := httptest.NewRecorder()
			w.h.ServeHTTP(rec, req)
			if err := json.Unmarshal(rec.Body.Bytes(), &answers[i]); rec.Code != http.StatusAccepted || err != nil {
				t.Errorf("POST aggregate = %d %s, want 202 with JSON", rec.Code, rec.Body)
			}
		})
	}
	wg.Wait()
	ids, fresh := map[any]bool{}, 0
	for _, a := range answers {
		ids[a["job_id"]] = true
		if a["already_pending"] == false {
			fresh++
		}
	}
	if len(ids) != 1 || fresh != 1 {
		t.Fatalf("%d requests answered %d job ids, %d of them not already pending; want 1 and 1", n, len(ids), fresh)
	}
	jobs := receiveAll(t, w.jobs)
	if len(jobs) != 1 || !ids[jobs[0].ID] || jobs[0].Hub != "keene" {
		t.Fatalf("queue holds %+v, want the one job answered", jobs)
	}

	// Another hub is not held up by keene's pending job.
	if code, body, _ := call(t, w.h, "POST", "/api/hubs/other/aggregate", adminToken, ""); code != 202 || body["already_pending"] != false {
		t.Errorf("POST aggregate of other = %d %v, want a new job", code, body)
	}
	// The worker starts keene's job: a request now queues another.
	if err := w.store.ClearPendingJob(ctx, "keene", jobs[0].ID); err != nil {
		t.Fatal(err)
	}
	code, body, _ := call(t, w.h, "POST", "/api/hubs/keene/aggregate", w.curator, "")
	if code != 202 || body["already_pending"] != false || body["job_id"] == jobs[0].ID {
		t.Errorf("POST aggregate after the job started = %d %v, want a new job", code, body)
	}
	if got := receiveAll(t, w.jobs); len(got) != 2 {
		t.Errorf("queue holds %d more jobs, want 2 (other's and keene's second)", len(got))
	}
}

// receiveAll takes every visible job off q and completes it.
func receiveAll(t testing.TB, q *queue.Client) []queue.Job {
	t.Helper()
	ctx := context.Background()
	var out []queue.Job
	for {
		ds, err := q.Receive(ctx, 32)
		if err != nil {
			t.Fatalf("Receive() = %v", err)
		}
		if len(ds) == 0 {
			return out
		}
		for _, d := range ds {
			out = append(out, d.Job)
			if err := d.Complete(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
}
