package hubcal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// A payload is a hub's published calendar. Its first line is the header
// (the run's summary, any JSON value). Two formats follow it:
//
//   - Format 1, written before the compact calendar: one Event per line,
//     as JSON. It is still read (legacy.go), and replaced at the hub's next
//     publish.
//   - Format 2: a line {"format":"elmcity/2","bodies":N,"groups":G,"rows":R},
//     then N body lines, G group lines and R row lines. A body is one
//     feed's copy of an event, less its times, as a JSON object
//     (payloadBody). A body whose hub UID was kept as published (kind
//     "k") has it under "h". Payloads written before have literal Events
//     under "x", which are still read (legacy.go). A cancelled body has
//     "c":true; without it, as in every payload written before cancelled
//     events were published, a body is not cancelled. A group is an
//     event folded from
//     several bodies: {"c":[primary, absorbed...],"h":[how each matched]}.
//     A row is one occurrence, in the calendar's order, as space-separated
//     fields: the body index (or "g" and the group index), the start in
//     Unix seconds less the previous row's start, the duration in seconds,
//     then optionally "o" and the start's UTC offset in seconds when it
//     differs from its entry's "z", "e" and the end's offset when it
//     differs from the start's, and "r" with comma-separated recurrence ids
//     (seconds from the start, one per source of the entry) when some
//     source's id is not its start.
//
// Hub UIDs of bodies with a source are derived from the source and the
// row's times (sourceID), so a row holds no strings.

// format2 names the compact format; payloadFormat is how its second line
// (a payloadHead) starts.
const (
	format2       = "elmcity/2"
	payloadFormat = `{"format":"` + format2 + `"`
)

// payloadHead is the second line of a format-2 payload.
type payloadHead struct {
	Format string `json:"format"`
	Bodies int    `json:"bodies"`
	Groups int    `json:"groups"`
	Rows   int    `json:"rows"`
}

// payloadBody is a body line of a format-2 payload.
type payloadBody struct {
	Title       string   `json:"t,omitempty"`
	Description string   `json:"d,omitempty"`
	Location    string   `json:"l,omitempty"`
	URL         string   `json:"u,omitempty"`
	AllDay      bool     `json:"a,omitempty"`
	Tags        []string `json:"g,omitempty"`
	Feed        string   `json:"f,omitempty"`
	Name        string   `json:"n,omitempty"`
	SourceURL   string   `json:"su,omitempty"`
	UID         string   `json:"i,omitempty"`
	Kind        string   `json:"k,omitempty"`
	Summary     string   `json:"m,omitempty"`
	ID          string   `json:"h,omitempty"`
	Zone        int32    `json:"z,omitempty"`
	Cats        []string `json:"rc,omitempty"`
	Cancelled   bool     `json:"c,omitempty"`
	// Literal is an event of an earlier payload, read only (legacy.go).
	Literal *Event `json:"x,omitempty"`
}

// payloadGroup is a group line of a format-2 payload.
type payloadGroup struct {
	Comps []int32  `json:"c"`
	Hows  []string `json:"h"`
	Zone  int32    `json:"z,omitempty"`
}

// Encode writes c as a payload (format 2) after header, which the web role
// and the next run read back with DecodePayload or Read.
func (c *Calendar) Encode(header any) ([]byte, error) {
	parts, err := c.EncodeParts(header)
	if err != nil {
		return nil, err
	}
	return bytes.Join(parts, nil), nil
}

