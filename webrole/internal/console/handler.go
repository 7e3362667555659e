package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// handler serves the pages over one API.
type handler struct {
	*Console
	api API
}

// routes registers the console's pages. Reads are GETs; every change is a
// POST form that passes checkForm (same-site and the session's CSRF
// token).
func (h *handler) routes(e *gin.Engine) {
	e.Use(h.headers)
	e.NoRoute(func(c *gin.Context) {
		h.refuse(c.Writer, c.Request, http.StatusNotFound, "There is no such page in the console.")
	})
	e.NoMethod(func(c *gin.Context) {
		h.refuse(c.Writer, c.Request, http.StatusMethodNotAllowed, "That page cannot be used that way.")
	})
	e.GET("/console", func(c *gin.Context) { c.Redirect(http.StatusSeeOther, "/console/") })
	e.GET("/console/login", h.getLogin)
	e.POST("/console/login", h.postLogin)

	in := e.Group("/console", h.requireSession)
	in.GET("/", h.getHome)
	forms := in.Group("", h.checkForm)
	forms.POST("/logout", h.postLogout)
	h.hubRoutes(in, forms)
	h.adminRoutes(in, forms)
}

// headers sets what every console response carries: its own
// Content-Security-Policy (replacing the public pages' one), no caching
// anywhere (pages show tokens once and private data), and no framing.
func (h *handler) headers(c *gin.Context) {
	hd := c.Writer.Header()
	hd.Set("Content-Security-Policy", h.pages.csp)
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	c.Next()
}

// getHome is the console's first page: the hubs the principal manages.
func (h *handler) getHome(c *gin.Context) {
	c.Redirect(http.StatusSeeOther, "/console/hubs")
}

//go:embed templates/*.html assets/console.css assets/console.js assets/zones.txt
var files embed.FS

// pages are the parsed templates with the hashes of the inline style and
// script the policy allows.
type pages struct {
	byName map[string]*template.Template
	css    template.CSS
	js     template.JS
	csp    string
}

// loadPages parses every page template with the layout; it panics on a
// template error, a programming error found at startup.
func loadPages() *pages {
	css, err := files.ReadFile("assets/console.css")
	if err != nil {
		panic(err)
	}
	js, err := files.ReadFile("assets/console.js")
	if err != nil {
		panic(err)
	}
	p := &pages{byName: map[string]*template.Template{}, css: template.CSS(css), js: template.JS(js)}
	p.csp = "default-src 'none'; style-src '" + hashSource(css) + "'; script-src '" + hashSource(js) +
		"'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/partials.html"))
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		p.byName[name] = template.Must(template.Must(base.Clone()).ParseFS(files, n))
	}
	return p
}

// hashSource is the CSP source allowing an inline element whose text is b.
func hashSource(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// view is what every page template gets.
type view struct {
	Title   string
	Who     *Principal
	CSRF    string
	Hub     string // the hub the page is about, for the navigation
	Section string // which of the hub's pages: feeds, settings, logs, history
	Notice  string // what the last action did
	Problem string // what went wrong, in words
	Fields  map[string]string
	Data    any
	CSS     template.CSS
	JS      template.JS
}

// render writes a page.
func (h *handler) render(c *gin.Context, status int, name string, v view) {
	t, ok := h.pages.byName[name]
	if !ok {
		panic("console: no page " + name)
	}
	if s, ok := c.Get(ctxSession); ok {
		se := s.(session)
		v.Who = &se.Principal
		if v.CSRF == "" {
			v.CSRF = se.rec.CSRF
		}
	}
	if v.Notice == "" {
		v.Notice = notices[c.Query("done")]
	}
	v.CSS, v.JS = h.pages.css, h.pages.js
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout.html", v); err != nil {
		h.deps.Logger.ErrorContext(c.Request.Context(), "console page failed", "page", name, "error", err.Error())
		c.String(http.StatusInternalServerError, "internal error")
		return
	}
	c.Data(status, "text/html; charset=utf-8", b.Bytes())
}

// notices are the messages a redirect after a change may show, by key:
// never text from the request.
var notices = map[string]string{
	"signed-out":   "You have signed out.",
	"saved":        "Saved.",
	"added":        "The feed was added.",
	"approved":     "The feed is approved: the next refresh fetches it.",
	"unapproved":   "The feed is no longer approved: the next refresh leaves it out.",
	"deleted":      "The feed was removed; its events leave the hub at the next refresh.",
	"mapped":       "The tag was mapped; the next refresh applies it.",
	"vocabulary":   "The tag was added to the hub's vocabulary; the next refresh applies it.",
	"hub-created":  "The hub was created.",
	"hub-deleted":  "The hub was deleted.",
	"revoked":      "The curator was revoked: their token and sessions no longer work.",
	"settings":     "The hub's settings were saved; the next refresh applies them.",
	"already-here": "",
}

// refuse writes a short page that says why a request was not served.
func (c *Console) refuse(w http.ResponseWriter, r *http.Request, status int, why string) {
	t := c.pages.byName["refused"]
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", c.pages.csp)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = t.ExecuteTemplate(w, "layout.html", view{Title: http.StatusText(status), Problem: why, CSS: c.pages.css, JS: c.pages.js})
}

// fail answers an unexpected error: logged once here, and a page that
// says to try again.
func (h *handler) fail(c *gin.Context, err error) {
	h.deps.Logger.ErrorContext(c.Request.Context(), "console request failed", "route", c.FullPath(), "path", c.Request.URL.Path, "error", err.Error())
	h.refuse(c.Writer, c.Request, http.StatusInternalServerError, "Something went wrong on our side; nothing more was done. Try again in a moment.")
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"when": func(t time.Time, loc *time.Location) string {
		if t.IsZero() {
			return "never"
		}
		if loc == nil {
			loc = time.UTC
		}
		return t.In(loc).Format("Mon 2 Jan 2006, 15:04 MST")
	},
	"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"path": url.PathEscape,
	"query": func(kv ...string) string {
		q := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				q.Set(kv[i], kv[i+1])
			}
		}
		return q.Encode()
	},
	"join":      strings.Join,
	"kindLabel": kindLabel,
	"add":       func(a, b int) int { return a + b },
	"plural": func(n int, one, many string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, one)
		}
		return fmt.Sprintf("%d %s", n, many)
	},
}

// urlQueryEscape escapes s for a query value.
func urlQueryEscape(s string) string { return url.QueryEscape(s) }
