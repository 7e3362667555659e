package calendar

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// ruleSpec is a parsed RRULE. Dtstart, Until and Count are applied by the
// expansion, not by rrule-go: rrule-go iterates wall clocks, and UNTIL is
// compared by the expansion in the right zone.
type ruleSpec struct {
	opt      rrule.ROption
	count    int // 0: none
	until    dateValue
	hasUntil bool
}

// rruleMaxUntil returns what is given to rrule-go as UNTIL: without one it
// stops 292 years after DTSTART (the largest time.Duration).
func rruleMaxUntil() time.Time { return time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC) }

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
	freqSet := false
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			note("ignored RRULE part %q", part)
			continue
		}
		k = strings.ToUpper(strings.TrimSpace(k))
		v = strings.ToUpper(strings.TrimSpace(v))
		var err error
		switch k {
		case "FREQ":
			r.opt.Freq, err = parseFreq(v)
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
			r.opt.Interval = n
		case "WKST":
			r.opt.Wkst, err = parseWeekday(v)
		case "BYDAY":
			r.opt.Byweekday, err = parseByDay(v, note)
		case "BYSECOND":
			r.opt.Bysecond, err = parseInts(k, v, 0, 60, false, note)
		case "BYMINUTE":
			r.opt.Byminute, err = parseInts(k, v, 0, 59, false, note)
		case "BYHOUR":
			r.opt.Byhour, err = parseInts(k, v, 0, 23, false, note)
		case "BYMONTHDAY":
			r.opt.Bymonthday, err = parseInts(k, v, 1, 31, true, note)
		case "BYYEARDAY":
			r.opt.Byyearday, err = parseInts(k, v, 1, 366, true, note)
		case "BYWEEKNO":
			r.opt.Byweekno, err = parseInts(k, v, 1, 53, true, note)
		case "BYMONTH":
			r.opt.Bymonth, err = parseInts(k, v, 1, 12, false, note)
		case "BYSETPOS":
			r.opt.Bysetpos, err = parseInts(k, v, 1, 366, true, note)
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
	for i, sec := range r.opt.Bysecond {
		if sec == 60 {
			r.opt.Bysecond[i] = 59
		}
	}
	if !timeReachable(r.opt) {
		return ruleSpec{}, fmt.Errorf("%w: BYHOUR/BYMINUTE/BYSECOND never reached at this INTERVAL", errBadRule)
	}
	return r, nil
}

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
	return 0, fmt.Errorf("unknown frequency %q", v)
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
	return rrule.MO, fmt.Errorf("unknown weekday %q", v)
}

// parseByDay parses a BYDAY list such as "MO,WE" or "1MO,-1FR".
func parseByDay(v string, note func(string, ...any)) ([]rrule.Weekday, error) {
	var out []rrule.Weekday
	for _, item := range splitValues(v) {
		n := 0
		if len(item) > 2 {
			var err error
			n, err = strconv.Atoi(strings.TrimPrefix(item[:len(item)-2], "+"))
			if err != nil || n == 0 || n > 53 || n < -53 {
				note("ignored RRULE BYDAY value %q", item)
				continue
			}
		}
		wd, err := parseWeekday(item[max(0, len(item)-2):])
		if err != nil {
			note("ignored RRULE BYDAY value %q", item)
			continue
		}
		if n != 0 {
			wd = wd.Nth(n)
		}
		out = append(out, wd)
	}
	if len(out) == 0 {
		return nil, errors.New("no valid weekday")
	}
	return out, nil
}

// parseInts parses a BY list, dropping values outside [lo, hi] (or
// [-hi, -lo] when signed).
func parseInts(key, v string, lo, hi int, signed bool, note func(string, ...any)) ([]int, error) {
	var out []int
	for _, item := range splitValues(v) {
		n, err := strconv.Atoi(strings.TrimPrefix(item, "+"))
		if err != nil || !(n >= lo && n <= hi || signed && n <= -lo && n >= -hi) {
			note("ignored RRULE %s value %q", key, item)
			continue
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("no valid value")
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

// fastForward returns a DTSTART for rrule-go at the start of the latest
// period of the rule (a whole number of INTERVALs after start) that
// begins no later than target, so iteration can begin near a window
// instead of at DTSTART. The options must have been through spellOut. It
// returns start when target is not after it.
func fastForward(o rrule.ROption, start, target time.Time) time.Time {
	if !target.After(start) {
		return start
	}
	interval := max(o.Interval, 1)
	y, m, d := start.Date()
	switch o.Freq {
	case rrule.YEARLY:
		k := (target.Year() - y) / interval
		return time.Date(y+k*interval, 1, 1, 0, 0, 0, 0, time.UTC)
	case rrule.MONTHLY:
		months := (target.Year()-y)*12 + int(target.Month()) - int(m)
		k := months / interval
		return time.Date(y, m+time.Month(k*interval), 1, 0, 0, 0, 0, time.UTC)
	case rrule.WEEKLY:
		wkst := int(o.Wkst.Day()) // 0 = Monday
		wd := (int(start.Weekday()) + 6) % 7
		weekStart := time.Date(y, m, d-((wd-wkst+7)%7), 0, 0, 0, 0, time.UTC)
		days := int(target.Sub(weekStart) / (24 * time.Hour))
		k := days / 7 / interval
		return weekStart.AddDate(0, 0, k*interval*7)
	case rrule.DAILY:
		day0 := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		days := int(target.Sub(day0) / (24 * time.Hour))
		k := days / interval
		return day0.AddDate(0, 0, k*interval)
	}
	var unit time.Duration
	switch o.Freq {
	case rrule.HOURLY:
		unit = time.Hour
	case rrule.MINUTELY:
		unit = time.Minute
	default:
		unit = time.Second
	}
	step := unit * time.Duration(interval)
	k := target.Sub(start) / step
	return start.Add(k * step)
}
