package calendar

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// ruleSpec is a parsed RRULE, its parts in rrule-go's ROption (rrule-go
// is the test oracle of this package's evaluator, see rrule_eval.go).
// Dtstart, Until and Count are applied by the expansion: the evaluator
// walks wall clocks, and UNTIL is compared by the expansion in the right
// zone.
type ruleSpec struct {
	opt      *rrule.ROption // shared by the events with the same RRULE text: read only
	count    int            // 0: none
	until    dateValue
	hasUntil bool
}

// errBadRule reports an RRULE that cannot be used.
var errBadRule = errors.New("invalid RRULE")

// parseRule parses an RRULE value leniently: parts in any case and order,
// unknown and X- parts ignored, out-of-range BY values dropped, a
// non-positive COUNT or INTERVAL ignored. Each leniency is reported
// through note.
func parseRule(s string, note func(format string, args ...any)) (ruleSpec, error) {
	s = strings.TrimSpace(s)
	if len(s) >= 6 && strings.EqualFold(s[:6], "RRULE:") {
		s = s[6:]
	}
	var r ruleSpec
	var opt rrule.ROption
	freqSet := false
	var badParts badValues
	defer badParts.report("", note)
	parts := 0
	for part := range strings.SplitSeq(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if parts++; parts > maxRuleParts {
			note("RRULE of more than %d parts; the rest are ignored", maxRuleParts)
			break
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			badParts.add(part)
			continue
		}
		k = strings.ToUpper(strings.TrimSpace(k))
		v = strings.ToUpper(strings.TrimSpace(v))
		var err error
		switch k {
		case "FREQ":
			opt.Freq, err = parseFreq(v)
			freqSet = err == nil
		case "UNTIL":
			r.until, err = parseDateTime(v)
			r.hasUntil = err == nil
		case "COUNT":
			var n int
			n, err = strconv.Atoi(v)
			switch {
			case err != nil:
			case n <= 0:
				note("ignored RRULE COUNT=%d", n)
			default:
				r.count = n
			}
		case "INTERVAL":
			var n int
			n, err = strconv.Atoi(v)
			if err == nil && n < 1 {
				note("ignored RRULE INTERVAL=%d", n)
				n = 1
			}
			opt.Interval = n
		case "WKST":
			opt.Wkst, err = parseWeekday(v)
		case "BYDAY":
			opt.Byweekday, err = parseByDay(v, note)
		case "BYSECOND":
			opt.Bysecond, err = parseInts(k, v, 0, 60, false, note)
		case "BYMINUTE":
			opt.Byminute, err = parseInts(k, v, 0, 59, false, note)
		case "BYHOUR":
			opt.Byhour, err = parseInts(k, v, 0, 23, false, note)
		case "BYMONTHDAY":
			opt.Bymonthday, err = parseInts(k, v, 1, 31, true, note)
		case "BYYEARDAY":
			opt.Byyearday, err = parseInts(k, v, 1, 366, true, note)
		case "BYWEEKNO":
			opt.Byweekno, err = parseInts(k, v, 1, 53, true, note)
		case "BYMONTH":
			opt.Bymonth, err = parseInts(k, v, 1, 12, false, note)
		case "BYSETPOS":
			opt.Bysetpos, err = parseInts(k, v, 1, 366, true, note)
		default:
			// X- parts and anything unknown are ignored, as RFC 5545
			// asks of unknown extensions.
		}
		if err != nil {
			return ruleSpec{}, fmt.Errorf("%w: %s: %w", errBadRule, k, err)
		}
	}
	if !freqSet {
		return ruleSpec{}, fmt.Errorf("%w: no FREQ", errBadRule)
	}
	if n := len(opt.Bysecond); n > 0 && opt.Bysecond[n-1] == 60 {
		// A leap second is read as the second before it.
		opt.Bysecond = opt.Bysecond[:n-1]
		if !slices.Contains(opt.Bysecond, 59) {
			opt.Bysecond = append(opt.Bysecond, 59)
		}
	}
	if !timeReachable(opt) {
		return ruleSpec{}, fmt.Errorf("%w: BYHOUR/BYMINUTE/BYSECOND never reached at this INTERVAL", errBadRule)
	}
	r.opt = &opt
	return r, nil
}

// Bounds of what parseRule reads: there are 14 kinds of parts, and a
// BY list has at most 733 distinct values (BYYEARDAY and BYSETPOS:
// 1..366 and their negatives; BYDAY 7 × 107), so anything longer is
// repetition or junk.
const (
	maxRuleParts = 64
	maxByValues  = 1000
)

