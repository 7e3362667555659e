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
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/sync/singleflight"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/hub"
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
	// PublicURL is the site's absolute root URL (https://host), used in
	// links the outputs carry. Empty means the request's own scheme and
	// host (X-Forwarded-Proto is honoured), which is then part of the
	// cache key.
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
// fragment for embedding.
func renderPage(w io.Writer, v *render.View, q map[string][]string) error {
	return render.Page(w, v, render.PageOptions{EventsOnly: eventsOnly(q)})
}

func eventsOnly(q map[string][]string) bool {
	v := q["eventsonly"]
	return len(v) > 0 && (v[0] == "yes" || v[0] == "true" || v[0] == "1")
}

// IsFormat reports whether what names a built-in output.
func IsFormat(what string) bool { _, ok := formats[what]; return ok }

// outputs serves the public calendar formats from memory: each hub's
// current generation decoded once, each rendered view (format, filter,
// day, base URL) once per generation. Every instance checks the hub's
// pointer at most every CheckEvery and drops its views when the
// generation changed, so no instance needs to know of the others.
type outputs struct {
	cals    calendars
	store   store
	cfg     OutputConfig
	now     func() time.Time
	metrics *metrics
	group   singleflight.Group

	mu    sync.Mutex
	hubs  map[string]*hubEntry
	bytes int64 // rendered bytes held, all hubs
}

// hubEntry is what an instance knows of one hub.
type hubEntry struct {
	checked time.Time
	err     error // the hub is unknown or unpublished (as of checked)
	cal     *render.Calendar
	views   map[string]*rendered
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
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &outputs{cals: cals, store: st, cfg: cfg, now: now, metrics: m, hubs: map[string]*hubEntry{}}
}

// getHubPage serves GET /{hub}: the hub page.
func (s *Server) getHubPage(c *gin.Context) { s.serveOutput(c, c.Param("hub"), "html") }

