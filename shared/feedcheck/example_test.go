package feedcheck_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/feedcheck"
	"github.com/elmcity/elmcity/shared/feedkind"
)

func ExampleBuild() {
	feed := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Club//EN\r\nBEGIN:VEVENT\r\nUID:night@club\r\n" +
		"DTSTART:20261201T190000\r\nDURATION:PT2H\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\nSUMMARY:Chess night\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:broken@club\r\nSUMMARY:No start\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	ny, _ := time.LoadLocation("America/New_York")
	ctx := context.Background()
	cal, err := calendar.NewParser(calendar.Config{FloatingZone: ny}).Parse(ctx, []byte(feed))
	if err != nil {
		panic(err)
	}
	from, to := time.Date(2026, 12, 1, 0, 0, 0, 0, ny), time.Date(2027, 1, 1, 0, 0, 0, 0, ny)
	x, err := cal.Expand(ctx, calendar.ExpandOptions{From: from, To: to, IncludeCancelled: true})
	if err != nil {
		panic(err)
	}
	r := feedcheck.Build(cal, x, feedcheck.Options{Source: "club.ics", From: from, To: to, Zone: ny, Next: 2})
	fmt.Println(r.Verdict, len(r.Warnings), r.Window.Occurrences)
	for _, o := range r.Next {
		fmt.Println(o.Start.Format(time.RFC3339), o.Title)
	}
	r.WriteText(os.Stdout)
	// Output:
	// usable 1 3
	// 2026-12-01T19:00:00-05:00 Chess night
	// 2026-12-08T19:00:00-05:00 Chess night
	// Feed club.ics
	//   256 bytes, PRODID "-//Club//EN"
	//
	// Events: 1 usable of 2 VEVENTs: 1 recurring, 0 overrides, 0 all-day, 1 floating
	//
	// Skipped VEVENTs (1):
	//   - UID "broken@club": no DTSTART
	//
	// Window 2026-12-01T05:00:00Z to 2027-01-01T05:00:00Z: 3 occurrences (0 cancelled)
	//   hub policies applied:
	//     hub-zone: 3 occurrence(s)
	//
	// Verdict: usable, 1 warning(s) above
}

func ExampleConversionOf() {
	csv := "Event,Date,Time\r\nChess night,12/1/2026,7:00 PM\r\nNo date,,\r\n"
	ny, _ := time.LoadLocation("America/New_York")
	ctx := context.Background()
	m := feedkind.Mapping{Title: "Event", StartDate: "Date", StartTime: "Time", Header: true, DateFormat: "M/D/YYYY"}
	ics, rep, err := feedkind.Convert(ctx, feedkind.KindCSV, []byte(csv), "", m, feedkind.Options{Zone: ny})
	if err != nil {
		panic(err)
	}
	cal, err := calendar.NewParser(calendar.Config{FloatingZone: ny}).Parse(ctx, ics)
	if err != nil {
		panic(err)
	}
	from, to := time.Date(2026, 12, 1, 0, 0, 0, 0, ny), time.Date(2027, 1, 1, 0, 0, 0, 0, ny)
	x, err := cal.Expand(ctx, calendar.ExpandOptions{From: from, To: to, IncludeCancelled: true})
	if err != nil {
		panic(err)
	}
	r := feedcheck.Build(cal, x, feedcheck.Options{Source: "club.csv", From: from, To: to, Zone: ny, Next: -1,
		Conversion: feedcheck.ConversionOf(rep, len(csv))})
	fmt.Println(r.Verdict, r.Warnings)
	r.Conversion.WriteText(os.Stdout, r.Source)
	// Output:
	// usable [1 of 2 csv item(s) skipped in the conversion to iCalendar: see the conversion's warnings]
	// Conversion of club.csv from csv (59 bytes)
	//   2 item(s) found, 1 event(s) written, 1 skipped
	//   Warnings (2):
	//   - row 3 skipped: no start date
	//   - 1× start date without an offset read in the hub's zone America/New_York (policy csv-local-time)
}

func ExampleAdapterConversion() {
	// What an adapter run reported (script.AdapterResult's Report and
	// Fetches), for a source of 2048 bytes.
	rep := feedkind.Report{Kind: feedkind.KindScript, Items: 3, Events: 2, Skipped: 1,
		Warnings: []string{`result[2] (uid "v-3") skipped: start: required`}}
	c := feedcheck.AdapterConversion("venue", rep, 2048, 1)
	c.WriteText(os.Stdout, "https://venue.example.org/api/events")
	// Output:
	// Conversion of https://venue.example.org/api/events by adapter venue (2048 bytes)
	//   3 item(s) found, 2 event(s) written, 1 skipped
	//   1 page(s) fetched by the adapter besides the feed's source
	//   Warnings (1):
	//   - result[2] (uid "v-3") skipped: start: required
}
