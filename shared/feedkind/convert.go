package feedkind

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Defaults for the zero Options.
const (
	// DefaultMaxBytes is the largest input Convert reads: the worker's
	// fetch cap.
	DefaultMaxBytes = 10 << 20
	// DefaultMaxItems is the most items (rows, objects, JSON-LD nodes,
	// RSS items) Convert examines.
	DefaultMaxItems = 100_000
	// DefaultMaxEvents is the most events Convert writes.
	DefaultMaxEvents = 50_000
	// DefaultMaxOutputBytes bounds the iCalendar text Convert writes:
	// the parser's own input cap (calendar.DefaultMaxFeedBytes).
	DefaultMaxOutputBytes = 32 << 20
	// DefaultMaxDepth is the deepest nesting of JSON arrays and objects,
	// or of XML elements, Convert reads.
	DefaultMaxDepth = 64
	// DefaultMaxWarnings is the most warnings a Report lists.
	DefaultMaxWarnings = 100
)

// Caps on the text of one event; longer text is cut at a character
// boundary.
const (
	maxTitle       = 1 << 10
	maxDescription = 16 << 10
	maxLocation    = 1 << 10
	maxURL         = 2 << 10
	maxUID         = 255
	maxCategories  = 32
	maxCategory    = 128
	maxExdates     = 1000
	maxCSVFields   = 1000
)

// The errors of Convert.
var (
	// ErrInvalidInput means the input as a whole is not of its kind: not
	// HTML or JSON-LD, not CSV, not JSON, not RSS or Atom, or missing
	// what the kind requires (no JSON-LD block, a mapped CSV column the
	// header lacks, no array at the JSON path).
	ErrInvalidInput = errors.New("feedkind: invalid input")
	// ErrTooLarge means the input exceeds Options.MaxBytes.
	ErrTooLarge = errors.New("feedkind: input too large")
	// ErrNotConverted means the kind is not converted by this package
	// (KindScript, which the script engine runs).
	ErrNotConverted = errors.New("feedkind: kind is not converted")
)

// Options bounds a conversion and supplies the hub's context.
type Options struct {
	// Zone is the hub's zone: times written without an offset are read
	// in it (Mapping.TZ, or a JSON-LD Schedule's scheduleTimezone, take
	// precedence), and times with an offset that agrees with it are
	// written in it, so that recurrences keep their wall clock across
	// daylight-saving changes. Nil leaves times without an offset
	// floating, for the parser's Config.FloatingZone to place. It must
	// be loaded by name (time.LoadLocation): a TZID carries its name.
	Zone *time.Location
	// MaxBytes is the largest input read; 0 means DefaultMaxBytes.
	MaxBytes int
	// MaxItems bounds the items examined; 0 means DefaultMaxItems.
	MaxItems int
	// MaxEvents bounds the events written; 0 means DefaultMaxEvents.
	MaxEvents int
	// MaxOutputBytes bounds the iCalendar written; 0 means
	// DefaultMaxOutputBytes.
	MaxOutputBytes int
	// MaxDepth bounds the nesting of JSON and XML; 0 means
	// DefaultMaxDepth.
	MaxDepth int
	// MaxWarnings bounds Report.Warnings; 0 means DefaultMaxWarnings.
	MaxWarnings int
	// Stamp is the DTSTAMP of every event. The zero Stamp writes the
	// Unix epoch, so that the same input always converts to the same
	// bytes and an unchanged source is seen to be unchanged.
	Stamp time.Time
}

// withDefaults fills the zero fields of o.
func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxBytes, DefaultMaxBytes)
	def(&o.MaxItems, DefaultMaxItems)
	def(&o.MaxEvents, DefaultMaxEvents)
	def(&o.MaxOutputBytes, DefaultMaxOutputBytes)
	def(&o.MaxDepth, DefaultMaxDepth)
	def(&o.MaxWarnings, DefaultMaxWarnings)
	if o.Zone != nil && (o.Zone.String() == "Local" || o.Zone.String() == "") {
		o.Zone = nil
	}
	return o
}

// Report says what a conversion found: the feed's stats for its kind.
type Report struct {
	// Kind is the kind converted.
	Kind Kind
	// Items counts the items examined: CSV rows (not the header or blank
	// rows), JSON objects, schema.org Event nodes, RSS items and Atom
	// entries.
	Items int
	// Events counts the VEVENTs written. A JSON-LD Event with several
	// schedules writes one per schedule.
	Events int
	// Skipped counts the items left out; Warnings says why.
	Skipped int
	// Warnings lists items skipped and why ("row 7 skipped: no start
	// date"), blocks that could not be read ("block 2: invalid JSON-LD:
	// ..."), and the policies applied, once each with a count ("3
	// startDates without an offset read in the hub's zone
	// America/New_York (policy jsonld-local-time)").
	Warnings []string
	// MoreWarnings counts the warnings past Options.MaxWarnings.
	MoreWarnings int
}

