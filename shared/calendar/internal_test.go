package calendar

// Tests of unexported helpers whose contracts are finer than what the
// public API shows.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/google/go-cmp/cmp"
	"github.com/teambition/rrule-go"
)

// TestFastForwardKeepsTheRule checks that starting rrule-go at the
// period fastForward picks gives exactly the instances at or after the
// target that iterating from DTSTART gives, for a matrix of rule shapes.
func TestFastForwardKeepsTheRule(t *testing.T) {
	t.Parallel()
	rules := []string{
		"FREQ=DAILY", "FREQ=DAILY;INTERVAL=3", "FREQ=DAILY;INTERVAL=7;BYDAY=TU,FR",
		"FREQ=WEEKLY", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH", "FREQ=WEEKLY;INTERVAL=3;WKST=SU;BYDAY=SU,SA",
		"FREQ=MONTHLY", "FREQ=MONTHLY;INTERVAL=5", "FREQ=MONTHLY;BYDAY=2TU,-1FR", "FREQ=MONTHLY;BYMONTHDAY=31,-1",
		"FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "FREQ=MONTHLY;INTERVAL=2;BYDAY=1SU;BYHOUR=9,17",
		"FREQ=YEARLY", "FREQ=YEARLY;INTERVAL=4", "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH", "FREQ=YEARLY;BYWEEKNO=1,53;BYDAY=MO",
		"FREQ=YEARLY;BYYEARDAY=1,100,-1", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
		"FREQ=HOURLY;INTERVAL=5", "FREQ=HOURLY;INTERVAL=7;BYDAY=SA", "FREQ=MINUTELY;INTERVAL=97;BYHOUR=8,9",
		"FREQ=SECONDLY;INTERVAL=86399;BYMONTH=3",
	}
	starts := []time.Time{
		time.Date(2001, 1, 31, 9, 30, 0, 0, time.UTC),
		time.Date(2012, 2, 29, 23, 59, 59, 0, time.UTC),
		time.Date(2019, 12, 30, 0, 0, 0, 0, time.UTC),
	}
	targets := []time.Time{
		time.Date(2021, 3, 14, 1, 2, 3, 0, time.UTC),
		time.Date(2024, 12, 31, 23, 0, 0, 0, time.UTC),
	}
	for _, rule := range rules {
		for _, start := range starts {
			for _, target := range targets {
				name := fmt.Sprintf("%s/%s/%s", rule, start.Format("20060102T150405"), target.Format("20060102"))
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					spec, err := parseRule(rule, func(string, ...any) {})
					if err != nil {
						t.Fatalf("parseRule(%q) = %v", rule, err)
					}
					want := ruleInstances(t, *spec.opt, start, target, 40)
					opt := spellOut(*spec.opt, start)
					ff := fastForward(opt, start, target)
					got := ruleInstances(t, opt, ff, target, 40)
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("fastForward(%q) from %v gave other instances (-want +got):\n%s", rule, ff, diff)
					}
				})
			}
		}
	}
}

// rruleMaxUntil returns what is given to rrule-go as UNTIL: without one it
// stops 292 years after DTSTART (the largest time.Duration).
func rruleMaxUntil() time.Time { return time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC) }

// ruleInstances returns up to n instances of the rule started at
// dtstart that are at or after from.
func ruleInstances(t *testing.T, opt rrule.ROption, dtstart, from time.Time, n int) []time.Time {
	t.Helper()
	opt.Dtstart = dtstart
	opt.Until = rruleMaxUntil()
	r, err := rrule.NewRRule(opt)
	if err != nil {
		t.Fatalf("NewRRule() = %v", err)
	}
	next := r.Iterator()
	var out []time.Time
	for steps := 0; len(out) < n && steps < 5_000_000; steps++ {
		v, ok := next()
		if !ok {
			break
		}
		if !v.Before(from) {
			out = append(out, v)
		}
	}
	return out
}

