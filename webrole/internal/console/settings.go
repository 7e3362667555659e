package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/hub"
)

// settingsRoutes registers the hub's settings, tags, refresh, logs and
// history pages.
func (h *handler) settingsRoutes(one, post *gin.RouterGroup) {
	one.GET("/settings", h.getSettings)
	post.POST("/settings", h.postSettings)
	post.POST("/tags", h.postTag)
	h.jobRoutes(one, post)
}

// zones is the time-zone picker's list: the IANA zones of the tz
// database's zone.tab and zone1970.tab, and UTC.
var zones = sync.OnceValue(func() []string {
	b, err := files.ReadFile("assets/zones.txt")
	if err != nil {
		panic(err)
	}
	return strings.Fields(string(b))
})

// zoneGroup is the picker's zones of one area (America, Europe ...).
type zoneGroup struct {
	Area  string
	Zones []string
}

// zoneGroups groups the picker's zones by area, with current first if it
// is not one of them.
func zoneGroups(current string) []zoneGroup {
	var out []zoneGroup
	all := zones()
	if current != "" && !slices.Contains(all, current) {
		out = append(out, zoneGroup{Area: "Current", Zones: []string{current}})
	}
	for _, z := range all {
		area, _, _ := strings.Cut(z, "/")
		if len(out) == 0 || out[len(out)-1].Area != area {
			out = append(out, zoneGroup{Area: area})
		}
		out[len(out)-1].Zones = append(out[len(out)-1].Zones, z)
	}
	return out
}

// hubForm is the settings form's fields.
type hubForm struct {
	Title, TZ, Contact, Type   string
	HorizonDays, IntervalHours string
	Vocabulary, Members, ETag  string
	Zones                      []zoneGroup
	Contributed                []tagCount
	Feeds                      []hub.Feed
	MoreFeeds                  bool
	VocabularyList             []string
}

// tagCount is one of the hub's tags in its current calendar.
type tagCount struct {
	Tag         string `json:"tag"`
	Count       int    `json:"count"`
	Contributed bool   `json:"contributed"`
}

// getSettings shows the hub's settings and its contributed tags.
func (h *handler) getSettings(c *gin.Context) {
	h.settingsPage(c, http.StatusOK, nil, "", nil)
}

// settingsPage renders the settings page: the hub as stored, or the
// form as posted (in) with a problem.
func (h *handler) settingsPage(c *gin.Context, status int, in *hubForm, problem string, fields map[string]string) {
	id := c.Param("hub")
	var hb hub.Hub
	hd, err := h.call(c, http.MethodGet, "/api/hubs/"+url.PathEscape(id), nil, "", &hb)
	if err != nil {
		h.failAPI(c, err)
		return
	}
	f := hubForm{Title: hb.Title, TZ: hb.TZ, Contact: hb.Contact, Type: hb.Type, HorizonDays: strconv.Itoa(hb.HorizonDays),
		IntervalHours: strconv.Itoa(hb.IntervalHours), Vocabulary: strings.Join(hb.Vocabulary, ", "),
		Members: strings.Join(hb.Members, ", "), ETag: hd.Get("ETag"), VocabularyList: hb.Vocabulary}
	if in != nil {
		in.VocabularyList, in.ETag = hb.Vocabulary, f.ETag
		f = *in
	}
	f.Zones = zoneGroups(f.TZ)
	// The contributed tags of the current calendar, and the feeds whose
	// catmap may map one.
	var tags []tagCount
	if _, err := h.call(c, http.MethodGet, "/services/"+url.PathEscape(id)+"/tags_json", nil, "", &tags); err == nil {
		for _, t := range tags {
			if t.Contributed {
				f.Contributed = append(f.Contributed, t)
			}
		}
	}
	var feeds struct {
		Feeds []hub.Feed `json:"feeds"`
		Next  string     `json:"next"`
	}
	if _, err := h.call(c, http.MethodGet, "/api/hubs/"+url.PathEscape(id)+"/feeds?limit=1000", nil, "", &feeds); err != nil {
		h.failAPI(c, err)
		return
	}
	f.Feeds, f.MoreFeeds = feeds.Feeds, feeds.Next != ""
	h.render(c, status, "settings", view{Title: "Settings and tags of " + hb.Title, Hub: id, Section: "settings", Problem: problem, Fields: fields, Data: f})
}