// Convert turns data, a source of the given kind, into iCalendar text
// with one VEVENT per event found, for the hub's calendar parser to read
// as it reads any feed. baseURL (the feed's URL) resolves relative links
// and ids. m is the feed's Mapping (csv, json; element names for rss;
// tz for jsonld). KindICS is returned as it is.
//
// A whole input that is not of its kind is an error wrapping
// ErrInvalidInput; an input over Options.MaxBytes, ErrTooLarge; a bad
// mapping, ErrInvalidMapping; KindScript, ErrNotConverted; a done ctx,
// ctx's error. An item that cannot be read is skipped and named in
// Report.Warnings. The work is bounded by Options and the caps on each
// event's text, and ctx is checked every few hundred items.
func Convert(ctx context.Context, kind Kind, data []byte, baseURL string, m Mapping, opt Options) (ics []byte, rep Report, err error) {
	opt = opt.withDefaults()
	rep.Kind = kind
	if err := m.Validate(kind); err != nil {
		return nil, rep, fmt.Errorf("convert %s: %w", kind, err)
	}
	if len(data) > opt.MaxBytes {
		return nil, rep, fmt.Errorf("convert %s: %d bytes exceed the limit of %d: %w", kind, len(data), opt.MaxBytes, ErrTooLarge)
	}
	if err := ctx.Err(); err != nil {
		return nil, rep, fmt.Errorf("convert %s: %w", kind, err)
	}
	if kind == KindICS {
		return data, rep, nil
	}
	if kind == KindScript {
		return nil, rep, fmt.Errorf("convert %s: run by the script engine: %w", kind, ErrNotConverted)
	}
	c := newConverter(ctx, kind, baseURL, m, opt, &rep)
	switch kind {
	case KindJSONLD:
		err = c.readJSONLD(data)
	case KindCSV:
		err = c.readCSV(data)
	case KindJSON:
		err = c.readJSON(data)
	case KindRSS:
		err = c.readRSS(data)
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return nil, rep, fmt.Errorf("convert %s: %w", kind, err)
	}
	c.flushNotes()
	return c.w.finish(), rep, nil
}

// converter is the state of one Convert: the reader of the kind calls
// emit for each event it finds.
type converter struct {
	ctx  context.Context
	kind Kind
	base string
	m    Mapping
	opt  Options
	rep  *Report
	w    icsWriter
	// zone places times without an offset: Mapping.TZ, else
	// Options.Zone; hubZone reports the latter.
	zone    *time.Location
	hubZone bool
	layout  dateLayout
	// uids maps each UID written to the item that wrote it.
	uids map[string]written
	// notes counts each policy note, written once at the end.
	notes     map[string]int
	noteOrder []string
	// full reports that a cap stopped the conversion.
	full bool
	// nodes counts the JSON-LD objects looked at.
	nodes int
}

// newConverter returns a converter; m has been validated.
func newConverter(ctx context.Context, kind Kind, base string, m Mapping, opt Options, rep *Report) *converter {
	c := &converter{ctx: ctx, kind: kind, base: base, m: m, opt: opt, rep: rep,
		uids: make(map[string]written), notes: make(map[string]int)}
	c.zone, c.hubZone = opt.Zone, opt.Zone != nil
	if m.TZ != "" {
		c.zone, _ = loadZone(m.TZ)
		c.hubZone = false
	}
	c.layout, _ = compileDateFormat(m.DateFormat)
	c.w.init(kind, opt)
	return c
}

// next counts an item and reports whether the conversion goes on: false
// once a cap is reached or ctx is done.
func (c *converter) next() bool {
	if c.full {
		return false
	}
	if c.rep.Items%256 == 0 && c.ctx.Err() != nil {
		c.full = true
		return false
	}
	if c.rep.Items >= c.opt.MaxItems {
		c.warn(fmt.Sprintf("stopped after %d items (the limit)", c.opt.MaxItems))
		c.full = true
		return false
	}
	c.rep.Items++
	return true
}

// warn adds a warning to the report, within Options.MaxWarnings.
func (c *converter) warn(msg string) {
	if len(c.rep.Warnings) >= c.opt.MaxWarnings {
		c.rep.MoreWarnings++
		return
	}
	c.rep.Warnings = append(c.rep.Warnings, msg)
}

