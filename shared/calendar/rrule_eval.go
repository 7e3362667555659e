package calendar

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/teambition/rrule-go"
)

// This file evaluates RRULEs lazily. rrule-go (kept as the test oracle,
// see TestEvalMatchesRRuleGo) builds a whole period's instants in one
// uninterruptible step: a YEARLY rule with every BYMONTHDAY, BYHOUR,
// BYMINUTE and BYSECOND is 31 million instants at once, and a rule that
// matches nothing makes it scan to the year 9999. ruleEval walks the
// same periods but keeps the candidate days of one period (at most 373)
// and indexes the day × time product arithmetically, so nothing larger
// is ever materialised; every candidate it examines (a period, a day, a
// time of day) costs a unit of a work budget, and it never looks past a
// limit date. The instants, their order and the BYSETPOS, BYWEEKNO,
// BYDAY and COUNT readings are rrule-go's (and so python-dateutil's).

// secondsPerDay is the length of a calendar day on the wall clock.
const secondsPerDay = 86400

// floorDiv returns a/b rounded toward minus infinity, for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// floorMod returns a mod b in [0, b), for b > 0.
func floorMod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// dayNumber returns the number of days from 1970-01-01 to a date of the
// proleptic Gregorian calendar; the month may be 13 (January of y+1).
func dayNumber(y, m, d int) int64 {
	if m > 12 {
		y, m = y+1, m-12
	}
	yy := int64(y)
	if m <= 2 {
		yy--
	}
	era := floorDiv(yy, 400)
	yoe := yy - era*400
	mp := int64((m + 9) % 12)
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civil returns the date of a day number.
func civil(z int64) (y, m, d int) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	m = int(mp + 3)
	if m > 12 {
		m -= 12
	}
	y = int(yoe + era*400)
	if m <= 2 {
		y++
	}
	return y, m, d
}

// weekdayOf returns the weekday of a day number, Monday = 0 (rrule-go's
// and dateutil's numbering, which WKST and BYDAY use).
func weekdayOf(z int64) int { return int(floorMod(z+3, 7)) }

// isLeap reports a Gregorian leap year.
func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// yearLength returns the days of year y.
func yearLength(y int) int {
	if isLeap(y) {
		return 366
	}
	return 365
}

// monthStart returns the day of the year (from 0) on which month m
// (1-13) begins.
func monthStart(m int, leap bool) int {
	s := [...]int{0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365}[m]
	if leap && m > 2 {
		s++
	}
	return s
}

// wallSeconds returns a wall clock (a time in UTC) as seconds from
// 1970-01-01T00:00:00.
func wallSeconds(t time.Time) int64 { return t.Unix() }

// wallTime is the inverse of wallSeconds.
func wallTime(s int64) time.Time { return time.Unix(s, 0).UTC() }

// work is the work budget of one expansion. Rule evaluation spends a unit
// on every candidate it examines (a period, a day, a time of day), so
// the budget bounds the work done, not the instants produced. Each series
// has its own budget and the feed one for all of them, so a feed of many
// hostile series costs no more than the feed budget. The context is
// polled every few thousand units.
type work struct {
	ctx    context.Context
	series int64 // units left for the current series
	feed   int64 // units left for the feed
	used   int64 // units spent
	poll   int64 // units until the next look at ctx
	err    error // ctx's error, once seen
	// free holds evaluations to reuse (see newEval).
	free []*ruleEval
	// refused reports a charge refused since startSeries; feedOut,
	// that the last one ran into the feed's budget rather than the
	// series'.
	refused, feedOut bool
	// seriesLimit and feedLimit are the budgets; seriesStart is the
	// current series' (see startSeries).
	seriesLimit, feedLimit, seriesStart int64
}

// workPoll is how many units are spent between looks at the context: a
// few hundred microseconds of evaluation.
const workPoll = 1 << 14

// newWork returns a budget of feed units, perSeries of them for each
// series (see startSeries).
func newWork(ctx context.Context, perSeries, feed int) *work {
	return &work{ctx: ctx, series: int64(perSeries), feed: int64(feed), poll: workPoll,
		seriesLimit: int64(perSeries), feedLimit: int64(feed)}
}

// startSeries gives the next series its own budget: the per-series
// budget, or share when that is smaller (0: no share).
func (w *work) startSeries(share int64) {
	w.series, w.refused = w.seriesLimit, false
	if share > 0 && share < w.series {
		w.series = share
	}
	w.seriesStart = w.series
}

// spend takes n units and reports whether the budget allowed them; a
// charge the budget cannot meet is refused whole, so used never exceeds
// the budgets.
func (w *work) spend(n int64) bool {
	w.poll -= n
	if w.poll <= 0 {
		w.poll = workPoll
		if err := w.ctx.Err(); err != nil && w.err == nil {
			w.err = err
		}
	}
	switch {
	case w.err != nil:
		w.refused = true
		return false
	case n > w.feed:
		w.feedOut, w.refused = true, true
		return false
	case n > w.series:
		w.feedOut, w.refused = false, true
		return false
	}
	w.used += n
	w.series -= n
	w.feed -= n
	return true
}

// newEval returns a ruleEval to fill, one released before if any: an
// expansion of many series makes as many evaluations, and they would
// otherwise be most of its garbage.
func (w *work) newEval() *ruleEval {
	var e *ruleEval
	if n := len(w.free); n > 0 {
		e, w.free = w.free[n-1], w.free[:n-1]
	} else {
		e = &ruleEval{}
	}
	days, nth, counts := e.days[:0], e.compiled.nth[:0], e.counts
	clear(counts)
	*e = ruleEval{w: w, days: days, counts: counts}
	e.compiled.nth = nth
	e.c = &e.compiled
	return e
}

