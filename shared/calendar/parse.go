package calendar

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// Defaults for the zero Config.
const (
	// DefaultMaxPerSeries is the per-series occurrence cap of Expand.
	DefaultMaxPerSeries = 10000
	// DefaultMaxFeedBytes is the largest feed Parse accepts.
	DefaultMaxFeedBytes = 32 << 20
	// DefaultMaxSteps bounds the recurrence-rule instances one series may
	// iterate through in one Expand, in or out of the window.
	DefaultMaxSteps = 1_000_000
	// DefaultMaxOccurrences bounds the occurrences of one feed in one
	// Expand.
	DefaultMaxOccurrences = 250_000
)

// Config configures a Parser. The zero Config reads feeds literally where
// RFC 5545 is clear and applies the hub's policies where it is not.
type Config struct {
	// FloatingZone places floating times (DATE-TIMEs with neither Z nor a
	// usable TZID) of feeds without a usable X-WR-TIMEZONE: the hub's
	// zone. Nil keeps them floating: their wall clock is kept, in UTC,
	// with Floating set.
	FloatingZone *time.Location
	// IgnoreXWRTimezone turns off the X-WR-TIMEZONE policy, which places
	// a feed's floating times in the zone its X-WR-TIMEZONE names.
	IgnoreXWRTimezone bool
	// DefaultDuration is the length given to a timed event with neither
	// DTEND nor DURATION. Zero gives such events no length, as RFC 5545
	// section 3.6.1 says.
	DefaultDuration time.Duration
	// MaxPerSeries caps the occurrences one series (a master and its
	// overrides) contributes to an expansion; 0 means
	// DefaultMaxPerSeries.
	MaxPerSeries int
	// MaxOccurrences bounds the occurrences of the whole feed in one
	// expansion; 0 means DefaultMaxOccurrences.
	MaxOccurrences int
	// MaxFeedBytes is the largest input Parse accepts; 0 means
	// DefaultMaxFeedBytes.
	MaxFeedBytes int
	// MaxSteps bounds rule iteration per series and expansion; 0 means
	// DefaultMaxSteps.
	MaxSteps int
}

// Parser parses feeds. It caches time-zone lookups and VTIMEZONE
// definitions across feeds and is safe for concurrent use.
type Parser struct {
	cfg   Config
	zones *zoneCache
}

// NewParser returns a Parser for cfg.
func NewParser(cfg Config) *Parser {
	if cfg.MaxPerSeries <= 0 {
		cfg.MaxPerSeries = DefaultMaxPerSeries
	}
	if cfg.MaxFeedBytes <= 0 {
		cfg.MaxFeedBytes = DefaultMaxFeedBytes
	}
	if cfg.MaxSteps <= 0 {
		cfg.MaxSteps = DefaultMaxSteps
	}
	if cfg.MaxOccurrences <= 0 {
		cfg.MaxOccurrences = DefaultMaxOccurrences
	}
	return &Parser{cfg: cfg, zones: newZoneCache()}
}

// ParseReader reads a feed from r, up to Config.MaxFeedBytes, and parses
// it. It returns an error wrapping ErrInvalidFeed when the input is too
// large or not iCalendar.
func (p *Parser) ParseReader(ctx context.Context, r io.Reader) (*Calendar, error) {
	data, err := io.ReadAll(io.LimitReader(r, int64(p.cfg.MaxFeedBytes)+1))
	if err != nil {
		return nil, fmt.Errorf("read feed: %w", err)
	}
	return p.Parse(ctx, data)
}

