package render

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/elmcity/elmcity/shared/hubcal"
)

// Limits of the filter parameters.
const (
	// MaxDays is the largest days=N.
	MaxDays = 3660
	// MaxCount is the largest count=N of any format (ViewLimit).
	MaxCount = 20000
	// MaxTagScan bounds the events whose tags the hub page's tag picker
	// counts: the first of the window.
	MaxTagScan = 10000
	// maxViewTags bounds the tags of one view.
	maxViewTags = 20
)

// Filter selects events. The zero Filter keeps every event from today
// on; ParseFilter builds one from a query string.
type Filter struct {
	// UID keeps the one event with this hub UID (the add-to-calendar
	// link of the hub page).
	UID string
	// Source keeps events that list this source name (exact).
	Source string
	// Tags must all be present; Exclude must all be absent. A tag matches
	// the hub tag of that name and the contributed "{name}".
	Tags, Exclude []string
	// From and To bound the events: an event is kept when it ends after
	// From and starts before To. To zero means no upper bound.
	From, To time.Time
	// Count keeps at most that many events (0: all).
	Count int
	// Explicit reports that the query set from, to or days; links and
	// cache keys then carry the window.
	Explicit bool
	// raw is the canonical query, for Key and Query.
	raw url.Values
}

// FilterError says which query parameter is wrong and why. The web role
// answers it with 400.
type FilterError struct {
	Param  string
	Reason string
}

func (e *FilterError) Error() string { return fmt.Sprintf("query parameter %s: %s", e.Param, e.Reason) }

// filterParams are the parameters ParseFilter reads, in the order they
// apply; any other parameter is left to the caller (format options such
// as eventsonly).
var filterParams = []string{"uid", "source", "view", "from", "to", "days", "count"}

// ParseFilter reads source, view, from, to, days, count and uid from q.
// Dates and times without an offset are in loc; from and to may be a date
// (2026-12-05), a local time (2026-12-05T18:00) or RFC 3339. A date as to
// includes that day. days=N means from today (local midnight of now) to
// N days later and excludes from and to. Without a window the filter
// starts today. A bad value returns a *FilterError.
func ParseFilter(q url.Values, loc *time.Location, now time.Time) (Filter, error) {
	f := Filter{raw: url.Values{}}
	for _, p := range filterParams {
		if vs, ok := q[p]; ok && len(vs) > 1 {
			return Filter{}, &FilterError{p, "given more than once"}
		}
	}
	today := Today(now, loc)
	f.From = today
	if v := q.Get("uid"); v != "" {
		if len(v) > 200 {
			return Filter{}, &FilterError{"uid", "too long"}
		}
		f.UID = v
		f.raw.Set("uid", v)
		f.From = time.Time{} // an event's own link works after it is over
	}
	if v, ok := q["source"]; ok {
		s := strings.TrimSpace(v[0])
		if s == "" || len(s) > 200 {
			return Filter{}, &FilterError{"source", "must be a source name of 1-200 characters"}
		}
		f.Source = s
		f.raw.Set("source", s)
	}
	if v, ok := q["view"]; ok {
		var canon []string
		for _, t := range splitView(v[0]) {
			t = strings.ToLower(strings.TrimSpace(t))
			neg := strings.HasPrefix(t, "-")
			t = strings.TrimSpace(strings.TrimPrefix(t, "-"))
			t = strings.TrimSuffix(strings.TrimPrefix(t, "{"), "}")
			if t == "" {
				continue
			}
			if neg {
				f.Exclude = append(f.Exclude, t)
				canon = append(canon, "-"+escapeViewTag(t))
			} else {
				f.Tags = append(f.Tags, t)
				canon = append(canon, escapeViewTag(t))
			}
		}
		if len(canon) == 0 {
			return Filter{}, &FilterError{"view", "must list at least one tag, e.g. view=music,-kids"}
		}
		if len(canon) > maxViewTags {
			return Filter{}, &FilterError{"view", fmt.Sprintf("at most %d tags", maxViewTags)}
		}
		slices.Sort(canon)
		canon = slices.Compact(canon)
		f.raw.Set("view", strings.Join(canon, ","))
	}
	_, hasFrom := q["from"]
	_, hasTo := q["to"]
	if d, ok := q["days"]; ok {
		if hasFrom || hasTo {
			return Filter{}, &FilterError{"days", "cannot be combined with from or to"}
		}
		n, err := strconv.Atoi(d[0])
		if err != nil || n < 1 || n > MaxDays {
			return Filter{}, &FilterError{"days", fmt.Sprintf("must be a whole number of days from 1 to %d", MaxDays)}
		}
		f.From, f.To, f.Explicit = today, today.AddDate(0, 0, n), true
		f.raw.Set("days", strconv.Itoa(n))
	}
	if hasFrom {
		t, _, err := parseWhen(q.Get("from"), loc)
		if err != nil {
			return Filter{}, &FilterError{"from", err.Error()}
		}
		f.From, f.Explicit = t, true
		f.raw.Set("from", t.UTC().Format(time.RFC3339))
	}
	if hasTo {
		t, date, err := parseWhen(q.Get("to"), loc)
		if err != nil {
			return Filter{}, &FilterError{"to", err.Error()}
		}
		if date {
			t = t.AddDate(0, 0, 1)
		}
		if !t.After(f.From) {
			return Filter{}, &FilterError{"to", "must be after from"}
		}
		f.To, f.Explicit = t, true
		f.raw.Set("to", t.UTC().Format(time.RFC3339))
	}
	if v, ok := q["count"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > MaxCount {
			return Filter{}, &FilterError{"count", fmt.Sprintf("must be a whole number from 1 to %d", MaxCount)}
		}
		f.Count = n
		f.raw.Set("count", strconv.Itoa(n))
	}
	return f, nil
}

