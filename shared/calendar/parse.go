package calendar

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-ical"
)

// Defaults for the zero Config.
const (
	// DefaultMaxPerSeries is the per-series occurrence cap of Expand.
	DefaultMaxPerSeries = 10000
	// DefaultMaxFeedBytes is the largest feed Parse accepts.
	DefaultMaxFeedBytes = 32 << 20
	// DefaultMaxSteps is the work budget of one series in one Expand:
	// the candidate periods, days and times of day its rules may
	// examine, in or out of the window (a few tens of milliseconds).
	DefaultMaxSteps = 1_000_000
	// DefaultMaxFeedSteps is the work budget of a whole feed in one
	// Expand, shared by its series (about half a second).
	DefaultMaxFeedSteps = 20_000_000
	// DefaultMaxOccurrences bounds the occurrences of one feed in one
	// Expand.
	DefaultMaxOccurrences = 250_000
	// DefaultMaxPeriodInstants is the most instants one period of an
	// RRULE may have before the rule is ignored.
	DefaultMaxPeriodInstants = 100_000
	// DefaultMaxComponents is the most top-level components (VEVENTs,
	// VTIMEZONEs, ...) Parse reads from one feed: ten times what a real
	// feed of the largest size fetched (10 MiB) holds.
	DefaultMaxComponents = 100_000
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
	// MaxSteps is the work budget of one series (the masters and
	// overrides of a UID) in one Expand. Each candidate period, day and
	// time of day its rules examine costs a step, and each instance they
	// yield three more (placing it in its zone), whether or not it
	// becomes an occurrence; looking at the overrides again for each
	// further master of the UID costs a step per override. A series
	// with rules gets no more than an equal share of what is left of
	// MaxFeedSteps among the series with rules still to expand (but at
	// least MaxSteps/50), so that hostile series cannot starve the
	// others. A series that reaches its budget is cut short and listed
	// in Expansion.Problems. 0 means DefaultMaxSteps.
	MaxSteps int
	// MaxFeedSteps is the work budget of all the series of a feed in one
	// Expand: many hostile events cost no more than it. Once it is
	// spent, rules are no longer evaluated (DTSTARTs, RDATEs and
	// overrides are still listed); the first 100 series cut short are
	// listed in Expansion.Problems and the rest counted. 0 means
	// DefaultMaxFeedSteps.
	MaxFeedSteps int
	// MaxPeriodInstants bounds the instants one period of an RRULE may
	// have (a year of a YEARLY rule, a day of a DAILY one: the product
	// of its BY parts, as far as it can be bounded before expanding). A
	// rule that may have more is ignored as invalid (PolicyRuleIgnored,
	// with a note in Stats.Repairs that names it). 0 means
	// DefaultMaxPeriodInstants.
	MaxPeriodInstants int
	// MaxComponents caps the top-level components (VEVENT, VTIMEZONE,
	// VTODO, ...) Parse reads from one feed; the components after it
	// are dropped, with a note in Stats.Repairs. It bounds the memory a
	// feed of many tiny events takes. 0 means DefaultMaxComponents.
	MaxComponents int
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
	if cfg.MaxFeedSteps <= 0 {
		cfg.MaxFeedSteps = DefaultMaxFeedSteps
	}
	if cfg.MaxPeriodInstants <= 0 {
		cfg.MaxPeriodInstants = DefaultMaxPeriodInstants
	}
	if cfg.MaxComponents <= 0 {
		cfg.MaxComponents = DefaultMaxComponents
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
	lines, ok := repairFeedLimited(data, &log, repairLimits{ctx: ctx, maxComponents: p.cfg.MaxComponents})
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("parse feed: %w", err)
	}
	if !ok {
		return nil, fmt.Errorf("parse feed: no VCALENDAR or VEVENT found: %w", ErrInvalidFeed)
	}
	feed, fallback := decode(ctx, lines, &log)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("parse feed: %w", err)
	}
	b := &builder{
		p: p,
		cal: &Calendar{maxPerSeries: p.cfg.MaxPerSeries, maxSteps: p.cfg.MaxSteps,
			maxFeedSteps: p.cfg.MaxFeedSteps, maxTotal: p.cfg.MaxOccurrences},
		vtz:       make(map[string]*ical.Component),
		vtzAny:    make(map[string]*ical.Component),
		vtzFold:   make(map[string]*ical.Component),
		zones:     make(map[string]*zone),
		zonesByID: make(map[string]*zone),
		log:       &log,
		ctx:       ctx,
	}
	b.cal.Stats.Bytes = len(data)
	b.cal.Stats.DecodeFallback = fallback
	if err := b.build(ctx, feed); err != nil {
		return nil, fmt.Errorf("parse feed: %w", err)
	}
	b.cal.Stats.Repairs = log.list()
	return b.cal, nil
}

