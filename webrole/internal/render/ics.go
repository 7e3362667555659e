package render

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/elmcity/elmcity/shared/hubcal"
)

// ProdID is the PRODID of every calendar elmcity writes.
const ProdID = "-//elmcity//elmcity calendar hub//EN"

// ICS writes the view as an RFC 5545 calendar that Google, Apple and
// Outlook accept when subscribed: CRLF line ends, lines folded at 75
// octets, a VTIMEZONE for the hub's zone, times in that zone, stable UIDs,
// DTSTAMP at the publish time (so a generation renders the same bytes
// every time), X-WR-CALNAME, URL and CATEGORIES. A cancelled event has
// STATUS:CANCELLED, which calendar apps show struck out or drop.
//
// The writer is our own rather than go-ical's Encoder: go-ical neither
// folds lines nor writes a VTIMEZONE, and building a component tree per
// event costs more than writing the lines.
func ICS(w io.Writer, v *View) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	e := &icsWriter{w: bw}
	cal, loc := v.Cal, v.Cal.Loc
	e.line("BEGIN", "VCALENDAR")
	e.line("VERSION", "2.0")
	e.line("PRODID", ProdID)
	e.line("CALSCALE", "GREGORIAN")
	e.line("METHOD", "PUBLISH")
	name := cal.Hub.Title
	if v.Filter.Key() != "" && v.Filter.UID == "" {
		name += " (" + v.Filter.Key() + ")"
	}
	e.text("X-WR-CALNAME", name)
	e.line("X-WR-TIMEZONE", loc.String())
	if v.Base != "" {
		e.line("URL", v.Base+HubPath(cal.Hub.ID))
	}
	if h := cal.Hub.IntervalHours; h > 0 {
		e.line("REFRESH-INTERVAL;VALUE=DURATION", fmt.Sprintf("PT%dH", h))
		e.line("X-PUBLISHED-TTL", fmt.Sprintf("PT%dH", h))
	}
	zoned := loc != time.UTC && loc.String() != "UTC"
	if zoned && len(v.Events) > 0 {
		from, to := v.Events[0].Start, v.Events[0].End
		for i := range v.Events {
			from, to = minTime(from, v.Events[i].Start), maxTime(to, v.Events[i].End)
		}
		writeVTimezone(e, loc, from, to)
	}
	stamp := cal.PublishedAt.UTC().Format("20060102T150405Z")
	for i := range v.Events {
		ev := &v.Events[i]
		e.line("BEGIN", "VEVENT")
		e.text("UID", ev.UID)
		e.line("DTSTAMP", stamp)
		switch {
		case ev.AllDay:
			e.line("DTSTART;VALUE=DATE", ev.Start.UTC().Format("20060102"))
			end := ev.End
			if !end.After(ev.Start) {
				end = ev.Start.AddDate(0, 0, 1)
			}
			e.line("DTEND;VALUE=DATE", end.UTC().Format("20060102"))
		case zoned:
			e.line("DTSTART;TZID="+paramValue(loc.String()), ev.Start.In(loc).Format("20060102T150405"))
			e.line("DTEND;TZID="+paramValue(loc.String()), ev.End.In(loc).Format("20060102T150405"))
		default:
			e.line("DTSTART", ev.Start.UTC().Format("20060102T150405Z"))
			e.line("DTEND", ev.End.UTC().Format("20060102T150405Z"))
		}
		e.text("SUMMARY", ev.Title)
		if ev.Cancelled {
			e.line("STATUS", "CANCELLED")
		}
		if ev.Description != "" {
			e.text("DESCRIPTION", ev.Description)
		}
		if ev.Location != "" {
			e.text("LOCATION", ev.Location)
		}
		if u := eventURL(ev); u != "" {
			e.line("URL", noBreaks(u))
		}
		if tags := PlainTags(ev.Tags); len(tags) > 0 {
			vals := make([]string, len(tags))
			for i, t := range tags {
				vals[i] = escapeText(t)
			}
			e.line("CATEGORIES", strings.Join(vals, ","))
		}
		for _, s := range ev.Sources {
			e.text("X-ELMCITY-SOURCE", s.Name)
		}
		e.line("END", "VEVENT")
	}
	e.line("END", "VCALENDAR")
	if e.err != nil {
		return e.err
	}
	return bw.Flush()
}

// eventURL is the event's own URL, else its first source's, whichever
// SafeURL first accepts; every renderer reads an event's link here.
func eventURL(ev *hubcal.Event) string {
	if u := SafeURL(ev.URL); u != "" {
		return u
	}
	for _, s := range ev.Sources {
		if u := SafeURL(s.URL); u != "" {
			return u
		}
	}
	return ""
}

