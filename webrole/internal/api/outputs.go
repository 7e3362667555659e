package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/webrole/internal/outputs"
	"github.com/elmcity/elmcity/webrole/internal/render"
)

// outputSource makes the public outputs (*outputs.Cache). Serve and Embed
// return outputs.ErrNoSuchHub, ErrNotPublished, ErrBusy, ErrNoSuchEvent,
// ErrNoSuchFormat or a *render.FilterError; Home returns storage errors.
type outputSource interface {
	Serve(ctx context.Context, req outputs.Request) (*outputs.Output, error)
	Embed(ctx context.Context, hubID string) (*outputs.Output, error)
	Home(ctx context.Context, q, after string) (*outputs.Output, error)
	Ready() bool
	Close()
}

var _ outputSource = (*outputs.Cache)(nil)

// IsFormat reports whether what names a built-in output.
func IsFormat(what string) bool { return outputs.IsFormat(what) }

// errNoSuchHub answers a hub id that names no hub.
var errNoSuchHub = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such hub"}

// getHubPage serves GET /{hub}: the hub page.
func (s *Server) getHubPage(c *gin.Context) { s.serveOutput(c, c.Param("hub"), "html") }

// getFormat serves GET /services/{hub}/{what} for the built-in format
// what, a route of its own (and in the OpenAPI document, an operation
// with its own schema); other names are query scripts (getService).
func (s *Server) getFormat(what string) gin.HandlerFunc {
	return func(c *gin.Context) { s.serveOutput(c, c.Param("hub"), what) }
}

// getEmbedScript serves GET /services/{hub}/embed.js, the calendar
// widget (render.EmbedScript), for a hub that has published: a script
// any site may load, cached and revalidated like the outputs.
func (s *Server) getEmbedScript(c *gin.Context) {
	out, err := s.outputs.Embed(c.Request.Context(), c.Param("hub"))
	if err != nil {
		_ = c.Error(err)
		return
	}
	writeOutput(c, out)
}

// errNoSuchOutput answers a name that is no built-in output.
func errNoSuchOutput() *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found",
		Message: "no such output: the outputs are " + strings.Join(outputs.Formats(), ", ")}
}

// getOutputAlias serves GET /{hub}/{what}, the original elmcity's URL of
// a format: the same as /services/{hub}/{what} for the built-in formats
// (never a query script).
func (s *Server) getOutputAlias(c *gin.Context) {
	s.serveOutput(c, c.Param("hub"), c.Param("what"))
}

// Largest windows of /{hub}/{what}/soon.
const (
	maxSoonDays  = render.MaxDays
	maxSoonHours = render.MaxDays * 24
	// soonStep is what the start of a soon window is rounded down to, so
	// the views it redirects to are shared by everyone who asks within
	// it.
	soonStep = 5 * time.Minute
)

// getOutputSoon answers GET /{hub}/{what}/soon?hours=N (or days=N), the
// original elmcity's "the next N hours" URL, with a redirect to the
// format's from/to window starting now (rounded down to soonStep). The
// other query parameters (view, source, count ...) are kept. The answer
// depends on the time, so it is not to be cached.
func (s *Server) getOutputSoon(c *gin.Context) {
	hubID, what := c.Param("hub"), c.Param("what")
	if !IsFormat(what) {
		_ = c.Error(errNoSuchOutput())
		return
	}
	if !hub.ValidID(hubID) {
		_ = c.Error(errNoSuchHub)
		return
	}
	q := c.Request.URL.Query()
	bad := func(param, reason string) {
		_ = c.Error(&Error{Status: http.StatusBadRequest, Code: "invalid", Message: "query parameter " + param + ": " + reason,
			Fields: map[string]string{param: reason}})
	}
	_, hasHours := q["hours"]
	_, hasDays := q["days"]
	var span time.Duration
	switch {
	case hasHours && hasDays:
		bad("hours", "give hours or days, not both")
		return
	case hasHours:
		n, err := strconv.Atoi(q.Get("hours"))
		if err != nil || n < 1 || n > maxSoonHours {
			bad("hours", fmt.Sprintf("must be a whole number of hours from 1 to %d", maxSoonHours))
			return
		}
		span = time.Duration(n) * time.Hour
	case hasDays:
		n, err := strconv.Atoi(q.Get("days"))
		if err != nil || n < 1 || n > maxSoonDays {
			bad("days", fmt.Sprintf("must be a whole number of days from 1 to %d", maxSoonDays))
			return
		}
		span = time.Duration(n) * 24 * time.Hour
	default:
		bad("hours", "give hours=N or days=N")
		return
	}
	from := s.deps.Now().UTC().Truncate(soonStep)
	q.Del("hours")
	q.Del("days")
	q.Set("from", from.Format(time.RFC3339))
	q.Set("to", from.Add(span).Format(time.RFC3339))
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusFound, s.publicURL+render.FormatPath(hubID, what)+"?"+q.Encode())
}

// serveOutput answers one public output.
func (s *Server) serveOutput(c *gin.Context, hubID, what string) {
	out, err := s.outputs.Serve(c.Request.Context(), outputs.Request{Hub: hubID, Format: what, Query: c.Request.URL.Query()})
	if err != nil {
		_ = c.Error(err)
		return
	}
	writeOutput(c, out)
}

// writeOutput writes an output with caching: a strong ETag of the bytes
// sent (gzipped for clients that accept it), Last-Modified at
// out.Modified, 304 for If-None-Match and If-Modified-Since (and ranges,
// by http.ServeContent), and Cache-Control.
func writeOutput(c *gin.Context, out *outputs.Output) {
	h := c.Writer.Header()
	h.Set("Content-Type", out.ContentType())
	h.Set("Vary", "Accept-Encoding")
	h.Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(out.MaxAge.Seconds())))
	if out.Policy != "" {
		h.Set("Content-Security-Policy", out.Policy)
	}
	if out.Filename != "" {
		h.Set("Content-Disposition", `inline; filename="`+out.Filename+`"`)
	}
	body, etag, gzipped := out.Encoded(c.GetHeader("Accept-Encoding"))
	if gzipped {
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	http.ServeContent(c.Writer, c.Request, "", out.Modified, bytes.NewReader(body))
}
