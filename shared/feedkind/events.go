package feedkind

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Event is one event as a program hands it over, rather than as a
// document holds it: an adapter script's result (shared/script), or any
// Go caller's. Dates are text, validated by WriteEvents.
type Event struct {
	// Where names the event in warnings and errors, such as "result[3]";
	// empty names it "event N", counted from 1.
	Where string
	// UID is the source's own id for the event, from which its UID is
	// made; empty makes one from the title, start and location.
	UID string
	// Title is the event's title (SUMMARY); required.
	Title string
	// Start is required: an ISO 8601 date ("2026-03-01", an all-day
	// event), a date and time with an offset or Z (an instant), or a
	// date and time without one (read in TZ, else the hub's zone).
	Start string
	// End is optional, in the same forms. For an all-day event it is the
	// last day (inclusive), as schema.org and spreadsheets write it.
	End string
	// AllDay says the event is all-day; Start and End must then be
	// dates. A date-only Start is all-day without it.
	AllDay bool
	// TZ is the IANA name of the zone of times without an offset, such
	// as "America/New_York"; empty means the hub's.
	TZ string
	// Location, URL (absolute http or https) and Description are
	// optional text.
	Location, URL, Description string
	// Categories become the event's categories, and so its tags.
	Categories []string
	// RRule is an iCalendar recurrence rule ("FREQ=WEEKLY;BYDAY=TU"),
	// with or without "RRULE:"; the hub's parser checks it as it checks
	// any feed's.
	RRule string
	// ExDate lists starts the rule skips, in Start's forms (a date
	// alone skips that day at the start's time of day).
	ExDate []string
	// Status is "cancelled" (or "canceled"), "tentative" (or
	// "postponed"), "confirmed" or empty.
	Status string
	// Problem, when set, says why the caller could not read the event
	// (a field of the wrong type, say); WriteEvents skips it with this
	// reason.
	Problem string
}

// Bounds of an Event's recurrence rule text.
const maxRRule = 512

// WriteEvents validates events and writes the valid ones as iCalendar
// text, as Convert writes a converted source: the same UIDs (the event's
// own, else a hash of title, start and location), the same time zone
// policy, the same caps and the same Report (Kind KindScript). An event
// that cannot be used is skipped, and a warning names it and the field
// at fault: `result[3] (uid "a-17") skipped: start: date "2026-13-01" is
// not a calendar date`.
//
// When events are given but none can be written, WriteEvents returns an
// error wrapping ErrInvalidInput that names the first problem, so that
// the hub keeps the feed's previous events. A done ctx returns its
// error. Options.MaxItems bounds the events examined.
func WriteEvents(ctx context.Context, events []Event, opt Options) (ics []byte, rep Report, err error) {
	opt = opt.withDefaults()
	rep.Kind = KindScript
	c := newConverter(ctx, KindScript, "", Mapping{}, opt, &rep)
	firstProblem := ""
	for i := range events {
		if !c.next() {
			break
		}
		ev := &events[i]
		where := ev.Where
		if where == "" {
			where = "event " + strconv.Itoa(i+1)
		}
		if ev.UID != "" {
			where += fmt.Sprintf(" (uid %q)", clip(oneLine(ev.UID), 64))
		}
		if ev.Problem != "" {
			c.skip(where, ev.Problem)
			if firstProblem == "" {
				firstProblem = where + ": " + ev.Problem
			}
			continue
		}
		e, err := c.fromEvent(where, ev)
		if err != nil {
			c.skip(where, err.Error())
			if firstProblem == "" {
				firstProblem = where + ": " + err.Error()
			}
			continue
		}
		c.emit(where, e)
	}
	if err := ctx.Err(); err != nil {
		return nil, rep, fmt.Errorf("write events: %w", err)
	}
	if rep.Events == 0 && rep.Skipped > 0 {
		if firstProblem == "" && len(rep.Warnings) > 0 {
			firstProblem = rep.Warnings[0]
		}
		return nil, rep, fmt.Errorf("write events: none of %d events is usable; the first: %s: %w", rep.Items, firstProblem, ErrInvalidInput)
	}
	c.flushNotes()
	return c.w.finish(), rep, nil
}

