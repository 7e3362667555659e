package console

import (
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/tablestore"
)

// jobRoutes registers refreshing a hub and watching the job, and the
// hub's logs and history.
func (h *handler) jobRoutes(one, post *gin.RouterGroup) {
	post.POST("/refresh", h.postRefresh)
	one.GET("/jobs/:job", h.getJob)
	one.GET("/jobs/:job/status", h.getJobStatus)
	one.GET("/logs", h.getLogs)
	one.GET("/history", h.getHistory)
}

// postRefresh queues an aggregation of the hub (or finds the one already
// waiting) and shows its progress.
func (h *handler) postRefresh(c *gin.Context) {
	var a struct {
		JobID          string `json:"job_id"`
		AlreadyPending bool   `json:"already_pending"`
	}
	if _, err := h.call(c, http.MethodPost, "/api/hubs/"+url.PathEscape(c.Param("hub"))+"/aggregate", nil, "", &a); err != nil {
		h.failAPI(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/console/hubs/"+url.PathEscape(c.Param("hub"))+"/jobs/"+url.PathEscape(a.JobID))
}

// jobView is a job's progress in words.
type jobView struct {
	Job   tablestore.JobStatus
	Known bool
	Words string
	State string // queued, running, published, skipped, failed, unknown
	Done  bool
	Class string // the colour: ok, bad, warn, grey
}

// jobWords says a job's progress plainly.
func jobWords(j tablestore.JobStatus, known bool, loc *time.Location) jobView {
	v := jobView{Job: j, Known: known, State: j.State}
	switch {
	case !known:
		v.State, v.Words, v.Class, v.Done = "unknown", "This refresh is not known any more (only the hub's recent refreshes are kept). The Feeds page shows the last publish.", "grey", true
	case j.State == tablestore.JobQueued:
		v.Words, v.Class = "Queued: "+j.Message+".", "grey"
	case j.State == tablestore.JobRunning:
		v.Words, v.Class = "Running since "+j.StartedAt.In(loc).Format("15:04:05")+": "+j.Message+".", "warn"
	case j.State == tablestore.JobPublished:
		v.Words, v.Class, v.Done = "Done: "+j.Message+", at "+j.FinishedAt.In(loc).Format("15:04:05")+".", "ok", true
	case j.State == tablestore.JobSkipped:
		v.Words, v.Class, v.Done = "Done: "+j.Message+".", "ok", true
	case j.State == tablestore.JobFailed:
		v.Words, v.Class, v.Done = "The refresh "+j.Message+".", "bad", true
	default:
		v.Words, v.Class = j.Message, "grey"
	}
	return v
}

// job reads a job's status through the API: known false for a 404.
func (h *handler) job(c *gin.Context) (tablestore.JobStatus, bool, bool) {
	var j tablestore.JobStatus
	_, err := h.call(c, http.MethodGet, "/api/hubs/"+url.PathEscape(c.Param("hub"))+"/jobs/"+url.PathEscape(c.Param("job")), nil, "", &j)
	switch {
	case apiStatus(err) == http.StatusNotFound:
		return j, false, true
	case err != nil:
		h.failAPI(c, err)
		return j, false, false
	}
	return j, true, true
}

// getJob shows a refresh's progress. Without JavaScript the page reloads
// itself until the job is done; with it, console.js polls getJobStatus.
func (h *handler) getJob(c *gin.Context) {
	j, known, ok := h.job(c)
	if !ok {
		return
	}
	loc := h.hubLocation(c)
	h.render(c, http.StatusOK, "job", view{Title: "Refresh", Hub: c.Param("hub"), Section: "feeds", Data: jobWords(j, known, loc)})
}

// getJobStatus is a job's progress as JSON, for console.js.
func (h *handler) getJobStatus(c *gin.Context) {
	j, known, ok := h.job(c)
	if !ok {
		return
	}
	v := jobWords(j, known, h.hubLocation(c))
	c.JSON(http.StatusOK, gin.H{"state": v.State, "words": v.Words, "done": v.Done})
}

// hubLocation is the zone of the path's hub, UTC if it cannot be read.
func (h *handler) hubLocation(c *gin.Context) *time.Location {
	var hb struct {
		TZ string `json:"tz"`
	}
	if _, err := h.call(c, http.MethodGet, "/api/hubs/"+url.PathEscape(c.Param("hub")), nil, "", &hb); err == nil {
		if loc, err := time.LoadLocation(hb.TZ); err == nil {
			return loc
		}
	}
	return time.UTC
}