// Parse repairs, decodes and interprets one feed. Broken VEVENTs are
// skipped and listed in Stats.Skipped; Parse fails only when the input is
// too large or holds nothing that looks like iCalendar (ErrInvalidFeed),
// or when ctx is done.
func (p *Parser) Parse(ctx context.Context, data []byte) (*Calendar, error) {
	if len(data) > p.cfg.MaxFeedBytes {
		return nil, fmt.Errorf("parse feed: %d bytes exceed the limit of %d: %w", len(data), p.cfg.MaxFeedBytes, ErrInvalidFeed)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("parse feed: %w", err)
	}
	var log repairLog
	lines, ok := repairFeed(data, &log)
	if !ok {
		return nil, fmt.Errorf("parse feed: no VCALENDAR or VEVENT found: %w", ErrInvalidFeed)
	}
	root, fallback := decode(lines, &log)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("parse feed: %w", err)
	}
	b := &builder{
		p:      p,
		cal:    &Calendar{maxPerSeries: p.cfg.MaxPerSeries, maxSteps: p.cfg.MaxSteps, maxTotal: p.cfg.MaxOccurrences},
		vtz:    make(map[string]*ical.Component),
		vtzAny: make(map[string]*ical.Component),
		zones:  make(map[string]*zone),
		log:    &log,
	}
	b.cal.Stats.Bytes = len(data)
	b.cal.Stats.DecodeFallback = fallback
	if err := b.build(ctx, root); err != nil {
		return nil, fmt.Errorf("parse feed: %w", err)
	}
	b.cal.Stats.Repairs = log.list()
	return b.cal, nil
}

// decode turns the repaired lines into go-ical's component tree.
//
// The repair pass has already tokenized every line, so the tree is built
// from its tokens, as go-ical's decoder would build it from their text:
// decoding the text again cost a third of a hub's aggregation.
// TestTreeMatchesGoical holds the two equal on every test feed, the
// corpus and the fuzz seeds. Lines whose BEGIN and END do not pair (the
// repair pass never returns such) go to go-ical's decoder, and if it
// fails on the whole, each top-level component is decoded on its own and
// the broken ones are dropped (and reported).
func decode(lines []contentLine, log *repairLog) (*ical.Component, bool) {
	if root, ok := tree(lines); ok {
		return root, false
	}
	cal, err := decodeICS(render(lines))
	if err == nil {
		return cal.Component, false
	}
	log.add("go-ical could not decode the feed (%v); decoded its components one by one", err)
	root := ical.NewComponent(ical.CompCalendar)
	depth := 0
	var block []contentLine
	var calProps []contentLine
	wrap := func(body []contentLine) []contentLine {
		out := make([]contentLine, 0, len(body)+2)
		out = append(out, contentLine{name: "BEGIN", value: "VCALENDAR"})
		out = append(out, body...)
		return append(out, contentLine{name: "END", value: "VCALENDAR"})
	}
	for _, l := range lines[1 : len(lines)-1] {
		switch {
		case l.name == "BEGIN":
			depth++
			block = append(block, l)
		case l.name == "END":
			depth--
			block = append(block, l)
			if depth == 0 {
				c, err := decodeICS(render(wrap(block)))
				if err != nil || len(c.Children) != 1 {
					log.add("dropped a %s that go-ical cannot decode", block[0].value)
					root.Children = append(root.Children, &ical.Component{Name: "X-BROKEN-" + block[0].value})
				} else {
					root.Children = append(root.Children, c.Children[0])
				}
				block = block[:0]
			}
		case depth > 0:
			block = append(block, l)
		default:
			calProps = append(calProps, l)
		}
	}
	if c, err := decodeICS(render(wrap(calProps))); err == nil {
		root.Props = c.Props
	}
	return root, true
}

