package render

import (
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/elmcity/elmcity/shared/hub"
)

// HomeHub is one hub as the home page lists it.
type HomeHub struct {
	ID, Title, Type string
	// Events is how many events its calendar held when last published,
	// from that day on, that take place (cancelled ones left out; -1:
	// not known); Published is when (zero: not
	// published yet), shown in Loc, the hub's zone.
	Events    int
	Published time.Time
	Loc       *time.Location
}

// Home is the home page: a page of hubs, found by a search over their
// titles when Query is set.
type Home struct {
	Hubs  []HomeHub
	Query string // the search, "" for every hub
	// After is the id the page starts after ("" for the first); Next is
	// the After of the following page ("" on the last).
	After, Next string
}

// homeData is what the home template reads.
type homeData struct {
	Query    string
	Hubs     []homeHub
	NextHref string
	Paged    bool // not the first page
}

type homeHub struct {
	Href, Title, Type string
	Events            int
	Counted           bool
	Published         bool
	Updated           string
	UpdatedAt         string
}

// hubTypeNames are a hub type as the home page says it.
var hubTypeNames = map[string]string{hub.TypeWhere: "a place", hub.TypeWhat: "a topic", hub.TypeRegion: "a region"}

// HomePage writes the home page: the hubs with their titles, types and
// upcoming events, a search form over their titles (a plain GET to /),
// and a link to the next page. It runs no script and loads nothing, and
// its only form submits to the site itself (PagePolicy of no look).
func HomePage(w io.Writer, h *Home) error {
	d := &homeData{Query: h.Query, Paged: h.After != ""}
	for _, x := range h.Hubs {
		loc := x.Loc
		if loc == nil {
			loc = time.UTC
		}
		hh := homeHub{Href: HubPath(x.ID), Title: x.Title, Type: hubTypeNames[x.Type], Events: x.Events, Counted: x.Events >= 0, Published: !x.Published.IsZero()}
		if hh.Title == "" {
			hh.Title = x.ID
		}
		if hh.Type == "" {
			hh.Type = hubTypeNames[hub.TypeWhere]
		}
		if hh.Published {
			hh.Updated = x.Published.In(loc).Format("January 2, 2006")
			hh.UpdatedAt = x.Published.UTC().Format(time.RFC3339)
		}
		d.Hubs = append(d.Hubs, hh)
	}
	if h.Next != "" {
		q := url.Values{"after": {h.Next}}
		if h.Query != "" {
			q.Set("q", h.Query)
		}
		d.NextHref = "/?" + q.Encode()
	}
	if err := htmlTemplates.ExecuteTemplate(w, "home", d); err != nil {
		return fmt.Errorf("render home page: %w", err)
	}
	return nil
}
