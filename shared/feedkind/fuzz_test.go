package feedkind_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/feedkind"
)

// checkConverted checks what Convert returned for any input: a whole-
// input error wraps a sentinel; otherwise the iCalendar is valid UTF-8,
// folded, and parses with every event written kept.
func checkConverted(t *testing.T, parser *calendar.Parser, ics []byte, rep feedkind.Report, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, feedkind.ErrInvalidInput) && !errors.Is(err, feedkind.ErrTooLarge) {
			t.Fatalf("Convert() = %v, want an error wrapping ErrInvalidInput", err)
		}
		return
	}
	if !utf8.Valid(ics) {
		t.Fatalf("Convert() wrote invalid UTF-8")
	}
	for _, l := range bytes.Split(ics, []byte("\r\n")) {
		if len(l) > 75 {
			t.Fatalf("Convert() wrote a line of %d octets: %q", len(l), l)
		}
	}
	if rep.Skipped > rep.Items+1000 || len(rep.Warnings) > feedkind.DefaultMaxWarnings {
		t.Fatalf("Report = %+v", rep)
	}
	cal, err := parser.Parse(context.Background(), ics)
	if err != nil {
		t.Fatalf("Parse() = %v\n%s", err, ics)
	}
	if len(cal.Events) != rep.Events || len(cal.Stats.Skipped) > 0 {
		t.Fatalf("Parse() read %d events (skipped %v), want the %d written\n%s", len(cal.Events), cal.Stats.Skipped, rep.Events, ics)
	}
	x, err := cal.Expand(context.Background(), calendar.ExpandOptions{
		From: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatalf("Expand() = %v", err)
	}
	_ = x
}

// addSeeds adds the testdata files matching pattern to f.
func addSeeds(f *testing.F, pattern string, add func(data []byte)) {
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(files) == 0 {
		f.Fatalf("Glob(%s) = %v, %v", pattern, files, err)
	}
	for _, name := range files {
		add(readTestdata(f, strings.TrimPrefix(name, "testdata/")))
	}
}

// FuzzConvertJSONLD converts arbitrary pages as JSON-LD.
func FuzzConvertJSONLD(f *testing.F) {
	addSeeds(f, "jsonld/*", func(data []byte) { f.Add(data) })
	f.Add([]byte(`{"@type":["Event","X"],"name":{"@value":"a"},"startDate":["2025-01-01T10:00:00+14:00"],"eventSchedule":[{"repeatFrequency":"P3D","byDay":"+2MO","startTime":"24:00"},{}]}`))
	f.Add([]byte(`<script type="application/ld+json"><!--[{"@graph":{"@type":"Festival","subEvent":[{"@type":"Event","startDate":"20250101T1000Z"}]}}]--></script>`))
	parser := calendar.NewParser(calendar.Config{MaxSteps: 20000, MaxPerSeries: 500})
	zone, err := time.LoadLocation("America/New_York")
	if err != nil {
		f.Fatalf("LoadLocation() = %v", err)
	}
	opt := feedkind.Options{Zone: zone, MaxItems: 2000, MaxEvents: 1000}
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		ics, rep, err := feedkind.Convert(context.Background(), feedkind.KindJSONLD, data, "https://example.org/a/", feedkind.Mapping{}, opt)
		if !bytes.Equal(orig, data) {
			t.Fatalf("Convert() modified its input")
		}
		checkConverted(t, parser, ics, rep, err)
	})
}

// FuzzConvertCSV converts arbitrary text as CSV, with a header and
// without.
func FuzzConvertCSV(f *testing.F) {
	addSeeds(f, "csv/*", func(data []byte) { f.Add(data, true) })
	f.Add([]byte("a,2025-01-01,10:00 pm,PT1H\n\"b\n\",2025-13-01,,\n"), false)
	f.Add([]byte("\ufeffSubject,Start Date\r\n\"x\"\"y\",1/2/2025\r\n"), true)
	parser := calendar.NewParser(calendar.Config{MaxSteps: 20000, MaxPerSeries: 500})
	withHeader := feedkind.Mapping{Title: "Subject", StartDate: "Start Date", StartTime: "Start Time", EndDate: "End Date",
		EndTime: "End Time", AllDay: "All Day Event", Location: "Location", Description: "Description",
		Categories: "Categories", Status: "Status", DateFormat: "M/D/YYYY", Header: true}
	numbered := feedkind.Mapping{Title: "1", StartDate: "2", StartTime: "3", Duration: "4", Location: "5", UID: "6", TZ: "Europe/Paris"}
	f.Fuzz(func(t *testing.T, data []byte, header bool) {
		m := numbered
		if header {
			m = withHeader
		}
		orig := bytes.Clone(data)
		ics, rep, err := feedkind.Convert(context.Background(), feedkind.KindCSV, data, "", m, feedkind.Options{MaxItems: 2000})
		if !bytes.Equal(orig, data) {
			t.Fatalf("Convert() modified its input")
		}
		checkConverted(t, parser, ics, rep, err)
	})
}