// serveOutput answers one public output with caching: a strong ETag of
// the rendered bytes, Last-Modified at the publish time, 304 for
// If-None-Match and If-Modified-Since, and Cache-Control.
func (s *Server) serveOutput(c *gin.Context, hubID, what string) {
	o := s.outputs
	f := formats[what]
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
	base := o.cfg.PublicURL
	if base == "" {
		base = requestBase(c.Request)
	}
	key := what + "\x00" + filter.Key() + "\x00" + base
	if !filter.Explicit && filter.UID == "" {
		key += "\x00" + render.Today(now, cal.Loc).Format(time.DateOnly)
	}
	if what == "html" && eventsOnly(q) {
		key += "\x00eventsonly"
	}
	r := o.view(cal, key)
	cache := "hit"
	if r == nil {
		cache = "miss"
		v := &render.View{Cal: cal, Filter: filter, Events: filter.Apply(cal.Events, cal.Loc), Now: now, Base: base}
		var buf bytes.Buffer
		if err := f.render(&buf, v, q); err != nil {
			_ = c.Error(fmt.Errorf("render %s of %s: %w", what, hubID, err))
			return
		}
		if r, err = newRendered(buf.Bytes(), f.ctype); err != nil {
			_ = c.Error(fmt.Errorf("compress %s of %s: %w", what, hubID, err))
			return
		}
		o.keep(cal, key, r)
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
	h.Set("Access-Control-Allow-Origin", "*")
	if what == "ics" {
		h.Set("Content-Disposition", `inline; filename="`+hubID+`.ics"`)
	}
	// ServeContent answers If-None-Match, If-Modified-Since and ranges
	// against the ETag and modification time.
	http.ServeContent(c.Writer, c.Request, "", cal.PublishedAt, bytes.NewReader(body))
}

// requestBase is the request's scheme and host. Behind a TLS-terminating
// ingress (Azure Container Apps) the scheme comes from X-Forwarded-Proto.
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// calendar returns the hub's current calendar, checking storage for a
// new generation at most every CheckEvery. Concurrent misses for one hub
// load it once. When storage fails but a calendar is known, the known one
// is served.
func (o *outputs) calendar(ctx context.Context, hubID string) (*render.Calendar, error) {
	o.mu.Lock()
	e := o.hubs[hubID]
	if e != nil && o.now().Sub(e.checked) < o.cfg.CheckEvery {
		cal, err := e.cal, e.err
		o.mu.Unlock()
		return cal, err
	}
	o.mu.Unlock()
	v, err, _ := o.group.Do(hubID, func() (any, error) {
		return o.refresh(context.WithoutCancel(ctx), hubID, e)
	})
	if err != nil {
		return nil, err
	}
	return v.(*render.Calendar), nil
}

// refresh reads the hub's pointer and, when the generation changed,
// loads and decodes it.
func (o *outputs) refresh(ctx context.Context, hubID string, old *hubEntry) (*render.Calendar, error) {
	now := o.now()
	p, err := o.cals.Current(ctx, hubID)
	switch {
	case errors.Is(err, publish.ErrNotFound):
		if _, herr := o.store.GetHub(ctx, hubID); herr != nil {
			if !errors.Is(herr, tablestore.ErrNotFound) {
				return nil, herr
			}
			err = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such hub"}
		} else {
			err = errNotPublished
		}
		o.set(hubID, &hubEntry{checked: now, err: err})
		return nil, err
	case err != nil:
		if old != nil && old.cal != nil {
			o.metrics.loads.WithLabelValues("stale").Inc()
			return old.cal, nil // storage is down: serve what we have
		}
		o.metrics.loads.WithLabelValues("error").Inc()
		return nil, err
	}
	if old != nil && old.cal != nil && old.cal.Generation == p.ID {
		o.mu.Lock()
		old.checked = now
		o.mu.Unlock()
		return old.cal, nil
	}
	cal, err := o.load(ctx, hubID)
	if err != nil {
		if old != nil && old.cal != nil {
			o.metrics.loads.WithLabelValues("stale").Inc()
			return old.cal, nil
		}
		o.metrics.loads.WithLabelValues("error").Inc()
		return nil, err
	}
	o.metrics.loads.WithLabelValues("ok").Inc()
	o.set(hubID, &hubEntry{checked: now, cal: cal, views: map[string]*rendered{}})
	return cal, nil
}

// load reads the hub's settings, feeds and current generation.
func (o *outputs) load(ctx context.Context, hubID string) (*render.Calendar, error) {
	h, err := o.store.GetHub(ctx, hubID)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(h.TZ)
	if err != nil {
		return nil, fmt.Errorf("hub %s time zone %q: %w", hubID, h.TZ, err)
	}
	feeds, err := o.store.ListFeeds(ctx, hubID)
	if err != nil {
		return nil, err
	}
	g, err := o.cals.Load(ctx, hubID)
	if err != nil {
		return nil, err
	}
	var run json.RawMessage
	events, err := calendar.DecodePayload(g.Payload, &run)
	if err != nil {
		return nil, fmt.Errorf("decode calendar of %s: %w", hubID, err)
	}
	cal := &render.Calendar{Hub: h, Loc: loc, Generation: g.ID, PublishedAt: g.PublishedAt, Events: events, Run: run}
	cal.Feeds = publicFeeds(feeds, run)
	return cal, nil
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

// set replaces a hub's entry, dropping its views.
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
		if len(o.hubs) >= maxHubEntries {
			for id, old := range o.hubs {
				o.drop(old)
				delete(o.hubs, id)
				break
			}
		}
	}
	o.hubs[hubID] = e
}

// drop forgets an entry's views; o.mu is held.
func (o *outputs) drop(e *hubEntry) {
	for k, r := range e.views {
		o.bytes -= r.size()
		delete(e.views, k)
	}
	o.metrics.cacheBytes.Set(float64(o.bytes))
}

// view returns a cached view of cal, or nil.
func (o *outputs) view(cal *render.Calendar, key string) *rendered {
	o.mu.Lock()
	defer o.mu.Unlock()
	e := o.hubs[cal.Hub.ID]
	if e == nil || e.cal != cal {
		return nil
	}
	return e.views[key]
}

// keep caches a view of cal unless cal is no longer current or the view
// does not fit: the bounds evict other views of the hub first, then
// nothing more (the view is served uncached).
func (o *outputs) keep(cal *render.Calendar, key string, r *rendered) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e := o.hubs[cal.Hub.ID]
	if e == nil || e.cal != cal || r.size() > o.cfg.CacheBytes/4 {
		return
	}
	for k, old := range e.views {
		if len(e.views) < maxViewsPerHub && o.bytes+r.size() <= o.cfg.CacheBytes {
			break
		}
		o.bytes -= old.size()
		delete(e.views, k)
	}
	if o.bytes+r.size() > o.cfg.CacheBytes {
		return
	}
	e.views[key] = r
	o.bytes += r.size()
	o.metrics.cacheBytes.Set(float64(o.bytes))
}
