package render

import (
	"cmp"
	"time"

	"github.com/elmcity/elmcity/shared/hubcal"
)

// The hub page's runs: when one source lists more than collapseAfter
// events on one day, the page shows its first collapseShow and a link to
// the rest ("N more from ..."), as the original elmcity did.
const (
	collapseAfter = 5
	collapseShow  = 3
)

// Collapsed is a run of one source's events on one day that the hub page
// shows in part: the events after the one whose UID is After are left
// out, More of them, and reached by a link to the source's day.
type Collapsed struct {
	Day    time.Time // local midnight of the day
	Source string    // the events' first source
	After  string    // UID of the last event shown
	More   int
	// Cancelled is how many of the More are cancelled.
	Cancelled int
}

// PageWindow is the hub page's window for a view: the filter's dates,
// or, when the query gives none, today and the next days of the hub's
// look (LookOf(...).Days in all); from a date without an end, that many
// days from it. What has ended is left out: the filter's From is never
// before now. from and to are the window's first day and the day after
// its last, for the page's navigation; live reports that the window
// holds now, so the page changes as events end. A view of one event
// (uid) is that event, whenever it is.
func PageWindow(cal *Calendar, f Filter, now time.Time) (page Filter, from, to time.Time, live bool) {
	if f.UID != "" {
		return f, time.Time{}, time.Time{}, false
	}
	loc := cmp.Or(cal.Loc, time.UTC)
	days := LookOf(cal.Hub).Days
	if !f.Explicit {
		f.From = Today(now, loc)
	}
	from = Today(f.From, loc)
	if f.To.IsZero() {
		f.To = from.AddDate(0, 0, days)
	}
	to = f.To
	if t := Today(f.To, loc); t.Before(f.To) { // a window that ends within a day
		to = t.AddDate(0, 0, 1)
	}
	live = !now.Before(f.From) && now.Before(f.To)
	if f.From.Before(now) {
		f.From = now
	}
	return f, from, to, live
}

// SelectPage chooses the events of the hub page for v (whose Filter is
// the page's, PageWindow): in order, at most Filter.Count of them shown,
// each long run of one source's events on one day (more than
// collapseAfter) cut to its first collapseShow and recorded in
// v.Collapsed, unless the view is of one source already. It looks at no
// more than MaxTagScan events; when it stops early, or at the count,
// v.Next is the start of the first event left for a later page.
func SelectPage(v *View) {
	f, loc := v.Filter, cmp.Or(v.Cal.Loc, time.UTC)
	limit := f.Count
	if limit <= 0 {
		limit, _ = ViewLimit("html")
	}
	collapse := f.Source == "" && f.UID == ""
	var floor time.Time
	if !f.From.IsZero() {
		floor = Today(f.From, loc)
	}
	// One day's events at a time: at most collapseAfter of each source
	// are kept while the day is read, and how many it has in all.
	type run struct {
		kept      []int // indexes into day
		total     int
		cancelled int // of total
	}
	var (
		day     []hubcal.Event
		runs    = map[string]*run{}
		order   []string // sources in order of first event
		current time.Time
		scanned int
		done    bool
	)
	v.Events = v.Events[:0]
	flush := func(next *hubcal.Event) {
		// keep marks the events shown, in day order.
		keep := make([]bool, len(day))
		for _, src := range order {
			r := runs[src]
			n := len(r.kept)
			if collapse && r.total > collapseAfter {
				n = collapseShow
				off := r.cancelled
				for _, i := range r.kept[:n] {
					if day[i].Cancelled {
						off--
					}
				}
				v.Collapsed = append(v.Collapsed, Collapsed{Day: current, Source: src, After: day[r.kept[n-1]].UID, More: r.total - n, Cancelled: off})
			}
			for _, i := range r.kept[:n] {
				keep[i] = true
			}
		}
		for i := range day {
			if !keep[i] {
				continue
			}
			if len(v.Events) == limit {
				v.Next, _ = Span(&day[i], loc)
				done = true
				return
			}
			v.Events = append(v.Events, day[i])
		}
		if len(v.Events) == limit && next != nil {
			v.Next, _ = Span(next, loc)
			done = true
		}
		day, runs, order = day[:0], map[string]*run{}, order[:0]
	}
	f.Each(v.Cal.Events, loc, func(e *hubcal.Event) bool {
		if scanned++; scanned > MaxTagScan {
			v.Next, _ = Span(e, loc)
			return false
		}
		start, _ := Span(e, loc)
		d := Today(start, loc)
		if !floor.IsZero() && d.Before(floor) {
			d = floor
		}
		if len(day) > 0 && !d.Equal(current) {
			if flush(e); done {
				return false
			}
		}
		current = d
		src := ""
		if len(e.Sources) > 0 {
			src = e.Sources[0].Name
		}
		r := runs[src]
		if r == nil {
			r = &run{}
			runs[src] = r
			order = append(order, src)
		}
		r.total++
		if e.Cancelled {
			r.cancelled++
		}
		if !collapse || len(r.kept) < collapseAfter || r.total <= collapseAfter {
			day = append(day, *e)
			r.kept = append(r.kept, len(day)-1)
		}
		return true
	})
	if !done && len(day) > 0 {
		flush(nil)
	}
	// Runs whose day was cut at the count keep their record: their link
	// reaches the rest. Runs of a day not shown at all are dropped.
	if len(v.Events) > 0 {
		last := v.Events[len(v.Events)-1]
		lastDay, _ := Span(&last, loc)
		lastDay = Today(lastDay, loc)
		if !floor.IsZero() && lastDay.Before(floor) {
			lastDay = floor
		}
		kept := v.Collapsed[:0]
		for _, c := range v.Collapsed {
			if !c.Day.After(lastDay) {
				kept = append(kept, c)
			}
		}
		v.Collapsed = kept
	} else {
		v.Collapsed = nil
	}
}
