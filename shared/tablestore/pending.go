package tablestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// ErrJobPending is returned by ClaimPendingJob when the hub already has a
// fresh pending aggregation job.
var ErrJobPending = errors.New("an aggregation job is already pending")

// PendingJob is the aggregation job a hub is waiting for: enqueued and
// not yet started.
type PendingJob struct {
	Hub        string
	JobID      string
	EnqueuedAt time.Time
}

// pendingPartition holds one record per hub with a pending job, keyed by
// the hub's id.
const pendingPartition = "pending"

type pendingEntity struct {
	aztables.Entity
	JobID      string
	EnqueuedAt time.Time
}

func pendingBody(p PendingJob) ([]byte, error) {
	return json.Marshal(pendingEntity{
		Entity: aztables.Entity{PartitionKey: pendingPartition, RowKey: p.Hub},
		JobID:  p.JobID, EnqueuedAt: p.EnqueuedAt.UTC(),
	})
}

func checkPendingArgs(op, hubID, jobID string) error {
	if err := validID(hubID); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if !leaseName.MatchString(jobID) {
		return fmt.Errorf("%s of %s: job id %q must be 1-100 letters, digits, '_' or '-'", op, hubID, clipID(jobID))
	}
	return nil
}

// ClaimPendingJob records jobID as hubID's pending aggregation job, which
// the caller then enqueues (and, if that fails, clears again with
// ClearPendingJob). If the hub already has a pending job recorded less
// than Limits.PendingJobTTL ago, nothing is written and that job is
// returned with ErrJobPending. An older record is replaced: its job was
// lost, or finished without clearing it. Writes are conditional, so of
// concurrent callers exactly one records its job and the others get that
// job with ErrJobPending. The hub is not checked to exist.
func (s *Store) ClaimPendingJob(ctx context.Context, hubID, jobID string) (PendingJob, error) {
	const op = "claim pending job"
	if err := checkPendingArgs(op, hubID, jobID); err != nil {
		return PendingJob{}, err
	}
	for range 4 {
		now := s.now()
		mine := PendingJob{Hub: hubID, JobID: jobID, EnqueuedAt: now.UTC()}
		b, err := pendingBody(mine)
		if err != nil {
			return PendingJob{}, err
		}
		_, err = s.hubs.AddEntity(ctx, b, nil)
		if err == nil {
			return mine, nil
		}
		if !errors.Is(mapErr("", err), ErrExists) {
			return PendingJob{}, mapErr(op+" of "+hubID, err)
		}
		resp, err := s.hubs.GetEntity(ctx, pendingPartition, hubID, nil)
		if errors.Is(mapErr("", err), ErrNotFound) {
			continue // cleared since the add: add again
		}
		if err != nil {
			return PendingJob{}, mapErr(op+" of "+hubID, err)
		}
		var cur pendingEntity
		if err := json.Unmarshal(resp.Value, &cur); err != nil {
			return PendingJob{}, fmt.Errorf("decode pending job of %s: %w", hubID, err)
		}
		// A record from a clock ahead of this one counts as fresh.
		if now.Sub(cur.EnqueuedAt) < s.limits.PendingJobTTL {
			return PendingJob{Hub: hubID, JobID: cur.JobID, EnqueuedAt: cur.EnqueuedAt}, fmt.Errorf("%s of %s: %w", op, hubID, ErrJobPending)
		}
		etag := resp.ETag
		_, err = s.hubs.UpdateEntity(ctx, b, &aztables.UpdateEntityOptions{IfMatch: &etag, UpdateMode: aztables.UpdateModeReplace})
		if err == nil {
			return mine, nil
		}
		if e := mapErr("", err); !errors.Is(e, ErrChanged) && !errors.Is(e, ErrNotFound) {
			return PendingJob{}, mapErr(op+" of "+hubID, err)
		}
		// Another caller replaced or cleared the stale record first: look
		// again.
	}
	return PendingJob{}, fmt.Errorf("%s of %s: the record kept changing; try again", op, hubID)
}

// ClearPendingJob removes hubID's pending-job record if it names jobID.
// The worker calls it when it starts job jobID, before reading the hub,
// so that a request made after the start queues a new job (one made
// before is covered by this run). A missing record, one naming another
// job, or one replaced while it is cleared is left alone, and is not an
// error: clearing is idempotent and never clears a newer job's record.
// It returns an error for an invalid hub or job id and for storage
// failures only; a record that is not cleared lapses after
// Limits.PendingJobTTL.
func (s *Store) ClearPendingJob(ctx context.Context, hubID, jobID string) error {
	const op = "clear pending job"
	if err := checkPendingArgs(op, hubID, jobID); err != nil {
		return err
	}
	resp, err := s.hubs.GetEntity(ctx, pendingPartition, hubID, nil)
	if errors.Is(mapErr("", err), ErrNotFound) {
		return nil
	}
	if err != nil {
		return mapErr(op+" of "+hubID, err)
	}
	var cur pendingEntity
	if err := json.Unmarshal(resp.Value, &cur); err != nil {
		return fmt.Errorf("decode pending job of %s: %w", hubID, err)
	}
	if cur.JobID != jobID {
		return nil
	}
	etag := resp.ETag
	_, err = s.hubs.DeleteEntity(ctx, pendingPartition, hubID, &aztables.DeleteEntityOptions{IfMatch: &etag})
	if e := mapErr("", err); err != nil && !errors.Is(e, ErrChanged) && !errors.Is(e, ErrNotFound) {
		return mapErr(op+" of "+hubID, err)
	}
	return nil
}
