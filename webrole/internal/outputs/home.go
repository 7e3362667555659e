package outputs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/webrole/internal/render"
)

// Bounds of the home page.
const (
	// homeHubs is how many hubs one page lists.
	homeHubs = 50
	// homeScan is how many hubs one page's search looks at; past it the
	// page links on from where it stopped.
	homeScan = 10000
	// HomeTTL is how long a made page of the home page is served before
	// it is made again (during a storage outage, for as long as the
	// outage lasts), and its Cache-Control max-age.
	HomeTTL = time.Minute
	// homePages bounds the pages kept (searches are open-ended).
	homePages = 64
	// homeReads is how many hubs' calendars are asked about at once.
	homeReads = 8
)

// homeCache caches the home page: each (search, page) made once per
// HomeTTL however many ask, and kept while storage fails.
type homeCache struct {
	flight singleflight.Group
	mu     sync.Mutex
	pages  map[string]*homePage
}

type homePage struct {
	r    *Rendered
	made time.Time
}

// Home returns a page of the home page: the hubs after after (a hub id,
// or "" for the first page) whose title or id holds q, case folded (all
// of them without q). It returns the context's error, or a storage error
// when no page was made before.
func (c *Cache) Home(ctx context.Context, q, after string) (*Output, error) {
	p, err := c.home.page(ctx, strings.ToLower(q)+"\x00"+after, c.now, c.flight, func(ctx context.Context) (*Rendered, error) {
		return c.renderHome(ctx, q, after)
	})
	if err != nil {
		return nil, err
	}
	return &Output{Rendered: p.r, Modified: p.made, MaxAge: HomeTTL, Policy: render.PagePolicy(hub.Look{})}, nil
}

// page returns the cached page under key, or makes it with produce: once
// however many ask, on its own deadline. A page older than HomeTTL is
// made again; if that fails, the old one is served.
//
// The page is made in the background, under a context flight gives.
func (hc *homeCache) page(ctx context.Context, key string, now func() time.Time,
	flight func(time.Duration) (context.Context, func(), error), produce func(context.Context) (*Rendered, error)) (*homePage, error) {
	hc.mu.Lock()
	old := hc.pages[key]
	hc.mu.Unlock()
	if old != nil && now().Sub(old.made) < HomeTTL {
		return old, nil
	}
	ch := hc.flight.DoChan(key, func() (any, error) {
		pctx, done, err := flight(loadTimeout)
		if err != nil {
			return nil, err
		}
		defer done()
		r, err := produce(pctx)
		if err != nil {
			return nil, err
		}
		p := &homePage{r: r, made: now()}
		hc.mu.Lock()
		defer hc.mu.Unlock()
		if hc.pages == nil {
			hc.pages = map[string]*homePage{}
		}
		for k := range hc.pages { // the oldest gives way
			if len(hc.pages) < homePages {
				break
			}
			oldest := k
			for k2, v := range hc.pages {
				if v.made.Before(hc.pages[oldest].made) {
					oldest = k2
				}
			}
			delete(hc.pages, oldest)
		}
		hc.pages[key] = p
		return p, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			if old != nil {
				return old, nil // storage fails: what was made stands
			}
			return nil, res.Err
		}
		return res.Val.(*homePage), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// renderHome makes a page of the home page: the hubs after after whose
// title or id holds q (any, without q), at most homeHubs of them, each
// with its last published calendar's count and time. It reads the
// generations' pointers only, never a calendar.
func (c *Cache) renderHome(ctx context.Context, q, after string) (*Rendered, error) {
	needle := strings.ToLower(q)
	home := &render.Home{Query: q, After: after}
	var found []hub.Hub
	cursor, scanned := after, 0
scan:
	for {
		page, next, err := c.store.ListHubsPage(ctx, cursor, 1000)
		if err != nil {
			return nil, fmt.Errorf("list hubs: %w", err)
		}
		for _, h := range page {
			scanned++
			if needle != "" && !strings.Contains(strings.ToLower(h.Title), needle) && !strings.Contains(strings.ToLower(h.ID), needle) {
				if scanned >= homeScan {
					home.Next = h.ID // look on from here
					break scan
				}
				continue
			}
			if len(found) == homeHubs {
				home.Next = found[len(found)-1].ID
				break scan
			}
			found = append(found, h)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	home.Hubs = make([]render.HomeHub, len(found))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(homeReads)
	for i, h := range found {
		home.Hubs[i] = render.HomeHub{ID: h.ID, Title: h.Title, Type: h.Type, Events: -1, Loc: h.Location()}
		g.Go(func() error {
			p, err := c.cals.Current(gctx, h.ID)
			switch {
			case errors.Is(err, publish.ErrNotFound):
				return nil
			case err != nil:
				return fmt.Errorf("calendar of %s: %w", h.ID, err)
			}
			if n, err := strconv.Atoi(p.Meta["events"]); err == nil {
				// Cancelled events are published too, but do not take
				// place (a generation from before says none).
				off, _ := strconv.Atoi(p.Meta["cancelled"])
				home.Hubs[i].Events = max(n-off, 0)
			}
			home.Hubs[i].Published = p.PublishedAt
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := render.HomePage(&buf, home); err != nil {
		return nil, err
	}
	return newRendered(buf.Bytes(), "text/html; charset=utf-8")
}
