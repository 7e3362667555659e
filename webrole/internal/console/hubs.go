package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/sync/errgroup"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/hubrun"
)

// Page sizes of the console's lists.
const (
	hubsPerPage  = 20
	feedsPerPage = 50
	// recentCap is the most warnings (and exceptions) of the last 24
	// hours the hubs page counts per hub: more reads "100 or more".
	recentCap = 100
)

// hubRoutes registers the pages of the hubs the principal manages.
func (h *handler) hubRoutes(in, forms *gin.RouterGroup) {
	in.GET("/hubs", h.getHubs)
	one := in.Group("/hubs/:hub", h.requireHub)
	post := forms.Group("/hubs/:hub", h.requireHub)
	one.GET("", h.getHub)
	one.GET("/feeds/:feed", h.getFeed)
	post.POST("/feeds", h.postFeed)
	post.POST("/feeds/:feed", h.postFeedEdit)
	post.POST("/feeds/:feed/approval", h.postApproval)
	one.GET("/feeds/:feed/delete", h.getDeleteFeed)
	post.POST("/feeds/:feed/delete", h.postDeleteFeed)
	h.moreHubRoutes(one, post)
}

// requireHub refuses a hub the principal may not manage, with the API's
// words: the same for a hub that does not exist.
func (h *handler) requireHub(c *gin.Context) {
	id := c.Param("hub")
	if !sess(c).Can(id) {
		if !hub.ValidID(id) {
			id = "with that id"
		}
		h.refuse(c.Writer, c.Request, http.StatusForbidden, fmt.Sprintf("No access to hub %s: it does not exist or is not yours.", id))
		c.Abort()
		return
	}
	c.Next()
}

// statsAnswer is GET /api/hubs/{hub}/stats.
type statsAnswer struct {
	Hub         string        `json:"hub"`
	PublishedAt time.Time     `json:"published_at"`
	Run         hubrun.Header `json:"run"`
}

// logsAnswer is GET /api/hubs/{hub}/logs.
type logsAnswer struct {
	Entries []logEntry `json:"entries"`
	Next    string     `json:"next"`
}

type logEntry struct {
	ID       string            `json:"id"`
	Time     time.Time         `json:"time"`
	Type     string            `json:"type"`
	Message  string            `json:"message"`
	Detail   string            `json:"detail"`
	Role     string            `json:"role"`
	Instance string            `json:"instance"`
	Attrs    map[string]string `json:"attrs"`
}

// hubCard is one hub on the hubs page.
type hubCard struct {
	Hub                  hub.Hub
	Loc                  *time.Location
	Published            bool
	PublishedAt          time.Time
	Events               int
	FeedsOK, FeedsFailed int
	Warnings, Exceptions string
	Attention            bool
}