func TestParseRule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		wantErr bool
		check   func(t *testing.T, r ruleSpec)
	}{
		{name: "LowerCaseAndXParts", in: "freq=weekly;x-name=foo;byday=mo,+2tu", check: func(t *testing.T, r ruleSpec) {
			if r.opt.Freq != rrule.WEEKLY || len(r.opt.Byweekday) != 2 {
				t.Errorf("parseRule() = %+v", r.opt)
			}
		}},
		{name: "NegativeCountIgnored", in: "FREQ=DAILY;COUNT=-3", check: func(t *testing.T, r ruleSpec) {
			if r.count != 0 {
				t.Errorf("count = %d, want 0", r.count)
			}
		}},
		{name: "OutOfRangeValuesDropped", in: "FREQ=MONTHLY;BYMONTHDAY=0,15,40", check: func(t *testing.T, r ruleSpec) {
			if diff := cmp.Diff([]int{15}, r.opt.Bymonthday); diff != "" {
				t.Errorf("Bymonthday mismatch (-want +got):\n%s", diff)
			}
		}},
		{name: "DateUntil", in: "FREQ=DAILY;UNTIL=20240131", check: func(t *testing.T, r ruleSpec) {
			if !r.hasUntil || !r.until.date {
				t.Errorf("until = %+v, want a DATE", r.until)
			}
		}},
		{name: "NoFreq", in: "COUNT=3", wantErr: true},
		{name: "UnknownFreq", in: "FREQ=FORTNIGHTLY", wantErr: true},
		{name: "BadUntil", in: "FREQ=DAILY;UNTIL=123456T123456", wantErr: true},
		{name: "AllBYValuesInvalid", in: "FREQ=MONTHLY;BYMONTHDAY=0", wantErr: true},
		{name: "UnreachableHour", in: "FREQ=HOURLY;INTERVAL=2;BYHOUR=1,3", wantErr: true},
		{name: "UnreachableSecond", in: "FREQ=SECONDLY;INTERVAL=10;BYSECOND=5", wantErr: true},
		{name: "ReachableMinute", in: "FREQ=MINUTELY;INTERVAL=7;BYMINUTE=0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseRule(tt.in, func(string, ...any) {})
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseRule(%q) = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

func TestParseDateTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		wantWall string
		wantDate bool
		wantUTC  bool
		wantErr  bool
	}{
		{in: "20240131", wantWall: "2024-01-31T00:00:00", wantDate: true},
		{in: "20240131Z", wantWall: "2024-01-31T00:00:00", wantDate: true},
		{in: "20240131T093000", wantWall: "2024-01-31T09:30:00"},
		{in: "20240131T093000Z", wantWall: "2024-01-31T09:30:00", wantUTC: true},
		{in: "20240131t0930z", wantWall: "2024-01-31T09:30:00", wantUTC: true},
		{in: "2024-01-31T09:30:00", wantWall: "2024-01-31T09:30:00"},
		{in: "20240131T093000.123Z", wantWall: "2024-01-31T09:30:00", wantUTC: true},
		{in: "19970701T1100000Z", wantWall: "1997-07-01T11:00:00", wantUTC: true},
		{in: "20240131T240000", wantWall: "2024-02-01T00:00:00"},
		{in: "20240230", wantErr: true},
		{in: "2024013", wantErr: true},
		{in: "20240131X093000", wantErr: true},
		{in: "20240131T256000", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := parseDateTime(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseDateTime(%q) = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if w := got.wall.Format("2006-01-02T15:04:05"); w != tt.wantWall || got.date != tt.wantDate || got.utc != tt.wantUTC {
				t.Errorf("parseDateTime(%q) = %s date %v utc %v, want %s %v %v", tt.in, w, got.date, got.utc, tt.wantWall, tt.wantDate, tt.wantUTC)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    duration
		wantErr bool
	}{
		{in: "PT1H30M", want: duration{exact: 90 * time.Minute}},
		{in: "P1W", want: duration{days: 7}},
		{in: "PT1W", want: duration{days: 7}},
		{in: "-P1DT2H", want: duration{days: -1, exact: -2 * time.Hour}},
		{in: "+p2d", want: duration{days: 2}},
		{in: "P", wantErr: true},
		{in: "PT1X", wantErr: true},
		{in: "1H", wantErr: true},
		{in: "P999999999D", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := parseDuration(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseDuration(%q) = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("parseDuration(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestZoneNames(t *testing.T) {
	t.Parallel()
	cache := newZoneCache()
	tests := []struct {
		name        string
		in          string
		wantWindows string
		wantAlias   string
	}{
		{name: "WindowsID", in: "W. Europe Standard Time", wantWindows: "Europe/Berlin"},
		{name: "WindowsIDAnyCase", in: "tokyo standard time", wantWindows: "Asia/Tokyo"},
		{name: "DisplayUTC", in: "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna", wantWindows: "Europe/Berlin"},
		{name: "DisplayGMTEscaped", in: `(GMT+07:00) Bangkok\, Hanoi\, Jakarta`, wantWindows: "Asia/Bangkok"},
		{name: "DisplayWithoutOffset", in: "Canberra, Melbourne, Sydney", wantWindows: "Australia/Sydney"},
		{name: "LegacyWindowsID", in: "Mexico Standard Time", wantWindows: "America/Mexico_City"},
		{name: "MozillaPrefix", in: "/mozilla.org/20050126_1/America/Boise", wantAlias: "America/Boise"},
		{name: "SoftwareStudioPrefix", in: "/softwarestudio.org/Olson_20011030_5/Pacific/Auckland", wantAlias: "Pacific/Auckland"},
		{name: "Dash", in: "US-Eastern", wantAlias: "US/Eastern"},
		{name: "Space", in: "America/Los Angeles", wantAlias: "America/Los_Angeles"},
		{name: "Nothing", in: "Middle of Nowhere"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := lookupWindows(tt.in); got != tt.wantWindows {
				t.Errorf("lookupWindows(%q) = %q, want %q", tt.in, got, tt.wantWindows)
			}
			if tt.wantWindows != "" && cache.loadIANA(tt.wantWindows) == nil {
				t.Errorf("loadIANA(%q) = nil", tt.wantWindows)
			}
			if got := aliasIANA(tt.in, cache.loadIANA); got != tt.wantAlias {
				t.Errorf("aliasIANA(%q) = %q, want %q", tt.in, got, tt.wantAlias)
			}
		})
	}
}

// TestWindowsTableLoads checks every IANA zone of the generated CLDR
// table against the zone database.
func TestWindowsTableLoads(t *testing.T) {
	t.Parallel()
	cache := newZoneCache()
	for _, wz := range windowsZones {
		if cache.loadIANA(wz.iana) == nil {
			t.Errorf("windowsZones[%q] = %q, which time.LoadLocation does not know", wz.id, wz.iana)
		}
	}
	for _, a := range legacyWindowsZones {
		if cache.loadIANA(a.iana) == nil {
			t.Errorf("legacyWindowsZones[%q] = %q, which time.LoadLocation does not know", a.name, a.iana)
		}
	}
}

func TestPlaceIn(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatalf("LoadLocation() = %v", err)
	}
	tests := []struct {
		name      string
		wall      time.Time
		wantRFC   string
		wantAfter string
	}{
		{name: "Plain", wall: time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC), wantRFC: "2024-07-01T10:00:00Z", wantAfter: "2024-07-01T10:00:00Z"},
		{name: "GapUsesOffsetBefore", wall: time.Date(2024, 3, 31, 2, 30, 0, 0, time.UTC), wantRFC: "2024-03-31T01:30:00Z", wantAfter: "2024-03-31T00:30:00Z"},
		{name: "OverlapUsesFirst", wall: time.Date(2024, 10, 27, 2, 30, 0, 0, time.UTC), wantRFC: "2024-10-27T00:30:00Z", wantAfter: "2024-10-27T01:30:00Z"},
		{name: "DayBeforeChange", wall: time.Date(2024, 10, 26, 2, 30, 0, 0, time.UTC), wantRFC: "2024-10-26T00:30:00Z", wantAfter: "2024-10-26T00:30:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rfc, after := placeIn(tt.wall, berlin)
			if got := rfc.UTC().Format(time.RFC3339); got != tt.wantRFC {
				t.Errorf("placeIn(%v) = %s, want %s", tt.wall, got, tt.wantRFC)
			}
			if got := after.UTC().Format(time.RFC3339); got != tt.wantAfter {
				t.Errorf("placeIn(%v) after = %s, want %s", tt.wall, got, tt.wantAfter)
			}
			z := &zone{loc: berlin}
			for range 2 { // the second call may answer from the cache
				if got, _ := z.placeLoc(tt.wall); !got.Equal(rfc) {
					t.Errorf("zone.placeLoc(%v) = %v, want %v", tt.wall, got, rfc)
				}
			}
		})
	}
}

// vtimezoneComponent decodes a VTIMEZONE written as lines.
func vtimezoneComponent(t *testing.T, lines ...string) *ical.Component {
	t.Helper()
	text := "BEGIN:VCALENDAR\r\n" + strings.Join(lines, "\r\n") + "\r\nEND:VCALENDAR\r\n"
	cal, err := ical.NewDecoder(strings.NewReader(text)).Decode()
	if err != nil || len(cal.Children) != 1 {
		t.Fatalf("Decode() = %v", err)
	}
	return cal.Children[0]
}

func TestBuildVTimezone(t *testing.T) {
	t.Parallel()
	// Onsets by RDATE only, the first one after the instants below.
	comp := vtimezoneComponent(t,
		"BEGIN:VTIMEZONE", "TZID:Late",
		"BEGIN:STANDARD", "DTSTART:20201025T030000", "RDATE:20201025T030000,20211031T030000",
		"TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "END:STANDARD",
		"BEGIN:DAYLIGHT", "DTSTART:20210328T020000", "RDATE:20210328T020000",
		"TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "END:DAYLIGHT",
		"END:VTIMEZONE")
	tests := []struct {
		name string
		how  vtzReading
		at   time.Time
		want int // offset in hours
	}{
		{name: "RFCBeforeFirstOnsetUsesTZOFFSETFROM", how: readRFC, at: time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC), want: 2},
		{name: "RFCAfterOnsets", how: readRFC, at: time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC), want: 2},
		{name: "RFCSecondRDATEValueCounts", how: readRFC, at: time.Date(2021, 12, 1, 0, 0, 0, 0, time.UTC), want: 1},
		{name: "ICALJSBeforeFirstOnsetIsUTC", how: readICALJS, at: time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC), want: 0},
		{name: "ICALJSIgnoresLaterRDATEValues", how: readICALJS, at: time.Date(2021, 12, 1, 0, 0, 0, 0, time.UTC), want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			locs, _ := buildVTimezones("Late", comp, newWork(context.Background(), vtzMaxSteps, vtzMaxSteps))
			loc := locs.rfc
			if tt.how == readICALJS {
				loc = locs.icaljs
			}
			if loc == nil {
				t.Fatal("buildVTimezones() = nil")
			}
			if _, off := tt.at.In(loc).Zone(); off != tt.want*3600 {
				t.Errorf("offset at %v = %d, want %d h", tt.at, off, tt.want)
			}
		})
	}
}

