package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/sync/singleflight"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/shared/tablestore"
	"github.com/elmcity/elmcity/webrole/internal/render"
)

// Defaults of the public outputs (Deps.Outputs).
const (
	DefaultCheckEvery = 5 * time.Second
	DefaultMaxAge     = 5 * time.Minute
	DefaultCacheBytes = 256 << 20
	// maxViewsPerHub bounds the rendered views kept per hub: filters are
	// open-ended, so a crawler must not fill the cache with one hub.
	maxViewsPerHub = 256
	// maxHubEntries bounds the hubs remembered, unknown ones included.
	maxHubEntries = 10000
)

// OutputConfig tunes the public calendar outputs. Zero values take the
// defaults.
type OutputConfig struct {
	// CheckEvery is how often an instance asks storage whether a hub has
	// a new generation; until then it serves what it has. It is the
	// longest a new generation takes to reach this instance's readers.
	CheckEvery time.Duration
	// MaxAge is the Cache-Control max-age of a rendered view.
	MaxAge time.Duration
	// CacheBytes bounds the rendered views kept in memory, all hubs
	// together.
	CacheBytes int64
	// RenderWait is the longest a view waits for a render slot (one per
	// core) before the request is answered 503 busy; default
	// DefaultRenderWait.
	RenderWait time.Duration
	// CheckWait is the longest a request for a known calendar waits for
	// a due check of storage before it is served what is known; default
	// DefaultCheckWait.
	CheckWait time.Duration
	// PublicURL is the site's absolute root URL (https://host), used in
	// the absolute links the outputs carry (render.View.Base). Empty
	// leaves those links out, or relative where the format allows; the
	// request's Host and X-Forwarded-* headers are never used.
	PublicURL string
}

// format is one public output.
type format struct {
	ctype  string
	render func(w io.Writer, v *render.View, q map[string][]string) error
}

// formats are the built-in outputs of /services/{hub}/{what}; no query
// script may shadow one.
var formats = map[string]format{
	"ics":       {"text/calendar; charset=utf-8", func(w io.Writer, v *render.View, _ map[string][]string) error { return render.ICS(w, v) }},
	"json":      {"application/json; charset=utf-8", func(w io.Writer, v *render.View, _ map[string][]string) error { return render.JSON(w, v) }},
	"rss":       {"application/rss+xml; charset=utf-8", func(w io.Writer, v *render.View, _ map[string][]string) error { return render.RSS(w, v) }},
	"xml":       {"application/xml; charset=utf-8", func(w io.Writer, v *render.View, _ map[string][]string) error { return render.XML(w, v) }},
	"csv":       {"text/csv; charset=utf-8; header=present", func(w io.Writer, v *render.View, _ map[string][]string) error { return render.CSV(w, v) }},
	"text":      {"text/plain; charset=utf-8", func(w io.Writer, v *render.View, _ map[string][]string) error { return render.Text(w, v) }},
	"tags_json": {"application/json; charset=utf-8", func(w io.Writer, v *render.View, _ map[string][]string) error { return render.TagsJSON(w, v) }},
	"html":      {"text/html; charset=utf-8", renderPage},
	"stats":     {"text/html; charset=utf-8", func(w io.Writer, v *render.View, _ map[string][]string) error { return render.StatsPage(w, v.Cal) }},
}

// renderPage renders the hub page, or with eventsonly=yes the events
// fragment for embedding, in the layout the query asks for.
func renderPage(w io.Writer, v *render.View, q map[string][]string) error {
	return render.Page(w, v, render.PageOptions{EventsOnly: eventsOnly(q), Frame: frame(q), Layout: pageLayout(q)})
}

// frame reports frame=yes: the hub page's events as a document to frame
// from another site.
func frame(q map[string][]string) bool {
	v := q["frame"]
	return len(v) > 0 && (v[0] == "yes" || v[0] == "true" || v[0] == "1")
}