// release hands back an evaluation that is done with.
func (w *work) release(e *ruleEval) {
	if e != nil && len(w.free) < 64 {
		w.free = append(w.free, e)
	}
}

// alive looks at the context and reports whether it is still live; it
// is for loops that spend no units.
func (w *work) alive() bool {
	if w.err == nil {
		w.err = w.ctx.Err()
	}
	return w.err == nil
}

// exhausted says which budget the last refused charge ran into, for
// Expansion.Problems.
func (w *work) exhausted() string {
	switch {
	case w.err != nil:
		return "expansion cancelled"
	case w.feedOut:
		return feedExhausted
	case w.seriesStart < w.seriesLimit:
		return fmt.Sprintf("work budget of the series exhausted (%d steps: its share of what was left of Config.MaxFeedSteps); the series is cut short", w.seriesStart)
	}
	return fmt.Sprintf("work budget of the series exhausted (%d steps, Config.MaxSteps); the series is cut short", w.seriesLimit)
}

// feedExhausted is the problem of a series cut short by the feed's
// budget.
const feedExhausted = "work budget of the feed exhausted (Config.MaxFeedSteps); the series is cut short"

// bits367 is a set of the numbers 0 to 383.
type bits367 [6]uint64

func (b *bits367) set(i int)      { b[i>>6] |= 1 << (i & 63) }
func (b *bits367) has(i int) bool { return i >= 0 && i < 384 && b[i>>6]&(1<<(i&63)) != 0 }
func (b *bits367) clear()         { *b = bits367{} }
func (b *bits367) setRange(lo, hi int) { // [lo, hi)
	for i := max(lo, 0); i < min(hi, 384); i++ {
		b.set(i)
	}
}

// nthDay is a BYDAY with an ordinal: the n-th (from the end when
// negative) weekday wd of the month or year.
type nthDay struct{ wd, n int }

// compiledRule is a rule spelled out (see spellOut) and reduced to sets.
type compiledRule struct {
	freq     rrule.Frequency
	interval int64
	wkst     int
	months   uint16  // bit m: BYMONTH m; 0: any month
	mdays    uint32  // bit d: BYMONTHDAY d
	nmdays   uint32  // bit d: BYMONTHDAY -d
	ydays    bits367 // BYYEARDAY d
	nydays   bits367 // BYYEARDAY -d
	hasYdays bool
	weekNos  []int
	wdays    uint8 // bit w (Monday 0): a BYDAY that filters by weekday alone
	nth      []nthDay
	setpos   []int
	// hours, minutes and seconds are the BY lists, sorted and unique;
	// below HOURLY all three are set (spellOut fills them from DTSTART).
	// hourSet, minuteSet and secondSet hold them as bits.
	hours, minutes, seconds       []int
	hourSet, minuteSet, secondSet uint64
}

// intervalCap bounds INTERVAL per frequency: a larger one puts the
// second period past the year 10000 from any start, so it changes
// nothing. It keeps the arithmetic far from overflow.
func intervalCap(f rrule.Frequency) int64 {
	const days = 3_660_000 // 10,000 years
	switch f {
	case rrule.YEARLY:
		return 10_000
	case rrule.MONTHLY:
		return 120_000
	case rrule.WEEKLY:
		return days / 7
	case rrule.DAILY:
		return days
	case rrule.HOURLY:
		return days * 24
	case rrule.MINUTELY:
		return days * 1440
	}
	return days * secondsPerDay
}

// compileRule reduces a spelled-out rule to sets.
func compileRule(o rrule.ROption) *compiledRule {
	c := &compiledRule{}
	c.compile(o)
	return c
}

// compile reduces a spelled-out rule to sets, in c (whose nth slice is
// reused).
func (c *compiledRule) compile(o rrule.ROption) {
	*c = compiledRule{
		freq:     o.Freq,
		interval: min(int64(max(o.Interval, 1)), intervalCap(o.Freq)),
		wkst:     o.Wkst.Day(),
		nth:      c.nth[:0],
	}
	for _, m := range o.Bymonth {
		c.months |= 1 << m
	}
	for _, d := range o.Bymonthday {
		if d > 0 {
			c.mdays |= 1 << d
		} else {
			c.nmdays |= 1 << -d
		}
	}
	for _, d := range o.Byyearday {
		c.hasYdays = true
		if d > 0 {
			c.ydays.set(d)
		} else {
			c.nydays.set(-d)
		}
	}
	c.weekNos = o.Byweekno
	for _, wd := range o.Byweekday {
		if wd.N() == 0 || c.freq > rrule.MONTHLY {
			c.wdays |= 1 << wd.Day()
			continue
		}
		n := nthDay{wd: wd.Day(), n: wd.N()}
		if !slices.Contains(c.nth, n) {
			c.nth = append(c.nth, n)
		}
	}
	c.setpos = sortedUnique(o.Bysetpos)
	c.hours = sortedUnique(o.Byhour)
	c.minutes = sortedUnique(o.Byminute)
	c.seconds = sortedUnique(o.Bysecond)
	for _, h := range c.hours {
		c.hourSet |= 1 << h
	}
	for _, m := range c.minutes {
		c.minuteSet |= 1 << m
	}
	for _, s := range c.seconds {
		c.secondSet |= 1 << s
	}
}

// sortedUnique returns the values sorted, each once: v itself when it
// is so already (parseRule's lists are; the lists are only read).
func sortedUnique(v []int) []int {
	if len(v) == 0 {
		return nil
	}
	sorted := true
	for i := 1; i < len(v) && sorted; i++ {
		sorted = v[i-1] < v[i]
	}
	if sorted {
		return v
	}
	out := slices.Clone(v)
	slices.Sort(out)
	return slices.Compact(out)
}