func TestTypo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		got, want string
		typo      bool
	}{
		{"VTOOD", "VTODO", true},
		{"VEVNT", "VEVENT", true},
		{"VALARM", "VEVENT", false},
		{"VTODO", "VEVENT", false},
		{"X", "VEVENT", false},
	}
	for _, tt := range tests {
		if got := typo(tt.got, tt.want); got != tt.typo {
			t.Errorf("typo(%q, %q) = %v, want %v", tt.got, tt.want, got, tt.typo)
		}
	}
}

// TestRepairedTextDecodes feeds go-ical the repair of lines it would
// reject or panic on.
func TestRepairedTextDecodes(t *testing.T) {
	t.Parallel()
	tests := []string{
		`DTSTART;TZID="Europe/Berlin"x:20240101T100000`,
		`DTSTART;TZID="unterminated:20240101T100000`,
		`DTSTART;VALUE:20240101`,
		`ATTENDEE;CN=Doe, John;ROLE=REQ-PARTICIPANT:mailto:j@example.com`,
		`X-EMPTY;:value`,
		`SUMMARY;X-P="a":b:c`,
		`BAD NAME:value`,
	}
	for _, line := range tests {
		t.Run(line, func(t *testing.T) {
			t.Parallel()
			var log repairLog
			data := []byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n" + line + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
			lines, ok := repairFeed(data, &log)
			if !ok {
				t.Fatal("repairFeed() found no calendar")
			}
			if _, err := decodeICS(render(lines)); err != nil {
				t.Errorf("decodeICS(repaired %q) = %v", line, err)
			}
		})
	}
}

