package calendar_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/encoding/unicode"

	"github.com/elmcity/elmcity/shared/calendar"
)

// testBundle is what most tests need: a parser and a window.
type testBundle struct {
	parser *calendar.Parser
	opts   calendar.ExpandOptions
}

// setup returns a bundle with a zero-Config parser and the window
// [2000-01-01, 2060-01-01), cancelled occurrences included.
func setup(t testing.TB, cfg calendar.Config) testBundle {
	t.Helper()
	return testBundle{
		parser: calendar.NewParser(cfg),
		opts: calendar.ExpandOptions{
			From:             time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
			To:               time.Date(2060, 1, 1, 0, 0, 0, 0, time.UTC),
			IncludeCancelled: true,
		},
	}
}

// readTestdata returns the bytes of a file in testdata.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("ReadFile(%s) = %v", name, err)
	}
	return data
}

// parse parses data or fails the test.
func (b testBundle) parse(t testing.TB, data []byte) *calendar.Calendar {
	t.Helper()
	cal, err := b.parser.Parse(context.Background(), data)
	if err != nil {
		t.Fatalf("Parse() = %v", err)
	}
	return cal
}

// records parses and expands data and returns the occurrences as
// Records, optionally only those of one UID.
func (b testBundle) records(t testing.TB, data []byte, uid string) []calendar.Record {
	t.Helper()
	x, err := b.parse(t, data).Expand(context.Background(), b.opts)
	if err != nil {
		t.Fatalf("Expand() = %v", err)
	}
	var out []calendar.Record
	for i := range x.Occurrences {
		if uid == "" || x.Occurrences[i].UID == uid {
			out = append(out, x.Occurrences[i].Record())
		}
	}
	return out
}

// r builds a timed Record; d a DATE one.
func r(uid, summary, start, end string) calendar.Record {
	return calendar.Record{UID: uid, Summary: summary, Start: start, End: end}
}

func d(uid, summary, start, end string) calendar.Record {
	return calendar.Record{UID: uid, Summary: summary, Start: start, End: end, AllDay: true}
}

// with returns rec changed by f.
func with(rec calendar.Record, f func(*calendar.Record)) calendar.Record {
	f(&rec)
	return rec
}

func policy(p string) func(*calendar.Record) { return func(r *calendar.Record) { r.Policy = p } }

func rid(id string) func(*calendar.Record) { return func(r *calendar.Record) { r.RecurrenceID = id } }

func TestExpandFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		file string
		uid  string
		want []calendar.Record
	}{
		{
			name: "RepairedStructure",
			file: "repair_structure.ics",
			want: []calendar.Record{
				r("folded@example.com", "A summary that is folded across two lines", "2024-03-05T18:00:00Z", "2024-03-05T19:00:00Z"),
				r("unclosed@example.com", "No END for this one", "2024-03-06T18:00:00Z", "2024-03-06T18:00:00Z"),
				r("after@example.com", "After the unclosed one", "2024-03-07T18:00:00Z", "2024-03-07T18:00:00Z"),
			},
		},
		{
			name: "Latin1DecodedNotMangled",
			file: "repair_latin1.ics",
			want: []calendar.Record{
				with(r("latin@example.com", "Café Müller € 5", "2024-04-10T17:00:00Z", "2024-04-10T17:00:00Z"), policy("charset")),
			},
		},
		{
			name: "UTF8WithBOM",
			file: "repair_bom.ics",
			want: []calendar.Record{
				r("bom@example.com", "Grüße aus Köln — 日本", "2024-04-10T17:00:00Z", "2024-04-10T17:00:00Z"),
			},
		},
		{
			name: "BadEventsSkippedNotFatal",
			file: "bad_events.ics",
			want: []calendar.Record{
				r("good-1@example.com", "Good one", "2024-05-01T09:00:00Z", "2024-05-01T09:00:00Z"),
				with(r("bad-param@example.com", "Mangled parameters that go-ical would panic on", "2024-05-02T09:00:00Z", "2024-05-02T09:00:00Z"),
					func(r *calendar.Record) { r.Floating = true }),
				r("good-2@example.com", "Good two", "2024-05-03T09:00:00Z", "2024-05-03T09:00:00Z"),
			},
		},
		{
			name: "WindowsZones",
			file: "tz_windows.ics",
			want: []calendar.Record{
				with(r("win-id@example.com", "Windows zone ID", "2024-01-15T14:00:00Z", "2024-01-15T15:00:00Z"), policy("windows-zone")),
				with(r("win-china@example.com", "China Standard Time", "2024-07-15T01:00:00Z", "2024-07-15T01:00:00Z"), policy("windows-zone")),
				with(r("unknown-tz@example.com", "Unknown zone", "2024-07-15T09:00:00Z", "2024-07-15T09:00:00Z"),
					func(r *calendar.Record) { r.Floating = true }),
				with(r("win-display@example.com", "Outlook display name", "2024-07-15T13:00:00Z", "2024-07-15T14:00:00Z"), policy("windows-zone")),
			},
		},
		{
			name: "CustomVTimezoneRules",
			file: "tz_custom.ics",
			want: []calendar.Record{
				r("custom-winter@example.com", "Custom zone in winter", "2024-01-15T14:00:00Z", "2024-01-15T14:00:00Z"),
				r("island-before@example.com", "Before the RDATE onset", "2024-03-01T09:00:00Z", "2024-03-01T09:00:00Z"),
				r("island-after@example.com", "After the RDATE onset", "2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z"),
				r("custom-summer@example.com", "Custom zone in summer", "2024-07-15T13:00:00Z", "2024-07-15T13:00:00Z"),
			},
		},
		{
			name: "PrefixedQuotedAndMisspeltTZIDs",
			file: "tz_aliases.ics",
			want: []calendar.Record{
				r("quoted@example.com", "Quoted TZID", "2024-01-15T08:00:00Z", "2024-01-15T08:00:00Z"),
				with(r("underscore@example.com", "Underscore instead of slash", "2024-01-15T14:00:00Z", "2024-01-15T14:00:00Z"), policy("tzid-alias")),
				r("mozilla@example.com", "Mozilla prefix", "2024-07-15T07:00:00Z", "2024-07-15T07:00:00Z"),
			},
		},
		{
			name: "IANARulesOverTruncatedVTimezone",
			file: "tz_divergent.ics",
			want: []calendar.Record{
				r("berlin@example.com", "Monthly in Berlin", "2024-01-15T08:00:00Z", "2024-01-15T08:00:00Z"),
				r("berlin@example.com", "Monthly in Berlin", "2024-02-15T08:00:00Z", "2024-02-15T08:00:00Z"),
				r("berlin@example.com", "Monthly in Berlin", "2024-03-15T08:00:00Z", "2024-03-15T08:00:00Z"),
				with(r("berlin@example.com", "Monthly in Berlin", "2024-04-15T07:00:00Z", "2024-04-15T07:00:00Z"), policy("iana-zone")),
				with(r("berlin@example.com", "Monthly in Berlin", "2024-05-15T07:00:00Z", "2024-05-15T07:00:00Z"), policy("iana-zone")),
				with(r("berlin@example.com", "Monthly in Berlin", "2024-06-15T07:00:00Z", "2024-06-15T07:00:00Z"), policy("iana-zone")),
				with(r("berlin@example.com", "Monthly in Berlin", "2024-07-15T07:00:00Z", "2024-07-15T07:00:00Z"), policy("iana-zone")),
			},
		},
		{
			name: "XWRTimezoneForFloatingOnly",
			file: "tz_floating.ics",
			want: []calendar.Record{
				with(r("floating@example.com", "Floating with X-WR-TIMEZONE", "2024-01-15T17:00:00Z", "2024-01-15T18:00:00Z"), policy("x-wr-timezone")),
				d("allday@example.com", "All day stays a date", "2024-01-16", "2024-01-17"),
				r("utc@example.com", "UTC is untouched", "2024-01-17T09:00:00Z", "2024-01-17T09:00:00Z"),
			},
		},
		{
			name: "FloatingKeptFloating",
			file: "tz_floating_plain.ics",
			want: []calendar.Record{
				with(r("plain@example.com", "Floating without X-WR-TIMEZONE", "2024-07-15T09:00:00Z", "2024-07-15T10:30:00Z"),
					func(r *calendar.Record) { r.Floating = true }),
			},
		},
		{
			name: "GapAndOverlapByRFC5545",
			file: "tz_dst.ics",
			want: []calendar.Record{
				r("across@example.com", "Same wall clock across the change", "2024-03-01T14:00:00Z", "2024-03-01T15:00:00Z"),
				r("across@example.com", "Same wall clock across the change", "2024-03-08T14:00:00Z", "2024-03-08T15:00:00Z"),
				// 02:30 does not exist: read with the offset before the gap (EST).
				with(r("gap@example.com", "In the spring-forward gap", "2024-03-10T07:30:00Z", "2024-03-10T07:30:00Z"), policy("dst-transition")),
				r("across@example.com", "Same wall clock across the change", "2024-03-15T13:00:00Z", "2024-03-15T14:00:00Z"),
				// 01:30 occurs twice: the first occurrence (EDT).
				with(r("overlap@example.com", "In the fall-back overlap", "2024-11-03T05:30:00Z", "2024-11-03T05:30:00Z"), policy("dst-transition")),
			},
		},
		{
			name: "DailyCountAcrossDSTKeepsWallClock",
			file: "rrule.ics",
			uid:  "daily-count@example.com",
			want: []calendar.Record{
				r("daily-count@example.com", "Daily three times across the DST change", "2024-03-30T08:00:00Z", "2024-03-30T08:30:00Z"),
				r("daily-count@example.com", "Daily three times across the DST change", "2024-03-31T07:00:00Z", "2024-03-31T07:30:00Z"),
				r("daily-count@example.com", "Daily three times across the DST change", "2024-04-01T07:00:00Z", "2024-04-01T07:30:00Z"),
			},
		},
		{
			name: "MonthlyOn31stSkipsShortMonths",
			file: "rrule.ics",
			uid:  "monthly-31@example.com",
			want: []calendar.Record{
				d("monthly-31@example.com", "The 31st, skipping short months", "2024-01-31", "2024-02-01"),
				d("monthly-31@example.com", "The 31st, skipping short months", "2024-03-31", "2024-04-01"),
				d("monthly-31@example.com", "The 31st, skipping short months", "2024-05-31", "2024-06-01"),
				d("monthly-31@example.com", "The 31st, skipping short months", "2024-07-31", "2024-08-01"),
			},
		},
		{
			name: "YearlyLeapDay",
			file: "rrule.ics",
			uid:  "leap@example.com",
			want: []calendar.Record{
				d("leap@example.com", "Leap day", "2020-02-29", "2020-03-01"),
				d("leap@example.com", "Leap day", "2024-02-29", "2024-03-01"),
				d("leap@example.com", "Leap day", "2028-02-29", "2028-03-01"),
			},
		},
		{
			name: "DateUntilForTimedSeriesIncludesTheDay",
			file: "rrule.ics",
			uid:  "google-until@example.com",
			want: []calendar.Record{
				r("google-until@example.com", "DATE UNTIL on a timed series", "2024-01-02T23:00:00Z", "2024-01-03T00:00:00Z"),
				r("google-until@example.com", "DATE UNTIL on a timed series", "2024-01-09T23:00:00Z", "2024-01-10T00:00:00Z"),
				with(r("google-until@example.com", "DATE UNTIL on a timed series", "2024-01-16T23:00:00Z", "2024-01-17T00:00:00Z"), policy("local-until")),
			},
		},
		{
			name: "LastWeekdayBySetPos",
			file: "rrule.ics",
			uid:  "setpos@example.com",
			want: []calendar.Record{
				r("setpos@example.com", "Last weekday of the month", "2024-01-31T15:00:00Z", "2024-01-31T15:00:00Z"),
				r("setpos@example.com", "Last weekday of the month", "2024-02-29T15:00:00Z", "2024-02-29T15:00:00Z"),
				r("setpos@example.com", "Last weekday of the month", "2024-03-29T15:00:00Z", "2024-03-29T15:00:00Z"),
			},
		},
		{
			name: "InvalidRuleKeepsDTSTART",
			file: "rrule.ics",
			uid:  "bad-rule@example.com",
			want: []calendar.Record{
				with(r("bad-rule@example.com", "Invalid rule keeps DTSTART only", "2024-02-01T15:00:00Z", "2024-02-01T15:00:00Z"), policy("rrule-ignored")),
			},
		},
		{
			name: "UntilBeforeStartGivesNothing",
			file: "rrule.ics",
			uid:  "until-before-start@example.com",
			want: nil,
		},
		{
			name: "RDATEListsAndPeriods",
			file: "rdate_exdate.ics",
			uid:  "rdates@example.com",
			want: []calendar.Record{
				with(r("rdates@example.com", "RDATE list and periods", "2024-06-01T09:00:00Z", "2024-06-01T10:00:00Z"), policy("dtstart")),
				r("rdates@example.com", "RDATE list and periods", "2024-06-03T09:00:00Z", "2024-06-03T10:00:00Z"),
				r("rdates@example.com", "RDATE list and periods", "2024-06-05T13:00:00Z", "2024-06-05T14:00:00Z"),
				r("rdates@example.com", "RDATE list and periods", "2024-06-07T09:00:00Z", "2024-06-07T12:00:00Z"),
				r("rdates@example.com", "RDATE list and periods", "2024-06-09T09:00:00Z", "2024-06-09T09:30:00Z"),
			},
		},
		{
			name: "EXDATEInAnyZoneAndAsDate",
			file: "rdate_exdate.ics",
			uid:  "exdates@example.com",
			want: []calendar.Record{
				r("exdates@example.com", "EXDATE in UTC, as a DATE and as a list", "2024-06-03T13:00:00Z", "2024-06-03T13:00:00Z"),
				r("exdates@example.com", "EXDATE in UTC, as a DATE and as a list", "2024-06-05T13:00:00Z", "2024-06-05T13:00:00Z"),
			},
		},
		{
			name: "EXDATEWinsOverRRULEAndRDATE",
			file: "rdate_exdate.ics",
			uid:  "rdate-exdate@example.com",
			want: []calendar.Record{
				r("rdate-exdate@example.com", "EXDATE wins over RRULE and RDATE together", "2024-07-01T10:00:00Z", "2024-07-01T10:00:00Z"),
				r("rdate-exdate@example.com", "EXDATE wins over RRULE and RDATE together", "2024-07-03T10:00:00Z", "2024-07-03T10:00:00Z"),
			},
		},
		{
			name: "OverridesMovedCancelledAndBySequence",
			file: "overrides.ics",
			uid:  "series@example.com",
			want: []calendar.Record{
				r("series@example.com", "Weekly meeting", "2024-01-03T15:00:00Z", "2024-01-03T16:00:00Z"),
				with(r("series@example.com", "Moved to the afternoon", "2024-01-10T20:00:00Z", "2024-01-10T21:00:00Z"), rid("2024-01-10T15:00:00Z")),
				with(r("series@example.com", "Cancelled this week", "2024-01-17T15:00:00Z", "2024-01-17T16:00:00Z"),
					func(r *calendar.Record) { r.RecurrenceID, r.Status = "2024-01-17T15:00:00Z", "CANCELLED" }),
				with(r("series@example.com", "Newest edit", "2024-01-24T15:00:00Z", "2024-01-24T16:00:00Z"),
					func(r *calendar.Record) { r.RecurrenceID, r.Policy = "2024-01-24T15:00:00Z", "sequence" }),
				r("series@example.com", "Weekly meeting", "2024-01-31T15:00:00Z", "2024-01-31T16:00:00Z"),
			},
		},
		{
			name: "ThisAndFuture",
			file: "overrides.ics",
			uid:  "future@example.com",
			want: []calendar.Record{
				r("future@example.com", "Standup", "2024-03-01T09:00:00Z", "2024-03-01T10:00:00Z"),
				r("future@example.com", "Standup", "2024-03-02T09:00:00Z", "2024-03-02T10:00:00Z"),
				with(r("future@example.com", "Standup, later and shorter from now on", "2024-03-03T09:30:00Z", "2024-03-03T09:45:00Z"), rid("2024-03-03T09:00:00Z")),
				with(r("future@example.com", "Standup, later and shorter from now on", "2024-03-04T09:30:00Z", "2024-03-04T09:45:00Z"), rid("2024-03-04T09:00:00Z")),
			},
		},
		{
			name: "OverrideWithoutMaster",
			file: "overrides.ics",
			uid:  "orphan@example.com",
			want: []calendar.Record{
				with(r("orphan@example.com", "Override without a master", "2024-04-01T11:00:00Z", "2024-04-01T11:00:00Z"), rid("2024-04-01T09:00:00Z")),
			},
		},
		{
			name: "DurationsNominalExactAndMissing",
			file: "durations.ics",
			want: []calendar.Record{
				r("exact@example.com", "Exactly 24 hours each", "2024-03-08T17:00:00Z", "2024-03-09T17:00:00Z"),
				// DTEND gives an exact duration: 24 hours across the change.
				with(r("exact@example.com", "Exactly 24 hours each", "2024-03-09T17:00:00Z", "2024-03-10T17:00:00Z"), policy("exact-duration")),
				// DURATION:P1D is a nominal day: 23 hours here.
				r("nominal@example.com", "One nominal day across the change", "2024-03-09T17:00:00Z", "2024-03-10T16:00:00Z"),
				r("no-end@example.com", "No end", "2024-04-01T12:00:00Z", "2024-04-01T12:00:00Z"),
				d("allday-no-end@example.com", "All day without end", "2024-04-02", "2024-04-03"),
				d("allday-span@example.com", "Three days", "2024-04-03", "2024-04-06"),
			},
		},
		{
			name: "CancelledSeriesListedWithStatus",
			file: "cap.ics",
			uid:  "cancelled-series@example.com",
			want: []calendar.Record{
				with(r("cancelled-series@example.com", "Whole series cancelled", "2024-01-01T10:00:00Z", "2024-01-01T10:00:00Z"), func(r *calendar.Record) { r.Status = "CANCELLED" }),
				with(r("cancelled-series@example.com", "Whole series cancelled", "2024-01-02T10:00:00Z", "2024-01-02T10:00:00Z"), func(r *calendar.Record) { r.Status = "CANCELLED" }),
				with(r("cancelled-series@example.com", "Whole series cancelled", "2024-01-03T10:00:00Z", "2024-01-03T10:00:00Z"), func(r *calendar.Record) { r.Status = "CANCELLED" }),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, calendar.Config{})
			got := b.records(t, readTestdata(t, tt.file), tt.uid)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Expand(%s) mismatch (-want +got):\n%s", tt.file, diff)
			}
		})
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatalf("LoadLocation() = %v", err)
	}
	tests := []struct {
		name string
		cfg  calendar.Config
		file string
		want calendar.Record
	}{
		{
			name: "FloatingZonePlacesFloatingTimes",
			cfg:  calendar.Config{FloatingZone: newYork},
			file: "tz_floating_plain.ics",
			want: with(r("plain@example.com", "Floating without X-WR-TIMEZONE", "2024-07-15T13:00:00Z", "2024-07-15T14:30:00Z"), policy("hub-zone")),
		},
		{
			name: "XWRTimezoneBeatsFloatingZone",
			cfg:  calendar.Config{FloatingZone: newYork},
			file: "tz_floating.ics",
			want: with(r("floating@example.com", "Floating with X-WR-TIMEZONE", "2024-01-15T17:00:00Z", "2024-01-15T18:00:00Z"), policy("x-wr-timezone")),
		},
		{
			name: "IgnoreXWRTimezone",
			cfg:  calendar.Config{IgnoreXWRTimezone: true},
			file: "tz_floating.ics",
			want: with(r("floating@example.com", "Floating with X-WR-TIMEZONE", "2024-01-15T09:00:00Z", "2024-01-15T10:00:00Z"),
				func(r *calendar.Record) { r.Floating = true }),
		},
		{
			name: "DefaultDurationForTimedEvents",
			cfg:  calendar.Config{DefaultDuration: time.Hour},
			file: "durations.ics",
			want: r("no-end@example.com", "No end", "2024-04-01T12:00:00Z", "2024-04-01T13:00:00Z"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tt.cfg)
			got := b.records(t, readTestdata(t, tt.file), tt.want.UID)
			if diff := cmp.Diff([]calendar.Record{tt.want}, got); diff != "" {
				t.Errorf("Expand(%s) mismatch (-want +got):\n%s", tt.file, diff)
			}
		})
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		file  string
		check func(t *testing.T, st calendar.Stats)
	}{
		{
			name: "SkippedWithReasons",
			file: "bad_events.ics",
			check: func(t *testing.T, st calendar.Stats) {
				want := []calendar.Skipped{
					{UID: "no-start@example.com", Reason: "no DTSTART"},
					{UID: "bad-start@example.com", Reason: `bad DTSTART: invalid date or date-time: "2024-13-45T99:00:00"`},
				}
				if diff := cmp.Diff(want, st.Skipped); diff != "" {
					t.Errorf("Stats.Skipped mismatch (-want +got):\n%s", diff)
				}
				if st.Components != 5 || st.Events != 3 {
					t.Errorf("Stats.Components, Events = %d, %d, want 5, 3", st.Components, st.Events)
				}
			},
		},
		{
			name: "RepairsListed",
			file: "repair_structure.ics",
			check: func(t *testing.T, st calendar.Stats) {
				for _, want := range []string{
					"converted bare LF line endings",
					"joined a line that was not folded",
					"removed control characters",
					"added missing END:VEVENT",
					"read END:VEVNT as END:VEVENT",
					"added missing VERSION",
					"added missing PRODID",
				} {
					if !slices.Contains(st.Repairs, want) {
						t.Errorf("Stats.Repairs = %q, want it to contain %q", st.Repairs, want)
					}
				}
				if st.ProdID != "" {
					t.Errorf("Stats.ProdID = %q, want empty", st.ProdID)
				}
			},
		},
		{
			name: "ZonesResolved",
			file: "tz_windows.ics",
			check: func(t *testing.T, st calendar.Stats) {
				want := []calendar.ZoneUse{
					{TZID: "Eastern Standard Time", Kind: calendar.ZoneWindows, Location: "America/New_York"},
					{TZID: "(UTC-05:00) Eastern Time (US & Canada)", Kind: calendar.ZoneWindows, Location: "America/New_York"},
					{TZID: "China Standard Time", Kind: calendar.ZoneWindows, Location: "Asia/Shanghai"},
					{TZID: "Middle of Nowhere", Kind: calendar.ZoneUnknown},
				}
				if diff := cmp.Diff(want, st.Zones); diff != "" {
					t.Errorf("Stats.Zones mismatch (-want +got):\n%s", diff)
				}
				if st.Floating != 1 {
					t.Errorf("Stats.Floating = %d, want 1", st.Floating)
				}
			},
		},
		{
			name:  "DivergentVTimezone",
			file:  "tz_divergent.ics",
			check: wantZones(calendar.ZoneUse{TZID: "Europe/Berlin", Kind: calendar.ZoneIANA, Location: "Europe/Berlin", Divergent: true}),
		},
		{
			// Outlook-style rules stated back to 1601 agree with the IANA
			// zone over the dates the events use, but not for the 1999 one.
			name:  "VTimezoneComparedWhereUsed",
			file:  "tz_current_rules.ics",
			check: wantZones(calendar.ZoneUse{TZID: "America/New_York", Kind: calendar.ZoneIANA, Location: "America/New_York", Divergent: true}),
		},
		{
			name:  "VTimezoneAgreesWhereUsed",
			file:  "tz_current_rules_recent.ics",
			check: wantZones(calendar.ZoneUse{TZID: "America/New_York", Kind: calendar.ZoneIANA, Location: "America/New_York"}),
		},
		{
			name: "CountsAndProdID",
			file: "overrides.ics",
			check: func(t *testing.T, st calendar.Stats) {
				if st.ProdID != "-//test//overrides//EN" {
					t.Errorf("Stats.ProdID = %q", st.ProdID)
				}
				if st.Events != 8 || st.Recurring != 2 || st.Overrides != 6 {
					t.Errorf("Stats events, recurring, overrides = %d, %d, %d, want 8, 2, 6", st.Events, st.Recurring, st.Overrides)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, calendar.Config{})
			tt.check(t, b.parse(t, readTestdata(t, tt.file)).Stats)
		})
	}
}