// parseFreq parses a FREQ value.
func parseFreq(v string) (rrule.Frequency, error) {
	switch v {
	case "YEARLY":
		return rrule.YEARLY, nil
	case "MONTHLY":
		return rrule.MONTHLY, nil
	case "WEEKLY":
		return rrule.WEEKLY, nil
	case "DAILY":
		return rrule.DAILY, nil
	case "HOURLY":
		return rrule.HOURLY, nil
	case "MINUTELY":
		return rrule.MINUTELY, nil
	case "SECONDLY":
		return rrule.SECONDLY, nil
	}
	return 0, fmt.Errorf("unknown frequency %q", clip(v, 32))
}

// parseWeekday parses a two-letter weekday.
func parseWeekday(v string) (rrule.Weekday, error) {
	switch v {
	case "MO":
		return rrule.MO, nil
	case "TU":
		return rrule.TU, nil
	case "WE":
		return rrule.WE, nil
	case "TH":
		return rrule.TH, nil
	case "FR":
		return rrule.FR, nil
	case "SA":
		return rrule.SA, nil
	case "SU":
		return rrule.SU, nil
	}
	return rrule.MO, fmt.Errorf("unknown weekday %q", clip(v, 32))
}

// parseByDay parses a BYDAY list such as "MO,WE" or "1MO,-1FR", each
// value once.
func parseByDay(v string, note func(string, ...any)) ([]rrule.Weekday, error) {
	var out []rrule.Weekday
	var seen [7][107]bool // weekday, ordinal + 53
	var bad badValues
	items := 0
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		if items++; items > maxByValues {
			note("RRULE BYDAY of more than %d values; the rest are ignored", maxByValues)
			break
		}
		n := 0
		if len(item) > 2 {
			var err error
			n, err = strconv.Atoi(strings.TrimPrefix(item[:len(item)-2], "+"))
			if err != nil || n == 0 || n > 53 || n < -53 {
				bad.add(item)
				continue
			}
		}
		wd, err := parseWeekday(item[max(0, len(item)-2):])
		if err != nil {
			bad.add(item)
			continue
		}
		if seen[wd.Day()][n+53] {
			continue
		}
		seen[wd.Day()][n+53] = true
		if n != 0 {
			wd = wd.Nth(n)
		}
		out = append(out, wd)
	}
	bad.report("BYDAY", note)
	if len(out) == 0 {
		return nil, errors.New("no valid weekday")
	}
	return out, nil
}

// badValues collects the values of a BY list that are ignored, so that
// a list of millions costs one note.
type badValues struct {
	n     int
	first string
}

// add records an ignored value.
func (b *badValues) add(v string) {
	if b.n == 0 {
		b.first = clip(v, 20)
	}
	b.n++
}

// report notes the ignored values of a part, if any ("" for parts
// without "=").
func (b *badValues) report(key string, note func(string, ...any)) {
	switch {
	case b.n == 0:
	case key == "" && b.n == 1:
		note("ignored RRULE part %q", b.first)
	case key == "":
		note("ignored %d RRULE parts (the first is %q)", b.n, b.first)
	case b.n == 1:
		note("ignored RRULE %s value %q", key, b.first)
	default:
		note("ignored %d RRULE %s values (the first is %q)", b.n, key, b.first)
	}
}

// parseInts parses a BY list, dropping values outside [lo, hi] (or
// [-hi, -lo] when signed); it returns each value once, sorted. (hi is
// at most 366.)
func parseInts(key, v string, lo, hi int, signed bool, note func(string, ...any)) ([]int, error) {
	var seen [2*366 + 1]bool
	var bad badValues
	found, items := 0, 0
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		if items++; items > maxByValues {
			note("RRULE %s of more than %d values; the rest are ignored", key, maxByValues)
			break
		}
		n, err := strconv.Atoi(strings.TrimPrefix(item, "+"))
		if err != nil || !(n >= lo && n <= hi || signed && n <= -lo && n >= -hi) {
			bad.add(item)
			continue
		}
		if !seen[n+366] {
			seen[n+366] = true
			found++
		}
	}
	bad.report(key, note)
	if found == 0 {
		return nil, errors.New("no valid value")
	}
	out := make([]int, 0, found)
	for i, ok := range seen {
		if ok {
			out = append(out, i-366)
		}
	}
	return out, nil
}

