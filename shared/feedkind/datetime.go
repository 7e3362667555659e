package feedkind

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// form says how a source wrote a date or time.
type form uint8

const (
	// formNone: no value.
	formNone form = iota
	// formDate: a date without a time of day (an all-day event).
	formDate
	// formLocal: a wall-clock time without an offset, to be placed in the
	// event's zone.
	formLocal
	// formInstant: a time with an offset or Z: an instant.
	formInstant
)

// when is a date or time as a source wrote it. For formDate and
// formLocal, t holds the date and wall clock in UTC (only its fields
// matter); for formInstant, the instant.
type when struct {
	t    time.Time
	form form
}

// isZero reports a missing value.
func (w when) isZero() bool { return w.form == formNone }

// dateOnly returns the date of w as a formDate.
func (w when) dateOnly() when {
	y, m, d := w.t.Date()
	return when{t: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), form: formDate}
}

// errNoDate is the reason of a date that is missing.
var errNoDate = errors.New("no date")

// parseISO reads an ISO 8601 date or date-time as publishers write them
// in JSON-LD, RSS and Atom, and as the default date format of csv and
// json: "2025-03-01", "2025-03-01T19:00", "2025-03-01 19:00:00",
// "2025-03-01T19:00:00.000-05:00", "2025-03-01T19:00:00Z",
// "2025-03-01T19:00:00+0100", and the basic forms of iCalendar and xCal
// ("20250301", "20250301T190000Z").
func parseISO(s string) (when, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return when{}, errNoDate
	}
	if len(s) > 64 {
		return when{}, fmt.Errorf("date %.20q... is too long", s)
	}
	var y, mo, d int
	var rest string
	switch {
	case len(s) >= 10 && s[4] == '-' && s[7] == '-':
		var ok1, ok2, ok3 bool
		y, ok1 = atoiN(s[0:4])
		mo, ok2 = atoiN(s[5:7])
		d, ok3 = atoiN(s[8:10])
		if !ok1 || !ok2 || !ok3 {
			return when{}, fmt.Errorf("date %q is not ISO 8601", s)
		}
		rest = s[10:]
	case len(s) >= 8 && allDigits(s[:8]):
		y, _ = atoiN(s[0:4])
		mo, _ = atoiN(s[4:6])
		d, _ = atoiN(s[6:8])
		rest = s[8:]
	default:
		return when{}, fmt.Errorf("date %q is not ISO 8601", s)
	}
	if !validDate(y, mo, d) {
		return when{}, fmt.Errorf("date %q is not a calendar date", s)
	}
	if rest == "" {
		return when{t: time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC), form: formDate}, nil
	}
	if rest[0] != 'T' && rest[0] != 't' && rest[0] != ' ' {
		return when{}, fmt.Errorf("date %q is not ISO 8601", s)
	}
	rest = rest[1:]
	hh, mm, ss, rest, err := parseClock(rest)
	if err != nil {
		return when{}, fmt.Errorf("date %q: %w", s, err)
	}
	wall := time.Date(y, time.Month(mo), d, hh, mm, ss, 0, time.UTC)
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return when{t: wall, form: formLocal}, nil
	}
	off, err := parseOffset(rest)
	if err != nil {
		return when{}, fmt.Errorf("date %q: %w", s, err)
	}
	return when{t: wall.Add(-time.Duration(off) * time.Second).In(time.FixedZone("", off)), form: formInstant}, nil
}

// parseClock reads "19:00", "19:00:00", "19:00:00.123" or "190000" at
// the start of s and returns the rest.
func parseClock(s string) (h, m, sec int, rest string, err error) {
	bad := fmt.Errorf("time of day %q is not hh:mm[:ss]", s)
	if len(s) >= 4 && allDigits(s[:4]) { // basic: hhmm[ss]
		h, _ = atoiN(s[0:2])
		m, _ = atoiN(s[2:4])
		rest = s[4:]
		if len(rest) >= 2 && allDigits(rest[:2]) {
			sec, _ = atoiN(rest[:2])
			rest = rest[2:]
		}
	} else {
		if len(s) < 5 || s[2] != ':' {
			return 0, 0, 0, "", bad
		}
		var ok1, ok2 bool
		h, ok1 = atoiN(s[0:2])
		m, ok2 = atoiN(s[3:5])
		if !ok1 || !ok2 {
			return 0, 0, 0, "", bad
		}
		rest = s[5:]
		if len(rest) >= 3 && rest[0] == ':' {
			var ok bool
			if sec, ok = atoiN(rest[1:3]); !ok {
				return 0, 0, 0, "", bad
			}
			rest = rest[3:]
		}
	}
	if len(rest) > 0 && (rest[0] == '.' || rest[0] == ',') { // fraction
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		rest = rest[i:]
	}
	if h == 24 && m == 0 && sec == 0 {
		h = 23
		m, sec = 59, 59
	}
	if h > 23 || m > 59 || sec > 60 {
		return 0, 0, 0, "", fmt.Errorf("time of day %q is out of range", s)
	}
	return h, m, min(sec, 59), rest, nil
}