// feedTree is the decoded feed: the VCALENDAR's properties and its
// top-level components. Components are built from the repaired lines
// one at a time, when asked for, so that the whole feed is never held
// as go-ical components (a map per component and per parameter list:
// several times the size of the feed).
type feedTree struct {
	// root holds the VCALENDAR's properties, and its components when
	// go-ical's decoder built them (spans is nil then).
	root  *ical.Component
	tb    *treeBuilder
	spans []span
}

// span is the lines of one top-level component: BEGIN at begin, END at
// end.
type span struct{ begin, end int }

// len returns the number of top-level components.
func (f *feedTree) len() int {
	if f.spans == nil {
		return len(f.root.Children)
	}
	return len(f.spans)
}

// name returns the name of top-level component i, upper-cased.
func (f *feedTree) name(i int) string {
	if f.spans == nil {
		return f.root.Children[i].Name
	}
	return strings.ToUpper(f.tb.lines[f.spans[i].begin].value)
}

// child returns top-level component i.
func (f *feedTree) child(i int) *ical.Component {
	if f.spans == nil {
		return f.root.Children[i]
	}
	return f.tb.component(f.spans[i].begin, f.spans[i].end)
}

// decode turns the repaired lines into go-ical components.
//
// The repair pass has already tokenized every line, so the components
// are built from its tokens, as go-ical's decoder would build them from
// their text: decoding the text again cost a third of a hub's
// aggregation. TestTreeMatchesGoical holds the two equal on every test
// feed, the corpus and the fuzz seeds. Lines whose BEGIN and END do not
// pair (the repair pass never returns such) go to go-ical's decoder, and
// if it fails on the whole, each top-level component is decoded on its
// own and the broken ones are dropped (and reported).
func decode(ctx context.Context, lines []contentLine, log *repairLog) (*feedTree, bool) {
	tb := &treeBuilder{ctx: ctx, lines: lines}
	if root, spans, ok := tb.outline(); ok {
		return &feedTree{root: root, tb: tb, spans: spans}, false
	}
	if ctx.Err() != nil {
		return &feedTree{root: ical.NewComponent(ical.CompCalendar)}, false
	}
	cal, err := decodeICS(render(lines))
	if err == nil {
		return &feedTree{root: cal.Component}, false
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
	return &feedTree{root: root}, true
}

// treeBuilder builds go-ical components from repaired lines. When ctx
// is done it stops, and what it returns is to be thrown away.
type treeBuilder struct {
	ctx    context.Context
	lines  []contentLine
	shared paramCache
	// Scratch space of component, reused from one component to the next.
	counts []int32
	open   []int
	stack  []treeNode
}

// treeNode is a component being built, with room for its properties.
type treeNode struct {
	c    *ical.Component
	vals []ical.Prop
}

// outline checks that the lines are one VCALENDAR whose BEGIN and END
// lines pair, and returns the VCALENDAR with its properties and the
// spans of its components.
func (tb *treeBuilder) outline() (*ical.Component, []span, bool) {
	lines := tb.lines
	last := len(lines) - 1
	if last < 1 || lines[0].name != "BEGIN" || !strings.EqualFold(lines[0].value, ical.CompCalendar) ||
		lines[last].name != "END" || !strings.EqualFold(lines[last].value, lines[0].value) {
		return nil, nil, false
	}
	var open []int // the BEGIN lines of the components open
	var spans []span
	props := 0
	for i := 1; i < last; i++ {
		if i%linePoll == 0 && tb.ctx.Err() != nil {
			return nil, nil, false
		}
		switch lines[i].name {
		case "BEGIN":
			open = append(open, i)
		case "END":
			if len(open) == 0 {
				return nil, nil, false // the VCALENDAR ends early
			}
			b := open[len(open)-1]
			if !strings.EqualFold(lines[i].value, lines[b].value) {
				return nil, nil, false
			}
			open = open[:len(open)-1]
			if len(open) == 0 {
				spans = append(spans, span{b, i})
			}
		default:
			if len(open) == 0 {
				props++
			}
		}
	}
	if len(open) != 0 {
		return nil, nil, false
	}
	root := &ical.Component{Name: ical.CompCalendar, Props: make(ical.Props, props)}
	vals := make([]ical.Prop, 0, props)
	next := 0 // the next span
	for i := 1; i < last; i++ {
		if next < len(spans) && i == spans[next].begin {
			i = spans[next].end
			next++
			continue
		}
		tb.addProp(root, &vals, &lines[i])
	}
	return root, spans, true
}

// component builds the component whose BEGIN and END lines are
// lines[begin] and lines[end] (outline has checked that they pair).
func (tb *treeBuilder) component(begin, end int) *ical.Component {
	lines := tb.lines[begin : end+1]
	// Count each component's own properties first, so that its Props
	// map and their values are allocated once.
	if cap(tb.counts) < len(lines) {
		tb.counts = make([]int32, len(lines))
	}
	counts := tb.counts[:len(lines)]
	clear(counts)
	open := tb.open[:0]
	for i := range lines {
		switch lines[i].name {
		case "BEGIN":
			open = append(open, i)
		case "END":
			open = open[:len(open)-1]
		default:
			counts[open[len(open)-1]]++
		}
	}
	tb.open = open
	stack := tb.stack[:0]
	defer func() { tb.stack = stack[:0] }()
	var top *ical.Component
	for i := range lines {
		if i%linePoll == linePoll-1 && tb.ctx.Err() != nil {
			// Cancelled: the caller returns ctx's error. What is
			// built is a valid component, if an incomplete one.
			break
		}
		l := &lines[i]
		switch l.name {
		case "BEGIN":
			n := counts[i]
			c := &ical.Component{Name: strings.ToUpper(l.value), Props: make(ical.Props, n)}
			if len(stack) > 0 {
				parent := stack[len(stack)-1].c
				parent.Children = append(parent.Children, c)
			} else {
				top = c
			}
			stack = append(stack, treeNode{c, make([]ical.Prop, 0, n)})
		case "END":
			stack = stack[:len(stack)-1]
		default:
			n := &stack[len(stack)-1]
			tb.addProp(n.c, &n.vals, l)
		}
	}
	return top
}

// addProp adds a line's property to c, whose first values go into vals.
func (tb *treeBuilder) addProp(c *ical.Component, vals *[]ical.Prop, l *contentLine) {
	prop := ical.Prop{Name: l.name, Value: l.value, Params: tb.shared.params(l.params)}
	if have := c.Props[l.name]; have != nil {
		c.Props[l.name] = append(have, prop)
		return
	}
	// A first value sits in the component's array, capped so that a
	// second one moves the name's values out of it.
	k := len(*vals)
	*vals = append(*vals, prop)
	c.Props[l.name] = (*vals)[k : k+1 : k+1]
}

// paramCache hands out the Params of properties, one map for each
// distinct single parameter with a single value (up to maxSharedParams
// of them).
type paramCache struct {
	maps map[string]map[string]ical.Params // by name and value
	n    int
}

// maxSharedParams bounds the Params maps a paramCache keeps for one
// feed: a feed with a TZID per event cannot make it hold a map for each.
const maxSharedParams = 1024

// params returns the Params of ps, nil for none.
func (pc *paramCache) params(ps []param) ical.Params {
	if len(ps) == 0 {
		return nil
	}
	single := len(ps) == 1 && len(ps[0].values) == 1
	if single {
		if m, ok := pc.maps[ps[0].name][ps[0].values[0]]; ok {
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
	if single && pc.n < maxSharedParams {
		if pc.maps == nil {
			pc.maps = make(map[string]map[string]ical.Params)
		}
		if pc.maps[ps[0].name] == nil {
			pc.maps[ps[0].name] = make(map[string]ical.Params)
		}
		pc.maps[ps[0].name][ps[0].values[0]] = m
		pc.n++
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
	vtzFold   map[string]*ical.Component // by lower-cased TZID
	zones     map[string]*zone           // by scopedKey
	zonesByID map[string]*zone           // by TZID, the first calendar's
	overflow  *zone                      // TZIDs past maxZoneLookups
	floating  *zone
	log       *repairLog
	curCal    string // calendar of the component being read
	vtzBuilds int    // VTIMEZONEs built for this feed
	vtzWork   *work  // the budget of their rules
	rules     map[string]*parsedRule
	ctx       context.Context
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

// build fills the Calendar from the decoded feed. Its components are
// built one at a time and dropped once read (the VTIMEZONEs, which
// events refer to, are kept).
func (b *builder) build(ctx context.Context, f *feedTree) error {
	c := b.cal
	root := f.root
	c.ProdID = propText(root, "PRODID")
	if c.ProdID == repairedProdID {
		c.ProdID = ""
	}
	c.Name = propText(root, "X-WR-CALNAME")
	c.Timezone = strings.TrimSpace(propText(root, "X-WR-TIMEZONE"))
	c.Stats.ProdID = c.ProdID
	n := f.len()
	for i := range n {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if f.name(i) != "VTIMEZONE" {
			continue
		}
		child := f.child(i)
		if id := strings.Trim(strings.TrimSpace(propText(child, "TZID")), `"'`); id != "" {
			if _, dup := b.vtzAny[id]; !dup {
				b.vtzAny[id] = child
			}
			if _, dup := b.vtzFold[strings.ToLower(id)]; !dup {
				b.vtzFold[strings.ToLower(id)] = child
			}
			if k := scopedKey(calendarOf(child), id); b.vtz[k] == nil {
				b.vtz[k] = child
			}
		}
	}
	b.floating = b.floatingZone()
	for i := range n {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		switch name := f.name(i); {
		case name == ical.CompEvent:
			child := f.child(i)
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
			if f.spans != nil && f.spans[i].end-f.spans[i].begin > linePoll || len(ev.rdates)+len(ev.exdates) > linePoll {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		case strings.HasPrefix(name, "X-BROKEN-VEVENT"):
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
		if ev.ruleIgnored {
			c.Stats.RulesIgnored++
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
		b.log.add("X-WR-TIMEZONE %q names no known zone; ignored", clip(name, 64))
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
	if len(b.zones) >= maxZoneLookups {
		// Each resolution may read zoneinfo files several times.
		if z, ok := b.zonesByID[tzid]; ok {
			return z
		}
		if b.overflow == nil {
			b.log.add("more than %d distinct TZIDs; the rest are floating unless an earlier calendar of the feed resolved them", maxZoneLookups)
			f := b.floating
			b.overflow = &zone{loc: f.loc, refFloating: f.refFloating, policy: f.policy, floatingSrc: true}
		}
		return b.overflow
	}
	z := b.resolveTZID(tzid)
	b.zones[k] = z
	if _, ok := b.zonesByID[tzid]; !ok {
		b.zonesByID[tzid] = z
	}
	return z
}

// maxZoneLookups bounds the TZIDs (per VCALENDAR of the feed) one feed
// has resolved: resolving an unknown name reads zoneinfo files several
// times.
const maxZoneLookups = 1000

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
		comp = b.vtzFold[strings.ToLower(clean)]
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
	sum := sha256.Sum256([]byte(name + "\n" + vtimezoneKey(comp)))
	key := string(sum[:])
	locs, ok := b.p.zones.customLocations(key)
	if !ok {
		if b.vtzBuilds >= maxVTimezoneBuilds {
			b.log.add("more than %d VTIMEZONEs; the rest are read by their TZID only", maxVTimezoneBuilds)
			return nil
		}
		b.vtzBuilds++
		if b.vtzWork == nil {
			b.vtzWork = newWork(b.ctx, vtzMaxSteps, math.MaxInt)
		}
		var complete bool
		locs, complete = buildVTimezones(name, comp, b.vtzWork)
		if b.vtzWork.err != nil {
			return nil // Parse is cancelled
		}
		if !complete {
			b.log.add("VTIMEZONE %q: its rules need more than %d steps; its transitions stop there", clip(name, 64), vtzMaxSteps)
		}
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
CATEGORIES:
	for _, p := range c.Props["CATEGORIES"] {
		for v := range textValues(p.Value) {
			if v = strings.TrimSpace(v); v == "" {
				continue
			}
			if len(e.Categories) == maxCategories {
				b.log.add("UID %q: more than %d CATEGORIES; the rest are ignored", clip(e.UID, 64), maxCategories)
				break CATEGORIES
			}
			e.Categories = append(e.Categories, v)
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

// parsedRule is an RRULE value parsed once per feed: events that share
// the text share its options.
type parsedRule struct {
	spec  ruleSpec
	notes []string // parseRule's notes
	err   string   // why the rule is ignored, or ""
}

// rule parses an RRULE value, or returns it from the feed's cache. A
// rule that may have more than Config.MaxPeriodInstants instants per
// period is ignored: the count depends only on the text (the parts
// spelled out from DTSTART have one value each).
func (b *builder) rule(text string) *parsedRule {
	if pr, ok := b.rules[text]; ok {
		return pr
	}
	pr := &parsedRule{}
	spec, err := parseRule(text, func(format string, args ...any) {
		pr.notes = append(pr.notes, fmt.Sprintf(format, args...))
	})
	switch {
	case err != nil:
		pr.err = err.Error() + "; the rule is ignored"
	default:
		anyStart := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
		if n, period := compileRule(spellOut(*spec.opt, anyStart)).periodInstants(); n > int64(b.p.cfg.MaxPeriodInstants) {
			pr.err = fmt.Sprintf("RRULE %s would generate up to %d instants per %s, more than %d (Config.MaxPeriodInstants); the rule is ignored",
				clip(text, 200), n, period, b.p.cfg.MaxPeriodInstants)
		}
	}
	pr.spec = spec
	if b.rules == nil {
		b.rules = make(map[string]*parsedRule)
	}
	b.rules[text] = pr
	return pr
}

// maxRules bounds the RRULEs of one event (RFC 5545 allows one; RFC
// 2445 producers write a few): every instance is chosen among them.
const maxRules = 16

// clip returns s, cut to about n bytes with an ellipsis when longer.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// recurrence reads RRULE, RDATE and EXDATE.
func (b *builder) recurrence(c *ical.Component, e *Event) {
	note := func(format string, args ...any) {
		b.log.add("UID %q: %s", clip(e.UID, 64), fmt.Sprintf(format, args...))
	}
	for i, p := range c.Props["RRULE"] {
		if i == maxRules {
			note("%d RRULEs; only the first %d are used", len(c.Props["RRULE"]), maxRules)
			e.ruleIgnored = true
			break
		}
		pr := b.rule(p.Value)
		for _, n := range pr.notes {
			note("%s", n)
		}
		if pr.err != "" {
			note("%s", pr.err)
			e.ruleIgnored = true
			continue
		}
		r := pr.spec
		if r.hasUntil {
			r.until = b.untilValue(r.until, e.start, note)
		}
		e.rules = append(e.rules, r)
	}
	var bad valueErrors
	values := 0
RDATEs:
	for _, p := range c.Props["RDATE"] {
		period := strings.EqualFold(p.Params.Get("VALUE"), "PERIOD")
		for v := range listValues(p.Value) {
			if values++; values > maxDateValues {
				note("more than %d RDATE values; the rest are ignored", maxDateValues)
				break RDATEs
			}
			if values%linePoll == 0 && b.ctx.Err() != nil {
				return // build notices
			}
			rd, err := b.rdateValue(v, p.Params, period)
			if err != nil {
				bad.add(err)
				continue
			}
			e.rdates = append(e.rdates, rd)
		}
	}
	bad.report("RDATE", note)
	bad, values = valueErrors{}, 0
EXDATEs:
	for _, p := range c.Props["EXDATE"] {
		for v := range listValues(p.Value) {
			if values++; values > maxDateValues {
				note("more than %d EXDATE values; the rest are ignored", maxDateValues)
				break EXDATEs
			}
			if values%linePoll == 0 && b.ctx.Err() != nil {
				return // build notices
			}
			x, err := b.dateValueOf(v, p.Params)
			if err != nil {
				bad.add(err)
				continue
			}
			e.exdates = append(e.exdates, x)
		}
	}
	bad.report("EXDATE", note)
	e.Recurring = len(e.rules) > 0 || len(e.rdates) > 0
}

// maxDateValues caps the RDATE values, and the EXDATE values, of one
// event.
const maxDateValues = 100_000

// maxCategories caps the CATEGORIES values of one event.
const maxCategories = 1000

// valueErrors collects the values of a property that are ignored, so
// that a list of millions costs one note.
type valueErrors struct {
	n     int
	first error
}

// add records an ignored value.
func (v *valueErrors) add(err error) {
	if v.n == 0 {
		v.first = err
	}
	v.n++
}

// report notes the ignored values, if any.
func (v *valueErrors) report(name string, note func(string, ...any)) {
	switch v.n {
	case 0:
	case 1:
		note("ignored an %s: %v", name, v.first)
	default:
		note("ignored %d %s values (the first: %v)", v.n, name, v.first)
	}
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