// yearInfo is what the day filters need to know of one year, the
// context of a period: days are indexed from its January 1, and a
// WEEKLY period that crosses into the next year reads its last days
// with the same index (366 and up), as rrule-go does.
type yearInfo struct {
	year    int
	jan1    int64 // day number
	length  int
	nextLen int
	jan1wd  int
	leap    bool
	weekNo  bits367 // days BYWEEKNO selects, when the rule has it
}

// newYearInfo describes year y for rule c.
func (c *compiledRule) newYearInfo(y int) yearInfo {
	yi := yearInfo{year: y, jan1: dayNumber(y, 1, 1), length: yearLength(y), nextLen: yearLength(y + 1), leap: isLeap(y)}
	yi.jan1wd = weekdayOf(yi.jan1)
	if len(c.weekNos) > 0 {
		c.markWeekNos(&yi)
	}
	return yi
}

// markWeekNos fills yi.weekNo the way dateutil does (ISO 8601 weeks
// starting on WKST; week 1 is the first with four days in the year),
// including the first week of the next year and the last week of the
// previous one where they reach into this year.
func (c *compiledRule) markWeekNos(yi *yearInfo) {
	wkst := c.wkst
	wd := func(i int) int { return int(floorMod(int64(yi.jan1wd+i), 7)) }
	// mark selects the week that begins at day i: i and the days after
	// it up to the next WKST.
	mark := func(i int) {
		for j := 0; j < 7 && i >= 0 && i < 384; j++ {
			yi.weekNo.set(i)
			i++
			if wd(i) == wkst {
				break
			}
		}
	}
	firstWkst := int(floorMod(int64(7-yi.jan1wd+wkst), 7))
	no1 := firstWkst
	var wyearLen int
	if no1 >= 4 {
		no1 = 0
		wyearLen = yi.length + int(floorMod(int64(yi.jan1wd-wkst), 7))
	} else {
		wyearLen = yi.length - no1
	}
	numWeeks := wyearLen/7 + (wyearLen%7)/4
	weekStart := func(n int) int {
		if n == 1 {
			return no1
		}
		i := no1 + (n-1)*7
		if no1 != firstWkst {
			i -= 7 - firstWkst
		}
		return i
	}
	for _, n := range c.weekNos {
		if n < 0 {
			n += numWeeks + 1
		}
		if n > 0 && n <= numWeeks {
			mark(weekStart(n))
		}
	}
	if slices.Contains(c.weekNos, 1) {
		// Week 1 of the next year may begin in this one.
		i := no1 + numWeeks*7
		if no1 != firstWkst {
			i -= 7 - firstWkst
		}
		if i < yi.length {
			mark(i)
		}
	}
	if no1 != 0 {
		// The days before week 1 belong to the last week of the
		// previous year.
		lastWeek := -1
		if !slices.Contains(c.weekNos, -1) {
			lwd := weekdayOf(dayNumber(yi.year-1, 1, 1))
			lno1 := int(floorMod(int64(7-lwd+wkst), 7))
			if lno1 >= 4 {
				lastWeek = 52 + int(floorMod(int64(yearLength(yi.year-1)+int(floorMod(int64(lwd-wkst), 7))), 7))/4
			} else {
				lastWeek = 52 + int(floorMod(int64(yi.length-no1), 7))/4
			}
		}
		if slices.Contains(c.weekNos, lastWeek) {
			yi.weekNo.setRange(0, no1)
		}
	}
}

// markNth fills mask with the days (indexed in yi) that the ordinal
// BYDAYs select: within each month of BYMONTH (or the whole year) for
// YEARLY, within month for MONTHLY.
func (c *compiledRule) markNth(mask *bits367, yi *yearInfo, month int) {
	mask.clear()
	var ranges [][2]int
	switch {
	case c.freq == rrule.MONTHLY:
		ranges = append(ranges, [2]int{monthStart(month, yi.leap), monthStart(month+1, yi.leap)})
	case c.months != 0:
		for m := 1; m <= 12; m++ {
			if c.months&(1<<m) != 0 {
				ranges = append(ranges, [2]int{monthStart(m, yi.leap), monthStart(m+1, yi.leap)})
			}
		}
	default:
		ranges = append(ranges, [2]int{0, yi.length})
	}
	for _, r := range ranges {
		first, last := r[0], r[1]-1
		for _, x := range c.nth {
			var i int
			if x.n < 0 {
				i = last + (x.n+1)*7
				i -= int(floorMod(int64(yi.jan1wd+i-x.wd), 7))
			} else {
				i = first + (x.n-1)*7
				i += int(floorMod(int64(7-(yi.jan1wd+i)+x.wd), 7))
			}
			if first <= i && i <= last {
				mask.set(i)
			}
		}
	}
}

// dayOK reports whether day i of yi's context passes the rule's day
// filters (nth is the ordinal BYDAY mask of the period).
func (c *compiledRule) dayOK(yi *yearInfo, i int, nth *bits367) bool {
	var month, mday, nmday int
	if i < yi.length {
		month = 1
		for month < 12 && monthStart(month+1, yi.leap) <= i {
			month++
		}
		ms := monthStart(month, yi.leap)
		mday = i - ms + 1
		nmday = monthStart(month+1, yi.leap) - i // -BYMONTHDAY
	} else {
		// The first days of the next year, in a WEEKLY period: January.
		month, mday = 1, i-yi.length+1
		nmday = 32 - mday
	}
	if c.months != 0 && c.months&(1<<month) == 0 {
		return false
	}
	if len(c.weekNos) > 0 && !yi.weekNo.has(i) {
		return false
	}
	if c.wdays != 0 && c.wdays&(1<<((yi.jan1wd+i)%7)) == 0 {
		return false
	}
	if len(c.nth) > 0 && (c.freq == rrule.YEARLY || c.freq == rrule.MONTHLY) && !nth.has(i) {
		return false
	}
	if (c.mdays != 0 || c.nmdays != 0) && c.mdays&(1<<mday) == 0 && c.nmdays&(1<<nmday) == 0 {
		return false
	}
	if c.hasYdays {
		if i < yi.length {
			if !c.ydays.has(i+1) && !c.nydays.has(yi.length-i) {
				return false
			}
		} else if !c.ydays.has(i+1-yi.length) && !c.nydays.has(yi.nextLen-(i-yi.length)) {
			return false
		}
	}
	return true
}