// ViewLimit is a format's size bound in events: how many a view holds
// when the query gives no count, and the largest count it may ask for.
// The hub page pages through the rest (View.Next); subscribers of the ICS
// get a whole hub of up to Default events.
func ViewLimit(format string) (def, most int) {
	switch format {
	case "ics":
		return 10000, MaxCount
	case "html":
		return 200, 1000
	case "rss":
		return 100, 1000
	default: // json, xml, csv, text, tags_json
		return 1000, 10000
	}
}

// Today is local midnight of now in loc.
func Today(now time.Time, loc *time.Location) time.Time {
	y, m, d := now.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// parseWhen reads a date, a local date-time or an RFC 3339 time; date
// reports a bare date.
func parseWhen(s string, loc *time.Location) (t time.Time, date bool, err error) {
	s = strings.TrimSpace(s)
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, true, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, false, nil
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, false, nil
	}
	return time.Time{}, false, fmt.Errorf("%q is not a date (2026-12-05), a local time (2026-12-05T18:00) or an RFC 3339 time", s)
}

// Key is the canonical form of the filter (sorted, normalized
// parameters), for cache keys. Two queries that select the same events
// on the same day have the same key; a filter without an explicit window
// depends on the day, which the caller adds to its key.
func (f Filter) Key() string { return f.raw.Encode() }

// Query returns the filter as query parameters, for links (the subscribe
// link of the current view, the tag picker).
func (f Filter) Query() url.Values {
	q := url.Values{}
	for k, v := range f.raw {
		q[k] = slices.Clone(v)
	}
	return q
}

// WithView returns the query of the filter with view replaced by tags
// (none: no view), for the hub page's tag picker.
func (f Filter) WithView(tags ...string) url.Values {
	q := f.Query()
	if len(tags) == 0 {
		q.Del("view")
	} else {
		esc := make([]string, len(tags))
		for i, t := range tags {
			esc[i] = escapeViewTag(t)
		}
		q.Set("view", strings.Join(esc, ","))
	}
	return q
}

// splitView splits a view's list at its unescaped commas: a tag that
// holds a comma (a feed's escaped one, "meeting\, john") is written
// with a backslash before it, and a backslash as two.
func splitView(s string) []string {
	var out []string
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case c == ',':
			out = append(out, b.String())
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	return append(out, b.String())
}

// escapeViewTag writes a tag for a view's list (splitView).
func escapeViewTag(t string) string {
	if !strings.ContainsAny(t, ",\\") {
		return t
	}
	return strings.NewReplacer("\\", "\\\\", ",", "\\,").Replace(t)
}

// Apply returns the events that the filter keeps, in order, at most
// Filter.Count of them (0: all). All-day events are placed on their dates
// in loc.
func (f Filter) Apply(events EventList, loc *time.Location) []hubcal.Event {
	var out []hubcal.Event
	f.Each(events, loc, func(e *hubcal.Event) bool {
		out = append(out, *e)
		return f.Count == 0 || len(out) < f.Count
	})
	return out
}

// spanSlack is how far an all-day event's span in the hub's zone can lie
// from its dates read as UTC: events are skipped by their times alone
// only outside it.
const spanSlack = 48 * time.Hour

// Each calls fn with each event the filter keeps, in order, until fn
// returns false (Count is not applied). Events are made only when their
// times can be in the window; with a UID, only the one event is made.
func (f Filter) Each(events EventList, loc *time.Location, fn func(e *hubcal.Event) bool) {
	n := events.Len()
	for i := range n {
		if f.UID != "" && events.UID(i) != f.UID {
			continue
		}
		start, end := events.Span(i)
		if !f.To.IsZero() && !start.Before(f.To.Add(spanSlack)) {
			if f.UID == "" {
				return // sorted by start: nothing later can match
			}
			continue
		}
		if !f.From.IsZero() && !end.After(f.From.Add(-spanSlack)) {
			continue
		}
		e := events.Event(i)
		if !f.keeps(&e, loc) {
			continue
		}
		if !fn(&e) {
			return
		}
	}
}

// keeps applies the filter to one event.
func (f Filter) keeps(e *hubcal.Event, loc *time.Location) bool {
	start, end := Span(e, loc)
	switch {
	case !f.From.IsZero() && !end.After(f.From):
		return false
	case !f.To.IsZero() && !start.Before(f.To):
		return false
	case f.Source != "" && !slices.ContainsFunc(e.Sources, func(s hubcal.Source) bool { return s.Name == f.Source }):
		return false
	}
	return f.tagsMatch(e.Tags)
}

func (f Filter) tagsMatch(tags []string) bool {
	has := func(t string) bool {
		return slices.ContainsFunc(tags, func(x string) bool { return x == t || x == "{"+t+"}" })
	}
	for _, t := range f.Tags {
		if !has(t) {
			return false
		}
	}
	for _, t := range f.Exclude {
		if has(t) {
			return false
		}
	}
	return true
}

// Span returns the instants an event covers: its Start and End, or, for
// an all-day event, local midnight of its first day and of the day after
// its last.
func Span(e *hubcal.Event, loc *time.Location) (start, end time.Time) {
	if !e.AllDay {
		return e.Start, e.End
	}
	return LocalDate(e.Start, loc), LocalDate(e.End, loc)
}

// LocalDate is local midnight in loc of the date d carries (a DATE value:
// midnight UTC of the date).
func LocalDate(d time.Time, loc *time.Location) time.Time {
	y, m, dd := d.UTC().Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, loc)
}