// PlainTags returns tags with the braces of contributed tags removed,
// each once, in order: what subscribers and feed readers see.
func PlainTags(tags []string) []string {
	out := make([]string, 0, len(tags))
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		t = strings.TrimSuffix(strings.TrimPrefix(t, "{"), "}")
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// writeVTimezone writes loc as a VTIMEZONE: one STANDARD or DAYLIGHT
// observance per offset change from a year before from to a year after
// to (Go exposes a zone's transitions, not its rules), each with the
// onset in the wall clock before the change, as RFC 5545 section 3.6.5
// asks.
func writeVTimezone(e *icsWriter, loc *time.Location, from, to time.Time) {
	e.line("BEGIN", "VTIMEZONE")
	e.line("TZID", paramValue(loc.String()))
	start, end := from.AddDate(-1, 0, 0), to.AddDate(1, 0, 0)
	t := start.In(loc)
	wrote := false
	for n := 0; n < 1000; n++ {
		_, next := t.ZoneBounds()
		if next.IsZero() || next.After(end) {
			break
		}
		before := next.Add(-time.Nanosecond).In(loc)
		after := next.In(loc)
		_, offFrom := before.Zone()
		name, offTo := after.Zone()
		if offFrom != offTo {
			writeObservance(e, after.IsDST(), name, offFrom, offTo, next.Add(time.Duration(offFrom)*time.Second).UTC())
			wrote = true
		}
		t = after
	}
	if !wrote {
		// No change in the span: one observance with the zone's offset.
		name, off := from.In(loc).Zone()
		writeObservance(e, from.In(loc).IsDST(), name, off, off, time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC))
	}
	e.line("END", "VTIMEZONE")
}

// writeObservance writes one STANDARD or DAYLIGHT; onset is the wall
// clock of the change in the old offset, carried in a UTC time.
func writeObservance(e *icsWriter, dst bool, name string, from, to int, onset time.Time) {
	kind := "STANDARD"
	if dst {
		kind = "DAYLIGHT"
	}
	e.line("BEGIN", kind)
	e.line("DTSTART", onset.Format("20060102T150405"))
	e.line("TZOFFSETFROM", utcOffset(from))
	e.line("TZOFFSETTO", utcOffset(to))
	if name != "" && !strings.ContainsAny(name, "+-0123456789") {
		e.text("TZNAME", name)
	}
	e.line("END", kind)
}

// utcOffset formats seconds east of UTC as RFC 5545's UTC-OFFSET.
func utcOffset(sec int) string {
	sign := "+"
	if sec < 0 {
		sign, sec = "-", -sec
	}
	s := fmt.Sprintf("%s%02d%02d", sign, sec/3600, sec/60%60)
	if sec%60 != 0 {
		s += fmt.Sprintf("%02d", sec%60)
	}
	return s
}

// icsWriter writes content lines, folded at 75 octets with CRLF; the
// first error sticks.
type icsWriter struct {
	w   *bufio.Writer
	err error
}

// text writes a TEXT property, escaped.
func (e *icsWriter) text(name, value string) { e.line(name, escapeText(value)) }

// line writes name:value folded. value must hold no CR or LF.
func (e *icsWriter) line(name, value string) {
	if e.err != nil {
		return
	}
	e.w.WriteString(name)
	e.w.WriteByte(':')
	n := len(name) + 1 // octets on the current physical line
	for len(value) > 75-n {
		// Cut at 75 octets, backing off to the start of a character.
		cut := 75 - n
		for cut > 0 && !utf8.RuneStart(value[cut]) {
			cut--
		}
		if cut == 0 { // not UTF-8: cut anywhere rather than loop
			cut = 75 - n
		}
		e.w.WriteString(value[:cut])
		e.w.WriteString("\r\n ")
		value, n = value[cut:], 1
	}
	e.w.WriteString(value)
	_, e.err = e.w.WriteString("\r\n")
}

// escapeText escapes a TEXT value (RFC 5545 section 3.3.11): backslash,
// semicolon, comma and line breaks; other control characters are
// dropped and invalid UTF-8 replaced.
func escapeText(s string) string {
	clean := utf8.ValidString(s)
	for i := 0; clean && i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '\\' || c == ';' || c == ',' {
			clean = false
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case ';':
			b.WriteString(`\;`)
		case ',':
			b.WriteString(`\,`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				continue
			}
			b.WriteString(`\n`)
		case '\t':
			b.WriteByte(' ')
		default:
			if c < 0x20 || c == 0x7f {
				continue
			}
			b.WriteByte(c)
		}
	}
	return strings.ToValidUTF8(b.String(), "\uFFFD")
}

// noBreaks drops control characters from a URI value.
func noBreaks(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// paramValue quotes a parameter value that holds ":", ";" or ",".
func paramValue(s string) string {
	s = strings.ReplaceAll(noBreaks(s), `"`, "")
	if strings.ContainsAny(s, ":;,") {
		return `"` + s + `"`
	}
	return s
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
