package outputs

import (
	"io"
	"maps"
	"net/url"
	"slices"
	"time"

	"github.com/elmcity/elmcity/webrole/internal/render"
)

// format is one public output.
type format struct {
	ctype  string
	render func(w io.Writer, v *render.View, q url.Values) error
}

// formats are the built-in outputs of /services/{hub}/{what}; no query
// script may shadow one.
var formats = map[string]format{
	"ics":       {"text/calendar; charset=utf-8", func(w io.Writer, v *render.View, _ url.Values) error { return render.ICS(w, v) }},
	"json":      {"application/json; charset=utf-8", func(w io.Writer, v *render.View, _ url.Values) error { return render.JSON(w, v) }},
	"rss":       {"application/rss+xml; charset=utf-8", func(w io.Writer, v *render.View, _ url.Values) error { return render.RSS(w, v) }},
	"xml":       {"application/xml; charset=utf-8", func(w io.Writer, v *render.View, _ url.Values) error { return render.XML(w, v) }},
	"csv":       {"text/csv; charset=utf-8; header=present", func(w io.Writer, v *render.View, _ url.Values) error { return render.CSV(w, v) }},
	"text":      {"text/plain; charset=utf-8", func(w io.Writer, v *render.View, _ url.Values) error { return render.Text(w, v) }},
	"tags_json": {"application/json; charset=utf-8", func(w io.Writer, v *render.View, _ url.Values) error { return render.TagsJSON(w, v) }},
	"html":      {"text/html; charset=utf-8", renderPage},
	"stats":     {"text/html; charset=utf-8", func(w io.Writer, v *render.View, _ url.Values) error { return render.StatsPage(w, v.Cal) }},
}

// Formats lists the built-in outputs, sorted.
func Formats() []string {
	names := slices.Collect(maps.Keys(formats))
	slices.Sort(names)
	return names
}

// IsFormat reports whether what names a built-in output.
func IsFormat(what string) bool { _, ok := formats[what]; return ok }

// Fragment reports whether a query asks the hub page (format html) for a
// document another site embeds: eventsonly=yes (the events fragment) or
// frame=yes (the page's events to frame).
func Fragment(q url.Values) bool { return eventsOnly(q) || frame(q) }

// renderPage renders the hub page, or with eventsonly=yes the events
// fragment for embedding, in the layout the query asks for.
func renderPage(w io.Writer, v *render.View, q url.Values) error {
	return render.Page(w, v, render.PageOptions{EventsOnly: eventsOnly(q), Frame: frame(q), Layout: pageLayout(q)})
}

// frame reports frame=yes: the hub page's events as a document to frame
// from another site.
func frame(q url.Values) bool {
	v := q["frame"]
	return len(v) > 0 && (v[0] == "yes" || v[0] == "true" || v[0] == "1")
}

// eventsOnly reports eventsonly=yes: the hub page's events fragment.
func eventsOnly(q url.Values) bool {
	v := q["eventsonly"]
	return len(v) > 0 && (v[0] == "yes" || v[0] == "true" || v[0] == "1")
}

// pageLayout is the hub page's layout= ("compact", "full" or "").
func pageLayout(q url.Values) string {
	if v := q["layout"]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// pageClock is the step of the hub page's clock: a page whose window
// holds now is rendered again at most this often, to leave out what has
// ended.
const pageClock = 5 * time.Minute
