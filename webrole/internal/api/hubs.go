package api

import (
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/hub"
)

// hubInput is the body of PUT /api/hubs/{hub}, and the fields a PATCH
// may change. The id comes from the path;
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

// getHubs lists the hubs the caller may see, a page at a time: all for
// the administrator, their own for a curator.
func (s *Server) getHubs(c *gin.Context) {
	pg, err := bindPage(c)
	if err != nil {
		_ = c.Error(err)
		return
	}
	ctx := c.Request.Context()
	var hubs []hub.Hub
	var next string
	switch p := who(c); {
	case p.admin:
		hubs, next, err = s.deps.Store.ListHubsPage(ctx, pg.after, pg.limit)
	case pg.after != "" && !hub.ValidID(pg.after):
		err = errBadAfter
	default:
		var ids []string
		ids, next = grantPage(p.curator.Hubs, pg)
		hubs, err = s.deps.Store.GetHubs(ctx, ids)
	}
	if err != nil {
		_ = c.Error(err)
		return
	}
	if hubs == nil {
		hubs = []hub.Hub{}
	}
	c.JSON(http.StatusOK, gin.H{"hubs": hubs, "next": next})
}

// grantPage is the page of a curator's hub ids that pg asks for, in id
// order, and the after of the next page ("" when there is none).
func grantPage(grants []string, pg page) ([]string, string) {
	ids := make([]string, 0, len(grants))
	for _, id := range grants {
		if id > pg.after {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	if len(ids) <= pg.limit {
		return ids, ""
	}
	return ids[:pg.limit], ids[pg.limit-1]
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
// hub's settings (its curators too: 200). Replacing needs If-Match with
// the ETag of a read (428 without it), since a field left out is reset;
// PATCH changes some fields. A new hub needs its time zone. A curator's
// region may list only hubs they curate, besides members it already had.
func (s *Server) putHub(c *gin.Context) {
	var in hubInput
	if err := bindJSON(c, &in); err != nil {
		_ = c.Error(err)
		return
	}
	etag, err := bindIfMatch(c)
	if err != nil {
		_ = c.Error(err)
		return
	}
	h, created, err := s.hubs.Put(c.Request.Context(), who(c), c.Param("hub"), in, etag)
	if err != nil {
		_ = c.Error(err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	c.Header("ETag", h.ETag)
	c.JSON(status, h)
}

// patchHub changes the fields of a hub that a JSON merge patch (RFC 7396)
// names; If-Match, when sent, makes it conditional. The write is
// conditional on the record read, so a change made meanwhile is a 412,
// never lost.
func (s *Server) patchHub(c *gin.Context) {
	etag, err := bindIfMatch(c)
	if err != nil {
		_ = c.Error(err)
		return
	}
	h, err := s.hubs.Patch(c.Request.Context(), who(c), c.Param("hub"), func(cur hubInput, curETag string) (hubInput, error) {
		return bindMergePatch(c, etag, curETag, cur)
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.Header("ETag", h.ETag)
	c.JSON(http.StatusOK, h)
}

// hubInputOf is a hub's writable fields, as PUT takes them.
func hubInputOf(h hub.Hub) hubInput {
	return hubInput{ID: h.ID, Title: h.Title, Type: h.Type, TZ: h.TZ, HorizonDays: h.HorizonDays, IntervalHours: h.IntervalHours,
		Contact: h.Contact, Members: h.Members, Vocabulary: h.Vocabulary, Render: h.Render}
}

// deleteHub removes a hub with everything stored for it
// (hubService.Delete; administrator only).
func (s *Server) deleteHub(c *gin.Context) {
	if err := s.hubs.Delete(c.Request.Context(), who(c), c.Param("hub")); err != nil {
		_ = c.Error(err)
		return
	}
	c.Status(http.StatusNoContent)
}
