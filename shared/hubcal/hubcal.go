package hubcal

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
)

// Calendar is a hub's merged calendar in compact form: every event body
// (title, description, location, URL, tags, source) is held once, and each
// occurrence is a row of times that refers to its body, or to a group of
// bodies when several feeds' copies were folded into one event. Rows are
// in the order of the published calendar: by start, title and UID.
//
// A year of a hub's recurring series expands to millions of occurrences
// that share a few tens of thousands of bodies, so the compact form is
// what the worker merges, publishes and carries; Event values are made
// from it only when asked for (Events, Event).
//
// A Calendar is read-only once built and safe for concurrent reads.
type Calendar struct {
	bodies []body
	groups []group
	rows   []row
	// rids holds the recurrence ids of rows whose sources' ids differ
	// from their start: row.x-1 is the index of the first, one per
	// component of the row's entry.
	rids []int64
	// encChunks, when set, are the bodies' lines of the payload, in
	// order, written by the merge; the bodies themselves then hold only
	// what the merge needs (titles and source identities) until ready
	// reads the rest back from these lines.
	encChunks [][]byte

	readyOnce sync.Once
	resolved  []resolvedGroup // one per group, for Events and Carry
}

// body is one feed's copy of an event: what an Event with a single
// source holds, less its times.
type body struct {
	Title       string
	Description string
	Location    string
	URL         string
	AllDay      bool
	Tags        []string
	// Cats are the event's CATEGORIES as the feed wrote them, from which
	// Tags are derived with the feed's and hub's current settings.
	Cats []string
	// Cancelled is the event's STATUS:CANCELLED: a body derives from one
	// VEVENT, so every occurrence that refers to it shares its status.
	Cancelled bool
	Src       bodySource

	feed  int32    // index of the contribution, during a merge
	norm  string   // normTitle(Title)
	words []string // sortedWords(norm)
	tid   int32    // index of norm among the merge's titles
	rank  int32    // rank of Title among the merge's titles
	z     int32    // zone offset of the first row that refers to it
}

// bodySource is the source of a body; its hub UID is derived from it and
// a row's times (see sourceID).
type bodySource struct {
	Feed, Name, URL, UID string
	// Kind says how the hub UID is derived: idSingle, idInstance or
	// idTitle; idKept for a copy read from a payload of the earlier
	// formats, whose hub UID is ID as it was published.
	Kind byte
	// Summary is the raw SUMMARY, which an idTitle UID is made from.
	Summary string
	// ID is the hub UID of an idKept source.
	ID string
}

// How a source's hub UID is made (see sourceID).
const (
	idSingle   = 's' // feed and UID: a single event keeps its UID when moved
	idInstance = 'r' // feed, UID and recurrence id: one instance of a series
	idTitle    = 'n' // feed, summary and start: an event without a UID
	idKept     = 'k' // as published: a copy read from an earlier format (legacy.go)
)

// group is an event folded from several feeds' copies: the primary's body
// first, then each absorbed body with how its title matched. Its copies
// are all cancelled or all not (the merge never folds a cancelled copy
// with one that takes place), so the group's status is its primary's.
//
// A group read from a payload of an earlier format may have a copy
// without a how (""), and so without a merge note (legacy.go).
type group struct {
	comps []int32  // body indices
	hows  []string // hows[i] is how comps[i+1] matched comps[0], or ""
	z     int32    // zone offset of the first row that refers to it
}

// row is one occurrence: its times and the entry it refers to.
type row struct {
	start, end  int64 // Unix seconds
	ref         int32 // body index, or ^group index
	off, endOff int32 // UTC offsets of start and end, seconds
	x           int32 // 1 + index in Calendar.rids, or 0: every id is the start
}

// resolvedGroup is a group's Event fields, less the per-row ones.
type resolvedGroup struct {
	title, description, location, url string
	tags                              []string
}

