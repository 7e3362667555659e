package calendar

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
)

// HubCalendar is a hub's merged calendar in compact form: every event body
// (title, description, location, URL, tags, source) is held once, and each
// occurrence is a row of times that refers to its body, or to a group of
// bodies when several feeds' copies were folded into one event. Rows are
// in the order of the published calendar: by start, title and UID.
//
// A year of a hub's recurring series expands to millions of occurrences
// that share a few tens of thousands of bodies, so the compact form is
// what the worker merges, publishes and carries; HubEvent values are made
// from it only when asked for (Events, Event).
//
// A HubCalendar is read-only once built and safe for concurrent reads.
type HubCalendar struct {
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

// body is one feed's copy of an event: what a HubEvent with a single
// source holds, less its times. A literal body (lit set) is a HubEvent
// kept as it was given, with its own UIDs, sources and merge notes: an
// event carried from a payload of the first format or handed to
// EncodePayload.
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
	lit       *HubEvent

	feed  int32    // index of the contribution, during a merge
	norm  string   // normTitle(Title)
	words []string // sortedWords(norm)
	tid   int32    // index of norm among the merge's titles
	rank  int32    // rank of Title among the merge's titles
	z     int32    // zone offset of the first row that refers to it
}

// bodySource is the source of a derived body; its hub UID is derived from
// it and a row's times (see sourceID).
type bodySource struct {
	Feed, Name, URL, UID string
	// Kind says how the hub UID is derived: idSingle, idInstance or
	// idTitle.
	Kind byte
	// Summary is the raw SUMMARY, which an idTitle UID is made from.
	Summary string
}

// How a derived source's hub UID is made (see sourceID).
const (
	idSingle   = 's' // feed and UID: a single event keeps its UID when moved
	idInstance = 'r' // feed, UID and recurrence id: one instance of a series
	idTitle    = 'n' // feed, summary and start: an event without a UID
)

// group is an event folded from several feeds' copies: the primary's body
// first, then each absorbed body with how its title matched. Its copies
// are all cancelled or all not (the merge never folds a cancelled copy
// with one that takes place), so the group's status is its primary's.
type group struct {
	comps []int32  // body indices
	hows  []string // hows[i] is how comps[i+1] matched comps[0]
	z     int32    // zone offset of the first row that refers to it
}

// row is one occurrence: its times and the entry it refers to.
type row struct {
	start, end  int64 // Unix seconds
	ref         int32 // body index, or ^group index
	off, endOff int32 // UTC offsets of start and end, seconds
	x           int32 // 1 + index in HubCalendar.rids, or 0: every id is the start
}

// resolvedGroup is a group's HubEvent fields, less the per-row ones.
type resolvedGroup struct {
	title, description, location, url string
	tags                              []string
	uid                               string // the primary's literal UID, if it is a literal
}

// Len returns the number of events (occurrences) in c, cancelled ones
// included.
func (c *HubCalendar) Len() int { return len(c.rows) }

// Cancelled returns how many of c's events are cancelled (HubEvent.Cancelled),
// without making them.
func (c *HubCalendar) Cancelled() int {
	n := 0
	for i := range c.rows {
		ref := c.rows[i].ref
		if ref < 0 {
			ref = c.groups[^ref].comps[0]
		}
		if c.bodies[ref].Cancelled {
			n++
		}
	}
	return n
}

// Truncate keeps the first n events of c (the earliest, in the
// calendar's order) and returns how many it left out. It is for the
// publisher's cap on a hub's events, before c is encoded or read.
func (c *HubCalendar) Truncate(n int) int {
	if n < 0 || n >= len(c.rows) {
		return 0
	}
	cut := len(c.rows) - n
	c.rows = c.rows[:n:n]
	return cut
}

// Bodies returns the number of distinct event bodies c holds: a measure
// of how compact it is.
func (c *HubCalendar) Bodies() int { return len(c.bodies) }