func TestCapAndCancelled(t *testing.T) {
	t.Parallel()
	b := setup(t, calendar.Config{})
	cal := b.parse(t, readTestdata(t, "cap.ics"))
	tests := []struct {
		name          string
		opts          calendar.ExpandOptions
		wantForever   int
		wantCancelled int
		wantListed    int
		wantTruncated []string
	}{
		{
			name:          "CapCutsTheSeriesAndReportsIt",
			opts:          calendar.ExpandOptions{From: b.opts.From, To: b.opts.To, MaxPerSeries: 100, IncludeCancelled: true},
			wantForever:   100,
			wantCancelled: 3,
			wantListed:    3,
			wantTruncated: []string{"forever@example.com"},
		},
		{
			name:          "WithoutIncludeCancelledLeftOut",
			opts:          calendar.ExpandOptions{From: b.opts.From, To: b.opts.To, MaxPerSeries: 100},
			wantForever:   100,
			wantCancelled: 3,
			wantTruncated: []string{"forever@example.com"},
		},
		{
			name: "WindowBoundsTheWorkNotTheCap",
			opts: calendar.ExpandOptions{
				From:         time.Date(2049, 12, 31, 0, 0, 0, 0, time.UTC),
				To:           time.Date(2051, 1, 1, 0, 0, 0, 0, time.UTC),
				MaxPerSeries: 50000,
			},
			// From 2049-12-31T00:00 to UNTIL 2050-12-31T00:00, every 15
			// minutes, UNTIL included.
			wantForever: 365*96 + 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			x, err := cal.Expand(context.Background(), tt.opts)
			if err != nil {
				t.Fatalf("Expand() = %v", err)
			}
			forever, listed := 0, 0
			for i := range x.Occurrences {
				switch x.Occurrences[i].UID {
				case "forever@example.com":
					forever++
				case "cancelled-series@example.com":
					listed++
				}
			}
			if forever != tt.wantForever || listed != tt.wantListed || x.Cancelled != tt.wantCancelled {
				t.Errorf("Expand() forever, cancelled listed, Cancelled = %d, %d, %d, want %d, %d, %d",
					forever, listed, x.Cancelled, tt.wantForever, tt.wantListed, tt.wantCancelled)
			}
			if diff := cmp.Diff(tt.wantTruncated, x.Truncated); diff != "" {
				t.Errorf("Expansion.Truncated mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  calendar.Config
		data []byte
	}{
		{name: "Empty", data: nil},
		{name: "HTMLPage", data: []byte("<html><body>404 Not Found</body></html>")},
		{name: "TooLarge", cfg: calendar.Config{MaxFeedBytes: 10}, data: []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := calendar.NewParser(tt.cfg).Parse(context.Background(), tt.data)
			if !errors.Is(err, calendar.ErrInvalidFeed) {
				t.Errorf("Parse() = %v, want %v", err, calendar.ErrInvalidFeed)
			}
		})
	}
}

func TestParseUTF16(t *testing.T) {
	t.Parallel()
	text := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:u16\r\nDTSTART:20240101T100000Z\r\nSUMMARY:Ünïcödé\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	data, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(text))
	if err != nil {
		t.Fatalf("Encode() = %v", err)
	}
	b := setup(t, calendar.Config{})
	want := []calendar.Record{r("u16", "Ünïcödé", "2024-01-01T10:00:00Z", "2024-01-01T10:00:00Z")}
	if diff := cmp.Diff(want, b.records(t, data, "")); diff != "" {
		t.Errorf("Expand(UTF-16) mismatch (-want +got):\n%s", diff)
	}
}

func TestContextCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := setup(t, calendar.Config{})
	if _, err := b.parser.Parse(ctx, readTestdata(t, "rrule.ics")); !errors.Is(err, context.Canceled) {
		t.Errorf("Parse() = %v, want %v", err, context.Canceled)
	}
	cal := b.parse(t, readTestdata(t, "rrule.ics"))
	if _, err := cal.Expand(ctx, b.opts); !errors.Is(err, context.Canceled) {
		t.Errorf("Expand() = %v, want %v", err, context.Canceled)
	}
}

