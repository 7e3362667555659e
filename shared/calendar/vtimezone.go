package calendar

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// vtzFirstYear is the year from which a VTIMEZONE's yearly rules are
// expanded; the observance's DTSTART onset is kept whatever its year.
func vtzFirstYear() int { return 1900 }

// Bounds of a VTIMEZONE's expansion: transitions are generated up to
// vtzLastYear, at most vtzMaxTransitions in all, and its rules may spend
// vtzMaxSteps steps (the unit of Config.MaxSteps) for each reading.
const (
	vtzLastYear       = 2100
	vtzMaxTransitions = 4000
	vtzMaxSteps       = 100_000
)

// transition is one change of a zone's offset.
type transition struct {
	at     int64 // Unix seconds
	offset int   // seconds east of UTC after the change
	dst    bool
	abbrev string
}

// vtimezoneKey returns the text that identifies a VTIMEZONE's rules, for
// the location cache.
func vtimezoneKey(c *ical.Component) string {
	var sb strings.Builder
	for _, obs := range c.Children {
		sb.WriteString(obs.Name)
		sb.WriteByte('\n')
		for _, name := range []string{"DTSTART", "TZOFFSETFROM", "TZOFFSETTO", "RRULE", "RDATE", "TZNAME"} {
			for _, p := range obs.Props[name] {
				sb.WriteString(name)
				sb.WriteByte(':')
				sb.WriteString(p.Value)
				sb.WriteByte('\n')
			}
		}
	}
	return sb.String()
}

// vtzReading is how a VTIMEZONE is read.
type vtzReading int

// The readings of a VTIMEZONE.
const (
	// readRFC follows RFC 5545 section 3.6.5: each observance's DTSTART
	// is its first onset, every RDATE value an onset, and before the
	// first onset the first TZOFFSETFROM holds.
	readRFC vtzReading = iota
	// readICALJS is how ical.js reads it: an observance with RDATE and
	// no RRULE loses its DTSTART onset, only the first value of each
	// RDATE counts, and before the first onset the offset is zero. It
	// is built only to label differences from the test corpus.
	readICALJS
)

// vtzLocations is a VTIMEZONE read both ways.
type vtzLocations struct {
	rfc, icaljs *time.Location
}

// buildVTimezones turns a VTIMEZONE's STANDARD and DAYLIGHT observances
// into time.Locations, read by RFC 5545 and as ical.js reads them (see
// vtzReading). By RFC 5545 each observance's onsets (DTSTART, its RRULE
// and RDATEs, read in the TZOFFSETFROM offset) become transitions to its
// TZOFFSETTO, and before the first transition its TZOFFSETFROM applies.
// The two readings share their transitions unless an observance has an
// RDATE. Both are nil when the component defines no usable observance.
//
// Each reading's rules spend at most vtzMaxSteps of w; complete is false
// when they ran out (or when w's context is done) and the transitions
// stop there.
func buildVTimezones(name string, c *ical.Component, w *work) (locs vtzLocations, complete bool) {
	w.startSeries(0)
	rfc := vtzTransitions(c, readRFC, w)
	complete = !w.refused
	if len(rfc) == 0 {
		return vtzLocations{}, complete
	}
	icaljs := rfc
	for _, obs := range c.Children {
		if len(obs.Props["RDATE"]) > 0 {
			w.startSeries(0)
			icaljs = vtzTransitions(c, readICALJS, w)
			complete = complete && !w.refused
			break
		}
	}
	out := vtzLocations{rfc: vtzLocation(name, transition{offset: firstFrom(c, rfc[0])}, rfc)}
	if len(icaljs) > 0 {
		out.icaljs = vtzLocation(name, transition{}, icaljs)
	}
	return out, complete
}

// vtzLocation encodes transitions as a time.Location, or returns nil.
func vtzLocation(name string, initial transition, txs []transition) *time.Location {
	loc, err := time.LoadLocationFromTZData(name, encodeTZif(initial, txs))
	if err != nil {
		return nil
	}
	return loc
}

// vtzTransitions lists a VTIMEZONE's transitions in order, one per
// instant (the last listed wins).
func vtzTransitions(c *ical.Component, how vtzReading, w *work) []transition {
	var txs []transition
	for _, obs := range c.Children {
		if obs.Name != "STANDARD" && obs.Name != "DAYLIGHT" {
			continue
		}
		txs = observanceTransitions(txs, obs, how, w)
		if len(txs) > vtzMaxTransitions || !w.alive() {
			break
		}
	}
	slices.SortStableFunc(txs, func(a, b transition) int {
		switch {
		case a.at < b.at:
			return -1
		case a.at > b.at:
			return 1
		}
		return 0
	})
	dedup := txs[:0]
	for _, t := range txs {
		if n := len(dedup); n > 0 && dedup[n-1].at == t.at {
			dedup[n-1] = t
			continue
		}
		dedup = append(dedup, t)
	}
	if len(dedup) > vtzMaxTransitions {
		dedup = dedup[:vtzMaxTransitions]
	}
	return dedup
}