// skip records that the item at where was left out, and why.
func (c *converter) skip(where, reason string) {
	c.rep.Skipped++
	c.warn(where + " skipped: " + reason)
}

// note counts a policy note; notes are written once each, with their
// count, at the end.
func (c *converter) note(msg string) {
	if _, ok := c.notes[msg]; !ok {
		c.noteOrder = append(c.noteOrder, msg)
	}
	c.notes[msg]++
}

// flushNotes turns the notes into warnings.
func (c *converter) flushNotes() {
	for _, msg := range c.noteOrder {
		c.warn(fmt.Sprintf("%d× %s", c.notes[msg], msg))
	}
}

// event is one event as a reader found it, before it is written.
type event struct {
	// id is the source's own id for the event, "" when it has none.
	id          string
	title       string
	description string
	location    string
	url         string
	categories  []string
	start, end  when
	// endInclusive reports that a date-only end is the last day (as
	// schema.org and spreadsheets write it), not the day after.
	endInclusive bool
	dur          time.Duration
	hasDur       bool
	// zone places local times: a JSON-LD Schedule's scheduleTimezone;
	// nil means the converter's zone.
	zone *time.Location
	// status is "CANCELLED", "TENTATIVE" or "".
	status string
	rule   *rule
	// rawRule is an RRULE value as a program gave it (WriteEvents),
	// written as it is for the parser to check.
	rawRule string
	exdates []when
	// localWhat names local times in notes ("startDate", "start date").
	localWhat string
}

// rule is a recurrence rule, as a schema.org Schedule gives it.
type rule struct {
	freq       string // DAILY, WEEKLY, MONTHLY, YEARLY
	interval   int
	byDay      []string // MO, 1MO, -1FR
	byMonth    []int
	byMonthDay []int
	count      int
	until      when
}

// placed is a when placed for writing: value is the iCalendar value,
// params its parameters (";TZID=...", ";VALUE=DATE"), at the instant
// (or the date's midnight UTC, or the floating wall clock in UTC).
type placed struct {
	params string
	value  string
	at     time.Time
	form   form
	wall   time.Time // the wall clock in UTC, for local and zoned values
	zone   *time.Location
}

// place turns w into an iCalendar value in zone (nil: floating or UTC),
// noting the policy applied to a local time.
func (c *converter) place(w when, zone *time.Location, hub bool, what string) placed {
	switch w.form {
	case formDate:
		return placed{params: ";VALUE=DATE", value: w.t.Format("20060102"), at: w.t, form: formDate, wall: w.t}
	case formLocal:
		if zone == nil {
			if what != "" {
				c.note(fmt.Sprintf("%s without an offset and no zone left floating (the parser's Config.FloatingZone places it)", what))
			}
			return placed{value: w.t.Format("20060102T150405"), at: w.t, form: formLocal, wall: w.t}
		}
		if hub && what != "" {
			c.note(fmt.Sprintf("%s without an offset read in the hub's zone %s (policy %s-local-time)", what, zone, c.kind))
		}
		return zoned(w.t, zone)
	}
	if zone != nil {
		local := w.t.In(zone)
		_, off := local.Zone()
		_, given := w.t.Zone()
		if off == given {
			wall := time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), local.Minute(), local.Second(), 0, time.UTC)
			return zoned(wall, zone)
		}
	}
	u := w.t.UTC()
	return placed{value: u.Format("20060102T150405Z"), at: u, form: formInstant, wall: u}
}

// zoned places the wall clock (in UTC) in zone.
func zoned(wall time.Time, zone *time.Location) placed {
	if zone == time.UTC {
		return placed{value: wall.Format("20060102T150405Z"), at: wall, form: formInstant, wall: wall}
	}
	at := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, zone)
	return placed{params: ";TZID=" + zone.String(), value: wall.Format("20060102T150405"), at: at, form: formLocal, wall: wall, zone: zone}
}

