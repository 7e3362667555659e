package calendar

import (
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"
)

// dateValue is a DATE or DATE-TIME property value as written, with the
// zone it is to be read in.
type dateValue struct {
	// wall is the written date and time, in UTC: for a DATE it is
	// midnight, for a DATE-TIME the wall clock (or the instant, with utc).
	wall time.Time
	// date reports a DATE value.
	date bool
	// utc reports a DATE-TIME written with a trailing Z.
	utc bool
	// zone is the zone of a DATE-TIME that is neither UTC nor a DATE:
	// the TZID's zone, or the calendar's floating zone.
	zone *zone
}

// floating reports a DATE-TIME whose wall clock is kept without a zone.
func (v dateValue) floating() bool {
	return !v.date && !v.utc && (v.zone == nil || v.zone.loc == nil)
}

// instant returns the value as a time.Time by the package's conventions:
// a DATE is midnight UTC of its date, a floating time its wall clock in
// UTC, anything else the resolved instant in its location.
func (v dateValue) instant() time.Time {
	switch {
	case v.date, v.utc:
		return v.wall
	case v.zone == nil || v.zone.loc == nil:
		return v.wall
	}
	return v.zone.toInstant(v.wall)
}

// resolve is instant that also names the policies that placed the
// value (see zone.place).
func (v dateValue) resolve() (time.Time, Policy) {
	if v.date || v.utc {
		return v.wall, ""
	}
	return v.zone.place(v.wall)
}

// withWall returns v with another wall clock in the same zone and type.
func (v dateValue) withWall(w time.Time) dateValue {
	v.wall = w
	return v
}

// errBadDate reports a value that is no DATE or DATE-TIME.
var errBadDate = errors.New("invalid date or date-time")

// parseDateTime parses a DATE ("20240131") or DATE-TIME
// ("20240131T093000", with an optional trailing Z). It is lenient about
// what real feeds write: ISO-style dashes and colons, lower-case t and z,
// missing seconds, fractional seconds, T240000, second 60 and a Z after
// a DATE. The shape of the value decides between DATE and DATE-TIME, not
// the VALUE parameter, as ical.js reads it: "VALUE=DATE:20090117T200000"
// is a DATE-TIME.
func parseDateTime(s string) (dateValue, error) {
	s = strings.TrimSpace(s)
	orig := s
	if len(s) >= 10 && s[4] == '-' {
		s = strings.NewReplacer("-", "", ":", "").Replace(s)
	}
	if len(s) < 8 {
		return dateValue{}, fmt.Errorf("%w: %q", errBadDate, clip(orig, 64))
	}
	y, err1 := digits(s[0:4])
	mo, err2 := digits(s[4:6])
	d, err3 := digits(s[6:8])
	if err := errors.Join(err1, err2, err3); err != nil {
		return dateValue{}, fmt.Errorf("%w: %q", errBadDate, clip(orig, 64))
	}
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(time.Month(mo), y) {
		return dateValue{}, fmt.Errorf("%w: %q", errBadDate, clip(orig, 64))
	}
	rest := s[8:]
	if rest == "" || rest == "Z" || rest == "z" {
		return dateValue{wall: time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC), date: true}, nil
	}
	if rest[0] != 'T' && rest[0] != 't' {
		return dateValue{}, fmt.Errorf("%w: %q", errBadDate, clip(orig, 64))
	}
	rest = rest[1:]
	utc := false
	if n := len(rest); n > 0 && (rest[n-1] == 'Z' || rest[n-1] == 'z') {
		utc = true
		rest = rest[:n-1]
	}
	if i := strings.IndexByte(rest, '.'); i >= 0 {
		if _, err := digits(rest[i+1:]); err != nil {
			return dateValue{}, fmt.Errorf("%w: %q", errBadDate, clip(orig, 64))
		}
		rest = rest[:i]
	}
	var h, mi, sec int
	var err error
	if len(rest) > 6 {
		// "T1100000Z": the first six digits, as ical.js reads them.
		if _, err := digits(rest); err != nil {
			return dateValue{}, fmt.Errorf("%w: %q", errBadDate, clip(orig, 64))
		}
		rest = rest[:6]
	}
	switch len(rest) {
	case 6:
		h, err1 = digits(rest[0:2])
		mi, err2 = digits(rest[2:4])
		sec, err3 = digits(rest[4:6])
		err = errors.Join(err1, err2, err3)
	case 4:
		h, err1 = digits(rest[0:2])
		mi, err2 = digits(rest[2:4])
		err = errors.Join(err1, err2)
	default:
		err = errBadDate
	}
	if err != nil || h > 24 || mi > 59 || sec > 60 || (h == 24 && (mi != 0 || sec != 0)) {
		return dateValue{}, fmt.Errorf("%w: %q", errBadDate, clip(orig, 64))
	}
	if sec == 60 {
		sec = 59
	}
	return dateValue{wall: time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC), utc: utc}, nil
}