// EncodeParts is Encode with the payload in pieces, to be written in
// order (publish.Generation.Parts): a calendar from Merge
// already holds its bodies' lines, and the parts share them rather than
// copy them. The parts are read-only; they stay valid after c is dropped.
func (c *Calendar) EncodeParts(header any) ([][]byte, error) {
	// A group's zone is its first row's.
	groupZone := make([]int32, len(c.groups))
	seen := make([]bool, len(c.groups))
	for i := range c.rows {
		if r := &c.rows[i]; r.ref < 0 && !seen[^r.ref] {
			seen[^r.ref] = true
			groupZone[^r.ref] = r.off
		}
	}
	chunks := c.encChunks
	if chunks == nil {
		chunks = [][]byte{appendBodies(nil, c.bodies)}
	}
	head, err := json.Marshal(header)
	if err != nil {
		return nil, fmt.Errorf("encode payload header: %w", err)
	}
	counts, _ := json.Marshal(payloadHead{Format: format2, Bodies: len(c.bodies), Groups: len(c.groups), Rows: len(c.rows)})
	first := append(append(append(head, '\n'), counts...), '\n')
	parts := make([][]byte, 0, len(chunks)+2)
	parts = append(parts, first)
	for _, ch := range chunks {
		parts = append(parts, ch[:len(ch):len(ch)])
	}
	out := make([]byte, 0, len(c.groups)*32+len(c.rows)*20+64)
	for gi := range c.groups {
		g := &c.groups[gi]
		b, err := json.Marshal(payloadGroup{Comps: g.comps, Hows: g.hows, Zone: groupZone[gi]})
		if err != nil {
			return nil, fmt.Errorf("encode payload group: %w", err)
		}
		out = append(append(out, b...), '\n')
	}
	var prev int64
	for i := range c.rows {
		r := &c.rows[i]
		z := int32(0)
		n := 1
		if r.ref >= 0 {
			out = strconv.AppendInt(out, int64(r.ref), 10)
			z = c.bodies[r.ref].z
		} else {
			out = append(out, 'g')
			out = strconv.AppendInt(out, int64(^r.ref), 10)
			z, n = groupZone[^r.ref], len(c.groups[^r.ref].comps)
		}
		out = append(out, ' ')
		out = strconv.AppendInt(out, r.start-prev, 10)
		prev = r.start
		out = append(out, ' ')
		out = strconv.AppendInt(out, r.end-r.start, 10)
		if r.off != z {
			out = append(out, " o"...)
			out = strconv.AppendInt(out, int64(r.off), 10)
		}
		if r.endOff != r.off {
			out = append(out, " e"...)
			out = strconv.AppendInt(out, int64(r.endOff), 10)
		}
		if r.x != 0 {
			out = append(out, " r"...)
			for k := range n {
				if k > 0 {
					out = append(out, ',')
				}
				out = strconv.AppendInt(out, c.rids[int(r.x)-1+k]-r.start, 10)
			}
		}
		out = append(out, '\n')
	}
	return append(parts, out), nil
}

// appendBodies appends the body lines of a payload for bodies, in order.
func appendBodies(out []byte, bodies []body) []byte {
	buf := bytes.NewBuffer(out)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	for i := range bodies {
		b := &bodies[i]
		s := &b.Src
		pb := payloadBody{
			Title: b.Title, Description: b.Description, Location: b.Location, URL: b.URL, AllDay: b.AllDay, Tags: b.Tags, Cats: b.Cats,
			Cancelled: b.Cancelled, Zone: b.z,
			Feed: s.Feed, Name: s.Name, SourceURL: s.URL, UID: s.UID, Kind: string(s.Kind), Summary: s.Summary, ID: s.ID,
		}
		// Every field is a string, bool, int or string slice: encoding
		// cannot fail.
		_ = enc.Encode(&pb)
	}
	return buf.Bytes()
}

// DecodePayload reads a payload written by Calendar.Encode (or of an
// earlier format), decoding its header into header (a pointer, or
// *json.RawMessage to keep it as is), and returns every event, one Event
// per occurrence, in the calendar's order.
func DecodePayload(payload []byte, header any) ([]Event, error) {
	c, err := Read(payload, header)
	if err != nil {
		return nil, err
	}
	return c.Events(), nil
}

// ReadHeader decodes only the header of a payload into header:
// what a reader of the run's summary needs, without the events.
func ReadHeader(payload []byte, header any) error {
	line, _ := nextLine(payload)
	if len(line) == 0 {
		return errors.New("decode payload: empty")
	}
	if err := json.Unmarshal(line, header); err != nil {
		return fmt.Errorf("decode payload header: %w", err)
	}
	return nil
}