// TestDecodeFallback checks that when go-ical cannot decode the whole
// feed, each top-level component is decoded on its own and only the
// broken one is lost.
func TestDecodeFallback(t *testing.T) {
	t.Parallel()
	cl := func(name, value string) contentLine { return contentLine{name: name, value: value} }
	lines := []contentLine{
		cl("BEGIN", "VCALENDAR"), cl("PRODID", "-//test//EN"),
		cl("BEGIN", "VEVENT"), cl("UID", "a"), cl("DTSTART", "20240101T100000Z"), cl("END", "VEVENT"),
		cl("BEGIN", "VEVENT"), cl("UID", "b"), cl("END", "VTODO"), // go-ical rejects the mismatch
		cl("BEGIN", "VEVENT"), cl("UID", "c"), cl("DTSTART", "20240103T100000Z"), cl("END", "VEVENT"),
		cl("END", "VCALENDAR"),
	}
	var log repairLog
	feed, fallback := decode(context.Background(), lines, &log)
	if !fallback {
		t.Fatal("decode() did not fall back")
	}
	root := feed.root
	var names []string
	for _, c := range root.Children {
		uid := ""
		if p := c.Props.Get("UID"); p != nil {
			uid = p.Value
		}
		names = append(names, c.Name+":"+uid)
	}
	want := []string{"VEVENT:a", "X-BROKEN-VEVENT:", "VEVENT:c"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("decode() children mismatch (-want +got):\n%s", diff)
	}
	if got := root.Props.Get("PRODID"); got == nil || got.Value != "-//test//EN" {
		t.Errorf("decode() PRODID = %v, want -//test//EN", got)
	}
}