// digits parses a string of ASCII digits only.
func digits(s string) (int, error) {
	if s == "" || len(s) > 9 {
		return 0, errBadDate
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, errBadDate
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// daysIn returns the number of days of month m in year y.
func daysIn(m time.Month, y int) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// duration is an RFC 5545 DURATION: nominal days (weeks count as seven
// days) that follow the wall clock, and an exact part.
type duration struct {
	days  int
	exact time.Duration
}

// errBadDuration reports a value that is no DURATION.
var errBadDuration = errors.New("invalid duration")

// maxDurationDays bounds a DURATION (about 100 years): longer ones are
// treated as invalid rather than overflowing time arithmetic.
const maxDurationDays = 36600

// parseDuration parses "P1W", "-PT15M", "P1DT2H30M" and the like,
// leniently about case and about W and D written after the T
// ("PT1W"), as ical.js reads them.
func parseDuration(s string) (duration, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg = true
		s = s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	if !strings.HasPrefix(s, "P") || len(s) < 2 {
		return duration{}, fmt.Errorf("%w: %q", errBadDuration, clip(s, 64))
	}
	s = s[1:]
	var d duration
	inTime := false
	for len(s) > 0 {
		if s[0] == 'T' {
			inTime = true
			s = s[1:]
			continue
		}
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) || i > 9 {
			return duration{}, fmt.Errorf("%w: %q", errBadDuration, clip(s, 64))
		}
		n, _ := strconv.Atoi(s[:i])
		unit := s[i]
		s = s[i+1:]
		switch {
		case unit == 'W':
			d.days += 7 * n
		case unit == 'D':
			d.days += n
		case unit == 'H' && inTime:
			d.exact += time.Duration(n) * time.Hour
		case unit == 'M' && inTime:
			d.exact += time.Duration(n) * time.Minute
		case unit == 'S' && inTime:
			d.exact += time.Duration(n) * time.Second
		default:
			return duration{}, fmt.Errorf("%w: %q", errBadDuration, clip(s, 64))
		}
		if d.days > maxDurationDays || d.exact > maxDurationDays*24*time.Hour {
			return duration{}, fmt.Errorf("%w: too long", errBadDuration)
		}
	}
	if neg {
		d.days, d.exact = -d.days, -d.exact
	}
	return d, nil
}

// unescapeText undoes RFC 5545 TEXT escaping: \\ \; \, \n and \N. Other
// backslashes are kept as written, as ical.js keeps them.
func unescapeText(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var sb strings.Builder
	sb.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			sb.WriteByte(c)
			continue
		}
		switch n := s[i+1]; n {
		case '\\', ';', ',':
			sb.WriteByte(n)
			i++
		case 'n', 'N':
			sb.WriteByte('\n')
			i++
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// listValues yields the values of a comma-separated list of non-text
// values, trimmed, skipping empty ones, without building the list.
func listValues(s string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for p := range strings.SplitSeq(s, ",") {
			if p = strings.TrimSpace(p); p != "" && !yield(p) {
				return
			}
		}
	}
}

// textValues yields the values of a multi-valued TEXT, split on
// unescaped commas and unescaped, without building the list.
func textValues(s string) iter.Seq[string] {
	return func(yield func(string) bool) {
		start := 0
		for i := 0; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case ',':
				if !yield(unescapeText(s[start:i])) {
					return
				}
				start = i + 1
			}
		}
		yield(unescapeText(s[start:]))
	}
}
