package console

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/hub"
)

// adminRoutes registers the administrator's pages: all hubs (create,
// delete) and curators (create, rotate, revoke).
func (h *handler) adminRoutes(in, forms *gin.RouterGroup) {
	a := in.Group("/admin", h.requireAdmin)
	p := forms.Group("/admin", h.requireAdmin)
	a.GET("/hubs", h.getAdminHubs)
	p.POST("/hubs", h.postAdminHub)
	a.GET("/hubs/:hub/delete", h.getDeleteHub)
	p.POST("/hubs/:hub/delete", h.postDeleteHub)
	a.GET("/curators", h.getCurators)
	p.POST("/curators", h.postCurator)
	a.GET("/curators/:id/rotate", h.getRotate)
	p.POST("/curators/:id/rotate", h.postRotate)
	a.GET("/curators/:id/revoke", h.getRevoke)
	p.POST("/curators/:id/revoke", h.postRevoke)
}

// requireAdmin lets only the administrator through.
func (h *handler) requireAdmin(c *gin.Context) {
	if !sess(c).Admin {
		h.refuse(c.Writer, c.Request, http.StatusForbidden, "Only the administrator may use these pages.")
		c.Abort()
		return
	}
	c.Next()
}

// newHubForm is the create-a-hub form.
type newHubForm struct {
	ID, Title, TZ string
	Zones         []zoneGroup
}

// getAdminHubs lists every hub, with the form that creates one.
func (h *handler) getAdminHubs(c *gin.Context) {
	h.adminHubsPage(c, http.StatusOK, newHubForm{TZ: "America/New_York"}, "", nil)
}

func (h *handler) adminHubsPage(c *gin.Context, status int, f newHubForm, problem string, fields map[string]string) {
	var page struct {
		Hubs []hub.Hub `json:"hubs"`
		Next string    `json:"next"`
	}
	q := url.Values{"limit": {"50"}}
	if a := c.Query("after"); a != "" {
		q.Set("after", a)
	}
	if _, err := h.call(c, http.MethodGet, "/api/hubs?"+q.Encode(), nil, "", &page); err != nil {
		h.failAPI(c, err)
		return
	}
	f.Zones = zoneGroups(f.TZ)
	h.render(c, status, "adminhubs", view{Title: "All hubs", Problem: problem, Fields: fields,
		Data: map[string]any{"Hubs": page.Hubs, "Next": page.Next, "Form": f}})
}