// Events returns every event of c as HubEvents, in order. Events of one
// body share its Tags slice (capped, so appending copies): treat them as
// read-only.
func (c *HubCalendar) Events() []HubEvent {
	c.ready()
	out := make([]HubEvent, len(c.rows))
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
func (c *HubCalendar) EventsIn(from, to time.Time, limit int) []HubEvent {
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
	out := make([]HubEvent, len(idx))
	var d eventMaker
	for k, i := range idx {
		c.event(&d, i, &out[k])
	}
	return out
}

// UID returns the hub UID of the i-th event of c, 0 <= i < Len, without
// making the event: what Event(i).UID is.
func (c *HubCalendar) UID(i int) string {
	c.ready()
	r := &c.rows[i]
	var buf []byte
	if r.ref >= 0 {
		return c.bodies[r.ref].uid(&buf, r.start, c.rid(r, 0))
	}
	if uid := c.resolved[^r.ref].uid; uid != "" {
		return uid
	}
	return c.bodies[c.groups[^r.ref].comps[0]].uid(&buf, r.start, c.rid(r, 0))
}

// Span returns the start and end of the i-th event of c, 0 <= i < Len,
// without making the event: what a reader looking for a window needs.
// An all-day event's times are midnight UTC of its dates.
func (c *HubCalendar) Span(i int) (start, end time.Time) {
	r := &c.rows[i]
	return time.Unix(r.start, 0), time.Unix(r.end, 0)
}

// Size estimates the bytes c holds in memory once its events have been
// read (Event, EventsIn): its rows, bodies, groups and resolved groups.
// Readers that keep calendars count it against their memory budget.
func (c *HubCalendar) Size() int64 {
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
		n += str(b.Src.Feed) + str(b.Src.Name) + str(b.Src.URL) + str(b.Src.UID) + str(b.Src.Summary)
		for _, t := range b.Tags {
			n += strHeader + str(t)
		}
		for _, w := range b.words {
			n += strHeader + str(w)
		}
		if l := b.lit; l != nil {
			n += sizeOf[HubEvent]() + str(l.UID)
			n += int64(len(l.Sources))*sizeOf[EventSource]() + int64(len(l.Merged))*sizeOf[MergeNote]()
			for _, s := range l.Sources {
				n += str(s.Feed) + str(s.Name) + str(s.URL) + str(s.UID) + str(s.ID)
			}
			for _, m := range l.Merged {
				n += str(m.Feed) + str(m.UID) + str(m.Reason)
			}
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
func (c *HubCalendar) Event(i int) HubEvent {
	c.ready()
	var d eventMaker
	var e HubEvent
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
func (c *HubCalendar) rid(r *row, k int) int64 {
	if r.x == 0 {
		return r.start
	}
	return c.rids[int(r.x)-1+k]
}

func (c *HubCalendar) event(d *eventMaker, i int, e *HubEvent) {
	r := &c.rows[i]
	if r.ref >= 0 {
		b := &c.bodies[r.ref]
		c.bodyEvent(d, b, r, c.rid(r, 0), e)
		return
	}
	g := &c.groups[^r.ref]
	rg := &c.resolved[^r.ref]
	p := &c.bodies[g.comps[0]]
	*e = HubEvent{
		Title: rg.title, Start: d.at(r.start, r.off), End: d.at(r.end, r.endOff), AllDay: p.AllDay,
		Description: rg.description, Location: rg.location, URL: rg.url, Tags: rg.tags, Cancelled: p.Cancelled,
	}
	n := 0
	for _, ci := range g.comps {
		n += c.bodies[ci].sourceCount()
	}
	e.Sources = make([]EventSource, 0, n)
	for k, ci := range g.comps {
		b := &c.bodies[ci]
		if b.lit != nil {
			e.Sources = append(e.Sources, b.lit.Sources...)
			continue
		}
		e.Sources = append(e.Sources, b.source(d, r.start, c.rid(r, k)))
	}
	e.UID = rg.uid
	if p.lit == nil {
		e.UID = e.Sources[0].ID
	}
	var prior []MergeNote
	if p.lit != nil {
		prior = p.lit.Merged
	}
	e.Merged = make([]MergeNote, len(prior), len(prior)+len(g.hows))
	copy(e.Merged, prior)
	for k, how := range g.hows {
		o := &c.bodies[g.comps[k+1]]
		feed, uid := o.firstSource()
		e.Merged = append(e.Merged, MergeNote{Feed: feed, UID: uid, Reason: mergeReason(r.start, how, rg.title, o.Title)})
	}
}

func (c *HubCalendar) bodyEvent(d *eventMaker, b *body, r *row, rid int64, e *HubEvent) {
	if b.lit != nil {
		*e = *b.lit
		e.Start, e.End = d.at(r.start, r.off), d.at(r.end, r.endOff)
		if b.lit.Start.Unix() == r.start {
			e.Start = b.lit.Start
		}
		if b.lit.End.Unix() == r.end {
			e.End = b.lit.End
		}
		return
	}
	src := b.source(d, r.start, rid)
	*e = HubEvent{
		UID: src.ID, Title: b.Title, Start: d.at(r.start, r.off), End: d.at(r.end, r.endOff), AllDay: b.AllDay,
		Description: b.Description, Location: b.Location, URL: b.URL, Tags: b.Tags, Cancelled: b.Cancelled,
		Sources: []EventSource{src},
	}
}

// mergeReason explains a fold: the same start and how the titles matched.
func mergeReason(start int64, how, title, other string) string {
	return fmt.Sprintf("same start %s and %s title (%q ~ %q)", time.Unix(start, 0).UTC().Format(time.RFC3339), how, title, other)
}

// sourceCount returns how many EventSources b contributes.
func (b *body) sourceCount() int {
	if b.lit != nil {
		return len(b.lit.Sources)
	}
	return 1
}

// firstSource returns the feed and source UID of b's first source, which
// a merge note names.
func (b *body) firstSource() (feed, uid string) {
	if b.lit != nil {
		if len(b.lit.Sources) == 0 {
			return "", ""
		}
		return b.lit.Sources[0].Feed, b.lit.Sources[0].UID
	}
	return b.Src.Feed, b.Src.UID
}

// source returns a derived body's EventSource for an occurrence.
func (b *body) source(d *eventMaker, start, rid int64) EventSource {
	s := &b.Src
	id := sourceID(&d.buf, s, start, rid)
	return EventSource{Feed: s.Feed, Name: s.Name, URL: s.URL, UID: s.UID, ID: id}
}

// uid returns the hub UID of a body's occurrence.
func (b *body) uid(buf *[]byte, start, rid int64) string {
	if b.lit != nil {
		return b.lit.UID
	}
	return sourceID(buf, &b.Src, start, rid)
}

// sourceID derives the hub UID of a source's occurrence from its feed and
// source identity: feed and UID for a single event (so a rescheduled
// event keeps its UID), plus the recurrence id for an instance of a
// series; without a source UID, the summary and start stand in. buf is
// reused between calls.
func sourceID(buf *[]byte, s *bodySource, start, rid int64) string {
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
// resolves its groups: what making HubEvents needs.
func (c *HubCalendar) ready() {
	c.readyOnce.Do(func() {
		if c.encChunks != nil {
			c.restore()
		}
		c.resolve()
	})
}

// restore reads the slimmed bodies' fields back from their payload lines.
func (c *HubCalendar) restore() {
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
			if b := &c.bodies[i]; b.lit == nil {
				whole := pb.body()
				whole.feed, whole.norm, whole.words, whole.tid, whole.rank, whole.z = b.feed, b.norm, b.words, b.tid, b.rank, b.z
				*b = whole
			}
			i++
		}
	}
}

// resolve computes every group's fields: the primary's title, the union
// of the tags, the first URL and location, the longest description.
func (c *HubCalendar) resolve() {
	c.resolved = make([]resolvedGroup, len(c.groups))
	for gi := range c.groups {
		g := &c.groups[gi]
		p := &c.bodies[g.comps[0]]
		rg := resolvedGroup{title: p.Title, description: p.Description, location: p.Location, url: p.URL, tags: p.Tags}
		if p.lit != nil {
			rg.uid = p.lit.UID
		}
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

// literalBody returns the body of a HubEvent kept as it is, its zone the
// offset of its start.
func literalBody(e HubEvent) body {
	l := e
	l.Start, l.End = time.Time{}, time.Time{}
	_, off := e.Start.Zone()
	return body{Title: e.Title, Description: e.Description, Location: e.Location, URL: e.URL, AllDay: e.AllDay, Tags: e.Tags,
		Cancelled: e.Cancelled, lit: &l, z: int32(off)}
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
func (c *HubCalendar) Carry(feed string, from, to time.Time) *Carried {
	c.ready()
	out := &Carried{}
	fromGroup := map[[2]int32]int32{} // (group, component) -> carried body
	fromBody := map[int32]int32{}
	var d eventMaker
	for i := range c.rows {
		r := &c.rows[i]
		if !InWindow(time.Unix(r.start, 0), time.Unix(r.end, 0), from, to) {
			continue
		}
		nr := *r
		nr.x = 0
		if r.ref >= 0 {
			b := &c.bodies[r.ref]
			if b.lit != nil {
				var ev HubEvent
				c.bodyEvent(&d, b, r, r.start, &ev)
				if cp, ok := carryCopy(ev, feed); ok {
					out.add(literalBody(cp), nr, r.start)
				}
				continue
			}
			if b.Src.Feed != feed {
				continue
			}
			bi, ok := fromBody[r.ref]
			if !ok {
				bi = int32(len(out.bodies))
				nb := *b
				out.bodies = append(out.bodies, nb)
				fromBody[r.ref] = bi
			}
			nr.ref = bi
			out.add(body{}, nr, c.rid(r, 0))
			continue
		}
		gi := ^r.ref
		g := &c.groups[gi]
		for k, ci := range g.comps {
			b := &c.bodies[ci]
			if b.lit != nil {
				if !hasSource(b.lit, feed) {
					continue
				}
				var ev HubEvent
				c.event(&d, i, &ev)
				if cp, ok := carryCopy(ev, feed); ok {
					out.add(literalBody(cp), nr, r.start)
				}
				break
			}
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
			out.add(body{}, nr, c.rid(r, k))
			break
		}
	}
	return out
}

// hasSource reports whether a literal event lists feed among its sources.
func hasSource(e *HubEvent, feed string) bool {
	for _, s := range e.Sources {
		if s.Feed == feed {
			return true
		}
	}
	return false
}

// carryCopy returns feed's copy of e, as Carry makes it: the first source
// from feed alone, with its own UID, and no merge notes; false when no
// source is from feed.
func carryCopy(e HubEvent, feed string) (HubEvent, bool) {
	for _, src := range e.Sources {
		if src.Feed == feed {
			e.UID = cmp.Or(src.ID, e.UID)
			e.Sources = []EventSource{src}
			e.Merged = nil
			return e, true
		}
	}
	return e, false
}

// Carried is one feed's events from an earlier run (HubCalendar.Carry),
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
// from a payload of the first format keep their fields.
func (c *Carried) Reapply(f FeedEvents, opts MergeOptions) {
	if c == nil {
		return
	}
	vocab := opts.vocabulary()
	for i := range c.bodies {
		b := &c.bodies[i]
		if b.lit != nil || b.Src.Feed != f.Feed {
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

// add appends a row; a non-zero literal body is appended first and the
// row refers to it.
func (c *Carried) add(lit body, r row, rid int64) {
	if lit.lit != nil {
		r.ref = int32(len(c.bodies))
		c.bodies = append(c.bodies, lit)
	}
	c.rows = append(c.rows, r)
	c.rids = append(c.rids, rid)
}
