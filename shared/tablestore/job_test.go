package tablestore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/tablestore"
)

func TestJobRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newLimitedStore(t, tablestore.Limits{})
	mustHubs(t, s, "keene")
	j := tablestore.JobStatus{Hub: "keene", JobID: "job-1", State: tablestore.JobQueued, RequestedBy: "curator:x", EnqueuedAt: clk.Now()}
	if err := s.CreateJob(ctx, j); err != nil {
		t.Fatalf("CreateJob() = %v", err)
	}
	if err := s.CreateJob(ctx, j); !errors.Is(err, tablestore.ErrExists) {
		t.Errorf("CreateJob(again) = %v, want ErrExists", err)
	}
	j.State, j.Events, j.FeedsOK, j.FeedsTotal, j.StartedAt, j.FinishedAt = tablestore.JobPublished, 12, 2, 3, clk.Now(), clk.Now()
	if err := s.UpdateJob(ctx, j); err != nil {
		t.Fatalf("UpdateJob() = %v", err)
	}
	got, err := s.GetJob(ctx, "keene", "job-1")
	if err != nil || got.State != tablestore.JobPublished || got.Events != 12 || got.FeedsTotal != 3 || got.RequestedBy != "curator:x" || got.StartedAt.IsZero() {
		t.Errorf("GetJob() = %+v, %v", got, err)
	}
	// The worker never creates a record: a job the API did not queue
	// (the scheduler's) stays unrecorded.
	if err := s.UpdateJob(ctx, tablestore.JobStatus{Hub: "keene", JobID: "sched-1", State: tablestore.JobRunning}); !errors.Is(err, tablestore.ErrNotFound) {
		t.Errorf("UpdateJob(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.GetJob(ctx, "keene", "sched-1"); !errors.Is(err, tablestore.ErrNotFound) {
		t.Errorf("GetJob(unknown) = %v, want ErrNotFound", err)
	}
	// A hub keeps its newest MaxJobsPerHub records.
	for i := range tablestore.MaxJobsPerHub + 2 {
		clk.Add(time.Second)
		if err := s.CreateJob(ctx, tablestore.JobStatus{Hub: "keene", JobID: fmt.Sprintf("more-%d", i), State: tablestore.JobQueued, EnqueuedAt: clk.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.GetJob(ctx, "keene", "job-1"); !errors.Is(err, tablestore.ErrNotFound) {
		t.Errorf("the oldest job was kept past MaxJobsPerHub: %v", err)
	}
	if _, err := s.GetJob(ctx, "keene", fmt.Sprintf("more-%d", tablestore.MaxJobsPerHub+1)); err != nil {
		t.Errorf("the newest job: %v", err)
	}
	if err := s.DeleteHub(ctx, "keene"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetJob(ctx, "keene", fmt.Sprintf("more-%d", tablestore.MaxJobsPerHub+1)); !errors.Is(err, tablestore.ErrNotFound) {
		t.Errorf("a deleted hub's job records remain: %v", err)
	}
}

func TestHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newLimitedStore(t, tablestore.Limits{HistoryRetention: 48 * time.Hour})
	mustHubs(t, s, "keene", "other")
	add := func(hubID, action string) {
		t.Helper()
		clk.Add(time.Hour)
		if err := s.AddHistory(ctx, tablestore.HistoryEntry{Hub: hubID, By: "curator:x", ByName: "Ann", Action: action,
			Changes: []tablestore.Change{{Field: "source", Before: json.RawMessage(`"Lib"`), After: json.RawMessage(`"Library"`)}}}); err != nil {
			t.Fatalf("AddHistory() = %v", err)
		}
	}
	for i := range 5 {
		add("keene", fmt.Sprintf("feed changed %d", i))
	}
	add("other", "hub changed")
	page, next, err := s.ListHistory(ctx, "keene", "", 3)
	if err != nil || len(page) != 3 || next == "" {
		t.Fatalf("ListHistory() = %d entries, next %q, %v", len(page), next, err)
	}
	if page[0].Action != "feed changed 4" || page[2].Action != "feed changed 2" || string(page[0].Changes[0].After) != `"Library"` || page[0].ByName != "Ann" {
		t.Errorf("ListHistory() first page = %+v, want newest first", page)
	}
	rest, next, err := s.ListHistory(ctx, "keene", next, 3)
	if err != nil || len(rest) != 2 || next != "" || rest[1].Action != "feed changed 0" {
		t.Errorf("ListHistory(page 2) = %+v, %q, %v", rest, next, err)
	}
	if _, _, err := s.ListHistory(ctx, "keene", "nonsense", 3); err == nil {
		t.Errorf("ListHistory(bad after) = nil error")
	}
	// Entries older than the retention go at the next write.
	clk.Add(44 * time.Hour) // the next entry is at 51h; 48h before is 3h
	add("keene", "late")
	all, _, err := s.ListHistory(ctx, "keene", "", 100)
	if err != nil || len(all) != 3 || all[0].Action != "late" || all[2].Action != "feed changed 3" {
		t.Errorf("after retention: %d entries %+v, %v; want late and the two within 48h", len(all), all, err)
	}
	// Too large a change keeps its fields only.
	big := make([]byte, 40_000)
	for i := range big {
		big[i] = 'a'
	}
	clk.Add(time.Minute)
	if err := s.AddHistory(ctx, tablestore.HistoryEntry{Hub: "keene", Action: "hub changed",
		Changes: []tablestore.Change{{Field: "vocabulary", After: json.RawMessage(`"` + string(big) + `"`)}}}); err != nil {
		t.Fatalf("AddHistory(big) = %v", err)
	}
	all, _, _ = s.ListHistory(ctx, "keene", "", 1)
	if !all[0].Truncated || all[0].Changes[0].Field != "vocabulary" || all[0].Changes[0].After != nil {
		t.Errorf("big entry = %+v, want truncated to its field", all[0])
	}
	if other, _, _ := s.ListHistory(ctx, "other", "", 10); len(other) != 1 {
		t.Errorf("other's history = %+v", other)
	}
}