// unitSeconds returns the length of a sub-daily frequency's unit.
func unitSeconds(f rrule.Frequency) int64 {
	switch f {
	case rrule.HOURLY:
		return 3600
	case rrule.MINUTELY:
		return 60
	}
	return 1
}

// timeSet is the sorted product of hours, minutes and seconds (the
// times of day of a day-level rule, or the offsets within a unit of a
// sub-daily one), indexed arithmetically rather than written out: it
// may have 86,400 members. A nil list stands for the single value 0.
// With sel, only the members at those indexes (BYSETPOS) are in it.
type timeSet struct {
	h, m, s []int
	sel     []int64
}

// raw returns the number of members before BYSETPOS.
func (t *timeSet) raw() int64 {
	return int64(max(len(t.h), 1) * max(len(t.m), 1) * max(len(t.s), 1))
}

// size returns the number of members.
func (t *timeSet) size() int64 {
	if t.sel != nil {
		return int64(len(t.sel))
	}
	return t.raw()
}

// at returns member k, in seconds.
func (t *timeSet) at(k int64) int64 {
	if t.sel != nil {
		k = t.sel[k]
	}
	ns, nm := int64(max(len(t.s), 1)), int64(max(len(t.m), 1))
	return 3600*pick(t.h, k/(nm*ns)) + 60*pick(t.m, k/ns%nm) + pick(t.s, k%ns)
}

// pick returns list[i], or 0 for a nil list.
func pick(list []int, i int64) int64 {
	if list == nil {
		return 0
	}
	return int64(list[i])
}

// pickAll returns list[i], or i when the list is empty: every value.
func pickAll(list []int, i int64) int64 {
	if len(list) == 0 {
		return i
	}
	return int64(list[i])
}

// lenAll returns the length of a BY list, or n when it is empty: every
// value of n.
func lenAll(list []int, n int) int64 {
	if len(list) == 0 {
		return int64(n)
	}
	return int64(len(list))
}

// ruleEval yields the instants of one rule in order, as wall seconds.
type ruleEval struct {
	c        *compiledRule // &compiled
	w        *work
	compiled compiledRule
	start    int64 // DTSTART: nothing before it is an instance
	skip     int64 // instants before it are not yielded (COUNT counts them)
	// limitDay is the last day a period or day may begin on.
	limitDay int64
	// left is what COUNT still allows; -1 without a COUNT.
	left int64
	// onlyStart: COUNT=1 whose instance is not DTSTART yields nothing.
	onlyStart bool
	done      bool
	// failed reports that the budget ran out.
	failed bool

	// The times of day (day-level frequencies) or the offsets within a
	// unit (sub-daily ones), in seconds, sorted.
	times timeSet

	yi     yearInfo
	haveYi bool
	nth    bits367
	nthKey [2]int // year, month the nth mask is for

	// Day-level frequencies: the current period and a cursor into its
	// instants (days × times, or the BYSETPOS selection of them).
	started bool
	pYear   int   // YEARLY, MONTHLY
	pMonth  int   // MONTHLY
	pDay    int64 // WEEKLY, DAILY: the period's first day
	days    []int64
	sel     []int64
	n, k    int64
	pending bool // the current period is set but not read yet

	// Sub-daily frequencies: the current day and unit.
	unit      int64 // unit length in seconds
	perDay    int64 // units per day
	startUnit int64 // DTSTART's unit number
	day       int64
	q         int64 // the offset (in units) of the day's grid
	useGrid   bool
	cand      int64 // next candidate of the day
	nCand     int64
	unitAt    int64 // start of the current unit, wall seconds
	t         int64 // next offset within the unit
	inUnit    bool
	counts    map[int64]int64 // instants per day by grid offset
}

// ruleEvalOptions places an evaluation.
type ruleEvalOptions struct {
	// start is DTSTART's wall clock.
	start time.Time
	// skip: instants before it are not needed (they are counted when
	// count is set). The zero Time needs them all.
	skip time.Time
	// limit: no period that begins after it is looked at.
	limit time.Time
	// count is COUNT, 0 for none.
	count int
}

// newRuleEval prepares the evaluation of a spelled-out rule (see
// spellOut). Without COUNT it begins at the period holding skip.
func newRuleEval(o rrule.ROption, opts ruleEvalOptions, w *work) *ruleEval {
	e := w.newEval()
	c := e.c
	c.compile(o)
	e.start, e.left = wallSeconds(opts.start), -1
	e.skip = e.start
	if !opts.skip.IsZero() && wallSeconds(opts.skip) > e.start {
		e.skip = wallSeconds(opts.skip)
	}
	e.limitDay = floorDiv(wallSeconds(opts.limit), secondsPerDay)
	if c.freq >= rrule.HOURLY {
		e.prepareSubDaily()
	} else {
		e.prepareTimes()
	}
	if e.times.size() == 0 {
		e.done = true
		return e
	}
	switch {
	case opts.count == 1:
		// COUNT=1: DTSTART is the instance; when the rule does not
		// produce it, none (DTSTART still counts as the first).
		e.onlyStart, e.left, e.skip = true, 1, e.start
	case opts.count > 1 && e.instantsBound() >= int64(opts.count):
		e.left = int64(opts.count)
	}
	switch {
	case c.freq >= rrule.HOURLY && e.left < 0:
		// Without COUNT the days before skip need not be looked at.
		e.day = floorDiv(e.skip, secondsPerDay) - 1
	case c.freq >= rrule.HOURLY:
		e.day = floorDiv(e.start, secondsPerDay) - 1
	case e.left < 0 && e.skip > e.start:
		// Without COUNT the periods before skip need not be looked at.
		if ff := fastForward(o, opts.start, wallTime(e.skip)); ff.After(opts.start) {
			e.setPeriod(wallSeconds(ff))
		}
	}
	return e
}

