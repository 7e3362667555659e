package render

import (
	_ "embed"
	"html/template"
	"net/url"
	"strconv"
)

// embedJS is the calendar widget, served as /services/{hub}/embed.js.
//
//go:embed embed/embed.js
var embedJS []byte

// EmbedScript is the calendar widget's script: it renders a hub's
// events (from its JSON) into the page that loads it, inside a shadow
// root, and checks for changes with the ETag it last had. It is the
// same for every hub: the hub and the site come from the URL it is
// loaded from. The returned slice must not be modified.
func EmbedScript() []byte { return embedJS }

// FramePolicy is the Content-Security-Policy of the hub page's frame
// variant (PageOptions.Frame): ContentSecurityPolicy's for a page, but
// any site may frame it.
func FramePolicy() string {
	return "default-src 'none'; style-src '" + styleHash() + "'; base-uri 'none'; form-action 'none'"
}

// pageEmbed are the snippets that put the current view on another site.
type pageEmbed struct {
	Script string // <script src=".../embed.js" data-*></script>
	Frame  string // <iframe src=".../html?frame=yes..."></iframe>
}

// newPageEmbed is the view's snippets: its source, tags and window
// length (days) as the widget's data-* options and as the frame's query.
// They need the site's absolute URL (View.Base): without one there are
// none.
func newPageEmbed(v *View, title string) *pageEmbed {
	if v.Base == "" || v.Filter.UID != "" {
		return nil
	}
	q := url.Values{}
	attrs := ""
	add := func(k, val string) {
		q.Set(k, val)
		attrs += " data-" + k + `="` + template.HTMLEscapeString(val) + `"`
	}
	if v.Filter.Source != "" {
		add("source", v.Filter.Source)
	}
	if vw := v.Filter.Query().Get("view"); vw != "" {
		add("view", vw)
	}
	days := LookOf(v.Cal.Hub).Days
	if !v.WindowFrom.IsZero() && !v.WindowTo.IsZero() {
		days = max(1, int(v.WindowTo.Sub(v.WindowFrom).Hours()/24+0.5))
	}
	add("days", strconv.Itoa(days))
	hubID := v.Cal.Hub.ID
	e := &pageEmbed{
		Script: `<script src="` + v.Base + FormatPath(hubID, "embed.js") + `"` + attrs + ` async></script>`,
	}
	q.Set("frame", "yes")
	e.Frame = `<iframe src="` + template.HTMLEscapeString(v.Base+FormatPath(hubID, "html")+"?"+q.Encode()) +
		`" title="Events from ` + template.HTMLEscapeString(title) + `" width="100%" height="600" style="border:0"></iframe>`
	return e
}