// pageLayout is the hub page's layout= ("compact", "full" or "").
func pageLayout(q map[string][]string) string {
	if v := q["layout"]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// pageClock is the step of the hub page's clock: a page whose window
// holds now is rendered again at most this often, to leave out what has
// ended.
const pageClock = 5 * time.Minute

func eventsOnly(q map[string][]string) bool {
	v := q["eventsonly"]
	return len(v) > 0 && (v[0] == "yes" || v[0] == "true" || v[0] == "1")
}

// formatNames lists the built-in outputs, sorted.
func formatNames() []string {
	names := slices.Collect(maps.Keys(formats))
	slices.Sort(names)
	return names
}

// IsFormat reports whether what names a built-in output.
func IsFormat(what string) bool { _, ok := formats[what]; return ok }

// outputs serves the public calendar formats from memory: each hub's
// current generation read once into its compact form, each rendered view
// (format, filter, day) once per generation. Every instance checks the
// hub's pointer at most every CheckEvery and drops its views when the
// generation changed, so no instance needs to know of the others.
//
// Memory is bounded by CacheBytes: the calendars held and the views
// rendered count against it, the least recently used hub giving way
// first; a view renders once however many ask for it at the same time
// (singleflight), and at most GOMAXPROCS views render at once, so the
// memory renders take on top is bounded too.
//
// A hub whose calendar is known is served from memory whatever storage
// does: a check that is due runs in the background, under a deadline,
// and a failed one backs off, so an outage neither slows nor fails the
// cached views.
type outputs struct {
	cals    calendars
	store   store
	cfg     OutputConfig
	now     func() time.Time
	metrics *metrics
	loads   singleflight.Group // calendar checks and loads, by hub
	renders singleflight.Group // view renders, by hub, generation and view
	slots   chan struct{}      // renders running
	home    homeCache          // the home page's pages

	mu    sync.Mutex
	hubs  map[string]*hubEntry
	bytes int64  // views and calendars held, all hubs
	clock uint64 // use stamps, for eviction
}

// Deadlines and backoff of storage reads.
const (
	// loadTimeout bounds a check of a hub's pointer with the load of a new
	// generation; checkTimeout the check alone.
	loadTimeout  = 30 * time.Second
	checkTimeout = 3 * time.Second
	// maxCheckBackoff is the longest wait between checks of a hub while
	// storage fails.
	maxCheckBackoff = time.Minute
	// DefaultCheckWait is OutputConfig.CheckWait's default.
	DefaultCheckWait = 250 * time.Millisecond
	// DefaultRenderWait is OutputConfig.RenderWait's default.
	DefaultRenderWait = 20 * time.Second
)

// errBusy answers a view that could not start rendering in
// OutputConfig.RenderWait.
var errBusy = &Error{Status: http.StatusServiceUnavailable, Code: "busy", Message: "too many views are being made; try again shortly"}

// hubEntry is what an instance knows of one hub.
type hubEntry struct {
	next     time.Time // when the next check of storage is due
	fails    int       // checks failed in a row
	checking bool      // a check of a known calendar is running
	err      error     // the hub is unknown or unpublished (as of the check)
	cal      *render.Calendar
	calSize  int64
	views    map[string]*rendered
	used     uint64
}

// rendered is one cached view.
type rendered struct {
	body  []byte
	etag  string
	ctype string
	// gz is body gzipped, for clients that accept it (nil when body is
	// too small to gain); gzEtag its own strong tag.
	gz     []byte
	gzEtag string
}

// size is what the view holds in memory.
func (r *rendered) size() int64 { return int64(len(r.body) + len(r.gz)) }

// minGzip is the smallest body worth compressing.
const minGzip = 1 << 10

// newRendered tags body and compresses it once, so every request after
// the first is served from memory in either encoding.
func newRendered(body []byte, ctype string) (*rendered, error) {
	sum := sha256.Sum256(body)
	tag := hex.EncodeToString(sum[:16])
	r := &rendered{body: body, etag: `"` + tag + `"`, ctype: ctype}
	if len(body) >= minGzip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(body); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		r.gz, r.gzEtag = buf.Bytes(), `"`+tag+`-gzip"`
	}
	return r, nil
}

// acceptsGzip reports whether an Accept-Encoding header admits gzip.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if name = strings.TrimSpace(name); name != "gzip" && name != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

