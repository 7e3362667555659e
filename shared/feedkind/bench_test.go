package feedkind_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/feedkind"
)

// benchEvent is one generated event, rendered in every kind.
type benchEvent struct {
	id, title, location, description, url string
	start                                 time.Time // wall clock in America/New_York
	minutes                               int
}

// benchEvents returns n deterministic events spread over 2025.
func benchEvents(n int) []benchEvent {
	loc, _ := time.LoadLocation("America/New_York")
	out := make([]benchEvent, n)
	for i := range out {
		day := time.Date(2025, 1, 1, 0, 0, 0, 0, loc).AddDate(0, 0, i*7%365)
		out[i] = benchEvent{
			id:          fmt.Sprintf("https://events.example.org/e/%06d", i),
			title:       fmt.Sprintf("Event %d: a community meeting, with a longer title than most", i),
			location:    fmt.Sprintf("Community Hall, Room %d, 12 Main St, Keene, NH", i%12),
			description: strings.Repeat("Details about the event; bring a friend, and snacks. ", 3),
			url:         fmt.Sprintf("https://events.example.org/e/%06d", i),
			start:       day.Add(time.Duration(9+i%12)*time.Hour + time.Duration(i%4*15)*time.Minute),
			minutes:     60 + i%4*30,
		}
	}
	return out
}

// benchJSONLD renders events as The Events Calendar's listing page does.
func benchJSONLD(events []benchEvent) []byte {
	type place struct {
		Type string `json:"@type"`
		Name string `json:"name"`
	}
	type ev struct {
		Context     string `json:"@context"`
		Type        string `json:"@type"`
		ID          string `json:"@id"`
		Name        string `json:"name"`
		Description string `json:"description"`
		URL         string `json:"url"`
		StartDate   string `json:"startDate"`
		EndDate     string `json:"endDate"`
		EventStatus string `json:"eventStatus"`
		Location    place  `json:"location"`
	}
	list := make([]ev, len(events))
	for i, e := range events {
		list[i] = ev{Context: "http://schema.org", Type: "Event", ID: e.id, Name: e.title, Description: e.description, URL: e.url,
			StartDate: e.start.Format(time.RFC3339), EndDate: e.start.Add(time.Duration(e.minutes) * time.Minute).Format(time.RFC3339),
			EventStatus: "https://schema.org/EventScheduled", Location: place{Type: "Place", Name: e.location}}
	}
	b, _ := json.Marshal(list)
	return []byte("<!DOCTYPE html><html><head><title>Events</title><script type=\"application/ld+json\">" + string(b) + "</script></head><body></body></html>")
}

// benchCSV renders events as a spreadsheet export.
func benchCSV(events []benchEvent) []byte {
	var b strings.Builder
	b.WriteString("Subject,Start Date,Start Time,End Time,Location,Description,URL,ID\r\n")
	for _, e := range events {
		end := e.start.Add(time.Duration(e.minutes) * time.Minute)
		fmt.Fprintf(&b, "%q,%s,%s,%s,%q,%q,%s,%s\r\n", e.title, e.start.Format("1/2/2006"), e.start.Format("3:04 PM"),
			end.Format("3:04 PM"), e.location, e.description, e.url, e.id)
	}
	return []byte(b.String())
}

// benchJSON renders events as an API's array of objects.
func benchJSON(events []benchEvent) []byte {
	type ev struct {
		ID, Title, Start, End, Venue, Description, URL string
	}
	list := make([]ev, len(events))
	for i, e := range events {
		list[i] = ev{e.id, e.title, e.start.Format("2006-01-02 15:04:05"), e.start.Add(time.Duration(e.minutes) * time.Minute).Format("2006-01-02 15:04:05"),
			e.location, e.description, e.url}
	}
	b, _ := json.Marshal(map[string]any{"events": list})
	return b
}

