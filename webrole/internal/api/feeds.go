package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/feedkind"
	"github.com/elmcity/elmcity/shared/fetch"
	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/tablestore"
)

// feedInput is the body of POST and PUT on feeds; the feed id is derived
// from feedurl, never sent. kind, mapping, adapter and hosts say what
// the feed URL serves when it is not iCalendar (hub.Feed); a merge patch
// merges mapping member by member, and "mapping": null removes it.
type feedInput struct {
	FeedURL    string            `json:"feedurl"`
	URL        string            `json:"url"`
	Source     string            `json:"source"`
	Categories []string          `json:"categories"`
	CatMap     map[string]string `json:"catmap"`
	Approved   bool              `json:"approved"`
	Comments   string            `json:"comments"`
	Kind       string            `json:"kind,omitempty"`
	Mapping    *feedkind.Mapping `json:"mapping,omitempty"`
	Adapter    string            `json:"adapter,omitempty"`
	Hosts      []string          `json:"hosts,omitempty"`
}

// feedInputOf is f's writable fields.
func feedInputOf(f hub.Feed) feedInput {
	return feedInput{FeedURL: f.FeedURL, URL: f.URL, Source: f.Source, Categories: f.Categories, CatMap: f.CatMap,
		Approved: f.Approved, Comments: f.Comments, Kind: f.Kind, Mapping: f.Mapping, Adapter: f.Adapter, Hosts: f.Hosts}
}

func (in feedInput) feed() hub.Feed {
	f := hub.Feed{FeedURL: in.FeedURL, URL: in.URL, Source: in.Source, Categories: in.Categories,
		CatMap: in.CatMap, Approved: in.Approved, Comments: in.Comments, Kind: in.Kind, Mapping: in.Mapping,
		Adapter: in.Adapter, Hosts: in.Hosts}
	if f.Mapping != nil && f.Mapping.IsZero() {
		f.Mapping = nil // "mapping": {} is no mapping, as the store keeps it
	}
	return f
}

// getFeeds lists a hub's feeds, a page at a time.
func (s *Server) getFeeds(c *gin.Context) {
	pg, err := bindPage(c)
	if err != nil {
		_ = c.Error(err)
		return
	}
	ctx := c.Request.Context()
	if _, err := s.deps.Store.GetHub(ctx, c.Param("hub")); err != nil {
		_ = c.Error(err)
		return
	}
	feeds, next, err := s.deps.Store.ListFeedsPage(ctx, c.Param("hub"), pg.after, pg.limit)
	if err != nil {
		_ = c.Error(err)
		return
	}
	if feeds == nil {
		feeds = []hub.Feed{}
	}
	c.JSON(http.StatusOK, gin.H{"feeds": feeds, "next": next})
}

// postFeed adds a feed to a hub: 201 with its Location; a feed URL the hub
// already has is a 409 naming the field, and so is a hub that has as many
// feeds as the store allows.
func (s *Server) postFeed(c *gin.Context) {
	var in feedInput
	if err := bindJSON(c, &in); err != nil {
		_ = c.Error(err)
		return
	}
	ctx := c.Request.Context()
	f, err := s.deps.Store.CreateFeed(ctx, c.Param("hub"), in.feed())
	var limit *tablestore.LimitError
	switch {
	case errors.Is(err, tablestore.ErrExists):
		err = &Error{Status: http.StatusConflict, Code: "exists", Message: "the hub already has this feed",
			Fields: map[string]string{"feedurl": "already a feed of this hub"}}
	case errors.As(err, &limit):
		err = &Error{Status: http.StatusConflict, Code: "too_many_feeds",
			Message: fmt.Sprintf("the hub already has %d feeds, the most it may have; remove one before adding another", limit.Max)}
	}
	if err != nil {
		_ = c.Error(err)
		return
	}
	s.deps.Logger.InfoContext(ctx, "feed added", "hub", c.Param("hub"), "feed_url", fetch.LogURL(f.FeedURL), "by", who(c).name())
	s.recordHistory(c, tablestore.HistoryEntry{Hub: c.Param("hub"), Action: "feed added", Feed: f.ID, FeedURL: f.FeedURL, Source: f.Source}, nil, feedRecord(f))
	c.Header("Location", "/api/hubs/"+c.Param("hub")+"/feeds/"+f.ID)
	c.Header("ETag", f.ETag)
	c.JSON(http.StatusCreated, f)
}

