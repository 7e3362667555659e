package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/tablestore"
)

// recordJob records a job the API is about to queue, so that its status
// can be followed (GET .../jobs/{job}) and the worker can update it. A
// failure is logged, not returned: the job still runs, its status is just
// unknown.
func (s *Server) recordJob(ctx context.Context, hubID, jobID, by string, at time.Time) {
	err := s.deps.Store.CreateJob(ctx, tablestore.JobStatus{Hub: hubID, JobID: jobID, State: tablestore.JobQueued,
		Message: "waiting for a worker", RequestedBy: by, EnqueuedAt: at, UpdatedAt: at})
	if err != nil {
		s.deps.Logger.WarnContext(ctx, "job status not recorded; the job runs anyway", "hub", hubID, "job_id", jobID, "error", err.Error())
	}
}

// getJob answers what is known of an aggregation job the API queued:
// queued, running, published (events, feeds ok of feeds), skipped (why)
// or failed (the reason; the worker tries again). A job the API did not
// queue, or one older than the hub's last tablestore.MaxJobsPerHub, is a
// 404.
func (s *Server) getJob(c *gin.Context) {
	j, err := s.deps.Store.GetJob(c.Request.Context(), c.Param("hub"), c.Param("job"))
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, j)
}
