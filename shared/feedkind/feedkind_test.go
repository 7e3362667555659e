package feedkind_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/feedkind"
)

// hubZone is the zone of the test hub.
func hubZone(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatalf("LoadLocation() = %v", err)
	}
	return loc
}

// readTestdata returns a file of testdata.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("ReadFile(%s) = %v", name, err)
	}
	return data
}

// occurrences parses ics with the hub's calendar parser and lists its
// occurrences in 2025, one line each: start (in its zone), end, title,
// location, status, categories.
func occurrences(t testing.TB, ics []byte) []string {
	t.Helper()
	ctx := context.Background()
	cal, err := calendar.NewParser(calendar.Config{}).Parse(ctx, ics)
	if err != nil {
		t.Fatalf("calendar Parse() = %v\n%s", err, ics)
	}
	if len(cal.Stats.Skipped) > 0 {
		t.Errorf("calendar Parse() skipped %v\n%s", cal.Stats.Skipped, ics)
	}
	for _, z := range cal.Stats.Zones {
		if z.Kind != calendar.ZoneIANA {
			t.Errorf("zone %q resolved as %s, want iana", z.TZID, z.Kind)
		}
	}
	x, err := cal.Expand(ctx, calendar.ExpandOptions{
		From:             time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		To:               time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		IncludeCancelled: true,
	})
	if err != nil {
		t.Fatalf("Expand() = %v", err)
	}
	var out []string
	for _, o := range x.Occurrences {
		var when string
		switch {
		case o.AllDay:
			when = o.Start.Format("2006-01-02") + " all day"
			if days := int(o.End.Sub(o.Start).Hours() / 24); days > 1 {
				when += fmt.Sprintf(" (%d days)", days)
			}
		case o.Floating:
			when = o.Start.Format("2006-01-02 15:04") + " floating"
		default:
			when = o.Start.Format("2006-01-02 15:04 MST") + " " + o.Start.Location().String()
			if !o.End.IsZero() && !o.End.Equal(o.Start) {
				when += " to " + o.End.Format("15:04")
			}
		}
		line := when + " | " + o.Summary
		if o.Location != "" {
			line += " | at " + o.Location
		}
		if o.Status != "" {
			line += " | " + string(o.Status)
		}
		if len(o.Categories) > 0 {
			line += " | " + strings.Join(o.Categories, ",")
		}
		out = append(out, line)
	}
	return out
}

