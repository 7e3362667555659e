package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/tablestore"
)

// hubInput is the body of PUT /api/hubs/{hub}. The id comes from the path;
// a body id, if given, must match it.
type hubInput struct {
	ID            string            `json:"id"`
	Title         string            `json:"title"`
	Type          string            `json:"type"`
	TZ            string            `json:"tz"`
	HorizonDays   int               `json:"horizon_days"`
	IntervalHours int               `json:"interval_hours"`
	Contact       string            `json:"contact"`
	Members       []string          `json:"members"`
	Vocabulary    []string          `json:"vocabulary"`
	Render        map[string]string `json:"render"`
}

// getHubs lists the hubs the caller may see: all for the administrator,
// their own for a curator.
func (s *Server) getHubs(c *gin.Context) {
	hubs, err := s.deps.Store.ListHubs(c.Request.Context())
	if err != nil {
		_ = c.Error(err)
		return
	}
	p := who(c)
	out := make([]hub.Hub, 0, len(hubs))
	for _, h := range hubs {
		if p.can(h.ID) {
			out = append(out, h)
		}
	}
	c.JSON(http.StatusOK, gin.H{"hubs": out})
}

// getHub returns one hub with its ETag.
func (s *Server) getHub(c *gin.Context) {
	h, err := s.deps.Store.GetHub(c.Request.Context(), c.Param("hub"))
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.Header("ETag", h.ETag)
	c.JSON(http.StatusOK, h)
}

// putHub creates a hub (administrator only: 201) or replaces an existing
// hub's settings (its curators too: 200). If-Match makes the update
// conditional.
func (s *Server) putHub(c *gin.Context) {
	var in hubInput
	if err := bindJSON(c, &in); err != nil {
		_ = c.Error(err)
		return
	}
	id := c.Param("hub")
	if in.ID != "" && in.ID != id {
		_ = c.Error(&Error{Status: http.StatusBadRequest, Code: "invalid", Message: "the request has invalid fields",
			Fields: map[string]string{"id": "must match the hub in the path"}})
		return
	}
	h := hub.Hub{ID: id, Title: in.Title, Type: in.Type, TZ: in.TZ, HorizonDays: in.HorizonDays, IntervalHours: in.IntervalHours,
		Contact: in.Contact, Members: in.Members, Vocabulary: in.Vocabulary, Render: in.Render, ETag: c.GetHeader("If-Match")}
	ctx := c.Request.Context()
	_, err := s.deps.Store.GetHub(ctx, id)
	switch {
	case errors.Is(err, tablestore.ErrNotFound):
		if !who(c).admin {
			_ = c.Error(errForbidden)
			return
		}
		created, err := s.deps.Store.CreateHub(ctx, h)
		if err != nil {
			_ = c.Error(err)
			return
		}
		s.deps.Logger.InfoContext(ctx, "hub created", "hub", id, "by", who(c).name())
		c.Header("ETag", created.ETag)
		c.JSON(http.StatusCreated, created)
	case err != nil:
		_ = c.Error(err)
	default:
		updated, err := s.deps.Store.UpdateHub(ctx, h)
		if err != nil {
			_ = c.Error(err)
			return
		}
		s.deps.Logger.InfoContext(ctx, "hub settings changed", "hub", id, "by", who(c).name())
		c.Header("ETag", updated.ETag)
		c.JSON(http.StatusOK, updated)
	}
}

// deleteHub removes a hub with everything stored for it: its published
// calendars, its log and then the hub and its feeds (administrator only).
// The record goes last, so a DELETE that fails part way can be repeated.
func (s *Server) deleteHub(c *gin.Context) {
	ctx := c.Request.Context()
	id := c.Param("hub")
	if _, err := s.deps.Store.GetHub(ctx, id); err != nil {
		_ = c.Error(err)
		return
	}
	if err := s.deps.Calendars.Delete(ctx, id); err != nil {
		_ = c.Error(fmt.Errorf("delete calendars of %s: %w", id, err))
		return
	}
	// Every entry, however recent (a clock ahead of this one included).
	n, err := s.deps.Log.Purge(ctx, id, s.deps.Now().Add(365*24*time.Hour))
	if err != nil {
		_ = c.Error(fmt.Errorf("delete log of %s: %w", id, err))
		return
	}
	if err := s.deps.Store.DeleteHub(ctx, id); err != nil {
		_ = c.Error(err)
		return
	}
	s.deps.Logger.InfoContext(ctx, "hub deleted", "deleted_hub", id, "log_entries", n, "by", who(c).name())
	c.Status(http.StatusNoContent)
}
