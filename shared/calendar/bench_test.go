package calendar_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/elmcity/elmcity/shared/calendar"
)

// syntheticFeed builds a deterministic feed of n VEVENT series shaped
// like real producers' output: VTIMEZONEs for IANA names, a Windows zone
// name, floating times under X-WR-TIMEZONE, all-day events, and about a
// third recurring (daily, weekly, monthly; COUNT or UNTIL) with an
// override or an EXDATE now and then. Lines are folded at 75 octets.
func syntheticFeed(n int) []byte {
	var sb strings.Builder
	line := func(s string) {
		for len(s) > 75 {
			sb.WriteString(s[:75])
			sb.WriteString("\r\n ")
			s = s[75:]
		}
		sb.WriteString(s)
		sb.WriteString("\r\n")
	}
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:-//elmcity//benchmark//EN")
	line("X-WR-TIMEZONE:America/Chicago")
	for _, z := range []struct{ id, std, dst, from, to string }{
		{"Europe/Berlin", "19701025T030000", "19700329T020000", "+0100", "+0200"},
		{"America/New_York", "19701101T020000", "19700308T020000", "-0500", "-0400"},
	} {
		line("BEGIN:VTIMEZONE")
		line("TZID:" + z.id)
		line("BEGIN:STANDARD")
		line("DTSTART:" + z.std)
		line("RRULE:FREQ=YEARLY;BYMONTH=" + z.std[4:6] + ";BYDAY=-1SU")
		line("TZOFFSETFROM:" + z.to)
		line("TZOFFSETTO:" + z.from)
		line("END:STANDARD")
		line("BEGIN:DAYLIGHT")
		line("DTSTART:" + z.dst)
		line("RRULE:FREQ=YEARLY;BYMONTH=" + z.dst[4:6] + ";BYDAY=-1SU")
		line("TZOFFSETFROM:" + z.from)
		line("TZOFFSETTO:" + z.to)
		line("END:DAYLIGHT")
		line("END:VTIMEZONE")
	}
	base := time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC)
	zones := []string{";TZID=Europe/Berlin", ";TZID=America/New_York", ";TZID=W. Europe Standard Time", "", "Z"}
	for i := range n {
		start := base.Add(time.Duration(i*7919%(365*24)) * time.Hour).Truncate(15 * time.Minute)
		if h := start.Hour(); h < 7 || h > 21 {
			start = start.Add(time.Duration(10-h) * time.Hour)
		}
		uid := fmt.Sprintf("event-%06d@bench.example", i)
		line("BEGIN:VEVENT")
		line("UID:" + uid)
		line("DTSTAMP:20250101T000000Z")
		line(fmt.Sprintf("SUMMARY:Event %d: a community meeting\\, with a longer title than most", i))
		line("DESCRIPTION:" + strings.Repeat("Details about the event; bring a friend\\, and snacks. ", 3))
		line("LOCATION:Community Hall\\, Room " + fmt.Sprint(i%12))
		if i%7 == 3 {
			line("DTSTART;VALUE=DATE:" + start.Format("20060102"))
			line("DTEND;VALUE=DATE:" + start.AddDate(0, 0, 1+i%3).Format("20060102"))
		} else {
			z, suffix := zones[i%len(zones)], ""
			if z == "Z" {
				z, suffix = "", "Z"
			}
			line("DTSTART" + z + ":" + start.Format("20060102T150405") + suffix)
			line("DTEND" + z + ":" + start.Add(90*time.Minute).Format("20060102T150405") + suffix)
		}
		if i%3 == 0 {
			switch i % 4 {
			case 0:
				line("RRULE:FREQ=WEEKLY;BYDAY=" + strings.ToUpper(start.Weekday().String()[:2]) + ";COUNT=40")
			case 1:
				line("RRULE:FREQ=DAILY;INTERVAL=2;UNTIL=" + start.AddDate(0, 3, 0).Format("20060102T150405Z"))
			case 2:
				line("RRULE:FREQ=MONTHLY;BYDAY=2TU")
			default:
				line("RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH")
			}
			if i%9 == 0 {
				line("EXDATE:" + start.AddDate(0, 0, 14).Format("20060102T150405Z"))
			}
		}
		line("END:VEVENT")
		if i%3 == 0 && i%4 == 0 && i%5 == 0 {
			line("BEGIN:VEVENT")
			line("UID:" + uid)
			line("RECURRENCE-ID:" + start.AddDate(0, 0, 7).Format("20060102T150405Z"))
			line("DTSTART:" + start.AddDate(0, 0, 7).Add(2*time.Hour).Format("20060102T150405Z"))
			line("DURATION:PT1H")
			line("SUMMARY:Moved this week")
			line("END:VEVENT")
		}
	}
	line("END:VCALENDAR")
	return []byte(sb.String())
}

// BenchmarkFeed measures go-ical's raw decoding of a synthetic feed, this
// package's Parse of the same bytes, and Parse with an Expand of one
// year, by feed size. Compare the go-ical and parse lines for the cost of
// repair and interpretation; MB/s and events/s are reported for each.
func BenchmarkFeed(b *testing.B) {
	ctx := context.Background()
	window := calendar.ExpandOptions{
		From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		To:   time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for _, n := range []int{100, 1000, 10000} {
		data := syntheticFeed(n)
		perSecond := func(b *testing.B) {
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		}
		b.Run(fmt.Sprintf("events=%d/goical", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := ical.NewDecoder(bytes.NewReader(data)).Decode(); err != nil {
					b.Fatalf("Decode() = %v", err)
				}
			}
			perSecond(b)
		})
		b.Run(fmt.Sprintf("events=%d/parse", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			parser := calendar.NewParser(calendar.Config{})
			for b.Loop() {
				if _, err := parser.Parse(ctx, data); err != nil {
					b.Fatalf("Parse() = %v", err)
				}
			}
			perSecond(b)
		})
		b.Run(fmt.Sprintf("events=%d/parse+expand", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			parser := calendar.NewParser(calendar.Config{})
			occurrences := 0
			for b.Loop() {
				cal, err := parser.Parse(ctx, data)
				if err != nil {
					b.Fatalf("Parse() = %v", err)
				}
				x, err := cal.Expand(ctx, window)
				if err != nil {
					b.Fatalf("Expand() = %v", err)
				}
				occurrences = len(x.Occurrences)
			}
			perSecond(b)
			b.ReportMetric(float64(occurrences), "occurrences/op")
		})
	}
}

// TestSyntheticFeed keeps the benchmark input honest: it parses without
// skipped events and expands to occurrences.
func TestSyntheticFeed(t *testing.T) {
	t.Parallel()
	b := setup(t, calendar.Config{})
	cal := b.parse(t, syntheticFeed(300))
	if len(cal.Stats.Skipped) != 0 || cal.Stats.Events != 300+5 {
		t.Errorf("Stats = %+v, want 305 events, none skipped", cal.Stats)
	}
	x, err := cal.Expand(context.Background(), b.opts)
	if err != nil || len(x.Occurrences) < 1000 {
		t.Errorf("Expand() = %d occurrences, %v; want many", len(x.Occurrences), err)
	}
}
