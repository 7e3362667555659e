package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/feedcheck"
	"github.com/elmcity/elmcity/shared/feedkind"
)

// moreHubRoutes registers a hub's other pages: adding a feed, settings
// and tags, refreshing, logs and history.
func (h *handler) moreHubRoutes(one, post *gin.RouterGroup) {
	one.GET("/add", h.getNewFeed)
	post.POST("/add", h.postPreview)
	h.settingsRoutes(one, post)
}

// getNewFeed shows the add form: the feed's address, its source name,
// its kind and, for a kind that needs one, its mapping.
func (h *handler) getNewFeed(c *gin.Context) {
	h.addPage(c, http.StatusOK, feedForm{Kind: string(feedkind.KindICS)}, nil, "", nil)
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
		Data: map[string]any{"Form": ff, "Report": rep, "Checked": rep != nil}})
}

// postPreview checks the feed the way the worker would read it (POST
// /api/hubs/{hub}/check, with its kind and mapping, or its adapter and
// hosts) and shows the report, the conversion's (or the adapter's)
// first, with the buttons that add it approved or not, or check it
// again with another mapping or adapter.
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
	in := map[string]any{"feedurl": ff.FeedURL, "kind": ff.Kind, "mapping": ff.mapping()}
	if ff.Kind == string(feedkind.KindScript) {
		in["adapter"], in["hosts"] = ff.Adapter, splitList(ff.Hosts)
	}
	var rep feedcheck.Report
	_, err := h.call(c, http.MethodPost, "/api/hubs/"+url.PathEscape(c.Param("hub"))+"/check", in, "", &rep)
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
