package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// getHealthz answers 200 while the process serves: liveness.
func (s *Server) getHealthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// getReadyz answers 200 while the instance can serve: storage answers
// within two seconds, or it holds published calendars it can serve from
// memory (an outage then does not take every replica out of rotation).
// Otherwise 503. elmcity_storage_up shows storage's own health.
func (s *Server) getReadyz(c *gin.Context) {
	// An instance with calendars to serve is ready whatever storage
	// says: it asks storage only briefly, to report it, so that a probe
	// with a 1 s timeout still hears 200 during an outage.
	wait := 2 * time.Second
	serving := s.outputs.Ready()
	if serving {
		wait = 300 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), wait)
	defer cancel()
	if err := s.deps.Ready(ctx); err != nil {
		s.metrics.storageUp.Set(0)
		if serving {
			c.JSON(http.StatusOK, gin.H{"status": "ready", "storage": "unreachable", "serving": "cached calendars"})
			return
		}
		_ = c.Error(&Error{Status: http.StatusServiceUnavailable, Code: "not_ready", Message: "storage is not reachable"})
		return
	}
	s.metrics.storageUp.Set(1)
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}
