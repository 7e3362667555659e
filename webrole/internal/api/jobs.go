package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/shared/tablestore"
)

// aggregateAnswer is the body of a 202 from POST .../aggregate.
type aggregateAnswer struct {
	JobID          string    `json:"job_id"`
	Hub            string    `json:"hub"`
	EnqueuedAt     time.Time `json:"enqueued_at"`
	AlreadyPending bool      `json:"already_pending"`
}

// postAggregate enqueues an aggregation job for the hub and answers 202
// with the job id; the worker picks it up. A hub has at most one pending
// job: while one is (until the worker starts it, or for the store's
// PendingJobTTL), another request answers 202 with that job and
// already_pending, and queues nothing.
func (s *Server) postAggregate(c *gin.Context) {
	ctx := c.Request.Context()
	id := c.Param("hub")
	if _, err := s.deps.Store.GetHub(ctx, id); err != nil {
		_ = c.Error(err)
		return
	}
	jobID, err := newJobID()
	if err != nil {
		_ = c.Error(err)
		return
	}
	pending, err := s.deps.Store.ClaimPendingJob(ctx, id, jobID)
	if errors.Is(err, tablestore.ErrJobPending) {
		c.JSON(http.StatusAccepted, aggregateAnswer{JobID: pending.JobID, Hub: id, EnqueuedAt: pending.EnqueuedAt, AlreadyPending: true})
		return
	}
	if err != nil {
		_ = c.Error(err)
		return
	}
	s.recordJob(ctx, id, jobID, who(c).name(), s.deps.Now())
	job, err := s.deps.Jobs.Enqueue(ctx, queue.Job{
		ID: jobID, Kind: queue.KindAggregate, Hub: id, Reason: "requested through the API", RequestedBy: who(c).name(),
	}, 0)
	if err != nil {
		// Free the hub for the next request; the job never was.
		if cerr := s.deps.Store.ClearPendingJob(context.WithoutCancel(ctx), id, jobID); cerr != nil {
			err = errors.Join(err, cerr)
		}
		_ = c.Error(err)
		return
	}
	s.deps.Logger.InfoContext(ctx, "aggregation requested", "hub", id, "job_id", job.ID, "by", who(c).name())
	c.JSON(http.StatusAccepted, aggregateAnswer{JobID: job.ID, Hub: id, EnqueuedAt: job.EnqueuedAt})
}

// newJobID makes the id of a job before it is queued, so that its hub's
// pending record can name it first.
func newJobID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make job id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