// Len returns the number of events (occurrences) in c, cancelled ones
// included.
func (c *Calendar) Len() int { return len(c.rows) }

// Cancelled returns how many of c's events are cancelled (Event.Cancelled),
// without making them.
func (c *Calendar) Cancelled() int {
	n := 0
	for i := range c.rows {
		if c.primary(&c.rows[i]).Cancelled {
			n++
		}
	}
	return n
}

// primary returns the body of a row's event, or of its group's primary.
func (c *Calendar) primary(r *row) *body {
	ref := r.ref
	if ref < 0 {
		ref = c.groups[^ref].comps[0]
	}
	return &c.bodies[ref]
}

// Truncate keeps the first n events of c (the earliest, in the
// calendar's order) and returns how many it left out. It is for the
// publisher's cap on a hub's events, before c is encoded or read.
func (c *Calendar) Truncate(n int) int {
	if n < 0 || n >= len(c.rows) {
		return 0
	}
	cut := len(c.rows) - n
	c.rows = c.rows[:n:n]
	return cut
}

// Bodies returns the number of distinct event bodies c holds: a measure
// of how compact it is.
func (c *Calendar) Bodies() int { return len(c.bodies) }

// Events returns every event of c as HubEvents, in order. Events of one
// body share its Tags slice (capped, so appending copies): treat them as
// read-only.
func (c *Calendar) Events() []Event {
	c.ready()
	out := make([]Event, len(c.rows))
	var d eventMaker
	for i := range c.rows {
		c.event(&d, i, &out[i])
	}
	return out
}

// EventsIn returns the events of c that belong to [from, to) by the
// window rule (InWindow), in order, at most limit of them (limit <= 0:
// all). Only those events are made: the rest of c is looked at as rows
// of times.
func (c *Calendar) EventsIn(from, to time.Time, limit int) []Event {
	f, t := from.Unix(), to.Unix()
	var idx []int
	for i := range c.rows {
		r := &c.rows[i]
		if r.start >= t {
			break // rows are in start order
		}
		if r.start >= f || r.end > f {
			idx = append(idx, i)
			if len(idx) == limit {
				break
			}
		}
	}
	if len(idx) == 0 {
		return nil
	}
	c.ready()
	out := make([]Event, len(idx))
	var d eventMaker
	for k, i := range idx {
		c.event(&d, i, &out[k])
	}
	return out
}

// UID returns the hub UID of the i-th event of c, 0 <= i < Len, without
// making the event: what Event(i).UID is.
func (c *Calendar) UID(i int) string {
	var buf []byte
	return c.uidOf(&buf, &c.rows[i])
}

// Span returns the start and end of the i-th event of c, 0 <= i < Len,
// without making the event: what a reader looking for a window needs.
// An all-day event's times are midnight UTC of its dates.
func (c *Calendar) Span(i int) (start, end time.Time) {
	r := &c.rows[i]
	return time.Unix(r.start, 0), time.Unix(r.end, 0)
}

// Size estimates the bytes c holds in memory once its events have been
// read (Event, EventsIn): its rows, bodies, groups and resolved groups.
// Readers that keep calendars count it against their memory budget.
func (c *Calendar) Size() int64 {
	const (
		sliceHeader = 24
		strHeader   = 16
	)
	n := int64(len(c.rows))*sizeOf[row]() + int64(len(c.rids))*8
	str := func(s string) int64 { return int64(len(s)) }
	for i := range c.bodies {
		b := &c.bodies[i]
		n += sizeOf[body]()
		n += str(b.Title) + str(b.Description) + str(b.Location) + str(b.URL) + str(b.norm)
		n += str(b.Src.Feed) + str(b.Src.Name) + str(b.Src.URL) + str(b.Src.UID) + str(b.Src.Summary) + str(b.Src.ID)
		for _, t := range b.Tags {
			n += strHeader + str(t)
		}
		for _, w := range b.words {
			n += strHeader + str(w)
		}
	}
	for i := range c.groups {
		g := &c.groups[i]
		n += sizeOf[group]() + int64(len(g.comps))*4 + int64(len(g.hows))*strHeader
		for _, h := range g.hows {
			n += str(h)
		}
		// The group's resolved fields share the bodies' strings; the
		// tag union is its own slice.
		n += sizeOf[resolvedGroup]() + sliceHeader + 4*strHeader
	}
	for _, ch := range c.encChunks {
		n += int64(cap(ch))
	}
	return n
}