// tree builds the component tree of lines, one VCALENDAR, as go-ical's
// decoder does from render(lines): property and parameter names as they
// are (the repair pass upper-cases them), parameter values without
// double quotes, component names upper-cased; a property without
// parameters has nil Params, and properties with the same single
// parameter (TZID=Europe/Paris on every DTSTART) share one Params map:
// the tree is read-only. It reports false when the lines are not one
// VCALENDAR whose BEGIN and END lines pair.
func tree(lines []contentLine) (*ical.Component, bool) {
	if len(lines) < 2 || lines[0].name != "BEGIN" {
		return nil, false
	}
	// Count each component's own properties first, so that its Props
	// map and their values are allocated once.
	counts := make([]int32, len(lines))
	var open []int
	for i := range lines {
		switch lines[i].name {
		case "BEGIN":
			open = append(open, i)
		case "END":
			if len(open) == 0 {
				return nil, false
			}
			open = open[:len(open)-1]
		default:
			if len(open) == 0 {
				return nil, false
			}
			counts[open[len(open)-1]]++
		}
	}
	var shared paramCache
	type node struct {
		c    *ical.Component
		vals []ical.Prop // room for the component's properties
	}
	var stack []node
	var root *ical.Component
	for i := range lines {
		l := &lines[i]
		switch l.name {
		case "BEGIN":
			n := counts[i]
			c := &ical.Component{Name: strings.ToUpper(l.value), Props: make(ical.Props, n)}
			if len(stack) > 0 {
				top := stack[len(stack)-1].c
				top.Children = append(top.Children, c)
			} else if root != nil {
				return nil, false // a second calendar
			} else {
				root = c
			}
			stack = append(stack, node{c, make([]ical.Prop, 0, n)})
		case "END":
			if len(stack) == 0 || !strings.EqualFold(l.value, stack[len(stack)-1].c.Name) {
				return nil, false
			}
			stack = stack[:len(stack)-1]
		default:
			prop := ical.Prop{Name: l.name, Value: l.value, Params: shared.params(l.params)}
			top := &stack[len(stack)-1]
			if have := top.c.Props[l.name]; have != nil {
				top.c.Props[l.name] = append(have, prop)
				continue
			}
			// A first value sits in the component's array, capped so that
			// a second one moves the name's values out of it.
			k := len(top.vals)
			top.vals = append(top.vals, prop)
			top.c.Props[l.name] = top.vals[k : k+1 : k+1]
		}
	}
	if len(stack) != 0 || !strings.EqualFold(root.Name, ical.CompCalendar) {
		return nil, false
	}
	return root, true
}

// paramCache hands out the Params of properties, one map for each
// distinct single parameter with a single value.
type paramCache map[string]map[string]ical.Params

// params returns the Params of ps, nil for none.
func (pc *paramCache) params(ps []param) ical.Params {
	if len(ps) == 0 {
		return nil
	}
	single := len(ps) == 1 && len(ps[0].values) == 1
	if single {
		if m, ok := (*pc)[ps[0].name][ps[0].values[0]]; ok {
			return m
		}
	}
	m := make(ical.Params, len(ps))
	for _, p := range ps {
		vs := m[p.name]
		for _, v := range p.values {
			vs = append(vs, strings.ReplaceAll(v, `"`, ""))
		}
		m[p.name] = vs
	}
	if single {
		if *pc == nil {
			*pc = make(paramCache)
		}
		if (*pc)[ps[0].name] == nil {
			(*pc)[ps[0].name] = make(map[string]ical.Params)
		}
		(*pc)[ps[0].name][ps[0].values[0]] = m
	}
	return m
}

// decodeICS runs go-ical's decoder, turning a panic into an error: go-ical
// panics on some malformed parameter lists.
func decodeICS(text string) (cal *ical.Calendar, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("go-ical: %v", r)
		}
	}()
	return ical.NewDecoder(strings.NewReader(text)).Decode()
}

// builder interprets one decoded feed.
type builder struct {
	p   *Parser
	cal *Calendar
	// vtz holds VTIMEZONEs by calendar and TZID (see scopedKey); vtzAny
	// by TZID alone, the first definition of each. A feed made of
	// several VCALENDARs may define one TZID differently in each.
	vtz       map[string]*ical.Component
	vtzAny    map[string]*ical.Component
	zones     map[string]*zone // by scopedKey
	floating  *zone
	log       *repairLog
	curCal    string // calendar of the component being read
	vtzBuilds int    // VTIMEZONEs built for this feed
}

// scopedKey keys a TZID within the calendar it appears in.
func scopedKey(cal, tzid string) string { return cal + "\x00" + tzid }