// emit writes e, found at where ("row 7", "block 2 item 3"), or skips it
// with the reason.
func (c *converter) emit(where string, e *event) {
	if c.full {
		return
	}
	if e.start.isZero() {
		c.skip(where, "no start date")
		return
	}
	if c.rep.Events >= c.opt.MaxEvents {
		c.warn(fmt.Sprintf("stopped after %d events (the limit)", c.opt.MaxEvents))
		c.full = true
		return
	}
	zone, hub := c.zone, c.hubZone
	if e.zone != nil {
		zone, hub = e.zone, false
	}
	start := c.place(e.start, zone, hub, e.localWhat)
	var end placed
	var dur time.Duration
	hasEnd, hasDur := false, false
	switch {
	case start.form == formDate:
		last := time.Time{}
		switch {
		case !e.end.isZero():
			last = e.end.dateOnly().t
			if !e.endInclusive && e.end.form == formDate {
				last = last.AddDate(0, 0, -1)
			}
		case e.hasDur && e.dur >= 24*time.Hour:
			last = start.wall.AddDate(0, 0, int((e.dur+24*time.Hour-1)/(24*time.Hour))-1)
		}
		if !last.IsZero() {
			if last.Before(start.wall) {
				c.warn(where + ": end date before the start date ignored")
			} else if last.After(start.wall) {
				end = c.place(when{t: last.AddDate(0, 0, 1), form: formDate}, nil, false, "")
				hasEnd = true
			}
		}
	case !e.end.isZero():
		if e.end.form == formDate {
			c.warn(where + ": end date without a time for an event with a start time ignored")
			break
		}
		end = c.place(e.end, zone, hub, "")
		if start.form == formLocal && start.zone == nil && end.form != formLocal ||
			start.form != formLocal && end.form == formLocal && end.zone == nil {
			c.warn(where + ": end ignored: one of start and end is floating, the other is not")
			break
		}
		if end.at.Before(start.at) {
			c.warn(where + ": end before the start ignored")
			break
		}
		hasEnd = true
	case e.hasDur:
		dur, hasDur = e.dur, e.dur > 0
	}
	uid := c.uid(where, e)
	if uid == "" {
		return
	}
	mark := c.w.buf.Len()
	c.w.begin()
	c.w.text("UID", uid)
	c.w.stamp()
	c.w.prop("DTSTART", start.params, start.value)
	if hasEnd {
		c.w.prop("DTEND", end.params, end.value)
	} else if hasDur {
		c.w.prop("DURATION", "", isoDuration(dur))
	}
	if e.rule != nil || e.rawRule != "" {
		if e.rule != nil {
			c.w.prop("RRULE", "", c.ruleText(e.rule, start, zone))
		} else {
			c.w.prop("RRULE", "", e.rawRule)
		}
		for i, x := range e.exdates {
			if i == maxExdates {
				c.warn(fmt.Sprintf("%s: only the first %d exception dates kept", where, maxExdates))
				break
			}
			p, ok := c.exdate(x, start, zone)
			if ok {
				c.w.prop("EXDATE", p.params, p.value)
			}
		}
	}
	c.w.text("SUMMARY", clip(oneLine(e.title), maxTitle))
	if e.description != "" {
		c.w.text("DESCRIPTION", clip(e.description, maxDescription))
	}
	if e.location != "" {
		c.w.text("LOCATION", clip(oneLine(e.location), maxLocation))
	}
	if u := cleanURL(e.url); u != "" {
		c.w.prop("URL", "", u)
	}
	if len(e.categories) > 0 {
		c.w.categories(e.categories)
	}
	if e.status != "" {
		c.w.prop("STATUS", "", e.status)
	}
	c.w.end()
	if c.w.buf.Len() > c.opt.MaxOutputBytes {
		c.w.buf.Truncate(mark)
		c.warn(fmt.Sprintf("stopped at %d bytes of iCalendar (the limit)", c.opt.MaxOutputBytes))
		c.full = true
		return
	}
	c.rep.Events++
}

// uid returns the UID of e: its source id, made unique among the events
// written (with the start appended when two events share an id), or a
// hash of its title, start and location. It returns "" (and skips the
// event) for a duplicate: an event with the id (or, without one, the
// title and location) and the start of one already written.
func (c *converter) uid(where string, e *event) string {
	startText := e.start.t.Format(time.RFC3339)
	if e.start.form == formDate {
		startText = e.start.t.Format(time.DateOnly)
	}
	uid := oneLine(e.id)
	if uid == "" {
		uid = hashUID(e.title, startText, e.location)
	} else if len(uid) > maxUID {
		uid = hashUID(uid)
	}
	if first, dup := c.uids[uid]; dup {
		if first.start == startText || e.id == "" {
			c.skip(where, "duplicate of "+first.where+" (same id or title, same start)")
			return ""
		}
		alt := uid + "/" + startText
		if len(alt) > maxUID {
			alt = hashUID(uid, startText)
		}
		if first, dup := c.uids[alt]; dup {
			c.skip(where, "duplicate of "+first.where+" (same id, same start)")
			return ""
		}
		uid = alt
	}
	c.uids[uid] = written{where: where, start: startText}
	return uid
}

// written is an event written: where it was found, and its start.
type written struct{ where, start string }

