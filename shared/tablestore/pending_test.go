package tablestore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/azstorage/storagetest"
	"github.com/elmcity/elmcity/shared/tablestore"
)

// newLimitedStore is a Store with the given limits and a settable clock.
func newLimitedStore(t *testing.T, limits tablestore.Limits) (*tablestore.Store, *clock) {
	t.Helper()
	acct := storagetest.Account(t)
	clk := &clock{t: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	s, err := tablestore.Open(context.Background(), acct, tablestore.Config{
		HubsTable: storagetest.Table(t, acct, "hubs"), FeedsTable: storagetest.Table(t, acct, "feeds"), Now: clk.Now, Limits: limits,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, clk
}

// TestPendingJobContract is the contract the API and the worker rely on:
// one pending job per hub until the worker clears it (only its own) or
// the TTL passes.
func TestPendingJobContract(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newLimitedStore(t, tablestore.Limits{PendingJobTTL: 15 * time.Minute})

	a, err := s.ClaimPendingJob(ctx, "keene", "job-a")
	if err != nil || a.JobID != "job-a" || !a.EnqueuedAt.Equal(clk.Now()) {
		t.Fatalf("ClaimPendingJob(a) = %+v, %v, want job-a now", a, err)
	}
	clk.Add(14 * time.Minute)
	got, err := s.ClaimPendingJob(ctx, "keene", "job-b")
	if !errors.Is(err, tablestore.ErrJobPending) || got.JobID != "job-a" || !got.EnqueuedAt.Equal(a.EnqueuedAt) {
		t.Fatalf("ClaimPendingJob(b) while a is pending = %+v, %v, want job-a and ErrJobPending", got, err)
	}
	if _, err := s.ClaimPendingJob(ctx, "other", "job-o"); err != nil {
		t.Errorf("ClaimPendingJob(other hub) = %v; hubs are independent", err)
	}

	// The worker starting some other job clears nothing.
	if err := s.ClearPendingJob(ctx, "keene", "job-b"); err != nil {
		t.Fatalf("ClearPendingJob(not the pending job) = %v, want nil", err)
	}
	if got, err := s.ClaimPendingJob(ctx, "keene", "job-c"); !errors.Is(err, tablestore.ErrJobPending) || got.JobID != "job-a" {
		t.Fatalf("ClaimPendingJob after clearing another job = %+v, %v, want job-a still pending", got, err)
	}
	// Starting job-a clears it: the next request queues a job, once.
	for range 2 {
		if err := s.ClearPendingJob(ctx, "keene", "job-a"); err != nil {
			t.Fatalf("ClearPendingJob(job-a) = %v", err)
		}
	}
	if got, err := s.ClaimPendingJob(ctx, "keene", "job-c"); err != nil || got.JobID != "job-c" {
		t.Fatalf("ClaimPendingJob after job-a started = %+v, %v, want job-c", got, err)
	}
	// A job lost before it started holds the hub for the TTL only.
	clk.Add(15 * time.Minute)
	if got, err := s.ClaimPendingJob(ctx, "keene", "job-d"); err != nil || got.JobID != "job-d" {
		t.Fatalf("ClaimPendingJob after the TTL = %+v, %v, want job-d", got, err)
	}
	if err := s.ClearPendingJob(ctx, "nohub", "job-x"); err != nil {
		t.Errorf("ClearPendingJob(no record) = %v, want nil", err)
	}
	for _, args := range [][2]string{{"bad hub", "j"}, {"keene", ""}, {"keene", "x' or"}} {
		if err := s.ClearPendingJob(ctx, args[0], args[1]); err == nil {
			t.Errorf("ClearPendingJob(%q, %q) = nil, want an error", args[0], args[1])
		}
		if _, err := s.ClaimPendingJob(ctx, args[0], args[1]); err == nil || errors.Is(err, tablestore.ErrJobPending) {
			t.Errorf("ClaimPendingJob(%q, %q) = %v, want an invalid-argument error", args[0], args[1], err)
		}
	}
}

func TestPendingJobOneWinner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newLimitedStore(t, tablestore.Limits{})
	// Half the claimers race for a fresh hub, half for one whose record
	// is stale.
	if _, err := s.ClaimPendingJob(ctx, "stale", "old"); err != nil {
		t.Fatal(err)
	}
	clk.Add(tablestore.DefaultPendingJobTTL)
	for _, hubID := range []string{"fresh", "stale"} {
		var mu sync.Mutex
		winners, seen := 0, map[string]bool{}
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				p, err := s.ClaimPendingJob(ctx, hubID, fmt.Sprint("job", i))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					winners++
				case !errors.Is(err, tablestore.ErrJobPending):
					t.Errorf("ClaimPendingJob(%s) = %v, want nil or ErrJobPending", hubID, err)
					return
				}
				seen[p.JobID] = true
			})
		}
		wg.Wait()
		if winners != 1 || len(seen) != 1 {
			t.Errorf("%s: %d claims won and %d job ids seen, want exactly 1 of each", hubID, winners, len(seen))
		}
	}
}
