package main

import (
	"regexp"
	"time"
)

var (
	// dateLine finds DTSTART, DTEND, RECURRENCE-ID, EXDATE and RDATE
	// lines (their values in group 2) and the UNTIL of RRULE lines.
	dateLine = regexp.MustCompile(`(?m)^((?:DTSTART|DTEND|RECURRENCE-ID|EXDATE|RDATE)[^:\r\n]*:)([^\r\n]*)|^(RRULE:[^\r\n]*UNTIL=)(\d{8})`)
	// listDate finds the date of each value in a list of dates, date-times
	// and periods.
	listDate = regexp.MustCompile(`(?:^|[,/])\d{8}`)
)

// shiftWeeks returns ics with the dates of its DTSTART, DTEND,
// RECURRENCE-ID, EXDATE, RDATE and UNTIL values moved by whole weeks, so
// weekdays and weekly rules hold: how the demo keeps its fixed feeds
// in the coming weeks. ics is unfolded text, as fixtures are.
func shiftWeeks(ics []byte, weeks int) []byte {
	shift := func(m []byte) []byte {
		d := m[len(m)-8:]
		t, err := time.Parse("20060102", string(d))
		if err != nil {
			return m
		}
		return append(append([]byte(nil), m[:len(m)-8]...), t.AddDate(0, 0, 7*weeks).Format("20060102")...)
	}
	return dateLine.ReplaceAllFunc(ics, func(line []byte) []byte {
		if line[0] == 'R' && line[1] == 'R' { // RRULE: UNTIL is its last 8 bytes
			return shift(line)
		}
		i := 0
		for line[i] != ':' {
			i++
		}
		return append(append([]byte(nil), line[:i+1]...), listDate.ReplaceAllFunc(line[i+1:], shift)...)
	})
}