// Read reads a payload into its compact calendar, decoding its
// header into header, without making a Event per occurrence.
func Read(payload []byte, header any) (*Calendar, error) {
	line, rest := nextLine(payload)
	if len(line) == 0 {
		return nil, errors.New("decode payload: empty")
	}
	if err := json.Unmarshal(line, header); err != nil {
		return nil, fmt.Errorf("decode payload header: %w", err)
	}
	if !bytes.HasPrefix(rest, []byte(payloadFormat)) {
		return readFormat1(rest)
	}
	line, rest = nextLine(rest)
	var head payloadHead
	if err := json.Unmarshal(line, &head); err != nil {
		return nil, fmt.Errorf("decode payload: %w", err)
	}
	c := &Calendar{bodies: make([]body, head.Bodies), groups: make([]group, head.Groups), rows: make([]row, 0, head.Rows)}
	var lits literals
	for i := range head.Bodies {
		line, rest = nextLine(rest)
		var pb payloadBody
		if err := json.Unmarshal(line, &pb); err != nil {
			return nil, fmt.Errorf("decode payload body %d: %w", i+1, err)
		}
		if pb.Literal != nil {
			lits.add(c, int32(i), pb.Literal, pb.Zone)
			continue
		}
		c.bodies[i] = pb.body()
	}
	for i := range head.Groups {
		line, rest = nextLine(rest)
		var pg payloadGroup
		if err := json.Unmarshal(line, &pg); err != nil {
			return nil, fmt.Errorf("decode payload group %d: %w", i+1, err)
		}
		if len(pg.Comps) == 0 || len(pg.Hows) != len(pg.Comps)-1 {
			return nil, fmt.Errorf("decode payload group %d: %d bodies and %d matches", i+1, len(pg.Comps), len(pg.Hows))
		}
		for _, b := range pg.Comps {
			if b < 0 || int(b) >= head.Bodies {
				return nil, fmt.Errorf("decode payload group %d: no body %d", i+1, b)
			}
		}
		c.groups[i] = group{comps: pg.Comps, hows: pg.Hows, z: pg.Zone}
	}
	var prev int64
	for n := 1; len(rest) > 0; n++ {
		line, rest = nextLine(rest)
		r, err := c.parseRow(line, prev)
		if err != nil {
			return nil, fmt.Errorf("decode payload row %d: %w", n, err)
		}
		prev = r.start
		c.rows = append(c.rows, r)
	}
	if len(c.rows) != head.Rows {
		return nil, fmt.Errorf("decode payload: %d rows, want %d", len(c.rows), head.Rows)
	}
	lits.regroup(c)
	return c, nil
}

// body returns the body a payload line holds.
func (pb *payloadBody) body() body {
	return body{
		Title: pb.Title, Description: pb.Description, Location: pb.Location, URL: pb.URL, AllDay: pb.AllDay, Tags: pb.Tags, Cats: pb.Cats,
		Cancelled: pb.Cancelled,
		Src:       bodySource{Feed: pb.Feed, Name: pb.Name, URL: pb.SourceURL, UID: pb.UID, Kind: kindOf(pb.Kind), Summary: pb.Summary, ID: pb.ID},
		z:         pb.Zone,
	}
}

// kindOf returns the id kind a payload body names.
func kindOf(s string) byte {
	if s == "" {
		return idSingle
	}
	return s[0]
}

// nextLine splits off the first line of b, without its newline.
func nextLine(b []byte) (line, rest []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}

// errRow is a malformed row line.
var errRow = errors.New("malformed row")

// parseRow parses a row line; prev is the previous row's start.
func (c *Calendar) parseRow(line []byte, prev int64) (row, error) {
	var r row
	f, line := nextField(line)
	n := 1
	if len(f) > 0 && f[0] == 'g' {
		g, ok := parseInt(f[1:])
		if !ok || g < 0 || g >= int64(len(c.groups)) {
			return r, errRow
		}
		r.ref = ^int32(g)
		r.off = c.groups[g].z
		n = len(c.groups[g].comps)
	} else {
		b, ok := parseInt(f)
		if !ok || b < 0 || b >= int64(len(c.bodies)) {
			return r, errRow
		}
		r.ref = int32(b)
		r.off = c.bodies[b].z
	}
	f, line = nextField(line)
	d, ok := parseInt(f)
	if !ok {
		return r, errRow
	}
	r.start = prev + d
	f, line = nextField(line)
	if d, ok = parseInt(f); !ok {
		return r, errRow
	}
	r.end = r.start + d
	endOff, endSet := int32(0), false
	for len(line) > 0 {
		f, line = nextField(line)
		if len(f) < 2 {
			return r, errRow
		}
		switch f[0] {
		case 'o':
			v, ok := parseInt(f[1:])
			if !ok {
				return r, errRow
			}
			r.off = int32(v)
		case 'e':
			v, ok := parseInt(f[1:])
			if !ok {
				return r, errRow
			}
			endOff, endSet = int32(v), true
		case 'r':
			r.x = int32(len(c.rids) + 1)
			list := f[1:]
			for k := range n {
				var v []byte
				if i := bytes.IndexByte(list, ','); i >= 0 {
					v, list = list[:i], list[i+1:]
				} else {
					v, list = list, nil
				}
				d, ok := parseInt(v)
				if !ok || k == n-1 && len(list) > 0 {
					return r, errRow
				}
				c.rids = append(c.rids, r.start+d)
			}
		default:
			return r, errRow
		}
	}
	r.endOff = r.off
	if endSet {
		r.endOff = endOff
	}
	return r, nil
}

// nextField splits off the first space-separated field of b.
func nextField(b []byte) (field, rest []byte) {
	if i := bytes.IndexByte(b, ' '); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}

// parseInt parses a decimal int64 written by strconv.AppendInt, without
// allocating.
func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v int64
	for _, ch := range b {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		v = v*10 + int64(ch-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}
