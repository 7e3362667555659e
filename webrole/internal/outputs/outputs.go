// Package outputs makes the web role's public calendar outputs and keeps
// them in memory: each hub's current generation read once into its
// compact form, each rendered view (format, filter, day) once per
// generation, tagged and gzipped once. The HTTP handlers ask a *Cache for
// an Output and write it; the polling of storage for new generations, the
// singleflight of loads and renders, the memory budget and the
// compression live here.
package outputs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/webrole/internal/render"
)

// Defaults of Config.
const (
	DefaultCheckEvery = 5 * time.Second
	DefaultMaxAge     = 5 * time.Minute
	DefaultCacheBytes = 256 << 20
	// DefaultCheckWait is Config.CheckWait's default.
	DefaultCheckWait = 250 * time.Millisecond
	// DefaultRenderWait is Config.RenderWait's default.
	DefaultRenderWait = 20 * time.Second
)

// Config tunes the public calendar outputs. Zero values take the
// defaults.
type Config struct {
	// CheckEvery is how often an instance asks storage whether a hub has
	// a new generation; until then it serves what it has. It is the
	// longest a new generation takes to reach this instance's readers.
	CheckEvery time.Duration
	// MaxAge is the Cache-Control max-age of a rendered view.
	MaxAge time.Duration
	// CacheBytes bounds the decoded calendars and rendered views kept in
	// memory, all hubs together.
	CacheBytes int64
	// RenderWait is the longest a view waits for a render slot (one per
	// core) before the request is refused with ErrBusy; default
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

// withDefaults fills the zero fields of c.
func (c Config) withDefaults() Config {
	if c.CheckEvery <= 0 {
		c.CheckEvery = DefaultCheckEvery
	}
	if c.MaxAge <= 0 {
		c.MaxAge = DefaultMaxAge
	}
	if c.CacheBytes <= 0 {
		c.CacheBytes = DefaultCacheBytes
	}
	if c.RenderWait <= 0 {
		c.RenderWait = DefaultRenderWait
	}
	if c.CheckWait <= 0 {
		c.CheckWait = DefaultCheckWait
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	return c
}

// Errors of the outputs. The HTTP layer maps them to statuses.
var (
	// ErrNoSuchHub is a hub that does not exist.
	ErrNoSuchHub = errors.New("no such hub")
	// ErrNotPublished is a hub whose first aggregation has not finished.
	ErrNotPublished = errors.New("this hub has no published calendar yet")
	// ErrBusy is a view that could not start rendering within
	// Config.RenderWait.
	ErrBusy = errors.New("too many views are being made")
	// ErrNoSuchEvent is a uid= that names no event of the view.
	ErrNoSuchEvent = errors.New("no event with this uid in the calendar (or in this view of it)")
	// ErrNoSuchFormat is a format that is no built-in output.
	ErrNoSuchFormat = errors.New("no such output")
	// ErrClosed is a load or render asked for after Close.
	ErrClosed = errors.New("the outputs are closed")
)

// calendars reads published generations (*publish.Store). Methods return
// publish.ErrNotFound for a hub never published.
type calendars interface {
	Current(ctx context.Context, hub string) (publish.Pointer, error)
	Load(ctx context.Context, hub string) (publish.Generation, error)
}

// store reads hub and feed records (*tablestore.Store). Methods return
// tablestore.ErrNotFound for a missing record.
type store interface {
	GetHub(ctx context.Context, id string) (hub.Hub, error)
	ListFeeds(ctx context.Context, hubID string) ([]hub.Feed, error)
	ListHubsPage(ctx context.Context, after string, limit int) ([]hub.Hub, string, error)
}

var _ calendars = (*publish.Store)(nil)

// Metrics are the series the outputs keep; the caller creates and
// registers them. Every field is required.
type Metrics struct {
	// Views counts outputs served, by format and cache ("hit", "miss").
	Views *prometheus.CounterVec
	// Loads counts calendar loads by outcome ("ok", "error", "stale").
	Loads *prometheus.CounterVec
	// Renders counts views rendered, by format.
	Renders *prometheus.CounterVec
	// CacheBytes is the memory held, calendars and views.
	CacheBytes prometheus.Gauge
	// StorageUp is 1 while storage answers the checks, 0 when one failed.
	StorageUp prometheus.Gauge
}

// Deps is what a Cache needs. Calendars, Store and Metrics are required.
type Deps struct {
	Calendars calendars
	Store     store
	Metrics   Metrics
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Config Config
}

// Cache serves the public outputs from memory. Every instance checks a
// hub's pointer at most every CheckEvery and drops its views when the
// generation changed, so no instance needs to know of the others.
//
// Memory is bounded by CacheBytes: the decoded calendars held and the
// views rendered count against it, the least recently used hub giving
// way first; a view renders once however many ask for it at the same
// time (singleflight), and at most GOMAXPROCS views render at once, so
// the memory renders take on top is bounded too.
//
// A hub whose calendar is known is served from memory whatever storage
// does: a check that is due runs in the background, under a deadline,
// and a failed one backs off, so an outage neither slows nor fails the
// cached views. A Cache is safe for concurrent use.
type Cache struct {
	cals    calendars
	store   store
	cfg     Config
	now     func() time.Time
	metrics Metrics
	loads   singleflight.Group // calendar checks and loads, by hub
	renders singleflight.Group // view renders, by hub, generation and view
	slots   chan struct{}      // renders running
	home    homeCache          // the home page's pages

	// Loads and renders run in goroutines of their own, shared by the
	// requests that wait for them: under base, counted in flights, so
	// Close can stop and wait for them.
	base    context.Context
	cancel  context.CancelFunc
	flights sync.WaitGroup

	mu     sync.Mutex
	closed bool
	hubs   map[string]*hubEntry
	bytes  int64  // views and calendars held, all hubs
	clock  uint64 // use stamps, for eviction
}

// New returns a Cache. It panics on a missing dependency: that is a
// programming error found at startup.
func New(d Deps) *Cache {
	m := d.Metrics
	if d.Calendars == nil || d.Store == nil || m.Views == nil || m.Loads == nil || m.Renders == nil || m.CacheBytes == nil || m.StorageUp == nil {
		panic("outputs.New: Calendars, Store and every Metrics field are required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	base, cancel := context.WithCancel(context.Background())
	return &Cache{cals: d.Calendars, store: d.Store, cfg: d.Config.withDefaults(), now: d.Now, metrics: m,
		base: base, cancel: cancel, hubs: map[string]*hubEntry{}, slots: make(chan struct{}, runtime.GOMAXPROCS(0))}
}

// Close cancels the loads, checks and renders running in the
// background and waits for them to end. A request that needs one of
// them afterwards fails with ErrClosed.
func (c *Cache) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.flights.Wait()
}

// flight registers a load or render that runs in the background, under
// the returned context with timeout; call done when it ends. It returns
// ErrClosed after Close.
func (c *Cache) flight(timeout time.Duration) (ctx context.Context, done func(), err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, nil, ErrClosed
	}
	c.flights.Add(1)
	ctx, cancel := context.WithTimeout(c.base, timeout)
	return ctx, func() { cancel(); c.flights.Done() }, nil
}

// Output is one answer, ready to write: the rendered body and what its
// headers say.
type Output struct {
	*Rendered
	// Modified is the Last-Modified time: the publish time, or the start
	// of the day or page clock tick the view was made for.
	Modified time.Time
	// MaxAge is the Cache-Control max-age.
	MaxAge time.Duration
	// Policy, when set, is the Content-Security-Policy of the document.
	Policy string
	// Filename, when set, is the Content-Disposition file name.
	Filename string
}

// Request is one public output asked for.
type Request struct {
	// Hub is the hub's id.
	Hub string
	// Format is a built-in format (IsFormat).
	Format string
	// Query is the request's query: the filter (render.ParseFilter) and
	// the format's options.
	Query url.Values
}

// Serve returns the output req asks for, from memory when it was made
// for the hub's current generation. It returns ErrNoSuchFormat,
// ErrNoSuchHub, ErrNotPublished, ErrBusy, ErrNoSuchEvent, a
// *render.FilterError for a bad query parameter, the context's error, or
// a storage error for a hub not in memory.
func (c *Cache) Serve(ctx context.Context, req Request) (*Output, error) {
	what, q := req.Format, req.Query
	if !IsFormat(what) {
		return nil, ErrNoSuchFormat
	}
	if !hub.ValidID(req.Hub) {
		return nil, ErrNoSuchHub
	}
	cal, err := c.Calendar(ctx, req.Hub)
	if err != nil {
		return nil, err
	}
	now := c.now()
	filter, err := render.ParseFilter(q, cal.Loc, now)
	if err != nil {
		return nil, err
	}
	if l := pageLayout(q); what == "html" && l != "" && l != render.LayoutCompact && l != render.LayoutFull {
		return nil, &render.FilterError{Param: "layout", Reason: "must be compact or full"}
	}
	def, most := render.ViewLimit(what)
	if filter.Count > most {
		return nil, &render.FilterError{Param: "count", Reason: fmt.Sprintf("must be a whole number from 1 to %d for %s", most, what)}
	}
	if filter.Count == 0 {
		filter.Count = def
	}
	// Absolute links come from the configured public URL only, never
	// from the request (Host, X-Forwarded-Host): the view is cached and
	// served to everyone. Without one they are relative or left out, so
	// the key needs no base.
	key := what + "\x00" + filter.Key()
	out := &Output{Modified: cal.PublishedAt, MaxAge: c.cfg.MaxAge}
	if !filter.Explicit && filter.UID == "" {
		today := render.Today(now, cal.Loc)
		key += "\x00" + today.Format(time.DateOnly)
		out.Modified = later(out.Modified, today)
	}
	if what == "html" {
		switch {
		case frame(q):
			key += "\x00frame"
			out.Policy = render.FramePolicy()
		case eventsOnly(q):
			key += "\x00eventsonly"
		default:
			// The hub's own look: its accent's stylesheet and its logo.
			out.Policy = render.PagePolicy(render.LookOf(cal.Hub))
		}
		key += "\x00" + pageLayout(q)
		// The page leaves out what has ended: one whose window holds
		// now is made again every pageClock.
		if _, _, _, live := render.PageWindow(cal, filter, now); live {
			tick := now.Truncate(pageClock)
			key += "\x00" + tick.UTC().Format(time.RFC3339)
			out.Modified = later(out.Modified, tick)
		}
	}
	if what == "ics" {
		out.Filename = req.Hub + ".ics"
	}
	r, cache, err := c.view(ctx, cal, key, func() (*Rendered, error) {
		return c.render(cal, what, filter, q, now)
	})
	if err != nil {
		return nil, err
	}
	c.metrics.Views.WithLabelValues(what, cache).Inc()
	out.Rendered = r
	return out, nil
}

// embedScript is the widget's script, tagged and compressed once.
var embedScript = sync.OnceValues(func() (*Rendered, error) {
	return newRendered(render.EmbedScript(), "text/javascript; charset=utf-8")
})

// Embed returns the calendar widget's script (render.EmbedScript) for a
// hub that has published, last modified when it published. It returns
// what Calendar returns.
func (c *Cache) Embed(ctx context.Context, hubID string) (*Output, error) {
	if !hub.ValidID(hubID) {
		return nil, ErrNoSuchHub
	}
	cal, err := c.Calendar(ctx, hubID)
	if err != nil {
		return nil, err
	}
	r, err := embedScript()
	if err != nil {
		return nil, err
	}
	return &Output{Rendered: r, Modified: cal.PublishedAt, MaxAge: c.cfg.MaxAge}, nil
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
func (c *Cache) render(cal *render.Calendar, what string, filter render.Filter, q url.Values, now time.Time) (*Rendered, error) {
	f := formats[what]
	c.metrics.Renders.WithLabelValues(what).Inc()
	v := &render.View{Cal: cal, Filter: filter, Now: now, Base: c.cfg.PublicURL}
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
		return nil, ErrNoSuchEvent
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
func (c *Cache) view(ctx context.Context, cal *render.Calendar, key string, produce func() (*Rendered, error)) (r *Rendered, cache string, err error) {
	if r := c.cached(cal, key); r != nil {
		return r, "hit", nil
	}
	flight := cal.Hub.ID + "\x00" + cal.Generation + "\x00" + key
	ch := c.renders.DoChan(flight, func() (any, error) {
		if r := c.cached(cal, key); r != nil {
			return r, nil // rendered by a flight that just ended
		}
		// The render is shared by every request for the view: it waits
		// for a slot on its own deadline, not the first caller's, who
		// may hang up.
		fctx, done, err := c.flight(c.cfg.RenderWait)
		if err != nil {
			return nil, err
		}
		defer done()
		select {
		case c.slots <- struct{}{}:
		case <-fctx.Done():
			if errors.Is(fctx.Err(), context.DeadlineExceeded) {
				return nil, ErrBusy
			}
			return nil, ErrClosed
		}
		r, err := produce()
		<-c.slots
		if err != nil {
			return nil, err
		}
		c.keep(cal, key, r)
		return r, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, "", res.Err
		}
		return res.Val.(*Rendered), "miss", nil
	case <-ctx.Done():
		return nil, "", ctx.Err()
	}
}