// prepareTimes sets the times of day of a day-level rule: the sorted
// product of BYHOUR, BYMINUTE and BYSECOND.
func (e *ruleEval) prepareTimes() {
	c := e.c
	e.times = timeSet{h: c.hours, m: c.minutes, s: c.seconds}
	if len(c.hours) == 0 || len(c.minutes) == 0 || len(c.seconds) == 0 {
		e.times.sel = []int64{} // not spelled out: no times
	}
}

// prepareSubDaily sets the grid and the offsets within a unit of an
// HOURLY, MINUTELY or SECONDLY rule.
func (e *ruleEval) prepareSubDaily() {
	c := e.c
	e.unit = unitSeconds(c.freq)
	e.perDay = secondsPerDay / e.unit
	e.startUnit = floorDiv(e.start, e.unit)
	switch c.freq {
	case rrule.HOURLY:
		e.times = timeSet{m: c.minutes, s: c.seconds}
	case rrule.MINUTELY:
		e.times = timeSet{s: c.seconds}
	}
	if len(c.setpos) > 0 {
		e.times.sel = positions(e.times.raw(), c.setpos)
	}
	// Walk a day's grid or the unit combinations BYHOUR, BYMINUTE and
	// BYSECOND allow, whichever is shorter.
	e.useGrid = e.gridPerDay() <= e.combos()
}

// gridPerDay bounds the grid units in one day.
func (e *ruleEval) gridPerDay() int64 { return e.perDay/e.c.interval + 1 }

// combos is the number of units of a day the BY lists at the rule's
// frequency allow.
func (e *ruleEval) combos() int64 {
	c := e.c
	n := lenAll(c.hours, 24)
	if c.freq >= rrule.MINUTELY {
		n *= lenAll(c.minutes, 60)
	}
	if c.freq == rrule.SECONDLY {
		n *= lenAll(c.seconds, 60)
	}
	return n
}