// postSettings saves the settings form as a merge patch conditional on the
// ETag it was made from. Region members are the administrator's to set.
func (h *handler) postSettings(c *gin.Context) {
	in := hubForm{Title: strings.TrimSpace(c.PostForm("title")), TZ: c.PostForm("tz"), Contact: strings.TrimSpace(c.PostForm("contact")),
		HorizonDays: c.PostForm("horizon_days"), IntervalHours: c.PostForm("interval_hours"), Vocabulary: c.PostForm("vocabulary"),
		Type: c.PostForm("type"), Members: c.PostForm("members")}
	fields := map[string]string{}
	horizon, err := strconv.Atoi(strings.TrimSpace(in.HorizonDays))
	if err != nil {
		fields["horizon_days"] = "must be a whole number of days"
	}
	interval, err := strconv.Atoi(strings.TrimSpace(in.IntervalHours))
	if err != nil {
		fields["interval_hours"] = "must be a whole number of hours"
	}
	if strings.TrimSpace(in.TZ) == "" {
		fields["tz"] = "required: pick the hub's time zone"
	}
	if len(fields) > 0 {
		h.settingsPage(c, http.StatusBadRequest, &in, "The settings were not saved.", fields)
		return
	}
	p := map[string]any{"title": in.Title, "tz": in.TZ, "contact": in.Contact, "horizon_days": horizon, "interval_hours": interval,
		"vocabulary": splitList(strings.ReplaceAll(in.Vocabulary, "\n", ","))}
	if sess(c).Admin && in.Type != "" {
		p["type"] = in.Type
		p["members"] = splitList(in.Members)
		if in.Type != hub.TypeRegion {
			p["members"] = nil
		}
	}
	etag := c.PostForm("etag")
	if etag == "" {
		etag = "*"
	}
	_, err = h.call(c, http.MethodPatch, "/api/hubs/"+url.PathEscape(c.Param("hub")), p, etag, nil)
	if ae, ok := errors.AsType[*apiError](err); ok && ae.Status == http.StatusPreconditionFailed {
		h.settingsPage(c, http.StatusConflict, nil, "Someone changed the hub's settings while you were editing them, so yours were not saved. These are the settings as they are now: make your changes again.", nil)
		return
	}
	if ae, ok := errors.AsType[*apiError](err); ok && (ae.Status == http.StatusBadRequest || ae.Status == http.StatusForbidden && ae.Fields != nil) {
		h.settingsPage(c, ae.Status, &in, "The settings were not saved: "+ae.Message+".", ae.Fields)
		return
	}
	if err != nil {
		h.failAPI(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/console/hubs/"+url.PathEscape(c.Param("hub"))+"/settings?done=settings")
}

// postTag acts on one contributed tag: map it to a hub tag in a feed's
// catmap (a merge patch adds the one mapping), or add it to the hub's
// vocabulary (conditional on the hub's ETag).
func (h *handler) postTag(c *gin.Context) {
	id := c.Param("hub")
	tag := strings.TrimSpace(c.PostForm("tag"))
	if tag == "" {
		h.settingsPage(c, http.StatusBadRequest, nil, "Pick a tag first.", nil)
		return
	}
	switch c.PostForm("action") {
	case "map":
		to, feed := strings.TrimSpace(c.PostForm("to")), c.PostForm("feed")
		if to == "" || feed == "" {
			h.settingsPage(c, http.StatusBadRequest, nil, "To map the tag "+tag+", pick a feed and give the hub tag to map it to.", nil)
			return
		}
		_, err := h.call(c, http.MethodPatch, feedPath(id, feed), map[string]any{"catmap": map[string]string{tag: to}}, "", nil)
		if ae, ok := errors.AsType[*apiError](err); ok && ae.Status == http.StatusBadRequest {
			h.settingsPage(c, ae.Status, nil, "The tag was not mapped: "+ae.Message+".", ae.Fields)
			return
		}
		if err != nil {
			h.failAPI(c, err)
			return
		}
		c.Redirect(http.StatusSeeOther, "/console/hubs/"+url.PathEscape(id)+"/settings?done=mapped")
	case "vocabulary":
		var hb hub.Hub
		hd, err := h.call(c, http.MethodGet, "/api/hubs/"+url.PathEscape(id), nil, "", &hb)
		if err != nil {
			h.failAPI(c, err)
			return
		}
		vocab := append(slices.Clone(hb.Vocabulary), tag)
		_, err = h.call(c, http.MethodPatch, "/api/hubs/"+url.PathEscape(id), map[string]any{"vocabulary": vocab}, hd.Get("ETag"), nil)
		if ae, ok := errors.AsType[*apiError](err); ok && (ae.Status == http.StatusBadRequest || ae.Status == http.StatusPreconditionFailed) {
			h.settingsPage(c, ae.Status, nil, "The tag was not added: "+ae.Message+".", ae.Fields)
			return
		}
		if err != nil {
			h.failAPI(c, err)
			return
		}
		c.Redirect(http.StatusSeeOther, "/console/hubs/"+url.PathEscape(id)+"/settings?done=vocabulary")
	default:
		h.settingsPage(c, http.StatusBadRequest, nil, "That action is not known.", nil)
	}
}