// sizeOf is the size in bytes of a T.
func sizeOf[T any]() int64 { return int64(reflect.TypeFor[T]().Size()) }

// Event returns the i-th event of c, 0 <= i < Len.
func (c *Calendar) Event(i int) Event {
	c.ready()
	var d eventMaker
	var e Event
	c.event(&d, i, &e)
	return e
}

// eventMaker holds what making HubEvents reuses: zones by offset and a
// hashing buffer.
type eventMaker struct {
	zones map[int32]*time.Location
	buf   []byte
}

// at returns the instant sec with the offset off, as time.Time's JSON
// decoding would give it: UTC for offset 0, Local when Local has that
// offset then, else a fixed zone.
func (d *eventMaker) at(sec int64, off int32) time.Time {
	t := time.Unix(sec, 0)
	if off == 0 {
		return t.UTC()
	}
	if _, lo := t.Zone(); lo == int(off) {
		return t
	}
	if d.zones == nil {
		d.zones = make(map[int32]*time.Location)
	}
	loc, ok := d.zones[off]
	if !ok {
		loc = time.FixedZone("", int(off))
		d.zones[off] = loc
	}
	return t.In(loc)
}

// rid returns the recurrence id of component k of row r.
func (c *Calendar) rid(r *row, k int) int64 {
	if r.x == 0 {
		return r.start
	}
	return c.rids[int(r.x)-1+k]
}

func (c *Calendar) event(d *eventMaker, i int, e *Event) {
	r := &c.rows[i]
	if r.ref >= 0 {
		b := &c.bodies[r.ref]
		src := b.source(d, r.start, c.rid(r, 0))
		*e = Event{
			UID: src.ID, Title: b.Title, Start: d.at(r.start, r.off), End: d.at(r.end, r.endOff), AllDay: b.AllDay,
			Description: b.Description, Location: b.Location, URL: b.URL, Tags: b.Tags, Cancelled: b.Cancelled,
			Sources: []Source{src},
		}
		return
	}
	g := &c.groups[^r.ref]
	rg := &c.resolved[^r.ref]
	p := &c.bodies[g.comps[0]]
	*e = Event{
		Title: rg.title, Start: d.at(r.start, r.off), End: d.at(r.end, r.endOff), AllDay: p.AllDay,
		Description: rg.description, Location: rg.location, URL: rg.url, Tags: rg.tags, Cancelled: p.Cancelled,
	}
	e.Sources = make([]Source, len(g.comps))
	for k, ci := range g.comps {
		e.Sources[k] = c.bodies[ci].source(d, r.start, c.rid(r, k))
	}
	e.UID = e.Sources[0].ID
	notes := 0
	for _, how := range g.hows {
		if how != "" {
			notes++
		}
	}
	e.Merged = make([]MergeNote, 0, notes)
	for k, how := range g.hows {
		if how == "" {
			continue
		}
		o := &c.bodies[g.comps[k+1]]
		e.Merged = append(e.Merged, MergeNote{Feed: o.Src.Feed, UID: o.Src.UID, Reason: mergeReason(r.start, how, rg.title, o.Title)})
	}
}

// mergeReason explains a fold: the same start and how the titles matched.
// legacy.go reads it back.
func mergeReason(start int64, how, title, other string) string {
	return fmt.Sprintf("same start %s and %s title (%q ~ %q)", time.Unix(start, 0).UTC().Format(time.RFC3339), how, title, other)
}