// calendarOf returns the VCALENDAR a top-level component came from ("" for
// the first).
func calendarOf(c *ical.Component) string {
	if p := c.Props.Get(calendarMarker); p != nil {
		return p.Value
	}
	return ""
}

// build fills the Calendar from the decoded root component.
func (b *builder) build(ctx context.Context, root *ical.Component) error {
	c := b.cal
	c.ProdID = propText(root, "PRODID")
	if c.ProdID == repairedProdID {
		c.ProdID = ""
	}
	c.Name = propText(root, "X-WR-CALNAME")
	c.Timezone = strings.TrimSpace(propText(root, "X-WR-TIMEZONE"))
	c.Stats.ProdID = c.ProdID
	for _, child := range root.Children {
		if child.Name == "VTIMEZONE" {
			if id := strings.Trim(strings.TrimSpace(propText(child, "TZID")), `"'`); id != "" {
				if _, dup := b.vtzAny[id]; !dup {
					b.vtzAny[id] = child
				}
				if k := scopedKey(calendarOf(child), id); b.vtz[k] == nil {
					b.vtz[k] = child
				}
			}
		}
	}
	b.floating = b.floatingZone()
	for i, child := range root.Children {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		switch {
		case child.Name == ical.CompEvent:
			c.Stats.Components++
			b.curCal = calendarOf(child)
			ev, reason := b.event(child)
			if ev == nil {
				uid := propText(child, "UID")
				c.Stats.Skipped = append(c.Stats.Skipped, Skipped{UID: uid, Reason: reason})
				if child.Props.Get("RECURRENCE-ID") == nil {
					if c.broken == nil {
						c.broken = make(map[string]bool)
					}
					c.broken[uid] = true
				}
				continue
			}
			c.Events = append(c.Events, ev)
		case strings.HasPrefix(child.Name, "X-BROKEN-VEVENT"):
			c.Stats.Components++
			c.Stats.Skipped = append(c.Stats.Skipped, Skipped{Reason: "VEVENT that cannot be decoded"})
		}
	}
	b.checkDivergence()
	c.series = groupSeries(c.Events, c.broken)
	for _, ev := range c.Events {
		c.Stats.Events++
		switch {
		case ev.hasRecur:
			c.Stats.Overrides++
		case ev.Recurring:
			c.Stats.Recurring++
		}
		if z := ev.start.zone; z != nil && z.floatingSrc && !ev.start.date && !ev.start.utc {
			c.Stats.Floating++
		}
		if ev.AllDay {
			c.Stats.AllDay++
		}
	}
	return nil
}

// floatingZone returns the zone of the feed's floating times: its
// X-WR-TIMEZONE, then Config.FloatingZone, else none.
func (b *builder) floatingZone() *zone {
	if name := b.cal.Timezone; name != "" && !b.p.cfg.IgnoreXWRTimezone {
		if loc, _ := b.resolveName(name); loc != nil {
			return &zone{loc: loc, refFloating: true, policy: PolicyXWRTimezone, floatingSrc: true}
		}
		b.log.add("X-WR-TIMEZONE %q names no known zone; ignored", name)
	}
	if b.p.cfg.FloatingZone != nil {
		return &zone{loc: b.p.cfg.FloatingZone, refFloating: true, policy: PolicyHubZone, floatingSrc: true}
	}
	return &zone{floatingSrc: true}
}

// resolveName maps a zone name to an IANA location without looking at the
// feed's VTIMEZONEs.
func (b *builder) resolveName(name string) (*time.Location, ZoneKind) {
	name = strings.Trim(strings.TrimSpace(name), `"'`)
	if loc := b.p.zones.loadIANA(name); loc != nil {
		return loc, ZoneIANA
	}
	if w := lookupWindows(name); w != "" {
		if loc := b.p.zones.loadIANA(w); loc != nil {
			return loc, ZoneWindows
		}
	}
	if a := aliasIANA(name, b.p.zones.loadIANA); a != "" {
		return b.p.zones.loadIANA(a), ZoneAlias
	}
	return nil, ZoneUnknown
}