// parseOffset reads "Z", "+01:00", "-0500" or "+01" as seconds east of
// UTC.
func parseOffset(s string) (int, error) {
	if s == "Z" || s == "z" {
		return 0, nil
	}
	if len(s) < 3 || (s[0] != '+' && s[0] != '-') {
		return 0, fmt.Errorf("offset %q is not Z or ±hh:mm", s)
	}
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	digits := strings.ReplaceAll(s[1:], ":", "")
	if !allDigits(digits) || (len(digits) != 2 && len(digits) != 4) {
		return 0, fmt.Errorf("offset %q is not Z or ±hh:mm", s)
	}
	h, _ := atoiN(digits[:2])
	m := 0
	if len(digits) == 4 {
		m, _ = atoiN(digits[2:])
	}
	if h > 18 || m > 59 {
		return 0, fmt.Errorf("offset %q is out of range", s)
	}
	return sign * (h*3600 + m*60), nil
}

// parseTimeOfDay reads a time of day as spreadsheets hold it: "19:00",
// "19:00:00", "7:30 PM", "7:30pm", "7pm", "7 p.m.", "noon", "midnight".
func parseTimeOfDay(s string) (h, m, sec int, err error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "noon":
		return 12, 0, 0, nil
	case "midnight":
		return 0, 0, 0, nil
	}
	bad := fmt.Errorf("time %q is not a time of day (19:00, 7:30 PM)", s)
	ampm := ""
	for _, suf := range []string{"a.m.", "p.m.", "am", "pm", "a", "p"} {
		if strings.HasSuffix(s, suf) {
			ampm = suf[:1]
			s = strings.TrimSpace(strings.TrimSuffix(s, suf))
			break
		}
	}
	parts := strings.Split(s, ":")
	if len(parts) > 3 || s == "" {
		return 0, 0, 0, bad
	}
	vals := [3]int{}
	for i, p := range parts {
		if i == 2 {
			p, _, _ = strings.Cut(p, ".")
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || len(p) > 2 || (i > 0 && len(p) != 2) {
			return 0, 0, 0, bad
		}
		vals[i] = n
	}
	h, m, sec = vals[0], vals[1], vals[2]
	switch ampm {
	case "a":
		if h < 1 || h > 12 {
			return 0, 0, 0, bad
		}
		if h == 12 {
			h = 0
		}
	case "p":
		if h < 1 || h > 12 {
			return 0, 0, 0, bad
		}
		if h != 12 {
			h += 12
		}
	}
	if h > 23 || m > 59 || sec > 59 {
		return 0, 0, 0, bad
	}
	return h, m, sec, nil
}

// parseDuration reads an ISO 8601 duration ("PT1H30M", "P1D", "P1W",
// "P1DT2H"); with loose set, as the duration column of csv and json
// hold it, also "1:30" (hours and minutes) and "90" (minutes).
func parseDuration(s string, loose bool) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if loose {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 525600 {
			return time.Duration(n) * time.Minute, nil
		}
		if h, m, ok := strings.Cut(s, ":"); ok {
			hn, err1 := strconv.Atoi(h)
			mn, err2 := strconv.Atoi(m)
			if err1 == nil && err2 == nil && hn >= 0 && hn < 10000 && mn >= 0 && mn < 60 {
				return time.Duration(hn)*time.Hour + time.Duration(mn)*time.Minute, nil
			}
		}
	}
	bad := fmt.Errorf("duration %q is not ISO 8601 (PT1H30M)", s)
	u := strings.ToUpper(s)
	if len(u) < 3 || u[0] != 'P' || len(u) > 40 {
		return 0, bad
	}
	var total time.Duration
	inTime := false
	num := ""
	for _, c := range u[1:] {
		switch {
		case c >= '0' && c <= '9' || c == '.':
			num += string(c)
			continue
		case c == 'T':
			if inTime || num != "" {
				return 0, bad
			}
			inTime = true
			continue
		}
		if num == "" {
			return 0, bad
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || f > 1e6 {
			return 0, bad
		}
		num = ""
		var unit time.Duration
		switch {
		case c == 'W' && !inTime:
			unit = 7 * 24 * time.Hour
		case c == 'D' && !inTime:
			unit = 24 * time.Hour
		case c == 'M' && !inTime:
			unit = 30 * 24 * time.Hour
		case c == 'Y' && !inTime:
			unit = 365 * 24 * time.Hour
		case c == 'H' && inTime:
			unit = time.Hour
		case c == 'M' && inTime:
			unit = time.Minute
		case c == 'S' && inTime:
			unit = time.Second
		default:
			return 0, bad
		}
		total += time.Duration(f * float64(unit))
	}
	if num != "" || total < 0 || total > 10*365*24*time.Hour {
		return 0, bad
	}
	return total, nil
}