// getHubs lists the principal's hubs, a page at a time, each with its
// last publish, events, feeds ok and failed, and the warnings and
// exceptions of the last 24 hours.
func (h *handler) getHubs(c *gin.Context) {
	var page struct {
		Hubs []hub.Hub `json:"hubs"`
		Next string    `json:"next"`
	}
	q := url.Values{"limit": {strconv.Itoa(hubsPerPage)}}
	if after := c.Query("after"); after != "" {
		q.Set("after", after)
	}
	if _, err := h.call(c, http.MethodGet, "/api/hubs?"+q.Encode(), nil, "", &page); err != nil {
		h.failAPI(c, err)
		return
	}
	cards := make([]hubCard, len(page.Hubs))
	since := h.deps.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339)
	g := new(errgroup.Group)
	g.SetLimit(4)
	for i, hb := range page.Hubs {
		cards[i] = hubCard{Hub: hb, Loc: hb.Location()}
		card := &cards[i]
		g.Go(func() error {
			var st statsAnswer
			_, err := h.call(c, http.MethodGet, "/api/hubs/"+url.PathEscape(hb.ID)+"/stats", nil, "", &st)
			switch {
			case apiStatus(err) == http.StatusNotFound:
			case err != nil:
				return err
			default:
				card.Published, card.PublishedAt = true, st.PublishedAt
				card.Events, card.FeedsOK, card.FeedsFailed = st.Run.Events, st.Run.FeedsOK, st.Run.FeedsBad
			}
			for _, k := range []struct {
				typ string
				dst *string
			}{{"warning", &card.Warnings}, {"exception", &card.Exceptions}} {
				var logs logsAnswer
				lq := url.Values{"type": {k.typ}, "since": {since}, "limit": {strconv.Itoa(recentCap)}}
				if _, err := h.call(c, http.MethodGet, "/api/hubs/"+url.PathEscape(hb.ID)+"/logs?"+lq.Encode(), nil, "", &logs); err != nil {
					return err
				}
				*k.dst = strconv.Itoa(len(logs.Entries))
				if logs.Next != "" {
					*k.dst = fmt.Sprintf("%d or more", recentCap)
				}
				if len(logs.Entries) > 0 && k.typ == "exception" {
					card.Attention = true
				}
			}
			if card.FeedsFailed > 0 {
				card.Attention = true
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		h.failAPI(c, err)
		return
	}
	h.render(c, http.StatusOK, "hubs", view{Title: "My hubs", Data: map[string]any{"Cards": cards, "Next": page.Next}})
}

// feedRow is one feed in a hub's table.
type feedRow struct {
	Feed        hub.Feed
	Health      string
	HealthClass string // ok, bad, warn, grey
	Detail      string // the error as the worker saw it, for a failed feed
	HasRun      bool
	LastSuccess time.Time
	// Occurrences and Previous take place (now and in the run before);
	// Cancelled and PreviousCancelled are listed as cancelled.
	Occurrences, Cancelled      int
	Previous, PreviousCancelled int
	Flag                        string
	Zones                       string
}

// getHub shows a hub's feeds as a table with their health in the last
// run, a page at a time.
func (h *handler) getHub(c *gin.Context) {
	id := c.Param("hub")
	base := "/api/hubs/" + url.PathEscape(id)
	var hb hub.Hub
	if _, err := h.call(c, http.MethodGet, base, nil, "", &hb); err != nil {
		h.failAPI(c, err)
		return
	}
	var page struct {
		Feeds []hub.Feed `json:"feeds"`
		Next  string     `json:"next"`
	}
	q := url.Values{"limit": {strconv.Itoa(feedsPerPage)}}
	if after := c.Query("after"); after != "" {
		q.Set("after", after)
	}
	if _, err := h.call(c, http.MethodGet, base+"/feeds?"+q.Encode(), nil, "", &page); err != nil {
		h.failAPI(c, err)
		return
	}
	var st statsAnswer
	_, err := h.call(c, http.MethodGet, base+"/stats", nil, "", &st)
	published := err == nil
	if err != nil && apiStatus(err) != http.StatusNotFound {
		h.failAPI(c, err)
		return
	}
	byFeed := map[string]hubrun.FeedStats{}
	for _, f := range st.Run.Feeds {
		byFeed[f.Feed] = f
	}
	loc := hb.Location()
	rows := make([]feedRow, len(page.Feeds))
	for i, f := range page.Feeds {
		fs, ok := byFeed[f.ID]
		rows[i] = feedRowOf(f, fs, ok, loc)
	}
	h.render(c, http.StatusOK, "hub", view{Title: hb.Title, Hub: id, Section: "feeds", Data: map[string]any{
		"Hub": hb, "Loc": loc, "Rows": rows, "Next": page.Next, "Published": published, "Stats": st,
		"First": c.Query("after") == "",
	}})
}

// feedRowOf says a feed's health in words and a colour class.
func feedRowOf(f hub.Feed, fs hubrun.FeedStats, ran bool, loc *time.Location) feedRow {
	r := feedRow{Feed: f, HasRun: ran, LastSuccess: fs.LastSuccess, Occurrences: fs.Occurrences, Cancelled: fs.Cancelled,
		Previous: fs.Previous, PreviousCancelled: fs.PreviousCancelled, Flag: fs.Flag}
	r.Zones = zoneWords(fs.Zones)
	switch {
	case !f.Approved:
		r.Health, r.HealthClass = "not approved: the hub does not fetch it", "grey"
	case !ran:
		r.Health, r.HealthClass = "waiting for the next refresh", "grey"
	case fs.Status == "failed":
		r.HealthClass = "bad"
		r.Health = "failing: " + problemWords(fs.ErrorClass, fs.HTTPStatus)
		if !fs.FailingSince.IsZero() {
			r.Health += "; failing since " + fs.FailingSince.In(loc).Format("Mon 2 Jan 15:04")
		}
		if fs.LastSuccess.IsZero() {
			r.Health += "; it has never worked"
		} else {
			r.Health += "; last worked " + fs.LastSuccess.In(loc).Format("Mon 2 Jan 15:04")
		}
		r.Detail = fs.Error
	case fs.Flag != "":
		r.Health, r.HealthClass = "fetched, but its events "+fs.Flag, "warn"
	case fs.Status == "not_modified":
		r.Health, r.HealthClass = "OK: not modified since the last fetch", "ok"
	case fs.Status == "unchanged":
		r.Health, r.HealthClass = "OK: unchanged since the last fetch", "ok"
	default:
		r.Health, r.HealthClass = "OK", "ok"
	}
	return r
}

// problemWords says a feed's error class plainly, with the HTTP status
// when there was one.
func problemWords(class string, status int) string {
	var s string
	switch class {
	case "dns":
		s = "no such host: the address's server name does not exist"
	case "connect":
		s = "could not connect to the server"
	case "tls":
		s = "the secure connection failed (a certificate problem)"
	case "timeout":
		s = "the server took too long to answer"
	case "http_4xx":
		switch status {
		case http.StatusNotFound, http.StatusGone:
			s = "the server says there is no such feed"
		case http.StatusUnauthorized, http.StatusForbidden:
			s = "the server refused the request"
		default:
			s = "the server refused the request"
		}
	case "http_5xx":
		s = "the server had an error"
	case "too_large":
		s = "the feed is larger than the hub reads"
	case "redirects":
		s = "the server redirected too many times"
	case "blocked":
		s = "the address is on a private network, which the hub does not fetch"
	case "bad_url":
		s = "the address is not a valid feed address"
	case "charset":
		s = "the feed's text encoding cannot be read"
	case "parse":
		s = "fetched, but it is not a usable calendar"
	case "parse_timeout":
		s = "fetched, but reading its events took too long"
	default:
		s = "the fetch failed"
	}
	if status != 0 {
		s += " (HTTP " + strconv.Itoa(status) + ")"
	}
	return s
}

// zoneWords lists a feed's time-zone anomalies in words.
func zoneWords(z map[string]int) string {
	if len(z) == 0 {
		return ""
	}
	names := map[string]string{"floating": "floating times", "windows": "Windows zone names", "alias": "zone aliases",
		"custom": "zones defined by the feed", "unknown": "unknown zones"}
	keys := make([]string, 0, len(z))
	for k := range z {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		n := names[k]
		if n == "" {
			n = k
		}
		parts = append(parts, fmt.Sprintf("%d %s", z[k], n))
	}
	return strings.Join(parts, ", ")
}