// benchRSS renders events as RSS 2.0 with xCal dates.
func benchRSS(events []benchEvent) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:xCal="urn:ietf:params:xml:ns:xcal"><channel><title>Events</title>`)
	for _, e := range events {
		fmt.Fprintf(&b, "<item><title>%s</title><link>%s</link><guid>%s</guid><description>%s</description><xCal:dtstart>%s</xCal:dtstart><xCal:dtend>%s</xCal:dtend><xCal:location>%s</xCal:location></item>\n",
			e.title, e.url, e.id, e.description, e.start.Format(time.RFC3339), e.start.Add(time.Duration(e.minutes)*time.Minute).Format(time.RFC3339), e.location)
	}
	b.WriteString("</channel></rss>")
	return []byte(b.String())
}

// benchICS renders events as an iCalendar feed with TZIDs, as a
// calendar program exports them.
func benchICS(events []benchEvent) []byte {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//elmcity//bench//EN\r\n")
	esc := strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`)
	for _, e := range events {
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20250101T000000Z\r\nDTSTART;TZID=America/New_York:%s\r\nDTEND;TZID=America/New_York:%s\r\nSUMMARY:%s\r\nDESCRIPTION:%s\r\nLOCATION:%s\r\nURL:%s\r\nEND:VEVENT\r\n",
			e.id, e.start.Format("20060102T150405"), e.start.Add(time.Duration(e.minutes)*time.Minute).Format("20060102T150405"),
			esc.Replace(e.title), esc.Replace(e.description), esc.Replace(e.location), e.url)
	}
	b.WriteString("END:VCALENDAR\r\n")
	return []byte(b.String())
}

// benchInput is one kind's input for the benchmarks.
type benchInput struct {
	kind feedkind.Kind
	m    feedkind.Mapping
	data []byte
}

func benchInputs(events []benchEvent) []benchInput {
	return []benchInput{
		{kind: feedkind.KindJSONLD, data: benchJSONLD(events)},
		{kind: feedkind.KindCSV, data: benchCSV(events), m: feedkind.Mapping{Title: "Subject", StartDate: "Start Date", StartTime: "Start Time",
			EndTime: "End Time", Location: "Location", Description: "Description", URL: "URL", UID: "ID", DateFormat: "M/D/YYYY", Header: true}},
		{kind: feedkind.KindJSON, data: benchJSON(events), m: feedkind.Mapping{Title: "Title", StartDate: "Start", EndDate: "End",
			Location: "Venue", Description: "Description", URL: "URL", UID: "ID", Path: "events"}},
		{kind: feedkind.KindRSS, data: benchRSS(events)},
	}
}

// BenchmarkConvert converts n events of each kind to iCalendar; the
// Parse sub-benchmarks add the hub's parse of what was written, which
// is the whole cost of a non-ICS feed before expansion, beside
// BenchmarkParseICS for the same events written as ICS.
func BenchmarkConvert(b *testing.B) {
	zone, err := time.LoadLocation("America/New_York")
	if err != nil {
		b.Fatalf("LoadLocation() = %v", err)
	}
	opt := feedkind.Options{Zone: zone}
	parser := calendar.NewParser(calendar.Config{})
	for _, n := range []int{1000, 10000} {
		for _, in := range benchInputs(benchEvents(n)) {
			b.Run(fmt.Sprintf("%s/events=%d", in.kind, n), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(in.data)))
				for b.Loop() {
					_, rep, err := feedkind.Convert(context.Background(), in.kind, in.data, "", in.m, opt)
					if err != nil || rep.Events != n {
						b.Fatalf("Convert() = %d events, %v (%q)", rep.Events, err, rep.Warnings)
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			})
			b.Run(fmt.Sprintf("%s+parse/events=%d", in.kind, n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					ics, _, err := feedkind.Convert(context.Background(), in.kind, in.data, "", in.m, opt)
					if err != nil {
						b.Fatalf("Convert() = %v", err)
					}
					cal, err := parser.Parse(context.Background(), ics)
					if err != nil || len(cal.Events) != n {
						b.Fatalf("Parse() = %v", err)
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}

// BenchmarkParseICS parses the same events written as an ICS feed: the
// ICS path's figure to compare BenchmarkConvert's with.
func BenchmarkParseICS(b *testing.B) {
	parser := calendar.NewParser(calendar.Config{})
	for _, n := range []int{1000, 10000} {
		data := benchICS(benchEvents(n))
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				cal, err := parser.Parse(context.Background(), data)
				if err != nil || len(cal.Events) != n {
					b.Fatalf("Parse() = %v", err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
