package feedkind_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/feedkind"
)

func TestWriteEvents(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		events   []feedkind.Event
		wantErr  error
		want     []string // lines in the ICS, or in the warnings
		wantSkip int
	}{
		{name: "Weekly", events: []feedkind.Event{{UID: "a", Title: "Choir", Start: "2026-12-01T19:00", End: "2026-12-01T21:00",
			RRule: "rrule:freq=weekly;count=4", ExDate: []string{"2026-12-08"}, Categories: []string{"music", "Music"}}},
			want: []string{"UID:a", "DTSTART;TZID=America/New_York:20261201T190000", "RRULE:FREQ=WEEKLY;COUNT=4",
				"EXDATE;TZID=America/New_York:20261208T190000", "CATEGORIES:music"}},
		{name: "AllDayInclusiveEnd", events: []feedkind.Event{{Title: "Fair", Start: "2026-12-05", End: "2026-12-06", AllDay: true, Status: "Cancelled"}},
			want: []string{"DTSTART;VALUE=DATE:20261205", "DTEND;VALUE=DATE:20261207", "STATUS:CANCELLED"}},
		{name: "SomeBad", events: []feedkind.Event{{Title: "ok", Start: "2026-12-01"}, {Where: "result[1]", UID: "x", Start: "2026-12-01"},
			{Title: "t", Start: "2026-12-01", ExDate: []string{"2026-12-02"}}, {Title: "bad status", Start: "2026-12-01", Status: "maybe"}},
			wantSkip: 2, want: []string{`result[1] (uid "x") skipped: title: required`, "event 3: exdate without an rrule ignored",
				`event 4 skipped: status: "maybe" is not cancelled, tentative or confirmed`}},
		{name: "AllBad", events: []feedkind.Event{{Title: "x"}, {Title: "y", Start: "soon"}}, wantErr: feedkind.ErrInvalidInput,
			want: []string{"none of 2 events is usable; the first: event 1: start: required"}},
		{name: "Problem", events: []feedkind.Event{{Problem: "not an object"}}, wantErr: feedkind.ErrInvalidInput,
			want: []string{"event 1: not an object"}},
		{name: "None", events: nil, want: []string{"BEGIN:VCALENDAR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ics, rep, err := feedkind.WriteEvents(context.Background(), tt.events, feedkind.Options{Zone: ny})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.want[0]) {
					t.Fatalf("WriteEvents() error = %v, want %v containing %q", err, tt.wantErr, tt.want[0])
				}
				return
			}
			if err != nil {
				t.Fatalf("WriteEvents() error = %v", err)
			}
			text := string(ics) + strings.Join(rep.Warnings, "\n")
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("WriteEvents() = %s\nwant %q", text, w)
				}
			}
			if rep.Skipped != tt.wantSkip || rep.Kind != feedkind.KindScript {
				t.Errorf("WriteEvents() report = %+v, want %d skipped", rep, tt.wantSkip)
			}
			cal, err := calendar.NewParser(calendar.Config{}).Parse(context.Background(), ics)
			if err != nil || len(cal.Events) != rep.Events || len(cal.Stats.Skipped) != 0 {
				t.Errorf("Parse() = %v, %+v; want %d events, none skipped", err, cal, rep.Events)
			}
		})
	}
}
