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

// getReadyz answers 200 when storage answers within two seconds, else 503:
// readiness, so a load balancer stops sending traffic to an instance that
// cannot reach its tables.
func (s *Server) getReadyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.deps.Ready(ctx); err != nil {
		_ = c.Error(&Error{Status: http.StatusServiceUnavailable, Code: "not_ready", Message: "storage is not reachable"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}