func newOutputs(cals calendars, st store, now func() time.Time, m *metrics, cfg OutputConfig) *outputs {
	if cfg.CheckEvery <= 0 {
		cfg.CheckEvery = DefaultCheckEvery
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.CacheBytes <= 0 {
		cfg.CacheBytes = DefaultCacheBytes
	}
	if cfg.RenderWait <= 0 {
		cfg.RenderWait = DefaultRenderWait
	}
	if cfg.CheckWait <= 0 {
		cfg.CheckWait = DefaultCheckWait
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &outputs{cals: cals, store: st, cfg: cfg, now: now, metrics: m, hubs: map[string]*hubEntry{},
		slots: make(chan struct{}, runtime.GOMAXPROCS(0))}
}

// errNoSuchEvent answers a uid= that names no event of the view.
var errNoSuchEvent = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no event with this uid in the calendar (or in this view of it)"}

// getHubPage serves GET /{hub}: the hub page.
func (s *Server) getHubPage(c *gin.Context) { s.serveOutput(c, c.Param("hub"), "html") }

// getFormat serves GET /services/{hub}/{what} for the built-in format
// what, a route of its own (and in the OpenAPI document, an operation
// with its own schema); other names are query scripts (getService).
func (s *Server) getFormat(what string) gin.HandlerFunc {
	return func(c *gin.Context) { s.serveOutput(c, c.Param("hub"), what) }
}

// embedScript is the widget's script, tagged and compressed once.
var embedScript = sync.OnceValues(func() (*rendered, error) {
	return newRendered(render.EmbedScript(), "text/javascript; charset=utf-8")
})

// getEmbedScript serves GET /services/{hub}/embed.js, the calendar
// widget (render.EmbedScript), for a hub that has published: a script
// any site may load, cached and revalidated like the outputs.
func (s *Server) getEmbedScript(c *gin.Context) {
	hubID := c.Param("hub")
	if !hub.ValidID(hubID) {
		_ = c.Error(&Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such hub"})
		return
	}
	cal, err := s.outputs.calendar(c.Request.Context(), hubID)
	if err != nil {
		_ = c.Error(err)
		return
	}
	r, err := embedScript()
	if err != nil {
		_ = c.Error(err)
		return
	}
	h := c.Writer.Header()
	h.Set("Content-Type", r.ctype)
	h.Set("Vary", "Accept-Encoding")
	h.Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(s.outputs.cfg.MaxAge.Seconds())))
	body, etag := r.body, r.etag
	if r.gz != nil && acceptsGzip(c.GetHeader("Accept-Encoding")) {
		body, etag = r.gz, r.gzEtag
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	http.ServeContent(c.Writer, c.Request, "", cal.PublishedAt, bytes.NewReader(body))
}

// errNoSuchOutput answers a name that is no built-in output.
func errNoSuchOutput() *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found",
		Message: "no such output: the outputs are " + strings.Join(formatNames(), ", ")}
}

// getOutputAlias serves GET /{hub}/{what}, the original elmcity's URL of
// a format: the same as /services/{hub}/{what} for the built-in formats
// (never a query script).
func (s *Server) getOutputAlias(c *gin.Context) {
	what := c.Param("what")
	if !IsFormat(what) {
		_ = c.Error(errNoSuchOutput())
		return
	}
	s.serveOutput(c, c.Param("hub"), what)
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
		_ = c.Error(&Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such hub"})
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
	from := s.outputs.now().UTC().Truncate(soonStep)
	q.Del("hours")
	q.Del("days")
	q.Set("from", from.Format(time.RFC3339))
	q.Set("to", from.Add(span).Format(time.RFC3339))
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusFound, s.outputs.cfg.PublicURL+render.FormatPath(hubID, what)+"?"+q.Encode())
}

