package outputs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/shared/hubrun"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/shared/tablestore"
	"github.com/elmcity/elmcity/webrole/internal/render"
)

// Bounds of the cache, and deadlines and backoff of storage reads.
const (
	// maxViewsPerHub bounds the rendered views kept per hub: filters are
	// open-ended, so a crawler must not fill the cache with one hub.
	maxViewsPerHub = 256
	// maxHubEntries bounds the hubs remembered, unknown ones included.
	maxHubEntries = 10000
	// loadTimeout bounds a check of a hub's pointer with the load of a new
	// generation; checkTimeout the check alone.
	loadTimeout  = 30 * time.Second
	checkTimeout = 3 * time.Second
	// maxCheckBackoff is the longest wait between checks of a hub while
	// storage fails.
	maxCheckBackoff = time.Minute
	// feedBytes is what one feed's row of the about section is reckoned
	// to hold.
	feedBytes = 512
)

// hubEntry is what an instance knows of one hub.
type hubEntry struct {
	next     time.Time // when the next check of storage is due
	fails    int       // checks failed in a row
	checking bool      // a check of a known calendar is running
	err      error     // the hub is unknown or unpublished (as of the check)
	cal      *render.Calendar
	calSize  int64
	views    map[string]*Rendered
	used     uint64
}

