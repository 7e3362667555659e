package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/queue"
)

// postAggregate enqueues an aggregation job for the hub and answers 202
// with the job id; the worker picks it up.
func (s *Server) postAggregate(c *gin.Context) {
	ctx := c.Request.Context()
	id := c.Param("hub")
	if _, err := s.deps.Store.GetHub(ctx, id); err != nil {
		_ = c.Error(err)
		return
	}
	job, err := s.deps.Jobs.Enqueue(ctx, queue.Job{
		Kind: queue.KindAggregate, Hub: id, Reason: "requested through the API", RequestedBy: who(c).name(),
	}, 0)
	if err != nil {
		_ = c.Error(err)
		return
	}
	s.deps.Logger.InfoContext(ctx, "aggregation requested", "hub", id, "job_id", job.ID, "by", who(c).name())
	c.JSON(http.StatusAccepted, gin.H{"job_id": job.ID, "hub": id, "enqueued_at": job.EnqueuedAt})
}
