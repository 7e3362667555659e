package console

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/feedkind"
	"github.com/elmcity/elmcity/shared/hub"
)

// catmapRows is how many rows the catmap editor has beyond the feed's
// mappings (a script adds more).
const catmapRows = 3

// feedForm is the edit form's fields.
type feedForm struct {
	ID         string
	FeedURL    string
	URL        string
	Source     string
	Categories string
	CatMap     [][2]string
	Comments   string
	Approved   bool
	ETag       string
	// Kind is the feed's kind (ics when the feed names none); Mapping,
	// Adapter and Hosts (comma separated) what it needs.
	Kind    string
	Mapping feedkind.Mapping
	Adapter string
	Hosts   string
}

// formOf fills the form from a feed, with empty catmap rows to add to.
func formOf(f hub.Feed) feedForm {
	ff := feedForm{ID: f.ID, FeedURL: f.FeedURL, URL: f.URL, Source: f.Source, Categories: strings.Join(f.Categories, ", "),
		Comments: f.Comments, Approved: f.Approved, ETag: f.ETag, Kind: cmp.Or(f.Kind, string(feedkind.KindICS)),
		Adapter: f.Adapter, Hosts: strings.Join(f.Hosts, ", ")}
	if f.Mapping != nil {
		ff.Mapping = *f.Mapping
	}
	keys := make([]string, 0, len(f.CatMap))
	for k := range f.CatMap {
		keys = append(keys, k)
	}
	sortStrings(keys)
	for _, k := range keys {
		ff.CatMap = append(ff.CatMap, [2]string{k, f.CatMap[k]})
	}
	for range catmapRows {
		ff.CatMap = append(ff.CatMap, [2]string{})
	}
	return ff
}

// readFeedForm reads the edit form as posted; the catmap rows come as
// from_N and to_N pairs, the mapping's fields as m_NAME.
func readFeedForm(c *gin.Context) feedForm {
	ff := feedForm{URL: strings.TrimSpace(c.PostForm("url")), Source: strings.TrimSpace(c.PostForm("source")),
		Categories: c.PostForm("categories"), Comments: c.PostForm("comments"), Approved: c.PostForm("approved") == "yes",
		ETag: c.PostForm("etag"), FeedURL: strings.TrimSpace(c.PostForm("feedurl")),
		Kind: strings.ToLower(strings.TrimSpace(c.PostForm("kind"))), Mapping: readMapping(c.PostForm),
		Adapter: strings.TrimSpace(c.PostForm("adapter")), Hosts: c.PostForm("hosts")}
	if ff.Kind == "" {
		ff.Kind = string(feedkind.KindICS)
	}
	for i := range hub.MaxCatMap + catmapRows {
		from, okF := c.GetPostForm("from_" + strconv.Itoa(i))
		to, okT := c.GetPostForm("to_" + strconv.Itoa(i))
		if !okF && !okT {
			break
		}
		ff.CatMap = append(ff.CatMap, [2]string{strings.TrimSpace(from), strings.TrimSpace(to)})
	}
	return ff
}

// patch is the merge patch of the form's fields, kind and mapping
// included; an incomplete catmap row is a field problem.
func (ff feedForm) patch() (map[string]any, map[string]string) {
	cm := map[string]string{}
	for _, r := range ff.CatMap {
		switch {
		case r[0] == "" && r[1] == "":
		case r[0] == "" || r[1] == "":
			return nil, map[string]string{"catmap": fmt.Sprintf("the row %q → %q needs both a feed category and a hub tag", r[0], r[1])}
		default:
			cm[r[0]] = r[1]
		}
	}
	var catmap any = cm
	if len(cm) == 0 {
		catmap = nil // removes every mapping
	}
	p := map[string]any{"source": ff.Source, "url": ff.URL, "categories": splitList(ff.Categories),
		"catmap": catmap, "comments": ff.Comments, "approved": ff.Approved}
	ff.kindPatch(p)
	return p, nil
}