// zoneFor resolves a TZID once per feed and calendar.
func (b *builder) zoneFor(tzid string) *zone {
	k := scopedKey(b.curCal, tzid)
	if z, ok := b.zones[k]; ok {
		return z
	}
	z := b.resolveTZID(tzid)
	b.zones[k] = z
	return z
}

// divergence compares a feed's VTIMEZONE with the IANA zone of the same
// name used in its place, over the dates the feed's times use.
type divergence struct {
	iana, custom *time.Location
	use          int       // index in Stats.Zones
	first, last  time.Time // wall clocks seen, zero until one is
}

// saw records a wall clock read in the zone.
func (d *divergence) saw(wall time.Time) {
	if d.first.IsZero() || wall.Before(d.first) {
		d.first = wall
	}
	if wall.After(d.last) {
		d.last = wall
	}
}

// divergenceYears is how far past a feed's last date-time in a zone its
// VTIMEZONE is compared: recurring events go on after their DTSTART.
const divergenceYears = 10

// checkDivergence marks each VTIMEZONE that disagrees with the IANA zone
// used in its place between the first date-time the feed reads in it and
// divergenceYears after the last: the span its events fall in. A
// VTIMEZONE that only states today's rules (as Outlook's and Apple's do)
// agrees with the IANA zone there even though it differs in 1990.
func (b *builder) checkDivergence() {
	for _, z := range b.zones {
		d := z.check
		if d == nil || d.first.IsZero() {
			continue
		}
		from := d.first.Add(-48 * time.Hour)
		to := d.last.AddDate(divergenceYears, 0, 0)
		if limit := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC); to.After(limit) {
			to = limit
		}
		if !sameOffsets(d.iana, d.custom, from, to) {
			b.cal.Stats.Zones[d.use].Divergent = true
		}
	}
}

