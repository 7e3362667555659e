package main

import "testing"

func TestShiftWeeks(t *testing.T) {
	t.Parallel()
	in := "BEGIN:VEVENT\r\nDTSTART;TZID=America/New_York:20261202T103000\r\nDTEND;VALUE=DATE:20261203\r\n" +
		"RRULE:FREQ=WEEKLY;UNTIL=20261230T000000Z\r\nEXDATE:20261209T153000Z,20261216T153000Z\r\n" +
		"RDATE;VALUE=PERIOD:20261210T150000Z/20261210T160000Z\r\nSUMMARY:20261202 stays\r\nEND:VEVENT\r\n"
	want := "BEGIN:VEVENT\r\nDTSTART;TZID=America/New_York:20261216T103000\r\nDTEND;VALUE=DATE:20261217\r\n" +
		"RRULE:FREQ=WEEKLY;UNTIL=20270113T000000Z\r\nEXDATE:20261223T153000Z,20261230T153000Z\r\n" +
		"RDATE;VALUE=PERIOD:20261224T150000Z/20261224T160000Z\r\nSUMMARY:20261202 stays\r\nEND:VEVENT\r\n"
	if got := string(shiftWeeks([]byte(in), 2)); got != want {
		t.Errorf("shiftWeeks(2) =\n%s\nwant\n%s", got, want)
	}
	if got := string(shiftWeeks([]byte(in), 0)); got != in {
		t.Errorf("shiftWeeks(0) changed the feed:\n%s", got)
	}
}
