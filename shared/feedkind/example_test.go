package feedkind_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/elmcity/elmcity/shared/feedkind"
)

// Example converts a page's JSON-LD to iCalendar: the event's own @id
// becomes its UID, its offset agrees with the hub's zone so its time is
// written in that zone, the cancelled status and the subtype carry over,
// and the long description is escaped and folded at 75 octets.
func Example() {
	page := `<html><head><script type="application/ld+json">
{"@context": "https://schema.org", "@type": "MusicEvent",
 "@id": "https://venue.example/shows/42",
 "name": "Songs; Stories, and More",
 "description": "Doors at 7.\nAn evening of songs and stories from the North Country, with guests.",
 "startDate": "2025-03-07T19:30:00-05:00", "duration": "PT2H",
 "eventStatus": "https://schema.org/EventCancelled",
 "location": {"@type": "Place", "name": "The Hall", "address": "1 Main St, Keene"}}
</script></head></html>`
	zone, _ := time.LoadLocation("America/New_York")
	ics, rep, err := feedkind.Convert(context.Background(), feedkind.KindJSONLD, []byte(page),
		"https://venue.example/", feedkind.Mapping{}, feedkind.Options{Zone: zone})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(strings.ReplaceAll(string(ics), "\r\n", "\n"))
	fmt.Printf("items %d, events %d, skipped %d\n", rep.Items, rep.Events, rep.Skipped)
	// Output:
	// BEGIN:VCALENDAR
	// VERSION:2.0
	// PRODID:-//elmcity//feedkind jsonld//EN
	// CALSCALE:GREGORIAN
	// BEGIN:VEVENT
	// UID:https://venue.example/shows/42
	// DTSTAMP:19700101T000000Z
	// DTSTART;TZID=America/New_York:20250307T193000
	// DURATION:PT2H
	// SUMMARY:Songs\; Stories\, and More
	// DESCRIPTION:Doors at 7.\nAn evening of songs and stories from the North Cou
	//  ntry\, with guests.
	// LOCATION:The Hall\, 1 Main St\, Keene
	// CATEGORIES:MusicEvent
	// STATUS:CANCELLED
	// END:VEVENT
	// END:VCALENDAR
	// items 1, events 1, skipped 0
}