// sameZone reports whether two locations agree from 1970 to 2100, the
// span over which a VTIMEZONE is compared with the zone replacing it.
func sameZone(a, b *time.Location) bool {
	return sameOffsets(a, b, time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
}

// resolveTZID decides how the times of one TZID are placed and records
// it in Stats.Zones.
func (b *builder) resolveTZID(tzid string) *zone {
	clean := strings.Trim(strings.TrimSpace(tzid), `"'`)
	comp := b.vtz[scopedKey(b.curCal, clean)]
	if comp == nil {
		comp = b.vtzAny[clean]
	}
	if comp == nil {
		for id, c := range b.vtzAny {
			if strings.EqualFold(id, clean) {
				comp = c
				break
			}
		}
	}
	use := ZoneUse{TZID: clean}
	var check *divergence
	defer func() {
		if check != nil {
			check.use = len(b.cal.Stats.Zones)
		}
		b.cal.Stats.Zones = append(b.cal.Stats.Zones, use)
	}()

	loc, kind := b.resolveName(clean)
	if kind == ZoneAlias && comp != nil && !strings.HasPrefix(clean, "/") &&
		!strings.HasPrefix(clean, "posix/") && !strings.HasPrefix(clean, "right/") {
		// A VTIMEZONE with a made-up name ("US-Eastern") is applied by
		// its own rules; only vendor-prefixed paths name an IANA zone.
		loc, kind = nil, ZoneUnknown
	}
	var policy Policy
	switch kind {
	case ZoneIANA:
		policy = PolicyIANAZone
	case ZoneWindows:
		policy = PolicyWindowsZone
	case ZoneAlias:
		policy = PolicyTZIDAlias
	}
	if loc != nil {
		use.Kind, use.Location = kind, loc.String()
		z := &zone{loc: loc}
		if comp != nil {
			// Whether the file's rules disagree with the IANA zone's is
			// decided once the dates the feed uses are known.
			if custom := b.vtimezone(clean, comp, readRFC); custom != nil {
				check = &divergence{iana: loc, custom: custom}
				z.check = check
			}
			// The reference reads the file's VTIMEZONE.
			if ref := b.vtimezone(clean, comp, readICALJS); ref != nil && !sameZone(loc, ref) {
				z.ref, z.policy = ref, policy
			}
			return z
		}
		if kind != ZoneIANA {
			z.refFloating, z.policy = true, policy
		}
		return z
	}
	if comp != nil {
		if custom := b.vtimezone(clean, comp, readRFC); custom != nil {
			use.Kind, use.Location = ZoneCustom, clean
			z := &zone{loc: custom}
			if ref := b.vtimezone(clean, comp, readICALJS); ref != nil && !sameZone(custom, ref) {
				z.ref, z.policy = ref, PolicyVTimezone
			}
			return z
		}
		b.log.add("VTIMEZONE %q defines no usable observance", clean)
	}
	use.Kind = ZoneUnknown
	f := b.floating
	return &zone{loc: f.loc, refFloating: f.refFloating, policy: f.policy, floatingSrc: true}
}

// maxVTimezoneBuilds bounds the VTIMEZONEs one feed may have built (the
// Parser's cache serves repeats for free); past it, TZIDs are resolved by
// name only.
const maxVTimezoneBuilds = 64

// vtimezone returns the location a VTIMEZONE defines under one reading,
// from the Parser's cache.
func (b *builder) vtimezone(name string, comp *ical.Component, how vtzReading) *time.Location {
	key := name + "\n" + vtimezoneKey(comp)
	locs, ok := b.p.zones.customLocations(key)
	if !ok {
		if b.vtzBuilds >= maxVTimezoneBuilds {
			b.log.add("more than %d VTIMEZONEs; the rest are read by their TZID only", maxVTimezoneBuilds)
			return nil
		}
		b.vtzBuilds++
		locs = buildVTimezones(name, comp)
		b.p.zones.storeCustom(key, locs)
	}
	if how == readICALJS {
		return locs.icaljs
	}
	return locs.rfc
}

// propText returns the unescaped text of a component's first property
// name, or "". A value whose VALUE parameter names another type than
// TEXT is returned as written.
func propText(c *ical.Component, name string) string {
	p := c.Props.Get(name)
	if p == nil {
		return ""
	}
	if v := p.Params.Get("VALUE"); v != "" && !strings.EqualFold(v, "TEXT") {
		return p.Value
	}
	return unescapeText(p.Value)
}

// dateProp parses a DATE or DATE-TIME property, resolving its TZID.
func (b *builder) dateProp(p *ical.Prop) (dateValue, error) {
	v := p.Value
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	return b.dateValueOf(v, p.Params)
}

// dateValueOf parses one value with its property's parameters.
func (b *builder) dateValueOf(v string, params ical.Params) (dateValue, error) {
	dv, err := parseDateTime(v)
	if err != nil {
		return dateValue{}, err
	}
	if dv.date || dv.utc {
		return dv, nil
	}
	if tzid := params.Get("TZID"); strings.TrimSpace(tzid) != "" {
		dv.zone = b.zoneFor(tzid)
		if c := dv.zone.check; c != nil {
			c.saw(dv.wall)
		}
	} else {
		dv.zone = b.floating
	}
	return dv, nil
}

// event interprets one VEVENT; it returns nil and the reason when the
// component cannot be used.
func (b *builder) event(c *ical.Component) (*Event, string) {
	e := &Event{
		UID:         propText(c, "UID"),
		Summary:     propText(c, "SUMMARY"),
		Description: propText(c, "DESCRIPTION"),
		Location:    propText(c, "LOCATION"),
		Status:      Status(strings.ToUpper(strings.TrimSpace(propText(c, "STATUS")))),
	}
	if p := c.Props.Get("URL"); p != nil {
		e.URL = strings.TrimSpace(p.Value)
	}
	for _, name := range []string{"SUMMARY", "DESCRIPTION", "LOCATION"} {
		if p := c.Props.Get(name); p != nil && p.Params.Get(charsetMarker) != "" {
			e.charset = true
		}
	}
	if p := c.Props.Get("SEQUENCE"); p != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(p.Value)); err == nil {
			e.Sequence = n
		}
	}
	for _, p := range c.Props["CATEGORIES"] {
		for _, v := range splitText(p.Value) {
			if v = strings.TrimSpace(v); v != "" {
				e.Categories = append(e.Categories, v)
			}
		}
	}
	ds := c.Props.Get("DTSTART")
	if ds == nil {
		return nil, "no DTSTART"
	}
	start, err := b.dateProp(ds)
	if err != nil {
		return nil, fmt.Sprintf("bad DTSTART: %v", err)
	}
	e.start = start
	if p := c.Props.Get("RECURRENCE-ID"); p != nil {
		rid, err := b.dateProp(p)
		if err != nil {
			return nil, fmt.Sprintf("bad RECURRENCE-ID: %v", err)
		}
		e.recurID, e.hasRecur = rid, true
		e.RecurrenceID = rid.instant()
		e.ThisAndFuture = strings.EqualFold(p.Params.Get("RANGE"), "THISANDFUTURE")
	}
	// RFC 5545 forbids DTEND with DURATION; endOf decides when both
	// occur.
	if p := c.Props.Get("DURATION"); p != nil {
		d, err := parseDuration(p.Value)
		if err != nil {
			b.log.add("ignored a bad DURATION: %v", err)
		} else {
			e.dur, e.hasDur = d, true
		}
	}
	if p := c.Props.Get("DTEND"); p != nil {
		end, err := b.dateProp(p)
		if err != nil {
			b.log.add("ignored a bad DTEND: %v", err)
		} else {
			e.end, e.hasEnd = end, true
		}
	}
	if !e.hasRecur {
		b.recurrence(c, e)
	}
	e.AllDay = start.date
	e.Floating = start.floating()
	e.Start, e.startPolicy = start.resolve()
	if e.hasEnd {
		endAt, endPolicy := e.end.resolve()
		e.span = endAt.Sub(e.Start)
		e.durPolicy = e.startPolicy.join(endPolicy)
	}
	if e.ruleIgnored && !e.Recurring {
		e.startPolicy = e.startPolicy.join(PolicyRuleIgnored)
	}
	var endPolicy Policy
	e.End, endPolicy = e.endOf(start, e.Start, b.p.cfg.DefaultDuration)
	e.Policy = e.startPolicy.join(endPolicy)
	if e.charset {
		e.Policy = e.Policy.join(PolicyCharset)
	}
	return e, ""
}

