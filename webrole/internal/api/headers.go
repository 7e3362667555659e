package api

import (
	"github.com/gin-gonic/gin"

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
		if c.FullPath() == "/services/:hub/:what" && c.Param("what") == "html" && eventsOnly(c.Request.URL.Query()) {
			csp = fragment
		}
		h.Set("Content-Security-Policy", csp)
		c.Next()
	}
}