// firstFrom returns the TZOFFSETFROM of the observance whose onset is the
// first transition: the offset in force before it.
func firstFrom(c *ical.Component, first transition) int {
	for _, obs := range c.Children {
		start, from, to, ok := observanceHeader(obs)
		if !ok {
			continue
		}
		if start.Unix()-int64(from) == first.at && to == first.offset {
			return from
		}
	}
	return first.offset
}

// observanceHeader reads an observance's DTSTART and offsets.
func observanceHeader(obs *ical.Component) (start time.Time, from, to int, ok bool) {
	ds := obs.Props.Get("DTSTART")
	pf := obs.Props.Get("TZOFFSETFROM")
	pt := obs.Props.Get("TZOFFSETTO")
	if ds == nil || pt == nil {
		return time.Time{}, 0, 0, false
	}
	dv, err := parseDateTime(ds.Value)
	if err != nil {
		return time.Time{}, 0, 0, false
	}
	to, err = parseUTCOffset(pt.Value)
	if err != nil {
		return time.Time{}, 0, 0, false
	}
	from = to
	if pf != nil {
		if f, err := parseUTCOffset(pf.Value); err == nil {
			from = f
		}
	}
	return dv.wall, from, to, true
}

// observanceTransitions appends the transitions one observance defines
// to txs, stopping past vtzMaxTransitions.
func observanceTransitions(txs []transition, obs *ical.Component, how vtzReading, w *work) []transition {
	start, from, to, ok := observanceHeader(obs)
	if !ok {
		return txs
	}
	abbrev := ""
	if p := obs.Props.Get("TZNAME"); p != nil {
		abbrev = p.Value
	}
	mk := func(wall time.Time) transition {
		return transition{at: wall.Unix() - int64(from), offset: to, dst: obs.Name == "DAYLIGHT", abbrev: abbrev}
	}
	full := func() bool { return len(txs) > vtzMaxTransitions }
	if how == readRFC || len(obs.Props["RRULE"]) > 0 || len(obs.Props["RDATE"]) == 0 {
		txs = append(txs, mk(start))
	}
	limit := time.Date(vtzLastYear, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, p := range obs.Props["RRULE"] {
		if full() {
			return txs
		}
		spec, err := parseRule(p.Value, func(string, ...any) {})
		if err != nil {
			continue
		}
		opts := ruleEvalOptions{start: start, limit: limit, count: spec.count}
		if first := time.Date(vtzFirstYear(), 1, 1, 0, 0, 0, 0, time.UTC); spec.count == 0 && start.Before(first) {
			// Outlook starts its rules in 1601: onsets before 1900
			// are never needed.
			opts.skip = first
		}
		eval := newRuleEval(spellOut(*spec.opt, start), opts, w)
		for n := 0; n < vtzMaxTransitions && !full(); n++ {
			s, ok := eval.next()
			if !ok {
				break
			}
			wall := wallTime(s)
			if !wall.Before(limit) {
				break
			}
			if spec.hasUntil {
				var past bool
				if spec.until.utc {
					past = wall.Unix()-int64(from) > spec.until.wall.Unix()
				} else {
					past = wall.After(spec.until.wall) && !(spec.until.date && sameDate(wall, spec.until.wall))
				}
				if past {
					break
				}
			}
			if !wall.Equal(start) {
				txs = append(txs, mk(wall))
			}
		}
	}
	for _, p := range obs.Props["RDATE"] {
		first := true
		for v := range listValues(p.Value) {
			if full() {
				return txs
			}
			if !first && how == readICALJS {
				break // ical.js reads the first value of each RDATE
			}
			first = false
			if i := strings.IndexByte(v, '/'); i >= 0 {
				v = v[:i]
			}
			dv, err := parseDateTime(v)
			if err != nil {
				continue
			}
			if dv.utc {
				txs = append(txs, transition{at: dv.wall.Unix(), offset: to, dst: obs.Name == "DAYLIGHT", abbrev: abbrev})
				continue
			}
			txs = append(txs, mk(dv.wall))
		}
	}
	return txs
}

// sameDate reports whether two times (in UTC) fall on the same date.
func sameDate(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// parseUTCOffset parses "+0100", "-0530", "+013045" and, leniently,
// "+01:00", "0100" and "+1".
func parseUTCOffset(s string) (int, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), ":", "")
	sign := 1
	switch {
	case strings.HasPrefix(s, "-"):
		sign, s = -1, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	if len(s) <= 2 {
		s += "00"
		if len(s) == 3 {
			s = "0" + s
		}
	}
	if len(s) != 4 && len(s) != 6 {
		return 0, fmt.Errorf("invalid UTC offset %q", s)
	}
	h, err1 := strconv.Atoi(s[0:2])
	m, err2 := strconv.Atoi(s[2:4])
	sec := 0
	var err3 error
	if len(s) == 6 {
		sec, err3 = strconv.Atoi(s[4:6])
	}
	if err1 != nil || err2 != nil || err3 != nil || h > 23 || m > 59 || sec > 59 {
		return 0, fmt.Errorf("invalid UTC offset %q", s)
	}
	return sign * (h*3600 + m*60 + sec), nil
}

// encodeTZif writes transitions as version 2 TZif data (RFC 8536) for
// time.LoadLocationFromTZData. Local time type 0 is the offset before the
// first transition and is used by no transition, which is how the time
// package knows to apply it to earlier instants.
func encodeTZif(initial transition, txs []transition) []byte {
	type ttinfo struct {
		offset int
		dst    bool
		abbrev string
	}
	types := []ttinfo{{initial.offset, false, abbrevFor(initial)}}
	index := func(t transition) byte {
		ti := ttinfo{t.offset, t.dst, abbrevFor(t)}
		for i, x := range types[1:] {
			if x == ti {
				return byte(i + 1)
			}
		}
		if len(types) >= 255 {
			return byte(len(types) - 1)
		}
		types = append(types, ti)
		return byte(len(types) - 1)
	}
	idx := make([]byte, len(txs))
	for i, t := range txs {
		idx[i] = index(t)
	}
	var chars []byte
	charAt := make([]byte, len(types))
	for i, t := range types {
		charAt[i] = byte(len(chars))
		chars = append(chars, t.abbrev...)
		chars = append(chars, 0)
	}
	header := func(b []byte, timecnt, typecnt, charcnt int) []byte {
		b = append(b, "TZif2"...)
		b = append(b, make([]byte, 15)...)
		for _, n := range []int{0, 0, 0, timecnt, typecnt, charcnt} {
			b = binary.BigEndian.AppendUint32(b, uint32(n))
		}
		return b
	}
	b := make([]byte, 0, 2*44+len(txs)*9+len(types)*6+len(chars))
	b = header(b, 0, 0, 0) // empty version 1 block
	b = header(b, len(txs), len(types), len(chars))
	for _, t := range txs {
		b = binary.BigEndian.AppendUint64(b, uint64(t.at))
	}
	b = append(b, idx...)
	for i, t := range types {
		b = binary.BigEndian.AppendUint32(b, uint32(int32(t.offset)))
		if t.dst {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
		b = append(b, charAt[i])
	}
	return append(b, chars...)
}

// abbrevFor returns a transition's abbreviation: its TZNAME when that is
// short and plain, else the offset as "+0100".
func abbrevFor(t transition) string {
	if a := t.abbrev; a != "" && len(a) <= 10 && validAbbrev(a) {
		return a
	}
	off := t.offset
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%c%02d%02d", sign, off/3600, off/60%60)
}

// validAbbrev reports an abbreviation of letters, digits, '+' and '-'.
func validAbbrev(a string) bool {
	for i := 0; i < len(a); i++ {
		c := a[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '-') {
			return false
		}
	}
	return true
}

// sameOffsets reports whether two locations give the same UTC offset at
// every instant in [from, to).
func sameOffsets(a, b *time.Location, from, to time.Time) bool {
	t := from
	for range 20000 {
		if !t.Before(to) {
			return true
		}
		ta, tb := t.In(a), t.In(b)
		_, oa := ta.Zone()
		_, ob := tb.Zone()
		if oa != ob {
			return false
		}
		_, ea := ta.ZoneBounds()
		_, eb := tb.ZoneBounds()
		switch {
		case ea.IsZero() && eb.IsZero():
			return true
		case ea.IsZero():
			t = eb
		case eb.IsZero():
			t = ea
		case ea.Before(eb):
			t = ea
		default:
			t = eb
		}
	}
	return true
}