// recurrence reads RRULE, RDATE and EXDATE.
func (b *builder) recurrence(c *ical.Component, e *Event) {
	note := func(format string, args ...any) {
		b.log.add("UID %q: %s", e.UID, fmt.Sprintf(format, args...))
	}
	for _, p := range c.Props["RRULE"] {
		r, err := parseRule(p.Value, note)
		if err != nil {
			note("%v; the rule is ignored", err)
			e.ruleIgnored = true
			continue
		}
		if r.hasUntil {
			r.until = b.untilValue(r.until, e.start, note)
		}
		e.rules = append(e.rules, r)
	}
	for _, p := range c.Props["RDATE"] {
		period := strings.EqualFold(p.Params.Get("VALUE"), "PERIOD")
		for _, v := range splitValues(p.Value) {
			rd, err := b.rdateValue(v, p.Params, period)
			if err != nil {
				note("ignored an RDATE: %v", err)
				continue
			}
			e.rdates = append(e.rdates, rd)
		}
	}
	for _, p := range c.Props["EXDATE"] {
		for _, v := range splitValues(p.Value) {
			x, err := b.dateValueOf(v, p.Params)
			if err != nil {
				note("ignored an EXDATE: %v", err)
				continue
			}
			e.exdates = append(e.exdates, x)
		}
	}
	e.Recurring = len(e.rules) > 0 || len(e.rdates) > 0
}

