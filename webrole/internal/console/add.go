package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/feedcheck"
)

// moreHubRoutes registers a hub's other pages: adding a feed, settings
// and tags, refreshing, logs and history.
func (h *handler) moreHubRoutes(one, post *gin.RouterGroup) {
	one.GET("/add", h.getNewFeed)
	post.POST("/add", h.postPreview)
	h.settingsRoutes(one, post)
}

// getNewFeed shows the add form: the feed's address and its source name.
func (h *handler) getNewFeed(c *gin.Context) {
	h.addPage(c, http.StatusOK, feedForm{}, nil, "", nil)
}

// addPage renders the add form, with the check's report once there is
// one.
func (h *handler) addPage(c *gin.Context, status int, ff feedForm, rep *feedcheck.Report, problem string, fields map[string]string) {
	if len(ff.CatMap) == 0 {
		for range catmapRows {
			ff.CatMap = append(ff.CatMap, [2]string{})
		}
	}
	h.render(c, status, "add", view{Title: "Add a feed", Hub: c.Param("hub"), Section: "add", Problem: problem, Fields: fields,
		Data: map[string]any{"Form": ff, "Report": rep}})
}

// postPreview checks the feed the way the worker would read it (POST
// /api/hubs/{hub}/check) and shows the report, with the buttons that add
// it approved or not.
func (h *handler) postPreview(c *gin.Context) {
	ff := readFeedForm(c)
	fields := map[string]string{}
	if ff.FeedURL == "" {
		fields["feedurl"] = "required: the address of the calendar feed (https://, http:// or webcal://)"
	}
	if ff.Source == "" {
		fields["source"] = "required: the name shown on the feed's events, such as Keene Public Library"
	}
	if len(fields) > 0 {
		h.addPage(c, http.StatusBadRequest, ff, nil, "Fill in both fields first.", fields)
		return
	}
	var rep feedcheck.Report
	_, err := h.call(c, http.MethodPost, "/api/hubs/"+url.PathEscape(c.Param("hub"))+"/check", map[string]string{"feedurl": ff.FeedURL}, "", &rep)
	if ae, ok := errors.AsType[*apiError](err); ok && ae.Status < 500 && ae.Status != http.StatusForbidden {
		h.addPage(c, ae.Status, ff, nil, "The feed was not checked: "+ae.Message+".", ae.Fields)
		return
	}
	if err != nil {
		h.failAPI(c, err)
		return
	}
	h.addPage(c, http.StatusOK, ff, &rep, "", nil)
}

// sortStrings sorts s in place.
func sortStrings(s []string) { slices.SortFunc(s, strings.Compare) }