// postAdminHub creates a hub.
func (h *handler) postAdminHub(c *gin.Context) {
	f := newHubForm{ID: strings.TrimSpace(c.PostForm("id")), Title: strings.TrimSpace(c.PostForm("title")), TZ: c.PostForm("tz")}
	if !hub.ValidID(f.ID) {
		h.adminHubsPage(c, http.StatusBadRequest, f, "The hub was not created.", map[string]string{"id": "1-64 letters, digits, _ or -"})
		return
	}
	_, err := h.call(c, http.MethodPut, "/api/hubs/"+url.PathEscape(f.ID), map[string]string{"title": f.Title, "tz": f.TZ}, "", nil)
	ae, ok := errors.AsType[*apiError](err)
	switch {
	case ok && ae.Status == http.StatusPreconditionRequired:
		h.adminHubsPage(c, http.StatusConflict, f, "The hub was not created: a hub "+f.ID+" exists already.", nil)
		return
	case ok && ae.Status == http.StatusBadRequest:
		h.adminHubsPage(c, http.StatusBadRequest, f, "The hub was not created: "+ae.Message+".", ae.Fields)
		return
	case err != nil:
		h.failAPI(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/console/hubs/"+url.PathEscape(f.ID)+"?done=hub-created")
}

// getDeleteHub asks to confirm deleting a hub.
func (h *handler) getDeleteHub(c *gin.Context) {
	var hb hub.Hub
	if _, err := h.call(c, http.MethodGet, "/api/hubs/"+url.PathEscape(c.Param("hub")), nil, "", &hb); err != nil {
		h.failAPI(c, err)
		return
	}
	h.render(c, http.StatusOK, "confirm", view{Title: "Delete the hub " + hb.Title + "?", Data: confirm{
		What:   "The hub " + hb.ID + " will be deleted with its feeds, its published calendar, its log and its history, and every curator's grant to it (a curator left with no hub is revoked). Its public page and subscriptions stop working. This cannot be undone.",
		Action: "/console/admin/hubs/" + url.PathEscape(hb.ID) + "/delete", Button: "Delete the hub " + hb.ID, Back: "/console/admin/hubs"}})
}

// postDeleteHub deletes a hub.
func (h *handler) postDeleteHub(c *gin.Context) {
	if _, err := h.call(c, http.MethodDelete, "/api/hubs/"+url.PathEscape(c.Param("hub")), nil, "", nil); err != nil && apiStatus(err) != http.StatusNotFound {
		h.failAPI(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/console/admin/hubs?done=hub-deleted")
}

// curatorAnswer is a curator as the API lists one.
type curatorAnswer struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Hubs    []string  `json:"hubs"`
	Created time.Time `json:"created"`
	Token   string    `json:"token"`
}

// getCurators lists the curators, with the form that creates one.
func (h *handler) getCurators(c *gin.Context) {
	h.curatorsPage(c, http.StatusOK, "", "", "", nil, nil)
}

// curatorsPage renders the curators page; shown, when set, is a curator
// whose new token the page shows once.
func (h *handler) curatorsPage(c *gin.Context, status int, name, hubs, problem string, fields map[string]string, shown *curatorAnswer) {
	var page struct {
		Curators []curatorAnswer `json:"curators"`
		Next     string          `json:"next"`
	}
	q := url.Values{"limit": {"50"}}
	if a := c.Query("after"); a != "" {
		q.Set("after", a)
	}
	if _, err := h.call(c, http.MethodGet, "/api/curators?"+q.Encode(), nil, "", &page); err != nil {
		h.failAPI(c, err)
		return
	}
	h.render(c, status, "curators", view{Title: "Curators", Problem: problem, Fields: fields,
		Data: map[string]any{"Curators": page.Curators, "Next": page.Next, "Name": name, "Hubs": hubs, "Shown": shown}})
}

// postCurator creates a curator and shows their token, once: it is not
// stored, and this page is not cached.
func (h *handler) postCurator(c *gin.Context) {
	name, hubs := strings.TrimSpace(c.PostForm("name")), c.PostForm("hubs")
	var cur curatorAnswer
	_, err := h.call(c, http.MethodPost, "/api/curators", map[string]any{"name": name, "hubs": splitList(hubs)}, "", &cur)
	if ae, ok := errors.AsType[*apiError](err); ok && ae.Status == http.StatusBadRequest {
		h.curatorsPage(c, http.StatusBadRequest, name, hubs, "The curator was not created: "+ae.Message+".", ae.Fields, nil)
		return
	}
	if err != nil {
		h.failAPI(c, err)
		return
	}
	h.curatorsPage(c, http.StatusOK, "", "", "", nil, &cur)
}

// getRotate asks to confirm replacing a curator's token.
func (h *handler) getRotate(c *gin.Context) {
	h.render(c, http.StatusOK, "confirm", view{Title: "Give this curator a new token?", Data: confirm{
		What:   "A new token is made and shown once. The old one stops working at once, and the curator's console sessions end: give them the new token.",
		Action: "/console/admin/curators/" + url.PathEscape(c.Param("id")) + "/rotate", Button: "Make a new token", Back: "/console/admin/curators"}})
}

// postRotate replaces a curator's token and shows the new one, once.
func (h *handler) postRotate(c *gin.Context) {
	var cur curatorAnswer
	if _, err := h.call(c, http.MethodPost, "/api/curators/"+url.PathEscape(c.Param("id"))+"/token", nil, "", &cur); err != nil {
		h.failAPI(c, err)
		return
	}
	h.curatorsPage(c, http.StatusOK, "", "", "", nil, &cur)
}

// getRevoke asks to confirm revoking a curator.
func (h *handler) getRevoke(c *gin.Context) {
	h.render(c, http.StatusOK, "confirm", view{Title: "Revoke this curator?", Data: confirm{
		What:   "Their token stops working at once and their console sessions end. Their hubs stay as they are.",
		Action: "/console/admin/curators/" + url.PathEscape(c.Param("id")) + "/revoke", Button: "Revoke the curator", Back: "/console/admin/curators"}})
}

// postRevoke revokes a curator.
func (h *handler) postRevoke(c *gin.Context) {
	if _, err := h.call(c, http.MethodDelete, "/api/curators/"+url.PathEscape(c.Param("id")), nil, "", nil); err != nil && apiStatus(err) != http.StatusNotFound {
		h.failAPI(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/console/admin/curators?done=revoked")
}