func TestConvert(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		kind     feedkind.Kind
		file     string
		base     string
		mapping  feedkind.Mapping
		noZone   bool
		want     []string
		warnings []string // substrings each warning must contain, in order
		report   feedkind.Report
	}{
		{
			name: "EventsCalendarListing",
			kind: feedkind.KindJSONLD,
			file: "jsonld/tec-listing.html",
			base: "https://library.example.org/events/",
			want: []string{
				"2025-03-07 19:00 EST America/New_York to 21:30 | Jazz & Blues Night | at Auditorium, 60 Winter St, Keene, NH 03431, United States",
				"2025-03-10 10:00 EDT America/New_York to 12:00 | Seed Library Swap | at Community Room, 60 Winter St, Keene, NH 03431, United States | CANCELLED",
				"2025-03-15 all day (2 days) | Book Sale | at Lobby, 60 Winter St, Keene, NH",
			},
			report: feedkind.Report{Kind: feedkind.KindJSONLD, Items: 3, Events: 3},
		},
		{
			name:     "EventbriteEventPage",
			kind:     feedkind.KindJSONLD,
			file:     "jsonld/eventbrite-event.html",
			want:     []string{"2025-04-05 14:00 EDT America/New_York to 16:00 | Intro to Pottery | at Clay Studio, 12 Main St, Keene, NH 03431, US | EducationEvent"},
			warnings: []string{"block 1: invalid JSON-LD"},
			report:   feedkind.Report{Kind: feedkind.KindJSONLD, Items: 1, Events: 1},
		},
		{
			name: "TicketmasterListingLocalTimes",
			kind: feedkind.KindJSONLD,
			file: "jsonld/ticketmaster-listing.html",
			want: []string{
				"2025-04-12 20:00 EDT America/New_York | The Low Anthem | at The Colonial Theatre, 95 Main St, Keene, NH 03431, US | MusicEvent",
				"2025-05-02 19:30 EDT America/New_York | Our Town | at The Colonial Theatre, 95 Main St, Keene, NH | TheaterEvent",
			},
			warnings: []string{"block 1 item 3 skipped: no start date", "2× startDate without an offset read in the hub's zone America/New_York (policy jsonld-local-time)"},
			report:   feedkind.Report{Kind: feedkind.KindJSONLD, Items: 3, Events: 2, Skipped: 1},
		},
		{
			name:   "TicketmasterListingNoHubZone",
			kind:   feedkind.KindJSONLD,
			file:   "jsonld/ticketmaster-listing.html",
			noZone: true,
			want: []string{
				"2025-04-12 20:00 floating | The Low Anthem | at The Colonial Theatre, 95 Main St, Keene, NH 03431, US | MusicEvent",
				"2025-05-02 19:30 floating | Our Town | at The Colonial Theatre, 95 Main St, Keene, NH | TheaterEvent",
			},
			warnings: []string{"block 1 item 3 skipped", "2× startDate without an offset and no zone left floating"},
			report:   feedkind.Report{Kind: feedkind.KindJSONLD, Items: 3, Events: 2, Skipped: 1},
		},
		{
			name: "ItemListInMainEntity",
			kind: feedkind.KindJSONLD,
			file: "jsonld/itemlist.html",
			want: []string{
				"2025-04-05 14:00 EDT America/New_York to 16:00 | Intro to Pottery | at Clay Studio",
				"2025-04-26 10:00 EDT America/New_York to 15:00 | Raku Firing Workshop | at Clay Studio / Online, https://meet.example/raku",
			},
			warnings: []string{`block 1 item 3 skipped: startDate: date "next Tuesday" is not ISO 8601`},
			report:   feedkind.Report{Kind: feedkind.KindJSONLD, Items: 3, Events: 2, Skipped: 1},
		},
		{
			name: "ScheduleRecurrence",
			kind: feedkind.KindJSONLD,
			file: "jsonld/storytime-schedule.jsonld",
			want: []string{
				"2025-01-01 all day | Library Closed | closure,holiday",
				"2025-01-04 14:00 EST America/New_York to 15:30 | First Saturday Book Club | at Online, https://meet.example/bookclub",
				"2025-01-07 10:30 EST America/New_York to 11:15 | Toddler Storytime | at Children's Room, 60 Winter St, Keene, NH | EventSeries",
				"2025-01-09 10:30 EST America/New_York to 11:15 | Toddler Storytime | at Children's Room, 60 Winter St, Keene, NH | EventSeries",
				"2025-01-14 10:30 EST America/New_York to 11:15 | Toddler Storytime | at Children's Room, 60 Winter St, Keene, NH | EventSeries",
				"2025-01-16 10:30 EST America/New_York to 11:15 | Toddler Storytime | at Children's Room, 60 Winter St, Keene, NH | EventSeries",
				"2025-01-23 10:30 EST America/New_York to 11:15 | Toddler Storytime | at Children's Room, 60 Winter St, Keene, NH | EventSeries",
				"2025-01-28 10:30 EST America/New_York to 11:15 | Toddler Storytime | at Children's Room, 60 Winter St, Keene, NH | EventSeries",
				"2025-01-30 10:30 EST America/New_York to 11:15 | Toddler Storytime | at Children's Room, 60 Winter St, Keene, NH | EventSeries",
				"2025-02-01 14:00 EST America/New_York to 15:30 | First Saturday Book Club | at Online, https://meet.example/bookclub",
				"2025-02-04 10:30 EST America/New_York to 11:15 | Toddler Storytime | at Children's Room, 60 Winter St, Keene, NH | EventSeries",
				"2025-02-06 10:30 EST America/New_York to 11:15 | Toddler Storytime | at Children's Room, 60 Winter St, Keene, NH | EventSeries",
				"2025-02-11 10:30 EST America/New_York to 11:15 | Toddler Storytime | at Children's Room, 60 Winter St, Keene, NH | EventSeries",
				"2025-02-13 10:30 EST America/New_York to 11:15 | Toddler Storytime | at Children's Room, 60 Winter St, Keene, NH | EventSeries",
				"2025-02-20 10:30 EST America/New_York to 11:15 | Toddler Storytime | at Children's Room, 60 Winter St, Keene, NH | EventSeries",
				"2025-02-25 10:30 EST America/New_York to 11:15 | Toddler Storytime | at Children's Room, 60 Winter St, Keene, NH | EventSeries",
				"2025-02-27 10:30 EST America/New_York to 11:15 | Toddler Storytime | at Children's Room, 60 Winter St, Keene, NH | EventSeries",
				"2025-03-01 14:00 EST America/New_York to 15:30 | First Saturday Book Club | at Online, https://meet.example/bookclub",
			},
			warnings: []string{"1× startDate without an offset read in the hub's zone"},
			report:   feedkind.Report{Kind: feedkind.KindJSONLD, Items: 3, Events: 3},
		},
		{
			name: "CSVGoogleCalendarExport",
			kind: feedkind.KindCSV,
			file: "csv/google-calendar-export.csv",
			mapping: feedkind.Mapping{Title: "Subject", StartDate: "Start Date", StartTime: "Start Time", EndDate: "End Date",
				EndTime: "End Time", AllDay: "All Day Event", Location: "Location", Description: "Description",
				Categories: "Categories", Status: "Status", DateFormat: "M/D/YYYY", TZ: "America/New_York", Header: true},
			want: []string{
				"2025-03-01 19:30 EST America/New_York to 22:00 | Contra Dance | at Grange Hall, Route 12 | Dance",
				"2025-03-04 13:00 EST America/New_York to 15:00 | Quilters' Circle | at Senior Center | crafts,seniors",
				"2025-03-08 all day (2 days) | Maple Sugaring Open House | at Stonewall Farm | family",
				"2025-03-15 06:00 EDT America/New_York | Ice Fishing Derby | at Swanzey Lake | CANCELLED | outdoors",
				"2025-03-22 23:00 EDT America/New_York to 01:00 | Night Owl Astronomy | at Observatory Hill | science",
			},
			warnings: []string{"row 6 skipped: no start date", `row 9 skipped: start date: date "2025-03-29" does not match the date format`},
			report:   feedkind.Report{Kind: feedkind.KindCSV, Items: 7, Events: 5, Skipped: 2},
		},
		{
			name: "CSVNoHeaderSemicolonWindows1252",
			kind: feedkind.KindCSV,
			file: "csv/semicolon-1252.csv",
			base: "https://arts.example.fr/",
			mapping: feedkind.Mapping{Title: "1", StartDate: "2", StartTime: "3", EndTime: "4", Location: "5", URL: "6", UID: "7",
				DateFormat: "DD.MM.YYYY", TZ: "Europe/Paris", Delimiter: ";"},
			want: []string{
				"2025-03-07 19:00 CET Europe/Paris to 21:00 | Café Philo | at Café des Arts",
				"2025-03-22 all day | Marché de Printemps | at Place du Marché",
				"2025-03-30 17:00 CEST Europe/Paris to 18:15 | Concert d'orgue | at Église Saint-Pierre",
			},
			warnings: []string{"not UTF-8: decoded as Windows-1252"},
			report:   feedkind.Report{Kind: feedkind.KindCSV, Items: 3, Events: 3},
		},
		{
			name: "JSONEventsCalendarREST",
			kind: feedkind.KindJSON,
			file: "json/tec-rest.json",
			mapping: feedkind.Mapping{Title: "title", StartDate: "start_date", EndDate: "end_date", AllDay: "all_day",
				Location: "venue.venue", URL: "url", Description: "description", Categories: "tags", UID: "global_id",
				Status: "status", Path: "events"},
			want: []string{
				"2025-02-14 all day (3 days) | Ice Festival | at Central Square | winter,family",
				"2025-03-01 09:00 EST America/New_York to 12:00 | Winter Farmers’ Market | at Keene Middle School Gym | market,food",
				"2025-03-05 19:00 EST America/New_York to 20:20 | Film: Nanook of the North | at Colonial Theatre | CANCELLED | film",
			},
			warnings: []string{"item 3 skipped: no start date", "item 4 skipped: not an object", "2× start date without an offset read in the hub's zone America/New_York (policy json-local-time)"},
			report:   feedkind.Report{Kind: feedkind.KindJSON, Items: 5, Events: 3, Skipped: 2},
		},
		{
			name: "RSSWithXCal",
			kind: feedkind.KindRSS,
			file: "rss/xcal.xml",
			want: []string{
				"2025-03-06 19:30 EST America/New_York to 21:00 | Faculty Recital: Brahms & Schumann | at Redfern Arts Center, Alumni Recital Hall | Music,Arts",
				"2025-03-19 10:00 EDT America/New_York to 14:00 | Spring Career Fair | at Spaulding Gym",
				"2025-03-23 all day (7 days) | Spring Break (no classes)",
			},
			warnings: []string{"item 4 skipped: no event start date", "1× start date without an offset read in the hub's zone America/New_York (policy rss-local-time)"},
			report:   feedkind.Report{Kind: feedkind.KindRSS, Items: 4, Events: 3, Skipped: 1},
		},
		{
			name: "AtomWithEventModuleLatin1",
			kind: feedkind.KindRSS,
			file: "rss/ev-atom.xml",
			base: "https://arts.example.org/calendar.atom",
			want: []string{
				"2025-03-14 17:00 EDT America/New_York to 19:00 | Gallery Opening: Winter Light | at Thorne-Sagendorph Gallery | gallery,exhibition",
				"2025-03-20 19:00 EDT America/New_York | Café Poetry Reading | at Brewbakers Café",
			},
			warnings: []string{"1× start date without an offset"},
			report:   feedkind.Report{Kind: feedkind.KindRSS, Items: 2, Events: 2},
		},
		{
			name:    "RSSMappedElements",
			kind:    feedkind.KindRSS,
			file:    "rss/mapped.xml",
			mapping: feedkind.Mapping{StartDate: "{http://calendar.example.org/ns/1.0}when", Location: "where", TZ: "America/Chicago"},
			want: []string{
				"2025-03-11 18:30 CDT America/Chicago | Planning Board | at Town Office",
				"2025-03-17 all day | Transfer Station Closed",
			},
			report: feedkind.Report{Kind: feedkind.KindRSS, Items: 2, Events: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opt := feedkind.Options{Zone: hubZone(t)}
			if tt.noZone {
				opt.Zone = nil
			}
			ics, rep, err := feedkind.Convert(context.Background(), tt.kind, readTestdata(t, tt.file), tt.base, tt.mapping, opt)
			if err != nil {
				t.Fatalf("Convert() = %v", err)
			}
			got := occurrences(t, ics)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("occurrences (-want +got):\n%s\n%s", diff, ics)
			}
			warnings := rep.Warnings
			rep.Warnings = nil
			if diff := cmp.Diff(tt.report, rep); diff != "" {
				t.Errorf("Report (-want +got):\n%s\nwarnings: %q", diff, warnings)
			}
			i := 0
			for _, w := range warnings {
				if i < len(tt.warnings) && strings.Contains(w, tt.warnings[i]) {
					i++
				}
			}
			if i < len(tt.warnings) {
				t.Errorf("Report.Warnings = %q, want %q in order", warnings, tt.warnings)
			}
		})
	}
}