// source returns a body's Source for an occurrence.
func (b *body) source(d *eventMaker, start, rid int64) Source {
	s := &b.Src
	id := sourceID(&d.buf, s, start, rid)
	return Source{Feed: s.Feed, Name: s.Name, URL: s.URL, UID: s.UID, ID: id}
}

// uid returns the hub UID of a body's occurrence.
func (b *body) uid(buf *[]byte, start, rid int64) string {
	return sourceID(buf, &b.Src, start, rid)
}

// sourceID derives the hub UID of a source's occurrence from its feed and
// source identity: feed and UID for a single event (so a rescheduled
// event keeps its UID), plus the recurrence id for an instance of a
// series; without a source UID, the summary and start stand in. A kept
// source's is the one it was published with. buf is reused between
// calls.
func sourceID(buf *[]byte, s *bodySource, start, rid int64) string {
	if s.Kind == idKept {
		return s.ID
	}
	b := append((*buf)[:0], s.Feed...)
	b = append(b, 0)
	switch s.Kind {
	case idTitle:
		b = append(b, s.Summary...)
		b = append(b, 0)
		b = time.Unix(start, 0).UTC().AppendFormat(b, time.RFC3339)
	case idInstance:
		b = append(b, s.UID...)
		b = append(b, 0)
		b = time.Unix(rid, 0).UTC().AppendFormat(b, time.RFC3339)
	default:
		b = append(b, s.UID...)
	}
	sum := sha256.Sum256(b)
	out := make([]byte, 32+len("@elmcity"))
	hex.Encode(out, sum[:16])
	copy(out[32:], "@elmcity")
	*buf = b
	return string(out)
}

// ready makes c's bodies whole again, if the merge slimmed them, and
// resolves its groups: what making Events needs.
func (c *Calendar) ready() {
	c.readyOnce.Do(func() {
		if c.encChunks != nil {
			c.restore()
		}
		c.resolve()
	})
}

// restore reads the slimmed bodies' fields back from their payload lines.
func (c *Calendar) restore() {
	i := 0
	for _, ch := range c.encChunks {
		for len(ch) > 0 {
			var line []byte
			line, ch = nextLine(ch)
			var pb payloadBody
			// The lines were written by appendBodies from these bodies.
			if err := json.Unmarshal(line, &pb); err != nil {
				panic(fmt.Sprintf("calendar: body %d of a merged calendar does not read back: %v", i, err))
			}
			b := &c.bodies[i]
			whole := pb.body()
			whole.feed, whole.norm, whole.words, whole.tid, whole.rank, whole.z = b.feed, b.norm, b.words, b.tid, b.rank, b.z
			*b = whole
			i++
		}
	}
}

// resolve computes every group's fields: the primary's title, the union
// of the tags, the first URL and location, the longest description.
func (c *Calendar) resolve() {
	c.resolved = make([]resolvedGroup, len(c.groups))
	for gi := range c.groups {
		g := &c.groups[gi]
		p := &c.bodies[g.comps[0]]
		rg := resolvedGroup{title: p.Title, description: p.Description, location: p.Location, url: p.URL, tags: p.Tags}
		for _, ci := range g.comps[1:] {
			o := &c.bodies[ci]
			rg.tags = unionTags(rg.tags, o.Tags)
			if rg.url == "" {
				rg.url = o.URL
			}
			if rg.location == "" {
				rg.location = o.Location
			}
			if len(o.Description) > len(rg.description) {
				rg.description = o.Description
			}
		}
		rg.tags = rg.tags[:len(rg.tags):len(rg.tags)]
		c.resolved[gi] = rg
	}
}

// rowAt returns the row of an occurrence from start to end.
func rowAt(start, end time.Time, ref int32) row {
	_, off := start.Zone()
	_, endOff := end.Zone()
	return row{start: start.Unix(), end: end.Unix(), ref: ref, off: int32(off), endOff: int32(endOff)}
}

