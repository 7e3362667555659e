package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/shared/publish"
)

// calendars reads published generations (*publish.Store). Methods return
// publish.ErrNotFound for a hub never published.
type calendars interface {
	Current(ctx context.Context, hub string) (publish.Pointer, error)
	Load(ctx context.Context, hub string) (publish.Generation, error)
	Delete(ctx context.Context, hub string) error
}

var _ calendars = (*publish.Store)(nil)

// errNotPublished answers for a hub whose first aggregation has not
// finished.
var errNotPublished = &Error{Status: http.StatusNotFound, Code: "not_published", Message: "this hub has no published calendar yet; POST .../aggregate to make one"}

// getStats returns the last run of the hub: when it was published, its
// summary and every feed's stats (status, error class, HTTP status,
// bytes, 304s, duration, events, occurrences, skipped components, time-zone
// anomalies, PRODID, last success, change flags).
func (s *Server) getStats(c *gin.Context) {
	ctx := c.Request.Context()
	g, err := s.deps.Calendars.Load(ctx, c.Param("hub"))
	if errors.Is(err, publish.ErrNotFound) {
		if _, herr := s.deps.Store.GetHub(ctx, c.Param("hub")); herr != nil {
			err = herr
		} else {
			err = errNotPublished
		}
	}
	if err != nil {
		_ = c.Error(err)
		return
	}
	var run json.RawMessage
	if err := hubcal.ReadHeader(g.Payload, &run); err != nil {
		_ = c.Error(fmt.Errorf("decode calendar of %s: %w", g.Hub, err))
		return
	}
	c.JSON(http.StatusOK, gin.H{"hub": g.Hub, "generation": g.ID, "published_at": g.PublishedAt, "run": run})
}