// getFeed returns one feed.
func (s *Server) getFeed(c *gin.Context) {
	f, err := s.deps.Store.GetFeed(c.Request.Context(), c.Param("hub"), c.Param("feed"))
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.Header("ETag", f.ETag)
	c.JSON(http.StatusOK, f)
}

// putFeed replaces a feed's fields; the feed URL cannot change. It needs
// If-Match with the ETag of a read (428 without it), since a field left
// out is reset; PATCH changes some fields.
func (s *Server) putFeed(c *gin.Context) {
	var in feedInput
	if err := bindJSON(c, &in); err != nil {
		_ = c.Error(err)
		return
	}
	etag, err := bindIfMatch(c)
	if err != nil {
		_ = c.Error(err)
		return
	}
	if etag == "" {
		_ = c.Error(errNoIfMatch)
		return
	}
	old, err := s.deps.Store.GetFeed(c.Request.Context(), c.Param("hub"), c.Param("feed"))
	if err != nil {
		_ = c.Error(err)
		return
	}
	s.saveFeed(c, old, in, etag)
}

// patchFeed changes the fields of a feed that a JSON merge patch (RFC
// 7396) names; If-Match, when sent, makes it conditional. The write is
// conditional on the record read.
func (s *Server) patchFeed(c *gin.Context) {
	etag, err := bindIfMatch(c)
	if err != nil {
		_ = c.Error(err)
		return
	}
	old, err := s.deps.Store.GetFeed(c.Request.Context(), c.Param("hub"), c.Param("feed"))
	if err != nil {
		_ = c.Error(err)
		return
	}
	in, err := bindMergePatch(c, etag, old.ETag, feedInputOf(old))
	if err != nil {
		_ = c.Error(err)
		return
	}
	s.saveFeed(c, old, in, old.ETag)
}

// saveFeed stores in as old's replacement, conditional on etag.
func (s *Server) saveFeed(c *gin.Context, old hub.Feed, in feedInput, etag string) {
	ctx := c.Request.Context()
	f := in.feed()
	if f.FeedURL == "" {
		f.FeedURL = old.FeedURL
	}
	f.ID = old.ID
	f.ETag = etag
	updated, err := s.deps.Store.UpdateFeed(ctx, c.Param("hub"), f)
	if err != nil {
		_ = c.Error(err)
		return
	}
	s.deps.Logger.InfoContext(ctx, "feed changed", "hub", c.Param("hub"), "feed_url", fetch.LogURL(updated.FeedURL), "by", who(c).name())
	s.recordHistory(c, tablestore.HistoryEntry{Hub: c.Param("hub"), Action: "feed changed", Feed: updated.ID, FeedURL: updated.FeedURL, Source: updated.Source},
		feedRecord(old), feedRecord(updated))
	c.Header("ETag", updated.ETag)
	c.JSON(http.StatusOK, updated)
}

// deleteFeed removes a feed from its hub.
func (s *Server) deleteFeed(c *gin.Context) {
	ctx := c.Request.Context()
	old, err := s.deps.Store.GetFeed(ctx, c.Param("hub"), c.Param("feed"))
	if err != nil {
		_ = c.Error(err)
		return
	}
	if err := s.deps.Store.DeleteFeed(ctx, c.Param("hub"), c.Param("feed")); err != nil {
		_ = c.Error(err)
		return
	}
	s.recordHistory(c, tablestore.HistoryEntry{Hub: c.Param("hub"), Action: "feed removed", Feed: old.ID, FeedURL: old.FeedURL, Source: old.Source},
		feedRecord(old), nil)
	s.deps.Logger.InfoContext(ctx, "feed removed", "hub", c.Param("hub"), "feed_id", c.Param("feed"), "by", who(c).name())
	c.Status(http.StatusNoContent)
}