// Calendar returns the hub's current calendar, asking storage for a new
// generation at most every CheckEvery (and less often while storage
// fails). A hub not known yet waits for storage, under loadTimeout. A
// known one waits at most CheckWait for a due check, then is served as it
// is while the check goes on in the background: an outage, or a slow
// load of a big generation, never holds a reader of a known calendar
// longer than that. Concurrent requests for one hub share one check.
//
// It returns ErrNoSuchHub, ErrNotPublished, the context's error, or the
// storage error of a hub not in memory.
func (c *Cache) Calendar(ctx context.Context, hubID string) (*render.Calendar, error) {
	c.mu.Lock()
	e := c.hubs[hubID]
	var known *render.Calendar
	if e != nil {
		c.clock++
		e.used = c.clock
		known = e.cal
		// Not due, or due and being checked already: what is known now
		// is the answer (only the request that starts a check waits).
		if c.now().Before(e.next) || known != nil && e.checking {
			cal, err := e.cal, e.err
			c.mu.Unlock()
			return cal, err
		}
		e.checking = known != nil
	}
	c.mu.Unlock()
	ch := c.loads.DoChan(hubID, func() (any, error) {
		defer c.checked(hubID)
		lctx, done, err := c.flight(loadTimeout)
		if err != nil {
			return nil, err
		}
		defer done()
		return c.refresh(lctx, hubID)
	})
	var late <-chan time.Time
	if known != nil {
		t := time.NewTimer(c.cfg.CheckWait)
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
func (c *Cache) checked(hubID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.hubs[hubID]; e != nil {
		e.checking = false
	}
}

// refresh reads the hub's pointer and, when the generation changed,
// loads it. A failure keeps what is known and backs off: the next check
// waits CheckEvery doubled for each failure in a row, up to
// maxCheckBackoff.
func (c *Cache) refresh(ctx context.Context, hubID string) (*render.Calendar, error) {
	c.mu.Lock()
	old := c.hubs[hubID]
	c.mu.Unlock()
	var known *render.Calendar
	if old != nil {
		known = old.cal
	}
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	p, err := c.cals.Current(cctx, hubID)
	switch {
	case errors.Is(err, publish.ErrNotFound):
		if _, herr := c.store.GetHub(cctx, hubID); herr != nil {
			if !errors.Is(herr, tablestore.ErrNotFound) {
				return c.failed(hubID, known, herr)
			}
			err = ErrNoSuchHub
		} else {
			err = ErrNotPublished
		}
		c.metrics.StorageUp.Set(1)
		c.set(hubID, &hubEntry{next: c.now().Add(c.cfg.CheckEvery), err: err})
		return nil, err
	case err != nil:
		return c.failed(hubID, known, err)
	}
	c.metrics.StorageUp.Set(1)
	if known != nil && known.Generation == p.ID {
		c.mu.Lock()
		if e := c.hubs[hubID]; e != nil {
			e.next, e.fails = c.now().Add(c.cfg.CheckEvery), 0
		}
		c.mu.Unlock()
		return known, nil
	}
	cal, size, err := c.load(ctx, hubID)
	if err != nil {
		return c.failed(hubID, known, err)
	}
	c.metrics.Loads.WithLabelValues("ok").Inc()
	c.set(hubID, &hubEntry{next: c.now().Add(c.cfg.CheckEvery), cal: cal, calSize: size, views: map[string]*Rendered{}})
	return cal, nil
}

// failed records a failed check of a hub: the known calendar, if any,
// stays and is served, and the next check backs off.
func (c *Cache) failed(hubID string, known *render.Calendar, err error) (*render.Calendar, error) {
	c.metrics.StorageUp.Set(0)
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.hubs[hubID]
	if e == nil || e.cal == nil {
		c.metrics.Loads.WithLabelValues("error").Inc()
		return nil, err
	}
	e.fails++
	wait := c.cfg.CheckEvery << min(e.fails, 10)
	e.next = c.now().Add(min(wait, max(maxCheckBackoff, c.cfg.CheckEvery)))
	c.metrics.Loads.WithLabelValues("stale").Inc()
	return known, nil
}

// load reads the hub's settings, feeds and current generation, and
// returns it with the bytes it holds: the compact events, the run header
// and the feeds, which count against CacheBytes.
func (c *Cache) load(ctx context.Context, hubID string) (*render.Calendar, int64, error) {
	h, err := c.store.GetHub(ctx, hubID)
	if err != nil {
		return nil, 0, err
	}
	loc, err := time.LoadLocation(h.TZ)
	if err != nil {
		return nil, 0, fmt.Errorf("hub %s time zone %q: %w", hubID, h.TZ, err)
	}
	feeds, err := c.store.ListFeeds(ctx, hubID)
	if err != nil {
		return nil, 0, err
	}
	g, err := c.cals.Load(ctx, hubID)
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
	size := events.Size() + int64(len(run)) + int64(len(feeds))*feedBytes
	return cal, size, nil
}

// publicFeeds lists the approved feeds with their last run's status, as
// the run header (hubrun.Header) has it; feed URLs lose their
// credentials (render.PublicFeedURL).
func publicFeeds(feeds []hub.Feed, run json.RawMessage) []render.Feed {
	var head hubrun.Header
	_ = json.Unmarshal(run, &head) // a header without feeds lists none
	last := make(map[string]hubrun.FeedStats, len(head.Feeds))
	for _, f := range head.Feeds {
		last[f.Feed] = f
	}
	var out []render.Feed
	for _, f := range feeds {
		if !f.Approved {
			continue
		}
		st := last[f.ID]
		out = append(out, render.Feed{ID: f.ID, Source: f.Source, FeedURL: render.PublicFeedURL(f.FeedURL), HomeURL: f.URL,
			Status: st.Status, Events: st.Occurrences})
	}
	return out
}

// set replaces a hub's entry, dropping its views and calendar, and makes
// room for the new one.
func (c *Cache) set(hubID string, e *hubEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.hubs[hubID]; old != nil {
		c.drop(old)
	}
	if len(c.hubs) >= maxHubEntries {
		for id, old := range c.hubs { // forget the unknown and unpublished first
			if old.cal == nil {
				delete(c.hubs, id)
			}
		}
	}
	c.clock++
	e.used = c.clock
	c.hubs[hubID] = e
	c.bytes += e.calSize
	c.evict(e)
	c.metrics.CacheBytes.Set(float64(c.bytes))
}

// drop forgets an entry's views and calendar; c.mu is held.
func (c *Cache) drop(e *hubEntry) {
	for k, r := range e.views {
		c.bytes -= r.size()
		delete(e.views, k)
	}
	c.bytes -= e.calSize
	e.calSize = 0
}

// evict frees memory until what is held fits CacheBytes (or entries hub
// count), least recently used hubs first: their views, then their
// calendars. keep is never evicted. c.mu is held.
func (c *Cache) evict(keep *hubEntry) {
	for c.bytes > c.cfg.CacheBytes || len(c.hubs) > maxHubEntries {
		var lru *hubEntry
		var lruID string
		for id, e := range c.hubs {
			if e != keep && (len(e.views) > 0 || e.cal != nil) && (lru == nil || e.used < lru.used) {
				lru, lruID = e, id
			}
		}
		if lru == nil {
			return // only keep is left
		}
		if len(lru.views) > 0 {
			for k, r := range lru.views {
				c.bytes -= r.size()
				delete(lru.views, k)
			}
			continue
		}
		c.drop(lru)
		delete(c.hubs, lruID)
	}
}

// cached returns a cached view of cal, or nil.
func (c *Cache) cached(cal *render.Calendar, key string) *Rendered {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.hubs[cal.Hub.ID]
	if e == nil || e.cal != cal {
		return nil
	}
	return e.views[key]
}

// keep caches a view of cal unless cal is no longer current or the view
// is more than a quarter of CacheBytes; other hubs' memory, least
// recently used first, and then this hub's other views give way.
func (c *Cache) keep(cal *render.Calendar, key string, r *Rendered) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.hubs[cal.Hub.ID]
	if e == nil || e.cal != cal || r.size() > c.cfg.CacheBytes/4 {
		return
	}
	for k, old := range e.views {
		if len(e.views) < maxViewsPerHub {
			break
		}
		c.bytes -= old.size()
		delete(e.views, k)
	}
	e.views[key] = r
	c.bytes += r.size()
	c.evict(e)
	for k, old := range e.views { // still over: this hub's other views go
		if c.bytes <= c.cfg.CacheBytes {
			break
		}
		if k != key {
			c.bytes -= old.size()
			delete(e.views, k)
		}
	}
	if c.bytes > c.cfg.CacheBytes { // the view itself does not fit
		delete(e.views, key)
		c.bytes -= r.size()
	}
	c.metrics.CacheBytes.Set(float64(c.bytes))
}

// Ready reports whether the cache can serve without storage: some hub's
// calendar is held.
func (c *Cache) Ready() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.hubs {
		if e.cal != nil {
			return true
		}
	}
	return false
}