// TestConcurrentUse runs parses and expansions of shared values in
// parallel, for the race detector.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	b := setup(t, calendar.Config{})
	data := readTestdata(t, "overrides.ics")
	cal := b.parse(t, data)
	want := b.records(t, data, "")
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	ctx := context.Background()
	for range 8 {
		wg.Go(func() {
			fresh, err := b.parser.Parse(ctx, data)
			if err != nil {
				errs <- err.Error()
				return
			}
			for _, c := range []*calendar.Calendar{fresh, cal} {
				x, err := c.Expand(ctx, b.opts)
				if err != nil || len(x.Occurrences) != len(want) {
					errs <- "concurrent Parse or Expand gave another result"
					return
				}
				for i := range x.Occurrences {
					if x.Occurrences[i].Record() != want[i] {
						errs <- "concurrent Parse or Expand gave another result"
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestImpossibleRulesAreCheap checks that rules that can never produce
// another instance cost milliseconds, not the seconds rrule-go would
// spend scanning to the year 9999, and that one that would loop forever
// in rrule-go is refused.
func TestImpossibleRulesAreCheap(t *testing.T) {
	t.Parallel()
	var sb strings.Builder
	sb.WriteString("BEGIN:VCALENDAR\r\n")
	rules := []string{
		"FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
		"FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30",
		"FREQ=SECONDLY;BYMONTH=4;BYMONTHDAY=31",
		"FREQ=MONTHLY;BYDAY=MO;BYSETPOS=7",
		"FREQ=HOURLY;INTERVAL=2;BYHOUR=1,3,5",
	}
	for i, rule := range rules {
		sb.WriteString("BEGIN:VEVENT\r\nUID:impossible-" + string(rune('a'+i)) + "\r\nDTSTART:20240102T020000Z\r\nRRULE:" + rule + "\r\nEND:VEVENT\r\n")
	}
	sb.WriteString("END:VCALENDAR\r\n")
	b := setup(t, calendar.Config{})
	start := time.Now()
	got := b.records(t, []byte(sb.String()), "")
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Expand() took %v for %d impossible rules", elapsed, len(rules))
	}
	// Each lists its DTSTART and nothing else.
	if len(got) != len(rules) {
		t.Errorf("Expand() = %d occurrences, want %d (the DTSTARTs)", len(got), len(rules))
	}
}

func TestFeedOccurrenceLimit(t *testing.T) {
	t.Parallel()
	var sb strings.Builder
	sb.WriteString("BEGIN:VCALENDAR\r\n")
	for i := range 50 {
		sb.WriteString("BEGIN:VEVENT\r\nUID:minutely-" + string(rune('A'+i%26)) + string(rune('a'+i/26)) + "\r\nDTSTART:20240101T000000Z\r\nRRULE:FREQ=MINUTELY;UNTIL=20501231T000000Z\r\nEND:VEVENT\r\n")
	}
	sb.WriteString("END:VCALENDAR\r\n")
	b := setup(t, calendar.Config{MaxOccurrences: 20000})
	x, err := b.parse(t, []byte(sb.String())).Expand(context.Background(), b.opts)
	if err != nil {
		t.Fatalf("Expand() = %v", err)
	}
	if len(x.Occurrences) != 20000 || len(x.Problems) == 0 {
		t.Errorf("Expand() = %d occurrences, problems %v; want 20000 and a problem", len(x.Occurrences), x.Problems)
	}
}

// TestThisAndFutureInNarrowWindow checks a THISANDFUTURE shift when the
// window starts after the override's own instance.
func TestThisAndFutureInNarrowWindow(t *testing.T) {
	t.Parallel()
	b := setup(t, calendar.Config{})
	b.opts.From = time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)
	b.opts.To = time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)
	want := []calendar.Record{
		with(r("future@example.com", "Standup, later and shorter from now on", "2024-03-04T09:30:00Z", "2024-03-04T09:45:00Z"), rid("2024-03-04T09:00:00Z")),
	}
	if diff := cmp.Diff(want, b.records(t, readTestdata(t, "overrides.ics"), "future@example.com")); diff != "" {
		t.Errorf("Expand() mismatch (-want +got):\n%s", diff)
	}
}

// wantZones is a TestStats check that Stats.Zones is want.
func wantZones(want ...calendar.ZoneUse) func(*testing.T, calendar.Stats) {
	return func(t *testing.T, st calendar.Stats) {
		t.Helper()
		if diff := cmp.Diff(want, st.Zones); diff != "" {
			t.Errorf("Stats.Zones mismatch (-want +got):\n%s", diff)
		}
	}
}
