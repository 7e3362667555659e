package tablestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// States of an aggregation job, as JobStatus.State.
const (
	JobQueued    = "queued"    // waiting for a worker (or for another run of its hub)
	JobRunning   = "running"   // a worker is aggregating the hub
	JobPublished = "published" // done: the hub was published
	JobSkipped   = "skipped"   // done: nothing to do (another run covered it, or the hub was fresh)
	JobFailed    = "failed"    // the last attempt failed; the worker tries again until it parks the job
)

// JobStatus is what is known of one aggregation job that the API queued:
// its state and, once done, what it published. The API creates it
// (CreateJob) and the worker updates it (UpdateJob).
type JobStatus struct {
	Hub         string    `json:"hub"`
	JobID       string    `json:"job_id"`
	State       string    `json:"state"`
	Message     string    `json:"message"`
	RequestedBy string    `json:"requested_by"`
	Events      int       `json:"events"`
	FeedsOK     int       `json:"feeds_ok"`
	FeedsTotal  int       `json:"feeds_total"`
	Attempt     int       `json:"attempt"`
	EnqueuedAt  time.Time `json:"enqueued_at"`
	StartedAt   time.Time `json:"started_at,omitzero"`
	FinishedAt  time.Time `json:"finished_at,omitzero"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// MaxJobsPerHub is how many job records a hub keeps; CreateJob deletes
// the oldest beyond it.
const MaxJobsPerHub = 50

// jobPartition is the partition of a hub's job records: a hub id never
// holds '~'.
func jobPartition(hubID string) string { return "job~" + hubID }

type jobEntity struct {
	aztables.Entity
	State       string
	Message     string
	RequestedBy string
	Events      int32
	FeedsOK     int32
	FeedsTotal  int32
	Attempt     int32
	EnqueuedAt  time.Time
	StartedAt   time.Time
	FinishedAt  time.Time
	UpdatedAt   time.Time
}

func jobBody(j JobStatus) ([]byte, error) {
	if len(j.Message) > 2000 {
		j.Message = j.Message[:2000] + "..."
	}
	return json.Marshal(jobEntity{
		Entity: aztables.Entity{PartitionKey: jobPartition(j.Hub), RowKey: j.JobID},
		State:  j.State, Message: j.Message, RequestedBy: j.RequestedBy,
		Events: int32(j.Events), FeedsOK: int32(j.FeedsOK), FeedsTotal: int32(j.FeedsTotal), Attempt: int32(j.Attempt),
		EnqueuedAt: j.EnqueuedAt.UTC(), StartedAt: j.StartedAt.UTC(), FinishedAt: j.FinishedAt.UTC(), UpdatedAt: j.UpdatedAt.UTC(),
	})
}

func fromJobEntity(b []byte) (JobStatus, error) {
	var e jobEntity
	if err := json.Unmarshal(b, &e); err != nil {
		return JobStatus{}, fmt.Errorf("decode job: %w", err)
	}
	hubID := e.PartitionKey[len("job~"):]
	return JobStatus{Hub: hubID, JobID: e.RowKey, State: e.State, Message: e.Message, RequestedBy: e.RequestedBy,
		Events: int(e.Events), FeedsOK: int(e.FeedsOK), FeedsTotal: int(e.FeedsTotal), Attempt: int(e.Attempt),
		EnqueuedAt: e.EnqueuedAt, StartedAt: zeroIfEpoch(e.StartedAt), FinishedAt: zeroIfEpoch(e.FinishedAt), UpdatedAt: e.UpdatedAt}, nil
}

// zeroIfEpoch reads back a zero time stored as 0001-01-01.
func zeroIfEpoch(t time.Time) time.Time {
	if t.Year() <= 1 {
		return time.Time{}
	}
	return t
}

// CreateJob records a job the API has claimed and is about to queue, and
// deletes the hub's oldest records beyond MaxJobsPerHub. A record for the
// same job is ErrExists.
func (s *Store) CreateJob(ctx context.Context, j JobStatus) error {
	b, err := s.jobRecord("create job", j)
	if err != nil {
		return err
	}
	if _, err := s.hubs.AddEntity(ctx, b, nil); err != nil {
		return mapErr("create job "+j.JobID, err)
	}
	return s.pruneJobs(ctx, j.Hub)
}

// jobRecord checks j for op and encodes it, stamped now when it carries
// no update time.
func (s *Store) jobRecord(op string, j JobStatus) ([]byte, error) {
	if err := checkPendingArgs(op, j.Hub, j.JobID); err != nil {
		return nil, err
	}
	if j.UpdatedAt.IsZero() {
		j.UpdatedAt = s.now()
	}
	return jobBody(j)
}

// pruneJobs deletes a hub's oldest job records beyond MaxJobsPerHub.
func (s *Store) pruneJobs(ctx context.Context, hubID string) error {
	all, err := listAll(ctx, s.hubs, "PartitionKey eq '"+jobPartition(hubID)+"'", "list jobs of "+hubID, fromJobEntity)
	if err != nil || len(all) <= MaxJobsPerHub {
		return err
	}
	slices.SortFunc(all, func(a, b JobStatus) int { return b.EnqueuedAt.Compare(a.EnqueuedAt) })
	for _, j := range all[MaxJobsPerHub:] {
		if _, err := s.hubs.DeleteEntity(ctx, jobPartition(hubID), j.JobID, nil); err != nil && !errors.Is(mapErr("", err), ErrNotFound) {
			return mapErr("delete job "+j.JobID, err)
		}
	}
	return nil
}

// UpdateJob replaces a job's record with j, if the API recorded the job:
// a job it did not (the scheduler's) is ErrNotFound, and nothing is
// written, so records never outnumber the API's requests.
func (s *Store) UpdateJob(ctx context.Context, j JobStatus) error {
	b, err := s.jobRecord("update job", j)
	if err != nil {
		return err
	}
	anyVersion := azcore.ETagAny
	if _, err := s.hubs.UpdateEntity(ctx, b, &aztables.UpdateEntityOptions{IfMatch: &anyVersion, UpdateMode: aztables.UpdateModeMerge}); err != nil {
		return mapErr("update job "+j.JobID, err)
	}
	return nil
}

// GetJob returns one job's record, or ErrNotFound.
func (s *Store) GetJob(ctx context.Context, hubID, jobID string) (JobStatus, error) {
	if checkPendingArgs("get job", hubID, jobID) != nil {
		return JobStatus{}, fmt.Errorf("get job: %w", ErrNotFound)
	}
	resp, err := s.hubs.GetEntity(ctx, jobPartition(hubID), jobID, nil)
	if err != nil {
		return JobStatus{}, mapErr("get job "+jobID, err)
	}
	return fromJobEntity(resp.Value)
}

// deletePartition deletes every entity of one partition of the hubs
// table (a hub's jobs or history), for DeleteHub.
func (s *Store) deletePartition(ctx context.Context, partition string) error {
	filter, sel := "PartitionKey eq '"+partition+"'", "RowKey"
	pager := s.hubs.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Select: &sel})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return mapErr("list "+partition, err)
		}
		for _, b := range page.Entities {
			var e aztables.Entity
			if err := json.Unmarshal(b, &e); err != nil {
				return err
			}
			if _, err := s.hubs.DeleteEntity(ctx, partition, e.RowKey, nil); err != nil && !errors.Is(mapErr("", err), ErrNotFound) {
				return mapErr("delete from "+partition, err)
			}
		}
	}
	return nil
}