// timeReachable reports whether an HOURLY, MINUTELY or SECONDLY rule can
// ever reach its BYHOUR, BYMINUTE and BYSECOND values at its INTERVAL.
// rrule-go loops forever on one that cannot (FREQ=HOURLY;INTERVAL=2 with
// an odd BYHOUR from an even start), so such rules are rejected. The
// start is unknown here, so every start is tried.
func timeReachable(o rrule.ROption) bool {
	if o.Freq < rrule.HOURLY {
		return true
	}
	interval := max(o.Interval, 1)
	var period, unit int
	switch o.Freq {
	case rrule.HOURLY:
		period, unit = 24, 3600
	case rrule.MINUTELY:
		period, unit = 1440, 60
	default:
		period, unit = 86400, 1
	}
	g := gcd(interval, period)
	if g == 1 {
		return true
	}
	ok := func(step int) bool { // step counts units since midnight
		sec := step * unit
		h, m, s := sec/3600, sec/60%60, sec%60
		return (len(o.Byhour) == 0 || contains(o.Byhour, h)) &&
			(o.Freq < rrule.MINUTELY || len(o.Byminute) == 0 || contains(o.Byminute, m)) &&
			(o.Freq < rrule.SECONDLY || len(o.Bysecond) == 0 || contains(o.Bysecond, s))
	}
	// Every residue class modulo g must reach a wanted time, as the start
	// can fall in any of them.
	for r := 0; r < g; r++ {
		found := false
		for step := r; step < period; step += g {
			if ok(step) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// gcd returns the greatest common divisor.
func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// contains reports whether v is in list.
func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// spellOut returns o with the BY parts rrule-go would derive from
// DTSTART written out, so that DTSTART can be moved without changing the
// rule.
func spellOut(o rrule.ROption, start time.Time) rrule.ROption {
	if len(o.Byweekno) == 0 && len(o.Byyearday) == 0 && len(o.Bymonthday) == 0 &&
		len(o.Byweekday) == 0 && len(o.Byeaster) == 0 {
		switch o.Freq {
		case rrule.YEARLY:
			if len(o.Bymonth) == 0 {
				o.Bymonth = []int{int(start.Month())}
			}
			o.Bymonthday = []int{start.Day()}
		case rrule.MONTHLY:
			o.Bymonthday = []int{start.Day()}
		case rrule.WEEKLY:
			wd, _ := parseWeekday(strings.ToUpper(start.Weekday().String()[:2]))
			o.Byweekday = []rrule.Weekday{wd}
		}
	}
	if len(o.Byhour) == 0 && o.Freq < rrule.HOURLY {
		o.Byhour = []int{start.Hour()}
	}
	if len(o.Byminute) == 0 && o.Freq < rrule.MINUTELY {
		o.Byminute = []int{start.Minute()}
	}
	if len(o.Bysecond) == 0 && o.Freq < rrule.SECONDLY {
		o.Bysecond = []int{start.Second()}
	}
	return o
}

// fastForward returns the start of the latest period of the rule (a
// whole number of INTERVALs after start) that begins no later than
// target, so that evaluation can begin near a window instead of at
// DTSTART. The options must have been through spellOut. It returns start
// when target is not after it.
func fastForward(o rrule.ROption, start, target time.Time) time.Time {
	if !target.After(start) {
		return start
	}
	interval := min(int64(max(o.Interval, 1)), intervalCap(o.Freq))
	y, m, d := start.Date()
	startDay := dayNumber(y, int(m), d)
	targetDay := floorDiv(target.Unix(), secondsPerDay)
	switch o.Freq {
	case rrule.YEARLY:
		k := int64(target.Year()-y) / interval
		return time.Date(y+int(k*interval), 1, 1, 0, 0, 0, 0, time.UTC)
	case rrule.MONTHLY:
		months := int64((target.Year()-y)*12 + int(target.Month()) - int(m))
		k := months / interval
		return time.Date(y, m+time.Month(k*interval), 1, 0, 0, 0, 0, time.UTC)
	case rrule.WEEKLY:
		wkst := o.Wkst.Day() // 0 = Monday
		weekStart := startDay - floorMod(int64(weekdayOf(startDay)-wkst), 7)
		k := floorDiv(targetDay-weekStart, 7*interval)
		return wallTime((weekStart + k*7*interval) * secondsPerDay)
	case rrule.DAILY:
		k := floorDiv(targetDay-startDay, interval)
		return wallTime((startDay + k*interval) * secondsPerDay)
	}
	step := unitSeconds(o.Freq) * interval
	k := floorDiv(target.Unix()-start.Unix(), step)
	return wallTime(start.Unix() + k*step)
}