// Carry returns feed's copies of c's events inside [from, to), as an
// earlier run's contribution to add to a merge (Contribution.AddCarried):
// for every event that lists feed among its sources, that source's copy
// with its own UID and its status (cancelled or not).
func (c *Calendar) Carry(feed string, from, to time.Time) *Carried {
	c.ready()
	out := &Carried{}
	fromGroup := map[[2]int32]int32{} // (group, component) -> carried body
	fromBody := map[int32]int32{}
	for i := range c.rows {
		r := &c.rows[i]
		if !calendar.InWindow(time.Unix(r.start, 0), time.Unix(r.end, 0), from, to) {
			continue
		}
		nr := *r
		nr.x = 0
		if r.ref >= 0 {
			b := &c.bodies[r.ref]
			if b.Src.Feed != feed {
				continue
			}
			bi, ok := fromBody[r.ref]
			if !ok {
				bi = int32(len(out.bodies))
				out.bodies = append(out.bodies, *b)
				fromBody[r.ref] = bi
			}
			nr.ref = bi
			out.add(nr, c.rid(r, 0))
			continue
		}
		gi := ^r.ref
		g := &c.groups[gi]
		for k, ci := range g.comps {
			b := &c.bodies[ci]
			if b.Src.Feed != feed {
				continue
			}
			key := [2]int32{gi, int32(k)}
			bi, ok := fromGroup[key]
			if !ok {
				rg := &c.resolved[gi]
				bi = int32(len(out.bodies))
				out.bodies = append(out.bodies, body{
					Title: rg.title, Description: rg.description, Location: rg.location, URL: rg.url,
					AllDay: c.bodies[g.comps[0]].AllDay, Tags: rg.tags, Cancelled: b.Cancelled, Src: b.Src, z: r.off,
				})
				fromGroup[key] = bi
			}
			nr.ref = bi
			out.add(nr, c.rid(r, k))
			break
		}
	}
	return out
}

// Carried is one feed's events from an earlier run (Calendar.Carry),
// ready to be added to a merge.
type Carried struct {
	bodies []body
	rows   []row
	rids   []int64 // one per row
}

// Reapply derives the carried events' fields that come from the feed's
// and hub's records (the source name and home URL, the tags: the feed's
// categories and catmap, the hub's vocabulary) from f and opts, the
// records as they are now, so that a curator's edit reaches events that
// are carried because the feed's bytes did not change. Events carried
// from a payload of an earlier format (legacy.go) keep their fields.
func (c *Carried) Reapply(f Feed, opts Options) {
	if c == nil {
		return
	}
	vocab := opts.vocabulary()
	for i := range c.bodies {
		b := &c.bodies[i]
		if b.Src.Kind == idKept || b.Src.Feed != f.Feed {
			continue
		}
		b.Src.Name = f.Source
		b.Src.URL = cmp.Or(b.URL, f.HomeURL)
		cats := b.Cats
		if cats == nil && len(b.Tags) > 0 {
			// A body published before raw categories were kept: its
			// tags, unbraced, are the best account of them.
			cats = make([]string, len(b.Tags))
			for k, t := range b.Tags {
				cats[k] = strings.TrimSuffix(strings.TrimPrefix(t, "{"), "}")
			}
		}
		b.Tags = tagsOf(cats, b.Description, f.CatMap, f.Categories, vocab)
		b.Tags = b.Tags[:len(b.Tags):len(b.Tags)]
	}
}

// Len returns the number of carried events.
func (c *Carried) Len() int {
	if c == nil {
		return 0
	}
	return len(c.rows)
}

// add appends a row and its recurrence id.
func (c *Carried) add(r row, rid int64) {
	c.rows = append(c.rows, r)
	c.rids = append(c.rids, rid)
}