// atoiN reads a run of decimal digits.
func atoiN(s string) (int, bool) {
	if s == "" || !allDigits(s) {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// allDigits reports whether s is made of ASCII digits only.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validDate reports whether y-m-d is a date of the proleptic Gregorian
// calendar between years 1 and 9999.
func validDate(y, m, d int) bool {
	if y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 {
		return false
	}
	return d <= time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// dateLayout is a compiled Mapping.DateFormat.
type dateLayout struct {
	// goLayout is the Go reference layout, "" for ISO 8601 or Unix time.
	goLayout string
	// hasTime reports a layout with a time of day.
	hasTime bool
	// hasZone reports a layout with an offset.
	hasZone bool
	// upper reports a layout with an AM/PM marker: the value is upper-cased
	// first, since Go's parser reads "PM" but not "pm".
	upper bool
	// unix is "s" or "ms" for Unix time.
	unix string
}

// The tokens of the date format language, longest first where one is a
// prefix of another.
var layoutTokens = []struct{ tok, goTok string }{
	{"YYYY", "2006"}, {"YY", "06"},
	{"MMMM", "January"}, {"MMM", "Jan"}, {"MM", "01"}, {"M", "1"},
	{"DD", "02"}, {"D", "2"},
	{"dddd", "Monday"}, {"ddd", "Mon"},
	{"HH", "15"}, {"H", "15"}, {"hh", "03"}, {"h", "3"},
	{"mm", "04"}, {"ss", "05"},
	{"A", "PM"}, {"Z", "Z07:00"},
}

// compileDateFormat translates a Mapping.DateFormat into a dateLayout.
// See Mapping.DateFormat for the language.
func compileDateFormat(f string) (dateLayout, error) {
	switch strings.ToLower(strings.TrimSpace(f)) {
	case "", "iso", "iso8601":
		return dateLayout{}, nil
	case "unix":
		return dateLayout{unix: "s"}, nil
	case "unixms":
		return dateLayout{unix: "ms"}, nil
	}
	var b strings.Builder
	var l dateLayout
	hasDay, hasMonth, hasYear := false, false, false
	for i := 0; i < len(f); {
		matched := false
		for _, t := range layoutTokens {
			if strings.HasPrefix(f[i:], t.tok) {
				b.WriteString(t.goTok)
				i += len(t.tok)
				matched = true
				switch t.tok[0] {
				case 'H', 'h', 'm':
					l.hasTime = true
				case 'A':
					l.upper = true
				case 'Z':
					l.hasZone = true
				case 'D':
					hasDay = true
				case 'M':
					hasMonth = true
				case 'Y':
					hasYear = true
				}
				break
			}
		}
		if matched {
			continue
		}
		c := f[i]
		if c >= '0' && c <= '9' {
			return dateLayout{}, fmt.Errorf("date format %q: a digit cannot stand for itself (use YYYY, MM, DD, HH, mm, ss)", f)
		}
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			if c != 'T' {
				return dateLayout{}, fmt.Errorf("date format %q: letter %q is not a token (YYYY YY MMMM MMM MM M DD D dddd ddd HH H hh h mm ss A Z)", f, c)
			}
		}
		b.WriteByte(c)
		i++
	}
	if !hasDay || !hasMonth || !hasYear {
		return dateLayout{}, fmt.Errorf("date format %q: needs a year, a month and a day (e.g. M/D/YYYY)", f)
	}
	l.goLayout = b.String()
	return l, nil
}

// parse reads a value with the layout. Without a time of day the value
// is a formDate; with one, formLocal, or formInstant when the layout has
// an offset or is Unix time.
func (l dateLayout) parse(s string) (when, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return when{}, errNoDate
	}
	switch {
	case l.unix != "":
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || f > 1e14 {
			return when{}, fmt.Errorf("date %q is not Unix time", s)
		}
		if l.unix == "ms" {
			f /= 1000
		}
		if f > 253402300799 { // 9999-12-31
			return when{}, fmt.Errorf("date %q is out of range", s)
		}
		return when{t: time.Unix(int64(f), 0).UTC(), form: formInstant}, nil
	case l.goLayout == "":
		return parseISO(s)
	}
	if l.upper {
		s = strings.ToUpper(s)
	}
	t, err := time.Parse(l.goLayout, s)
	if err != nil {
		return when{}, fmt.Errorf("date %q does not match the date format", s)
	}
	switch {
	case l.hasZone:
		return when{t: t, form: formInstant}, nil
	case l.hasTime:
		return when{t: t, form: formLocal}, nil
	}
	return when{t: t, form: formDate}, nil
}