// untilValue fixes an UNTIL whose type does not match DTSTART: a DATE
// UNTIL for a timed DTSTART (which Google writes) includes that whole day,
// read in DTSTART's zone; a floating UNTIL is read in DTSTART's zone.
func (b *builder) untilValue(u, start dateValue, note func(string, ...any)) dateValue {
	switch {
	case u.date && !start.date:
		note("RRULE UNTIL is a DATE for a DATE-TIME DTSTART; read as the end of that day")
	case !u.date && !u.utc && !start.date:
		u.zone = start.zone
	}
	return u
}

// rdate is one RDATE value: an instant, or a PERIOD with its end.
type rdate struct {
	start  dateValue
	end    time.Time
	hasEnd bool
}

// rdateValue parses an RDATE value: a DATE, a DATE-TIME or a PERIOD
// ("start/end" or "start/duration").
func (b *builder) rdateValue(v string, params ical.Params, period bool) (rdate, error) {
	if i := strings.IndexByte(v, '/'); i >= 0 || period {
		if i < 0 {
			return rdate{}, errors.New("PERIOD without '/'")
		}
		ps := params
		if strings.EqualFold(ps.Get("VALUE"), "PERIOD") {
			ps = ical.Params{"TZID": params["TZID"]}
		}
		start, err := b.dateValueOf(v[:i], ps)
		if err != nil {
			return rdate{}, err
		}
		rest := v[i+1:]
		if strings.HasPrefix(rest, "P") || strings.HasPrefix(rest, "+P") || strings.HasPrefix(rest, "-P") {
			d, err := parseDuration(rest)
			if err != nil {
				return rdate{}, err
			}
			return rdate{start: start, end: addDuration(start, d), hasEnd: true}, nil
		}
		end, err := b.dateValueOf(rest, ps)
		if err != nil {
			return rdate{}, err
		}
		return rdate{start: start, end: end.instant(), hasEnd: true}, nil
	}
	start, err := b.dateValueOf(v, params)
	if err != nil {
		return rdate{}, err
	}
	return rdate{start: start}, nil
}

// addDuration adds an RFC 5545 duration to a value: days on the wall
// clock (or calendar, for a DATE), then the exact part.
func addDuration(v dateValue, d duration) time.Time {
	switch {
	case v.date:
		// A DATE stays a date: the exact part is dropped.
		return v.wall.AddDate(0, 0, d.days)
	case v.utc:
		return v.wall.AddDate(0, 0, d.days).Add(d.exact)
	}
	return v.withWall(v.wall.AddDate(0, 0, d.days)).instant().Add(d.exact)
}

// endOf returns the end of the instance of e that starts at start
// (placed at instant): DTEND keeps the exact duration between DTSTART and
// DTEND (whole days for DATE values), DURATION adds nominal days on the
// wall clock and the rest exactly (RFC 5545 section 3.8.5.3), and with
// neither a DATE lasts a day and a DATE-TIME lasts def. The policy is
// PolicyExactDuration when a wall-clock reading of DTEND's duration
// would give another end.
//
// RFC 5545 forbids DTEND with DURATION. When both occur, as ical.js reads
// them, a master or single event takes DURATION and an override DTEND.
func (e *Event) endOf(start dateValue, instant time.Time, def time.Duration) (time.Time, Policy) {
	useEnd := e.hasEnd && (!e.hasDur || e.hasRecur)
	switch {
	case useEnd && start.date:
		days := int(e.span.Hours() / 24)
		return start.wall.AddDate(0, 0, days), ""
	case useEnd:
		d := e.span
		end := instant.Add(d)
		// The duration inherits the policies that placed DTSTART and
		// DTEND; a wall-clock reading (ical.js, which also takes the
		// offset after a change) may give another end.
		policy := e.durPolicy
		if !start.utc && start.zone != nil && start.zone.loc != nil {
			if _, wallEnd := start.zone.placeLoc(start.wall.Add(d)); !wallEnd.Equal(end) {
				policy = policy.join(PolicyExactDuration)
			}
		}
		return end, policy
	case e.hasDur:
		return addDuration(start, e.dur), ""
	case start.date:
		return start.wall.AddDate(0, 0, 1), ""
	}
	return instant.Add(def), ""
}