// TestConvertCalendarName checks that a page's title, or a feed's,
// becomes the calendar's X-WR-CALNAME.
func TestConvertCalendarName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		kind feedkind.Kind
		file string
		want string
	}{
		{name: "PageTitle", kind: feedkind.KindJSONLD, file: "jsonld/tec-listing.html", want: "Events from March 2025 – Keene Public Library"},
		{name: "BareJSONLD", kind: feedkind.KindJSONLD, file: "jsonld/storytime-schedule.jsonld", want: ""},
		{name: "RSSChannel", kind: feedkind.KindRSS, file: "rss/xcal.xml", want: "Keene State College Events"},
		{name: "AtomFeed", kind: feedkind.KindRSS, file: "rss/ev-atom.xml", want: "Monadnock Arts Calendar"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ics, _, err := feedkind.Convert(context.Background(), tt.kind, readTestdata(t, tt.file), "", feedkind.Mapping{}, feedkind.Options{})
			if err != nil {
				t.Fatalf("Convert() = %v", err)
			}
			cal, err := calendar.NewParser(calendar.Config{}).Parse(context.Background(), ics)
			if err != nil {
				t.Fatalf("Parse() = %v", err)
			}
			if cal.Name != tt.want {
				t.Errorf("calendar name = %q, want %q", cal.Name, tt.want)
			}
		})
	}
}
