package calendar_test

import (
	"context"
	"fmt"
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
)

// Example parses a small Outlook-style feed and lists its occurrences in
// January 2024: the Windows zone name is read as America/New_York, and
// the EXDATE removes the second week.
func Example() {
	feed := "BEGIN:VCALENDAR\r\n" +
		"BEGIN:VEVENT\r\n" +
		"UID:choir@example.org\r\n" +
		"SUMMARY:Choir practice\r\n" +
		"DTSTART;TZID=Eastern Standard Time:20240103T190000\r\n" +
		"DURATION:PT2H\r\n" +
		"RRULE:FREQ=WEEKLY;COUNT=3\r\n" +
		"EXDATE;TZID=Eastern Standard Time:20240110T190000\r\n" +
		"END:VEVENT\r\n" +
		"END:VCALENDAR\r\n"
	ctx := context.Background()
	cal, err := calendar.NewParser(calendar.Config{}).Parse(ctx, []byte(feed))
	if err != nil {
		fmt.Println(err)
		return
	}
	x, err := cal.Expand(ctx, calendar.ExpandOptions{
		From: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		To:   time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, o := range x.Occurrences {
		fmt.Printf("%s to %s %s [%s]\n", o.Start.Format("Mon 2 Jan 15:04 MST"), o.End.Format("15:04"), o.Summary, o.Policy)
	}
	// Output:
	// Wed 3 Jan 19:00 EST to 21:00 Choir practice [windows-zone]
	// Wed 17 Jan 19:00 EST to 21:00 Choir practice [windows-zone]
}
