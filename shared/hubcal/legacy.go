package hubcal

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strings"
)

// Events given whole, and payloads of the earlier formats, become bodies
// whose hub UIDs are kept as they were published (idKept): one body per
// source, grouped when an event has several. Nothing the worker merges is
// made this way; a hub's calendar read from an earlier format is replaced
// by the compact one at its next publish.

// FromEvents returns a calendar of events, in the order given, each
// keeping its UID, its sources' UIDs and its merge notes' matches: what
// tests publish, and what a payload of the first format reads as.
func FromEvents(events []Event) *Calendar {
	c := &Calendar{rows: make([]row, 0, len(events))}
	for i := range events {
		e := &events[i]
		r := rowAt(e.Start, e.End, 0)
		r.ref = c.keep(e, r.off, -1)
		c.rows = append(c.rows, r)
	}
	return c
}

// keep adds e's bodies to c, the primary at index at (or appended when at
// is negative), and returns what a row of e refers to: the primary, or a
// group of e's copies when it has several sources.
func (c *Calendar) keep(e *Event, z int32, at int32) int32 {
	srcs := e.Sources
	if len(srcs) == 0 {
		srcs = []Source{{}}
	}
	refs := make([]int32, len(srcs))
	for k, s := range srcs {
		b := body{Title: e.Title, AllDay: e.AllDay, Cancelled: e.Cancelled, z: z,
			Src: bodySource{Feed: s.Feed, Name: s.Name, URL: s.URL, UID: s.UID, Kind: idKept, ID: cmp.Or(s.ID, e.UID)}}
		if k == 0 {
			b.Description, b.Location, b.URL, b.Tags = e.Description, e.Location, e.URL, e.Tags
			b.Src.ID = e.UID
		} else {
			b.Title = noteTitle(e.Merged, s, e.Title)
		}
		if k == 0 && at >= 0 {
			c.bodies[at] = b
			refs[k] = at
			continue
		}
		refs[k] = int32(len(c.bodies))
		c.bodies = append(c.bodies, b)
	}
	if len(refs) == 1 {
		return refs[0]
	}
	g := group{comps: refs, hows: make([]string, len(refs)-1), z: z}
	for k, s := range srcs[1:] {
		g.hows[k] = noteHow(e.Merged, s)
	}
	c.groups = append(c.groups, g)
	return ^int32(len(c.groups) - 1)
}

// noteOf returns the merge note of source s and how it matched and the
// title it had, as mergeReason wrote them; ok is false when e has no
// readable note for s (a copy its region folded with its member event).
func noteOf(notes []MergeNote, s Source) (how, title string, ok bool) {
	for _, m := range notes {
		if m.Feed != s.Feed || m.UID != s.UID {
			continue
		}
		var start, primary string
		if _, err := fmt.Sscanf(m.Reason, "same start %s and %s title (%q ~ %q)", &start, &how, &primary, &title); err != nil || how == "" {
			return "", "", false
		}
		return how, title, true
	}
	return "", "", false
}

// noteHow returns how source s matched its event's primary, or "" when
// no note says: a group of an earlier format keeps it without a note.
func noteHow(notes []MergeNote, s Source) string {
	how, _, _ := noteOf(notes, s)
	return how
}

// noteTitle returns the title source s had, as its merge note says, or
// title.
func noteTitle(notes []MergeNote, s Source, title string) string {
	if _, t, ok := noteOf(notes, s); ok {
		return strings.TrimSpace(t)
	}
	return title
}

// readFormat1 reads the events of a format-1 payload.
func readFormat1(rest []byte) (*Calendar, error) {
	var events []Event
	for len(rest) > 0 {
		var line []byte
		line, rest = nextLine(rest)
		if len(line) == 0 {
			continue
		}
		var e Event
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("decode payload event %d: %w", len(events)+1, err)
		}
		events = append(events, e)
	}
	return FromEvents(events), nil
}

// literals are the literal Events ("x") of a format-2 payload written
// before bodies kept their UIDs: each is read as kept bodies, and an
// event with several sources becomes a group, to which the rows that
// referred to its body are moved once every row is read (regroup).
type literals struct {
	group map[int32]int32 // body index -> its event's group
}

// add reads the literal event e of body line i into c.
func (l *literals) add(c *Calendar, i int32, e *Event, z int32) {
	if ref := c.keep(e, z, i); ref < 0 {
		if l.group == nil {
			l.group = make(map[int32]int32)
		}
		l.group[i] = ^ref
	}
}

// regroup moves the rows of literal events with several sources to their
// groups. A group of the payload that folded such an event with others
// lists only its primary copy: that calendar is a region's, which its
// next run merges afresh from its members.
func (l *literals) regroup(c *Calendar) {
	if len(l.group) == 0 {
		return
	}
	for i := range c.rows {
		r := &c.rows[i]
		g, ok := l.group[r.ref]
		if r.ref < 0 || !ok {
			continue
		}
		rid := c.rid(r, 0)
		r.ref, r.x = ^g, 0
		if rid != r.start {
			r.x = int32(len(c.rids) + 1)
			for range c.groups[g].comps {
				c.rids = append(c.rids, rid)
			}
		}
	}
}
