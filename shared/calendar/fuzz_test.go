package calendar_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
)

// FuzzParse runs the repair, parse and expand path on arbitrary bytes:
// it must neither panic nor run away, and what it returns must keep the
// package's invariants.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.ics"))
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatalf("ReadFile(%s) = %v", s, err)
		}
		f.Add(data)
	}
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;TZID=\"a:b\"x:20240101T100000\r\nRRULE:FREQ=HOURLY;INTERVAL=2;BYHOUR=1\r\nEND:VEVENT\r\n"))
	f.Add([]byte("BEGIN:VEVENT\nDTSTART:20240101\nRRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30\nEND:VEVENT"))
	parser := calendar.NewParser(calendar.Config{MaxSteps: 20000, MaxPerSeries: 500})
	from := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		orig := bytes.Clone(data)
		cal, err := parser.Parse(ctx, data)
		if !bytes.Equal(orig, data) {
			t.Fatalf("Parse() modified its input")
		}
		if err != nil {
			return
		}
		x, err := cal.Expand(ctx, calendar.ExpandOptions{From: from, To: to, IncludeCancelled: true})
		if err != nil {
			t.Fatalf("Expand() = %v", err)
		}
		for _, o := range x.Occurrences {
			if !o.Start.Before(to) {
				t.Fatalf("occurrence %v starts after the window", o.Start)
			}
			_ = o.Record()
		}
	})
}