// splitList splits a comma list, dropping empties.
func splitList(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func feedPath(hubID, feedID string) string {
	return "/api/hubs/" + url.PathEscape(hubID) + "/feeds/" + url.PathEscape(feedID)
}

// getFeed shows a feed's edit form.
func (h *handler) getFeed(c *gin.Context) {
	var f hub.Feed
	hd, err := h.call(c, http.MethodGet, feedPath(c.Param("hub"), c.Param("feed")), nil, "", &f)
	if err != nil {
		h.failAPI(c, err)
		return
	}
	f.ETag = hd.Get("ETag")
	h.feedPage(c, http.StatusOK, formOf(f), "", nil)
}

func (h *handler) feedPage(c *gin.Context, status int, ff feedForm, problem string, fields map[string]string) {
	h.render(c, status, "feed", view{Title: "Feed " + ff.Source, Hub: c.Param("hub"), Section: "feeds",
		Problem: problem, Fields: fields, Data: ff})
}

// postFeedEdit saves the edit form as a merge patch conditional on the
// ETag the form was made from: an edit made meanwhile is not lost, and
// the form shows the feed as it is now.
func (h *handler) postFeedEdit(c *gin.Context) {
	ff := readFeedForm(c)
	ff.ID = c.Param("feed")
	p, fields := ff.patch()
	if fields != nil {
		h.feedPage(c, http.StatusBadRequest, ff, "The feed was not saved.", fields)
		return
	}
	if ff.ETag == "" {
		ff.ETag = "*"
	}
	_, err := h.call(c, http.MethodPatch, feedPath(c.Param("hub"), ff.ID), p, ff.ETag, nil)
	if ae, ok := errors.AsType[*apiError](err); ok && ae.Status == http.StatusPreconditionFailed {
		var f hub.Feed
		hd, gerr := h.call(c, http.MethodGet, feedPath(c.Param("hub"), ff.ID), nil, "", &f)
		if gerr != nil {
			h.failAPI(c, gerr)
			return
		}
		f.ETag = hd.Get("ETag")
		h.feedPage(c, http.StatusConflict, formOf(f), "Someone changed this feed while you were editing it, so your changes were not saved. This is the feed as it is now: make your changes again.", nil)
		return
	}
	if ae, ok := errors.AsType[*apiError](err); ok && ae.Status == http.StatusBadRequest {
		ff.FeedURL = c.PostForm("feedurl")
		h.feedPage(c, http.StatusBadRequest, ff, "The feed was not saved: "+ae.Message+".", ae.Fields)
		return
	}
	if err != nil {
		h.failAPI(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/console/hubs/"+url.PathEscape(c.Param("hub"))+"?done=saved")
}

// postApproval approves or unapproves a feed, conditional on the ETag of
// the table it was shown in.
func (h *handler) postApproval(c *gin.Context) {
	approve := c.PostForm("approved") == "yes"
	etag := c.PostForm("etag")
	if etag == "" {
		etag = "*"
	}
	_, err := h.call(c, http.MethodPatch, feedPath(c.Param("hub"), c.Param("feed")), map[string]any{"approved": approve}, etag, nil)
	if apiStatus(err) == http.StatusPreconditionFailed {
		h.refuse(c.Writer, c.Request, http.StatusConflict, "Someone changed this feed since the page was shown, so nothing was done. Go back, reload the page and try again.")
		return
	}
	if err != nil {
		h.failAPI(c, err)
		return
	}
	done := "approved"
	if !approve {
		done = "unapproved"
	}
	c.Redirect(http.StatusSeeOther, "/console/hubs/"+url.PathEscape(c.Param("hub"))+"?done="+done)
}

// getDeleteFeed asks to confirm removing a feed.
func (h *handler) getDeleteFeed(c *gin.Context) {
	var f hub.Feed
	if _, err := h.call(c, http.MethodGet, feedPath(c.Param("hub"), c.Param("feed")), nil, "", &f); err != nil {
		h.failAPI(c, err)
		return
	}
	h.render(c, http.StatusOK, "confirm", view{Title: "Remove the feed " + f.Source + "?", Hub: c.Param("hub"), Section: "feeds",
		Data: confirm{What: fmt.Sprintf("The feed %s (%s) will be removed from the hub; its events leave the hub at the next refresh. To bring it back you add it again.", f.Source, f.FeedURL),
			Action: "/console/hubs/" + url.PathEscape(c.Param("hub")) + "/feeds/" + url.PathEscape(f.ID) + "/delete",
			Button: "Remove the feed", Back: "/console/hubs/" + url.PathEscape(c.Param("hub"))}})
}

// confirm is a confirmation page's data.
type confirm struct {
	What, Action, Button, Back string
	Fields                     map[string]string // hidden fields to post
}

// postDeleteFeed removes a feed.
func (h *handler) postDeleteFeed(c *gin.Context) {
	if _, err := h.call(c, http.MethodDelete, feedPath(c.Param("hub"), c.Param("feed")), nil, "", nil); err != nil && apiStatus(err) != http.StatusNotFound {
		h.failAPI(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/console/hubs/"+url.PathEscape(c.Param("hub"))+"?done=deleted")
}

// postFeed adds a feed from the add form (after its preview), approved
// or not as the button said.
func (h *handler) postFeed(c *gin.Context) {
	ff := readFeedForm(c)
	ff.Approved = c.PostForm("approve") == "yes"
	p, fields := ff.patch()
	if fields != nil {
		h.addPage(c, http.StatusBadRequest, ff, nil, "The feed was not added.", fields)
		return
	}
	p["feedurl"] = ff.FeedURL
	var f hub.Feed
	_, err := h.call(c, http.MethodPost, "/api/hubs/"+url.PathEscape(c.Param("hub"))+"/feeds", p, "", &f)
	if ae, ok := errors.AsType[*apiError](err); ok && ae.Status < 500 && ae.Status != http.StatusForbidden {
		h.addPage(c, ae.Status, ff, nil, "The feed was not added: "+ae.Message+".", ae.Fields)
		return
	}
	if err != nil {
		h.failAPI(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/console/hubs/"+url.PathEscape(c.Param("hub"))+"?done=added")
}
