package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/webrole/internal/outputs"
	"github.com/elmcity/elmcity/webrole/internal/render"
)

// securityHeaders sets the headers every response carries, before the
// handler runs, so errors and 404s have them too:
//
//   - X-Content-Type-Options: nosniff, so no browser reads a calendar,
//     a CSV or a JSON error as HTML or script;
//   - Referrer-Policy: no-referrer, so following an event's link tells
//     its site nothing of the page it came from;
//   - Content-Security-Policy: render.ContentSecurityPolicy, which lets
//     the hub page and the stats report use their own stylesheet and
//     nothing else (no script, no framing). Other responses are not
//     documents, and the same policy keeps them inert if one is ever
//     opened as a page. The events fragment (/services/{hub}/html with
//     eventsonly) gets the embeddable policy: any site may frame it.
func securityHeaders() gin.HandlerFunc {
	page, fragment := render.ContentSecurityPolicy(false), render.ContentSecurityPolicy(true)
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		csp := page
		if q := c.Request.URL.Query(); routeFormat(c) == "html" && outputs.Fragment(q) {
			csp = fragment
		}
		h.Set("Content-Security-Policy", csp)
		c.Next()
	}
}

// CORS of the public outputs. Browsers may read them from any site: a
// page that fetches a calendar sends If-None-Match to revalidate it,
// which is not a "simple" header, so the browser asks first (a preflight
// OPTIONS); and it may read the ETag and Last-Modified of the answer, and
// the JSON error of a 4xx. No token route is open: a browser never sends
// a curator's token cross-site.
const (
	corsAllowMethods = "GET, HEAD"
	corsAllowHeaders = "If-None-Match, If-Modified-Since, Cache-Control"
	corsExpose       = "ETag, Last-Modified, X-Request-Id"
	corsMaxAge       = "86400"
)

// publicOutput reports whether the request's route serves a public
// output (the hub page, a built-in format, their aliases), rather than a
// query script, which needs a token.
func publicOutput(c *gin.Context) bool {
	switch c.FullPath() {
	case "/:hub/:what", "/:hub/:what/soon", "/services/:hub/embed.js":
		return true
	}
	return routeFormat(c) != ""
}

// routeFormat is the built-in format the request's route serves ("html"
// for the hub page), or "".
func routeFormat(c *gin.Context) string {
	route := c.FullPath()
	var what string
	switch {
	case route == "/:hub":
		return "html"
	case route == "/services/:hub/:what" || route == "/:hub/:what" || route == "/:hub/:what/soon":
		what = c.Param("what")
	default:
		what, _ = strings.CutPrefix(route, "/services/:hub/")
	}
	if IsFormat(what) {
		return what
	}
	return ""
}

// outputCORS opens a public output to every origin before its handler
// runs, so its 304s and 4xx answers are readable too.
func outputCORS(c *gin.Context) {
	if publicOutput(c) {
		h := c.Writer.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Expose-Headers", corsExpose)
	}
	c.Next()
}

// preflight answers a CORS preflight (OPTIONS) of a public output: any
// origin may GET or HEAD it, conditionally. A preflight for a query
// script gets no CORS headers, so the browser does not send the request.
func preflight(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Allow", "GET, HEAD, OPTIONS")
	if publicOutput(c) {
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Allow-Methods", corsAllowMethods)
		h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
		h.Set("Access-Control-Max-Age", corsMaxAge)
	}
	c.Status(http.StatusNoContent)
}

// headAsGet answers a HEAD request as h answers the GET of the same URL,
// so HEAD works wherever GET does (link checkers, monitors and some
// calendar clients send it) with the same status and headers. The body
// is written to the server, which sends none for a HEAD but counts it for
// Content-Length.
func headAsGet(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			r = r.WithContext(r.Context()) // a shallow copy
			r.Method = http.MethodGet
		}
		h.ServeHTTP(w, r)
	})
}