// serveOutput answers one public output with caching: a strong ETag of
// the rendered bytes, Last-Modified at the publish time, 304 for
// If-None-Match and If-Modified-Since, and Cache-Control.
func (s *Server) serveOutput(c *gin.Context, hubID, what string) {
	o := s.outputs
	if !hub.ValidID(hubID) {
		_ = c.Error(&Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such hub"})
		return
	}
	cal, err := o.calendar(c.Request.Context(), hubID)
	if err != nil {
		_ = c.Error(err)
		return
	}
	now := o.now()
	q := c.Request.URL.Query()
	filter, err := render.ParseFilter(q, cal.Loc, now)
	var fe *render.FilterError
	if errors.As(err, &fe) {
		_ = c.Error(&Error{Status: http.StatusBadRequest, Code: "invalid", Message: fe.Error(), Fields: map[string]string{fe.Param: fe.Reason}})
		return
	}
	if l := pageLayout(q); what == "html" && l != "" && l != render.LayoutCompact && l != render.LayoutFull {
		_ = c.Error(&Error{Status: http.StatusBadRequest, Code: "invalid", Message: "query parameter layout: must be compact or full",
			Fields: map[string]string{"layout": "must be compact or full"}})
		return
	}
	def, most := render.ViewLimit(what)
	if filter.Count > most {
		_ = c.Error(&Error{Status: http.StatusBadRequest, Code: "invalid", Message: fmt.Sprintf("query parameter count: at most %d for %s", most, what),
			Fields: map[string]string{"count": fmt.Sprintf("must be a whole number from 1 to %d for %s", most, what)}})
		return
	}
	if filter.Count == 0 {
		filter.Count = def
	}
	// Absolute links come from the configured public URL only, never
	// from the request (Host, X-Forwarded-Host): the view is cached and
	// served to everyone. Without one they are relative or left out, so
	// the key needs no base.
	key := what + "\x00" + filter.Key()
	modified := cal.PublishedAt
	if !filter.Explicit && filter.UID == "" {
		today := render.Today(now, cal.Loc)
		key += "\x00" + today.Format(time.DateOnly)
		modified = later(modified, today)
	}
	if what == "html" {
		switch {
		case frame(q):
			key += "\x00frame"
		case eventsOnly(q):
			key += "\x00eventsonly"
		}
		key += "\x00" + pageLayout(q)
		// The page leaves out what has ended: one whose window holds
		// now is made again every pageClock.
		if _, _, _, live := render.PageWindow(cal, filter, now); live {
			tick := now.Truncate(pageClock)
			key += "\x00" + tick.UTC().Format(time.RFC3339)
			modified = later(modified, tick)
		}
	}
	r, cache, err := o.view(c.Request.Context(), cal, key, func() (*rendered, error) {
		return o.render(cal, what, filter, q, now)
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	o.metrics.views.WithLabelValues(what, cache).Inc()
	h := c.Writer.Header()
	h.Set("Content-Type", r.ctype)
	h.Set("Vary", "Accept-Encoding")
	body, etag := r.body, r.etag
	if r.gz != nil && acceptsGzip(c.GetHeader("Accept-Encoding")) {
		body, etag = r.gz, r.gzEtag
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	h.Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(o.cfg.MaxAge.Seconds())))
	if what == "ics" {
		h.Set("Content-Disposition", `inline; filename="`+hubID+`.ics"`)
	}
	switch {
	case what != "html":
	case frame(q):
		h.Set("Content-Security-Policy", render.FramePolicy())
	case !eventsOnly(q):
		// The hub's own look: its accent's stylesheet and its logo.
		h.Set("Content-Security-Policy", render.PagePolicy(render.LookOf(cal.Hub)))
	}
	// ServeContent answers If-None-Match, If-Modified-Since and ranges
	// against the ETag and modification time: the publish time, or the
	// start of the day or page clock tick the view was made for.
	http.ServeContent(c.Writer, c.Request, "", modified, bytes.NewReader(body))
}

// later is the later of two times.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// render renders one view of cal: the filter's events, at most its count,
// noting where the view was cut.
func (o *outputs) render(cal *render.Calendar, what string, filter render.Filter, q map[string][]string, now time.Time) (*rendered, error) {
	f := formats[what]
	o.metrics.renders.WithLabelValues(what).Inc()
	v := &render.View{Cal: cal, Filter: filter, Now: now, Base: o.cfg.PublicURL}
	if what == "html" {
		// The hub page: its window, without what has ended, long runs
		// of one source collapsed.
		v.Filter, v.WindowFrom, v.WindowTo, _ = render.PageWindow(cal, filter, now)
		render.SelectPage(v)
	} else {
		count := filter.Count
		if filter.UID == "" {
			filter.Count++ // one more, to know whether the view was cut
		}
		v.Events = filter.Apply(cal.Events, cal.Loc)
		if filter.UID == "" && len(v.Events) > count {
			v.Next, _ = render.Span(&v.Events[count], cal.Loc)
			v.Events = v.Events[:count:count]
		}
	}
	if filter.UID != "" && len(v.Events) == 0 {
		// RFC 5545 has no empty calendar, and a link to an event that
		// is gone is a broken link.
		return nil, errNoSuchEvent
	}
	var buf bytes.Buffer
	if err := f.render(&buf, v, q); err != nil {
		return nil, fmt.Errorf("render %s of %s: %w", what, cal.Hub.ID, err)
	}
	r, err := newRendered(buf.Bytes(), f.ctype)
	if err != nil {
		return nil, fmt.Errorf("compress %s of %s: %w", what, cal.Hub.ID, err)
	}
	return r, nil
}

// view returns the cached view of cal under key, or renders it with produce:
// once however many ask at the same time, within the bound on renders
// running at once, and keeps it if it fits. cache says "hit" or "miss".
func (o *outputs) view(ctx context.Context, cal *render.Calendar, key string, produce func() (*rendered, error)) (r *rendered, cache string, err error) {
	if r := o.cached(cal, key); r != nil {
		return r, "hit", nil
	}
	flight := cal.Hub.ID + "\x00" + cal.Generation + "\x00" + key
	ch := o.renders.DoChan(flight, func() (any, error) {
		if r := o.cached(cal, key); r != nil {
			return r, nil // rendered by a flight that just ended
		}
		// The render is shared by every request for the view: it waits
		// for a slot on its own deadline, not the first caller's, who
		// may hang up.
		wait := time.NewTimer(o.cfg.RenderWait)
		defer wait.Stop()
		select {
		case o.slots <- struct{}{}:
		case <-wait.C:
			return nil, errBusy
		}
		r, err := produce()
		<-o.slots
		if err != nil {
			return nil, err
		}
		o.keep(cal, key, r)
		return r, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, "", res.Err
		}
		return res.Val.(*rendered), "miss", nil
	case <-ctx.Done():
		return nil, "", ctx.Err()
	}
}

// calendar returns the hub's current calendar, asking storage for a new
// generation at most every CheckEvery (and less often while storage
// fails). A hub not known yet waits for storage, under loadTimeout. A
// known one waits at most CheckWait for a due check, then is served as it
// is while the check goes on in the background: an outage, or a slow
// load of a big generation, never holds a reader of a known calendar
// longer than that. Concurrent requests for one hub share one check.
func (o *outputs) calendar(ctx context.Context, hubID string) (*render.Calendar, error) {
	o.mu.Lock()
	e := o.hubs[hubID]
	var known *render.Calendar
	if e != nil {
		o.clock++
		e.used = o.clock
		known = e.cal
		// Not due, or due and being checked already: what is known now
		// is the answer (only the request that starts a check waits).
		if o.now().Before(e.next) || known != nil && e.checking {
			cal, err := e.cal, e.err
			o.mu.Unlock()
			return cal, err
		}
		e.checking = known != nil
	}
	o.mu.Unlock()
	ch := o.loads.DoChan(hubID, func() (any, error) {
		lctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
		defer cancel()
		defer o.checked(hubID)
		return o.refresh(lctx, hubID)
	})
	var late <-chan time.Time
	if known != nil {
		t := time.NewTimer(o.cfg.CheckWait)
		defer t.Stop()
		late = t.C
	}
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*render.Calendar), nil
	case <-late:
		return known, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// checked marks the end of a check of hubID.
func (o *outputs) checked(hubID string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if e := o.hubs[hubID]; e != nil {
		e.checking = false
	}
}

// refresh reads the hub's pointer and, when the generation changed,
// loads it. A failure keeps what is known and backs off: the next check
// waits CheckEvery doubled for each failure in a row, up to
// maxCheckBackoff.
func (o *outputs) refresh(ctx context.Context, hubID string) (*render.Calendar, error) {
	o.mu.Lock()
	old := o.hubs[hubID]
	o.mu.Unlock()
	var known *render.Calendar
	if old != nil {
		known = old.cal
	}
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	p, err := o.cals.Current(cctx, hubID)
	switch {
	case errors.Is(err, publish.ErrNotFound):
		if _, herr := o.store.GetHub(cctx, hubID); herr != nil {
			if !errors.Is(herr, tablestore.ErrNotFound) {
				return o.failed(hubID, known, herr)
			}
			err = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such hub"}
		} else {
			err = errNotPublished
		}
		o.metrics.storageUp.Set(1)
		o.set(hubID, &hubEntry{next: o.now().Add(o.cfg.CheckEvery), err: err})
		return nil, err
	case err != nil:
		return o.failed(hubID, known, err)
	}
	o.metrics.storageUp.Set(1)
	if known != nil && known.Generation == p.ID {
		o.mu.Lock()
		if e := o.hubs[hubID]; e != nil {
			e.next, e.fails = o.now().Add(o.cfg.CheckEvery), 0
		}
		o.mu.Unlock()
		return known, nil
	}
	cal, size, err := o.load(ctx, hubID)
	if err != nil {
		return o.failed(hubID, known, err)
	}
	o.metrics.loads.WithLabelValues("ok").Inc()
	o.set(hubID, &hubEntry{next: o.now().Add(o.cfg.CheckEvery), cal: cal, calSize: size, views: map[string]*rendered{}})
	return cal, nil
}

// failed records a failed check of a hub: the known calendar, if any,
// stays and is served, and the next check backs off.
func (o *outputs) failed(hubID string, known *render.Calendar, err error) (*render.Calendar, error) {
	o.metrics.storageUp.Set(0)
	o.mu.Lock()
	defer o.mu.Unlock()
	e := o.hubs[hubID]
	if e == nil || e.cal == nil {
		o.metrics.loads.WithLabelValues("error").Inc()
		return nil, err
	}
	e.fails++
	wait := o.cfg.CheckEvery << min(e.fails, 10)
	e.next = o.now().Add(min(wait, max(maxCheckBackoff, o.cfg.CheckEvery)))
	o.metrics.loads.WithLabelValues("stale").Inc()
	return known, nil
}

// load reads the hub's settings, feeds and current generation, and
// returns it with the bytes it holds.
func (o *outputs) load(ctx context.Context, hubID string) (*render.Calendar, int64, error) {
	h, err := o.store.GetHub(ctx, hubID)
	if err != nil {
		return nil, 0, err
	}
	loc, err := time.LoadLocation(h.TZ)
	if err != nil {
		return nil, 0, fmt.Errorf("hub %s time zone %q: %w", hubID, h.TZ, err)
	}
	feeds, err := o.store.ListFeeds(ctx, hubID)
	if err != nil {
		return nil, 0, err
	}
	g, err := o.cals.Load(ctx, hubID)
	if err != nil {
		return nil, 0, err
	}
	var run json.RawMessage
	events, err := hubcal.Read(g.Payload, &run)
	if err != nil {
		return nil, 0, fmt.Errorf("decode calendar of %s: %w", hubID, err)
	}
	cal := &render.Calendar{Hub: h, Loc: loc, Generation: g.ID, PublishedAt: g.PublishedAt, Events: events, Run: run}
	cal.Feeds = publicFeeds(feeds, run)
	size := events.Size() + int64(len(run)) + int64(len(feeds))*512
	return cal, size, nil
}

// publicFeeds lists the approved feeds with their last run's status;
// feed URLs lose their credentials (render.PublicFeedURL).
func publicFeeds(feeds []hub.Feed, run json.RawMessage) []render.Feed {
	var head struct {
		Feeds []struct {
			Feed   string `json:"feed"`
			Status string `json:"status"`
			Occ    int    `json:"occurrences"`
		} `json:"feeds"`
	}
	_ = json.Unmarshal(run, &head) // a header without feeds lists none
	type state struct {
		status string
		n      int
	}
	last := map[string]state{}
	for _, f := range head.Feeds {
		last[f.Feed] = state{f.Status, f.Occ}
	}
	var out []render.Feed
	for _, f := range feeds {
		if !f.Approved {
			continue
		}
		st := last[f.ID]
		out = append(out, render.Feed{ID: f.ID, Source: f.Source, FeedURL: render.PublicFeedURL(f.FeedURL), HomeURL: f.URL, Status: st.status, Events: st.n})
	}
	return out
}

// set replaces a hub's entry, dropping its views and calendar, and makes
// room for the new one.
func (o *outputs) set(hubID string, e *hubEntry) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if old := o.hubs[hubID]; old != nil {
		o.drop(old)
	}
	if len(o.hubs) >= maxHubEntries {
		for id, old := range o.hubs { // forget the unknown and unpublished first
			if old.cal == nil {
				delete(o.hubs, id)
			}
		}
	}
	o.clock++
	e.used = o.clock
	o.hubs[hubID] = e
	o.bytes += e.calSize
	o.evict(e)
	o.metrics.cacheBytes.Set(float64(o.bytes))
}

// drop forgets an entry's views and calendar; o.mu is held.
func (o *outputs) drop(e *hubEntry) {
	for k, r := range e.views {
		o.bytes -= r.size()
		delete(e.views, k)
	}
	o.bytes -= e.calSize
	e.calSize = 0
}

// evict frees memory until what is held fits CacheBytes (or entries hub
// count), least recently used hubs first: their views, then their
// calendars. keep is never evicted. o.mu is held.
func (o *outputs) evict(keep *hubEntry) {
	for o.bytes > o.cfg.CacheBytes || len(o.hubs) > maxHubEntries {
		var lru *hubEntry
		var lruID string
		for id, e := range o.hubs {
			if e != keep && (len(e.views) > 0 || e.cal != nil) && (lru == nil || e.used < lru.used) {
				lru, lruID = e, id
			}
		}
		if lru == nil {
			return // only keep is left
		}
		if len(lru.views) > 0 {
			for k, r := range lru.views {
				o.bytes -= r.size()
				delete(lru.views, k)
			}
			continue
		}
		o.drop(lru)
		delete(o.hubs, lruID)
	}
}

// cached returns a cached view of cal, or nil.
func (o *outputs) cached(cal *render.Calendar, key string) *rendered {
	o.mu.Lock()
	defer o.mu.Unlock()
	e := o.hubs[cal.Hub.ID]
	if e == nil || e.cal != cal {
		return nil
	}
	return e.views[key]
}

// keep caches a view of cal unless cal is no longer current or the view
// is more than a quarter of CacheBytes; other hubs' memory, least
// recently used first, and then this hub's other views give way.
func (o *outputs) keep(cal *render.Calendar, key string, r *rendered) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e := o.hubs[cal.Hub.ID]
	if e == nil || e.cal != cal || r.size() > o.cfg.CacheBytes/4 {
		return
	}
	for k, old := range e.views {
		if len(e.views) < maxViewsPerHub {
			break
		}
		o.bytes -= old.size()
		delete(e.views, k)
	}
	e.views[key] = r
	o.bytes += r.size()
	o.evict(e)
	for k, old := range e.views { // still over: this hub's other views go
		if o.bytes <= o.cfg.CacheBytes {
			break
		}
		if k != key {
			o.bytes -= old.size()
			delete(e.views, k)
		}
	}
	if o.bytes > o.cfg.CacheBytes { // the view itself does not fit
		delete(e.views, key)
		o.bytes -= r.size()
	}
	o.metrics.cacheBytes.Set(float64(o.bytes))
}

// ready reports whether the outputs can serve: some hub's calendar is
// held, or storage answers.
func (o *outputs) ready() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range o.hubs {
		if e.cal != nil {
			return true
		}
	}
	return false
}
