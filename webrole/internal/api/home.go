package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
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
	// homeTTL is how long a made page is served before it is made again
	// (during a storage outage, for as long as the outage lasts).
	homeTTL = time.Minute
	// homePages bounds the pages kept (searches are open-ended).
	homePages = 64
	// maxHomeQuery bounds the search, in characters.
	maxHomeQuery = 100
	// homeReads is how many hubs' calendars are asked about at once.
	homeReads = 8
)

// homePages caches the home page: each (search, page) made once per
// homeTTL however many ask, and kept while storage fails.
type homeCache struct {
	flight singleflight.Group
	mu     sync.Mutex
	pages  map[string]*homePage
}

type homePage struct {
	r    *rendered
	made time.Time
}

// getHome serves GET /: the hubs, paged, or those whose title (or id)
// holds q.
func (s *Server) getHome(c *gin.Context) {
	o := s.outputs
	q := strings.TrimSpace(c.Query("q"))
	after := c.Query("after")
	bad := func(param, reason string) {
		_ = c.Error(&Error{Status: http.StatusBadRequest, Code: "invalid", Message: "query parameter " + param + ": " + reason, Fields: map[string]string{param: reason}})
	}
	switch {
	case utf8.RuneCountInString(q) > maxHomeQuery || !utf8.ValidString(q):
		bad("q", "at most "+strconv.Itoa(maxHomeQuery)+" characters")
		return
	case after != "" && !hub.ValidID(after):
		bad("after", "must be the next of the previous page")
		return
	}
	p, err := o.home.page(c.Request.Context(), strings.ToLower(q)+"\x00"+after, o.now, func(ctx context.Context) (*rendered, error) {
		return o.renderHome(ctx, q, after)
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	h := c.Writer.Header()
	h.Set("Content-Type", p.r.ctype)
	h.Set("Vary", "Accept-Encoding")
	h.Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(homeTTL.Seconds())))
	h.Set("Content-Security-Policy", render.PagePolicy(hub.Look{}))
	body, etag := p.r.body, p.r.etag
	if p.r.gz != nil && acceptsGzip(c.GetHeader("Accept-Encoding")) {
		body, etag = p.r.gz, p.r.gzEtag
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	http.ServeContent(c.Writer, c.Request, "", p.made, bytes.NewReader(body))
}

// page returns the cached page under key, or makes it with produce: once
// however many ask, on its own deadline. A page older than homeTTL is
// made again; if that fails, the old one is served.
func (hc *homeCache) page(ctx context.Context, key string, now func() time.Time, produce func(context.Context) (*rendered, error)) (*homePage, error) {
	hc.mu.Lock()
	old := hc.pages[key]
	hc.mu.Unlock()
	if old != nil && now().Sub(old.made) < homeTTL {
		return old, nil
	}
	ch := hc.flight.DoChan(key, func() (any, error) {
		pctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
		defer cancel()
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
// with its last published calendar's count and time.
func (o *outputs) renderHome(ctx context.Context, q, after string) (*rendered, error) {
	needle := strings.ToLower(q)
	home := &render.Home{Query: q, After: after}
	var found []hub.Hub
	cursor, scanned := after, 0
scan:
	for {
		page, next, err := o.store.ListHubsPage(ctx, cursor, 1000)
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
			p, err := o.cals.Current(gctx, h.ID)
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
