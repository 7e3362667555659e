package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/tablestore"
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
	ctx := c.Request.Context()
	id := c.Param("hub")
	old, err := s.deps.Store.GetHub(ctx, id)
	switch {
	case errors.Is(err, tablestore.ErrNotFound):
		if !who(c).admin {
			_ = c.Error(errNoAccess(id))
			return
		}
		s.saveHub(c, nil, in, "")
	case err != nil:
		_ = c.Error(err)
	case etag == "":
		_ = c.Error(errNoIfMatch)
	default:
		s.saveHub(c, &old, in, etag)
	}
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
	ctx := c.Request.Context()
	old, err := s.deps.Store.GetHub(ctx, c.Param("hub"))
	if err != nil {
		_ = c.Error(err)
		return
	}
	in, err := bindMergePatch(c, etag, old.ETag, hubInputOf(old))
	if err != nil {
		_ = c.Error(err)
		return
	}
	s.saveHub(c, &old, in, old.ETag)
}

// hubInputOf is a hub's writable fields, as PUT takes them.
func hubInputOf(h hub.Hub) hubInput {
	return hubInput{ID: h.ID, Title: h.Title, Type: h.Type, TZ: h.TZ, HorizonDays: h.HorizonDays, IntervalHours: h.IntervalHours,
		Contact: h.Contact, Members: h.Members, Vocabulary: h.Vocabulary, Render: h.Render}
}

// saveHub stores in as the hub of the path: a new hub when old is nil,
// else old's replacement, conditional on etag.
func (s *Server) saveHub(c *gin.Context, old *hub.Hub, in hubInput, etag string) {
	id := c.Param("hub")
	fields := map[string]string{}
	if in.ID != "" && in.ID != id {
		fields["id"] = "must match the hub in the path"
	}
	// A zone left out used to become UTC, silently placing the floating
	// times of every feed in the wrong hours.
	if strings.TrimSpace(in.TZ) == "" {
		fields["tz"] = "required: the hub's IANA time zone, such as America/New_York"
	}
	if len(fields) > 0 {
		_ = c.Error(&Error{Status: http.StatusBadRequest, Code: "invalid", Message: "the request has invalid fields", Fields: fields})
		return
	}
	h := hub.Hub{ID: id, Title: in.Title, Type: in.Type, TZ: in.TZ, HorizonDays: in.HorizonDays, IntervalHours: in.IntervalHours,
		Contact: in.Contact, Members: in.Members, Vocabulary: in.Vocabulary, Render: in.Render, ETag: etag}
	ctx := c.Request.Context()
	if old == nil {
		if err := s.checkMembers(ctx, who(c), hub.Hub{}, h); err != nil {
			_ = c.Error(err)
			return
		}
		created, err := s.deps.Store.CreateHub(ctx, h)
		if err != nil {
			_ = c.Error(err)
			return
		}
		s.deps.Logger.InfoContext(ctx, "hub created", "hub", id, "by", who(c).name())
		s.recordHistory(c, tablestore.HistoryEntry{Hub: id, Action: "hub created"}, nil, hubRecord(created))
		c.Header("ETag", created.ETag)
		c.JSON(http.StatusCreated, created)
		return
	}
	if err := s.checkMembers(ctx, who(c), *old, h); err != nil {
		_ = c.Error(err)
		return
	}
	updated, err := s.deps.Store.UpdateHub(ctx, h)
	if err != nil {
		_ = c.Error(err)
		return
	}
	s.deps.Logger.InfoContext(ctx, "hub settings changed", "hub", id, "by", who(c).name())
	s.recordHistory(c, tablestore.HistoryEntry{Hub: id, Action: "hub changed"}, hubRecord(*old), hubRecord(updated))
	c.Header("ETag", updated.ETag)
	c.JSON(http.StatusOK, updated)
}

// checkMembers checks a region's members against the caller, then the
// store: a curator may name only hubs they curate, besides members the
// hub already lists (old's, which the administrator chose), and the 403
// names the first other hub; the administrator may name any. The store
// then validates h and checks that every member exists (a 400 naming the
// first that does not). Invalid ids and the region itself are the
// store's to refuse.
func (s *Server) checkMembers(ctx context.Context, p principal, old, h hub.Hub) error {
	if !p.admin {
		for _, m := range h.Members {
			m = strings.TrimSpace(m)
			if hub.ValidID(m) && m != h.ID && !p.can(m) && !slices.Contains(old.Members, m) {
				return &Error{Status: http.StatusForbidden, Code: "forbidden",
					Message: fmt.Sprintf("you do not curate hub %q, so your region may not list it", m),
					Fields:  map[string]string{"members": fmt.Sprintf("%q is not one of your hubs", m)}}
			}
		}
	}
	return s.deps.Store.CheckMembers(ctx, h)
}

// deleteHub removes a hub with everything stored for it: its published
// calendars, its log, and then its feeds, every curator's grant to it and
// its pending job with the hub record (administrator only). The record
// goes last, so a DELETE that fails part way can be repeated.
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