// ruleText writes r as an RRULE value for an event starting at start.
// UNTIL is written as RFC 5545 section 3.3.10 asks: a DATE for an
// all-day start, else an instant in UTC (the end of the day, in the
// event's zone, for a date).
func (c *converter) ruleText(r *rule, start placed, zone *time.Location) string {
	var b strings.Builder
	b.WriteString("FREQ=" + r.freq)
	if r.interval > 1 {
		fmt.Fprintf(&b, ";INTERVAL=%d", r.interval)
	}
	switch {
	case r.count > 0:
		fmt.Fprintf(&b, ";COUNT=%d", r.count)
	case !r.until.isZero():
		b.WriteString(";UNTIL=")
		switch {
		case start.form == formDate:
			b.WriteString(r.until.dateOnly().t.Format("20060102"))
		case r.until.form == formDate:
			y, m, d := r.until.t.Date()
			loc := zone
			if loc == nil || start.form != formLocal {
				loc = time.UTC
			}
			at := time.Date(y, m, d, 23, 59, 59, 0, loc)
			if start.form == formLocal && start.zone == nil { // floating
				b.WriteString(at.Format("20060102T150405"))
			} else {
				b.WriteString(at.UTC().Format("20060102T150405Z"))
			}
		default:
			u := c.place(r.until, zone, false, "")
			if start.form == formLocal && start.zone == nil {
				b.WriteString(u.wall.Format("20060102T150405"))
			} else {
				b.WriteString(u.at.UTC().Format("20060102T150405Z"))
			}
		}
	}
	if len(r.byMonth) > 0 {
		b.WriteString(";BYMONTH=" + joinInts(r.byMonth))
	}
	if len(r.byMonthDay) > 0 {
		b.WriteString(";BYMONTHDAY=" + joinInts(r.byMonthDay))
	}
	if len(r.byDay) > 0 {
		b.WriteString(";BYDAY=" + strings.Join(r.byDay, ","))
	}
	return b.String()
}

// exdate places an exception date in the form of start: a date for an
// all-day start, and a date at start's time of day for a timed one.
func (c *converter) exdate(x when, start placed, zone *time.Location) (placed, bool) {
	switch {
	case start.form == formDate:
		return c.place(x.dateOnly(), nil, false, ""), true
	case x.form == formDate:
		y, m, d := x.t.Date()
		s := start.wall
		wall := time.Date(y, m, d, s.Hour(), s.Minute(), s.Second(), 0, time.UTC)
		switch {
		case start.zone != nil:
			return zoned(wall, start.zone), true
		case start.form == formInstant:
			// A UTC start: the exception's wall clock is the start's
			// in the event's zone, if any, else in UTC.
			if zone != nil {
				lw := start.at.In(zone)
				at := time.Date(y, m, d, lw.Hour(), lw.Minute(), lw.Second(), 0, zone).UTC()
				return placed{value: at.Format("20060102T150405Z"), at: at, form: formInstant}, true
			}
			return placed{value: wall.Format("20060102T150405Z"), at: wall, form: formInstant}, true
		}
		return placed{value: wall.Format("20060102T150405"), at: wall, form: formLocal, wall: wall}, true
	}
	return c.place(x, zone, false, ""), true
}

// joinInts writes ns comma-separated.
func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ",")
}

// isoDuration writes d as an RFC 5545 DURATION value.
func isoDuration(d time.Duration) string {
	d = d.Round(time.Second)
	var b strings.Builder
	b.WriteString("P")
	if days := d / (24 * time.Hour); days > 0 {
		fmt.Fprintf(&b, "%dD", days)
		d -= days * 24 * time.Hour
	}
	if d > 0 {
		b.WriteString("T")
		if h := d / time.Hour; h > 0 {
			fmt.Fprintf(&b, "%dH", h)
			d -= h * time.Hour
		}
		if m := d / time.Minute; m > 0 {
			fmt.Fprintf(&b, "%dM", m)
			d -= m * time.Minute
		}
		if s := d / time.Second; s > 0 {
			fmt.Fprintf(&b, "%dS", s)
		}
	}
	if b.Len() == 1 {
		return "PT0S"
	}
	return b.String()
}

// splitCategories splits a comma-separated list, trimmed, without
// empties or repeats, at most maxCategories.
func splitCategories(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		out = addCategory(out, p)
	}
	return out
}

// addCategory appends a trimmed, non-empty category not yet in list.
func addCategory(list []string, s string) []string {
	s = clip(oneLine(s), maxCategory)
	if s == "" || len(list) >= maxCategories {
		return list
	}
	for _, have := range list {
		if strings.EqualFold(have, s) {
			return list
		}
	}
	return append(list, s)
}