// positions returns the indexes BYSETPOS selects from a set of n,
// sorted and unique.
func positions(n int64, setpos []int) []int64 {
	var out []int64
	for _, p := range setpos {
		var k int64
		if p > 0 {
			k = int64(p) - 1
		} else {
			k = n + int64(p)
		}
		if k >= 0 && k < n {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// periodDays is the most days one period of a day-level rule can keep
// after its day filters, and perDayBound the most units a sub-daily rule
// keeps in a day. Both are bounds, not counts.
func (c *compiledRule) periodDays() int64 {
	var n int64
	switch c.freq {
	case rrule.YEARLY:
		n = 366
	case rrule.MONTHLY:
		n = 31
	case rrule.WEEKLY:
		n = 7
	default:
		n = 1
	}
	months := int64(12)
	if c.freq != rrule.YEARLY {
		months = 1
	}
	if c.months != 0 && c.freq == rrule.YEARLY {
		months = int64(bitCount(uint64(c.months)))
		n = min(n, 31*months)
	}
	if c.mdays != 0 || c.nmdays != 0 {
		n = min(n, int64(bitCount(uint64(c.mdays))+bitCount(uint64(c.nmdays)))*months)
	}
	if c.hasYdays {
		n = min(n, int64(bitsCount(&c.ydays)+bitsCount(&c.nydays)))
	}
	if len(c.weekNos) > 0 {
		n = min(n, int64(len(c.weekNos)+2)*7)
	}
	if c.wdays != 0 && (c.freq == rrule.YEARLY || c.freq == rrule.MONTHLY) {
		n = min(n, int64(bitCount(uint64(c.wdays)))*5*months)
	}
	if len(c.nth) > 0 && (c.freq == rrule.YEARLY || c.freq == rrule.MONTHLY) {
		n = min(n, int64(len(c.nth))*months)
	}
	return n
}

// bitCount counts the set bits of x.
func bitCount(x uint64) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

// bitsCount counts the members of b.
func bitsCount(b *bits367) int {
	n := 0
	for _, w := range b {
		n += bitCount(w)
	}
	return n
}

// periodInstants bounds the instants one period of the rule can have,
// and names the period. It is what parsing checks against
// Config.MaxPeriodInstants.
func (c *compiledRule) periodInstants() (int64, string) {
	var n int64
	var name string
	switch c.freq {
	case rrule.YEARLY, rrule.MONTHLY, rrule.WEEKLY, rrule.DAILY:
		n = c.periodDays() * int64(len(c.hours)*len(c.minutes)*len(c.seconds))
		name = [...]string{"year", "month", "week", "day"}[c.freq]
	case rrule.HOURLY:
		n, name = int64(len(c.minutes)*len(c.seconds)), "hour"
	case rrule.MINUTELY:
		n, name = int64(len(c.seconds)), "minute"
	default:
		n, name = 1, "second"
	}
	if len(c.setpos) > 0 {
		n = min(n, int64(len(c.setpos)))
	}
	return n, name
}

// instantsBound bounds the instants from DTSTART to the limit: when
// COUNT is larger, it cannot end the rule before the limit and the rule
// may begin near the window instead of at DTSTART.
func (e *ruleEval) instantsBound() int64 {
	days := e.limitDay - floorDiv(e.start, secondsPerDay) + 1
	if days <= 0 {
		return 0
	}
	c := e.c
	const huge = 1 << 62
	mul := func(a, b int64) int64 {
		if a == 0 || b == 0 {
			return 0
		}
		if a > huge/b {
			return huge
		}
		return a * b
	}
	if c.freq >= rrule.HOURLY {
		perDay := min(e.gridPerDay(), e.combos())
		return mul(mul(days, perDay), e.times.size())
	}
	var periodDays int64
	switch c.freq {
	case rrule.YEARLY:
		periodDays = 365
	case rrule.MONTHLY:
		periodDays = 28
	case rrule.WEEKLY:
		periodDays = 7
	default:
		periodDays = 1
	}
	periods := days/(periodDays*c.interval) + 2
	per, _ := c.periodInstants()
	return mul(periods, per)
}

// next returns the next instant as wall seconds, or false when the rule
// has no more before the limit (or the budget ran out: failed).
func (e *ruleEval) next() (int64, bool) {
	if e.done {
		return 0, false
	}
	var v int64
	var ok bool
	if e.c.freq >= rrule.HOURLY {
		v, ok = e.nextSubDaily()
	} else {
		v, ok = e.nextDayLevel()
	}
	if !ok {
		e.done = true
		return 0, false
	}
	if e.onlyStart {
		e.done = true
		if v != e.start {
			return 0, false
		}
		return v, true
	}
	if e.left > 0 {
		e.left--
		if e.left == 0 {
			e.done = true
		}
	}
	return v, true
}

// take counts n instants found at or after DTSTART but before skip
// against COUNT. It reports false when COUNT is used up.
func (e *ruleEval) take(n int64) bool {
	if e.left < 0 {
		return true
	}
	e.left -= n
	return e.left > 0
}

// spend takes units from the budget, marking the evaluation failed when
// it runs out.
func (e *ruleEval) spend(n int64) bool {
	if e.w.spend(n) {
		return true
	}
	e.failed = true
	return false
}

// year returns the context of year y, computing it when needed.
func (e *ruleEval) year(y int) *yearInfo {
	if !e.haveYi || e.yi.year != y {
		e.yi = e.c.newYearInfo(y)
		e.haveYi = true
	}
	return &e.yi
}

// nthMask returns the ordinal BYDAY mask for a period of year y (and
// month, for MONTHLY).
func (e *ruleEval) nthMask(yi *yearInfo, month int) *bits367 {
	if len(e.c.nth) == 0 {
		return &e.nth
	}
	if e.c.freq != rrule.MONTHLY {
		month = 0
	}
	if key := [2]int{yi.year, month}; key != e.nthKey {
		e.c.markNth(&e.nth, yi, month)
		e.nthKey = key
	}
	return &e.nth
}

// setPeriod makes the period that begins at wall second s (a period
// start from fastForward) the first to be looked at.
func (e *ruleEval) setPeriod(s int64) {
	day := floorDiv(s, secondsPerDay)
	y, m, _ := civil(day)
	e.started = true
	e.pYear, e.pMonth, e.pDay = y, m, day
	e.n, e.k = 0, 0
	e.pending = true
}

// nextDayLevel yields the next instant of a YEARLY, MONTHLY, WEEKLY or
// DAILY rule.
func (e *ruleEval) nextDayLevel() (int64, bool) {
	for {
		if e.k < e.n {
			if !e.spend(1) {
				return 0, false
			}
			v := e.instantAt(e.k)
			e.k++
			return v, true
		}
		if !e.nextPeriod() {
			return 0, false
		}
	}
}

// instantAt returns instant k of the current period.
func (e *ruleEval) instantAt(k int64) int64 {
	if e.sel != nil {
		k = e.sel[k]
	}
	nt := e.times.size()
	return e.days[k/nt]*secondsPerDay + e.times.at(k%nt)
}

// search returns the first index from k of the current period whose
// instant is at or after v.
func (e *ruleEval) search(k, v int64) int64 {
	lo, hi := k, e.n
	for lo < hi {
		mid := lo + (hi-lo)/2
		if e.instantAt(mid) < v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// nextPeriod moves to the next period that has an instant at or after
// skip, counting those it passes; it reports false at the limit, when
// COUNT is used up or when the budget runs out.
func (e *ruleEval) nextPeriod() bool {
	c := e.c
	for {
		switch {
		case !e.started:
			e.started = true
			day := floorDiv(e.start, secondsPerDay)
			e.pYear, e.pMonth, _ = civil(day)
			e.pDay = day
		case e.pending:
			// A period set by setPeriod, not yet read.
		default:
			e.advancePeriod()
			if e.left >= 0 && !e.countWholePeriods() {
				return false
			}
		}
		e.pending = false
		if e.periodFirstDay() > e.limitDay {
			return false
		}
		if !e.spend(1) || !e.readPeriod() {
			return false
		}
		e.n = int64(len(e.days)) * e.times.size()
		e.sel = nil
		if len(c.setpos) > 0 {
			if !e.spend(int64(len(c.setpos))) {
				return false
			}
			e.sel = positions(e.n, c.setpos)
			e.n = int64(len(e.sel))
		}
		if e.n == 0 {
			continue
		}
		k := e.search(0, e.start)
		ks := e.search(k, e.skip)
		if ks > k && !e.take(ks-k) {
			return false
		}
		e.k = ks
		if e.k < e.n {
			return true
		}
	}
}

// countWholePeriods passes over the DAILY or WEEKLY periods that end
// before skip's day when every one of them has the same instants (no
// day filter but BYDAY, and for DAILY not even that), counting them
// against COUNT at the cost of one unit. It reports false when COUNT is
// used up. (The first period, which DTSTART may cut, is never passed
// over: it is read before any advance.)
func (e *ruleEval) countWholePeriods() bool {
	c := e.c
	if c.months != 0 || c.mdays != 0 || c.nmdays != 0 || c.hasYdays || len(c.weekNos) > 0 || len(c.nth) > 0 {
		return true
	}
	skipDay := floorDiv(e.skip, secondsPerDay)
	var days, length int64 // days per period that pass; period length
	switch c.freq {
	case rrule.DAILY:
		if c.wdays != 0 {
			return true
		}
		days, length = 1, 1
	case rrule.WEEKLY:
		if weekdayOf(e.pDay) != c.wkst {
			return true // not a whole week
		}
		days, length = 7, 7
		if c.wdays != 0 {
			days = int64(bitCount(uint64(c.wdays)))
		}
	default:
		return true
	}
	// Periods pDay + i*step for i < j end before skipDay.
	step := length * c.interval
	j := int64(0)
	if d := skipDay - e.pDay - length; d >= 0 {
		j = d/step + 1
	}
	if j == 0 {
		return true
	}
	if !e.spend(1) {
		return false
	}
	per := days * e.times.size()
	if len(c.setpos) > 0 {
		per = int64(len(positions(per, c.setpos)))
	}
	e.pDay += j * step
	switch {
	case per == 0:
		return true
	case j > e.left/per:
		e.left = 0 // COUNT ends before skip
		return false
	}
	return e.take(j * per)
}

// periodFirstDay returns the first day of the current period.
func (e *ruleEval) periodFirstDay() int64 {
	switch e.c.freq {
	case rrule.YEARLY:
		return dayNumber(e.pYear, 1, 1)
	case rrule.MONTHLY:
		return dayNumber(e.pYear, e.pMonth, 1)
	}
	return e.pDay
}

// advancePeriod steps to the next period by INTERVAL.
func (e *ruleEval) advancePeriod() {
	c := e.c
	switch c.freq {
	case rrule.YEARLY:
		e.pYear += int(c.interval)
	case rrule.MONTHLY:
		m := int64(e.pMonth-1) + c.interval
		e.pYear += int(m / 12)
		e.pMonth = int(m%12) + 1
	case rrule.WEEKLY:
		back := int64(floorMod(int64(weekdayOf(e.pDay)-c.wkst), 7))
		e.pDay = e.pDay - back + 7*c.interval
	default:
		e.pDay += c.interval
		if c.months != 0 {
			// Days of a month BYMONTH leaves out are passed over a
			// month at a time.
			for i := 0; i < 12; i++ {
				_, m, _ := civil(e.pDay)
				if c.months&(1<<m) != 0 || e.pDay > e.limitDay {
					break
				}
				y, _, _ := civil(e.pDay)
				next := dayNumber(y, m+1, 1)
				steps := (next - e.pDay + c.interval - 1) / c.interval
				e.pDay += steps * c.interval
			}
		}
	}
}

// readPeriod fills e.days with the current period's days that pass the
// filters, spending a unit for each day looked at.
func (e *ruleEval) readPeriod() bool {
	c := e.c
	e.days = e.days[:0]
	var yi *yearInfo
	var first, end int64 // days [first, end)
	month := 0
	switch c.freq {
	case rrule.YEARLY:
		yi = e.year(e.pYear)
		if c.months != 0 {
			nth := e.nthMask(yi, 0)
			for m := 1; m <= 12; m++ {
				if c.months&(1<<m) == 0 {
					continue
				}
				if !e.scanDays(yi, monthStart(m, yi.leap), monthStart(m+1, yi.leap), nth) {
					return false
				}
			}
			return true
		}
		first, end = yi.jan1, yi.jan1+int64(yi.length)
	case rrule.MONTHLY:
		if c.months != 0 && c.months&(1<<e.pMonth) == 0 {
			return true
		}
		yi = e.year(e.pYear)
		month = e.pMonth
		first = yi.jan1 + int64(monthStart(month, yi.leap))
		end = yi.jan1 + int64(monthStart(month+1, yi.leap))
	case rrule.WEEKLY:
		y, _, _ := civil(e.pDay)
		yi = e.year(y)
		first = e.pDay
		end = first + 1
		for weekdayOf(end) != c.wkst && end-first < 7 {
			end++
		}
	default:
		y, _, _ := civil(e.pDay)
		yi = e.year(y)
		first, end = e.pDay, e.pDay+1
	}
	return e.scanDays(yi, int(first-yi.jan1), int(end-yi.jan1), e.nthMask(yi, month))
}

// scanDays appends the days [from, to) of yi's context that pass the
// filters.
func (e *ruleEval) scanDays(yi *yearInfo, from, to int, nth *bits367) bool {
	if !e.spend(int64(to - from)) {
		return false
	}
	for i := from; i < to; i++ {
		if e.c.dayOK(yi, i, nth) {
			e.days = append(e.days, yi.jan1+int64(i))
		}
	}
	return true
}

// nextSubDaily yields the next instant of an HOURLY, MINUTELY or
// SECONDLY rule: day by day, the grid units of the day that pass the
// filters, and within each its offsets.
func (e *ruleEval) nextSubDaily() (int64, bool) {
	for {
		if e.inUnit {
			for e.t < e.times.size() {
				v := e.unitAt + e.times.at(e.t)
				e.t++
				switch {
				case v < e.start:
				case v < e.skip:
					if !e.take(1) {
						return 0, false
					}
				default:
					return v, true
				}
			}
			e.inUnit = false
		}
		if e.cand < e.nCand {
			if !e.spend(1) {
				return 0, false
			}
			if off, ok := e.candidate(e.cand); ok {
				e.unitAt = e.day*secondsPerDay + off*e.unit
				e.inUnit, e.t = e.unitAt+e.unit > e.start, 0
			}
			e.cand++
			continue
		}
		if !e.nextDay() {
			return 0, false
		}
	}
}

// nextDay moves to the next day with units to look at, counting whole
// days before skip when COUNT needs them.
func (e *ruleEval) nextDay() bool {
	c := e.c
	startDay := floorDiv(e.start, secondsPerDay)
	for {
		e.day++
		if e.day < startDay {
			e.day = startDay
		}
		if e.day > e.limitDay {
			return false
		}
		if !e.spend(1) {
			return false
		}
		y, m, _ := civil(e.day)
		if c.months != 0 && c.months&(1<<m) == 0 {
			// Pass over the month.
			e.day = dayNumber(y, m+1, 1) - 1
			continue
		}
		yi := e.year(y)
		if !c.dayOK(yi, int(e.day-yi.jan1), &e.nth) {
			continue
		}
		e.q = floorMod(e.startUnit-e.day*e.perDay, c.interval)
		if e.q >= e.perDay {
			continue // no grid unit today
		}
		if e.left >= 0 && e.day > startDay && (e.day+1)*secondsPerDay <= e.skip {
			// The whole day is before skip: count it, and when every day
			// has the same instants (no day filter, and a grid that
			// repeats daily), all the whole days up to skip at once.
			n, ok := e.dayCount()
			if !ok {
				return false
			}
			days := int64(1)
			if c.months == 0 && c.mdays == 0 && c.nmdays == 0 && !c.hasYdays && len(c.weekNos) == 0 &&
				c.wdays == 0 && e.perDay%c.interval == 0 {
				days = floorDiv(e.skip, secondsPerDay) - e.day
			}
			if n > 0 && days > e.left/n {
				e.left = 0 // COUNT ends before skip
				return false
			}
			if !e.take(days * n) {
				return false
			}
			e.day += days - 1
			continue
		}
		e.cand = 0
		if e.useGrid {
			e.nCand = (e.perDay-1-e.q)/c.interval + 1
		} else {
			e.nCand = e.combos()
		}
		if e.left < 0 && e.day == floorDiv(e.skip, secondsPerDay) {
			// Without COUNT the units before skip's need not be looked
			// at: begin at the first candidate from it.
			e.cand = e.firstCandidate(floorMod(e.skip, secondsPerDay) / e.unit)
		}
		return true
	}
}

// firstCandidate returns the first of the day's candidates whose unit
// (an offset in the day, in units) is at or after unit: candidates are
// in time order.
func (e *ruleEval) firstCandidate(unit int64) int64 {
	if e.useGrid {
		if unit <= e.q {
			return 0
		}
		return min((unit-e.q+e.c.interval-1)/e.c.interval, e.nCand)
	}
	lo, hi := int64(0), e.nCand
	for lo < hi {
		mid := lo + (hi-lo)/2
		if off, _ := e.candidate(mid); off < unit {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// candidate returns the unit (an offset in the day, in units) of the
// day's candidate i, and whether it is on the grid and passes the
// filters.
func (e *ruleEval) candidate(i int64) (int64, bool) {
	c := e.c
	if e.useGrid {
		off := e.q + i*c.interval
		return off, e.unitPasses(off)
	}
	var off int64
	switch c.freq {
	case rrule.HOURLY:
		off = pickAll(c.hours, i)
	case rrule.MINUTELY:
		nm := lenAll(c.minutes, 60)
		off = pickAll(c.hours, i/nm)*60 + pickAll(c.minutes, i%nm)
	default:
		nm, ns := lenAll(c.minutes, 60), lenAll(c.seconds, 60)
		off = pickAll(c.hours, i/(nm*ns))*3600 + pickAll(c.minutes, i/ns%nm)*60 + pickAll(c.seconds, i%ns)
	}
	return off, floorMod(off-e.q, c.interval) == 0
}

// unitPasses reports whether the unit at offset off of a day passes
// BYHOUR, BYMINUTE and BYSECOND.
func (e *ruleEval) unitPasses(off int64) bool {
	c := e.c
	sec := off * e.unit
	if c.hourSet != 0 && c.hourSet&(1<<(sec/3600)) == 0 {
		return false
	}
	if c.freq >= rrule.MINUTELY && c.minuteSet != 0 && c.minuteSet&(1<<(sec/60%60)) == 0 {
		return false
	}
	if c.freq == rrule.SECONDLY && c.secondSet != 0 && c.secondSet&(1<<(sec%60)) == 0 {
		return false
	}
	return true
}

// maxDayCounts bounds the cache of instants per day.
const maxDayCounts = 4096

// dayCount returns the instants of the current day (which passes the
// day filters), from a cache by grid offset: the BY lists do not depend
// on the day, so days with the same grid offset have as many.
func (e *ruleEval) dayCount() (int64, bool) {
	if n, ok := e.counts[e.q]; ok {
		return n, true
	}
	var nCand int64
	if e.useGrid {
		nCand = (e.perDay-1-e.q)/e.c.interval + 1
	} else {
		nCand = e.combos()
	}
	if !e.spend(nCand) {
		return 0, false
	}
	var units int64
	for i := range nCand {
		if _, ok := e.candidate(i); ok {
			units++
		}
	}
	n := units * e.times.size()
	if e.counts == nil {
		e.counts = make(map[int64]int64)
	}
	if len(e.counts) < maxDayCounts {
		e.counts[e.q] = n
	}
	return n, true
}