// fromEvent checks ev and turns it into the converter's event.
func (c *converter) fromEvent(where string, ev *Event) (*event, error) {
	e := &event{id: ev.UID, title: oneLine(ev.Title), location: ev.Location, description: ev.Description, localWhat: "start"}
	if e.title == "" {
		return nil, errors.New("title: required")
	}
	if ev.TZ != "" {
		z, err := loadZone(strings.TrimSpace(ev.TZ))
		if err != nil {
			return nil, fmt.Errorf("tz: %q is not an IANA time zone name", clip(ev.TZ, 64))
		}
		e.zone = z
	}
	var err error
	if strings.TrimSpace(ev.Start) == "" {
		return nil, errors.New("start: required")
	}
	if e.start, err = parseISO(ev.Start); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	if strings.TrimSpace(ev.End) != "" {
		if e.end, err = parseISO(ev.End); err != nil {
			return nil, fmt.Errorf("end: %w", err)
		}
	}
	if ev.AllDay {
		if e.start.form != formDate {
			return nil, fmt.Errorf("start: an all_day event starts on a date (2026-03-01), not at %q", clip(ev.Start, 64))
		}
		if !e.end.isZero() && e.end.form != formDate {
			return nil, fmt.Errorf("end: an all_day event ends on a date (its last day), not at %q", clip(ev.End, 64))
		}
	}
	e.endInclusive = true
	if ev.RRule != "" {
		if e.rawRule, err = checkRRule(ev.RRule); err != nil {
			return nil, fmt.Errorf("rrule: %w", err)
		}
	}
	for i, x := range ev.ExDate {
		if i == maxExdates {
			break // emit says so
		}
		w, err := parseISO(x)
		if err != nil {
			return nil, fmt.Errorf("exdate[%d]: %w", i, err)
		}
		e.exdates = append(e.exdates, w)
	}
	if len(ev.ExDate) > 0 && e.rawRule == "" {
		c.warn(where + ": exdate without an rrule ignored")
	}
	switch strings.ToLower(strings.TrimSpace(ev.Status)) {
	case "", "confirmed":
	case "cancelled", "canceled":
		e.status = "CANCELLED"
	case "tentative", "postponed":
		e.status = "TENTATIVE"
	default:
		return nil, fmt.Errorf("status: %q is not cancelled, tentative or confirmed", clip(ev.Status, 64))
	}
	if ev.URL != "" {
		if u := cleanURL(ev.URL); u == "" {
			c.warn(fmt.Sprintf("%s: url %q is not an absolute http(s) URL; left out", where, clip(ev.URL, 64)))
		} else {
			e.url = u
		}
	}
	for _, cat := range ev.Categories {
		e.categories = addCategory(e.categories, cat)
	}
	return e, nil
}

// checkRRule checks the text of a recurrence rule enough to write it as
// one property line (the parser checks its meaning): at most maxRRule
// bytes of letters, digits, "=", ";", ",", "+" and "-", with a FREQ. It
// returns the rule upper-cased, without "RRULE:".
func checkRRule(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) >= 6 && strings.EqualFold(s[:6], "RRULE:") {
		s = s[6:]
	}
	if len(s) > maxRRule {
		return "", fmt.Errorf("over %d bytes", maxRRule)
	}
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch >= 'A' && ch <= 'Z', ch >= 'a' && ch <= 'z', ch >= '0' && ch <= '9', ch == '=', ch == ';', ch == ',', ch == '+', ch == '-':
		default:
			return "", fmt.Errorf("%q has a character (%q) no rule has", clip(s, 64), ch)
		}
	}
	s = strings.ToUpper(s)
	if !strings.HasPrefix(s, "FREQ=") && !strings.Contains(s, ";FREQ=") {
		return "", fmt.Errorf("%q has no FREQ", clip(s, 64))
	}
	return s, nil
}
