package feedkind_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/feedkind"
)

// TestConvertWholeInputErrors checks that an input that is not of its
// kind, or that the mapping does not fit, fails as a whole with the
// right sentinel and a message that says why.
func TestConvertWholeInputErrors(t *testing.T) {
	t.Parallel()
	csvMap := feedkind.Mapping{Title: "Title", StartDate: "Date", Header: true}
	jsonMap := feedkind.Mapping{Title: "title", StartDate: "start"}
	tests := []struct {
		name string
		kind feedkind.Kind
		in   string
		m    feedkind.Mapping
		opt  feedkind.Options
		want error
		msg  string
	}{
		{name: "JSONLDBinary", kind: feedkind.KindJSONLD, in: "\x00\x01\x02PK", want: feedkind.ErrInvalidInput, msg: "neither an HTML page nor a JSON-LD document"},
		{name: "JSONLDPageWithoutBlocks", kind: feedkind.KindJSONLD, in: "<html><head><title>x</title></head><body>No events</body></html>",
			want: feedkind.ErrInvalidInput, msg: `no <script type="application/ld+json">`},
		{name: "CSVIsHTML", kind: feedkind.KindCSV, in: "<!DOCTYPE html><html></html>", m: csvMap, want: feedkind.ErrInvalidInput, msg: "not CSV"},
		{name: "CSVEmpty", kind: feedkind.KindCSV, in: "", m: csvMap, want: feedkind.ErrInvalidInput, msg: "no CSV records"},
		{name: "CSVColumnMissing", kind: feedkind.KindCSV, in: "Title,When\nA,2025-01-01\n", m: csvMap, want: feedkind.ErrInvalidInput,
			msg: `mapped column "Date" not in the header ("Title", "When")`},
		{name: "CSVBadMapping", kind: feedkind.KindCSV, in: "a,b\n", m: feedkind.Mapping{Title: "Title"}, want: feedkind.ErrInvalidMapping, msg: "start_date: required"},
		{name: "JSONNotJSON", kind: feedkind.KindJSON, in: "title,start\n", m: jsonMap, want: feedkind.ErrInvalidInput, msg: "not JSON"},
		{name: "JSONObjectWithoutPath", kind: feedkind.KindJSON, in: `{"events":[]}`, m: jsonMap, want: feedkind.ErrInvalidInput, msg: "set path"},
		{name: "JSONPathMissing", kind: feedkind.KindJSON, in: `{"data":{"items":[]}}`, m: feedkind.Mapping{Title: "t", StartDate: "s", Path: "data.events"},
			want: feedkind.ErrInvalidInput, msg: `no member "events"`},
		{name: "JSONTruncated", kind: feedkind.KindJSON, in: `[{"title":"a","start":"2025-01-01"},{"title":`, m: jsonMap, want: feedkind.ErrInvalidInput, msg: "invalid JSON at item 2"},
		{name: "RSSIsHTML", kind: feedkind.KindRSS, in: "<html><body>hi</body></html>", want: feedkind.ErrInvalidInput, msg: "root element <html>"},
		{name: "RSSNotXML", kind: feedkind.KindRSS, in: "just text", want: feedkind.ErrInvalidInput, msg: "no XML element"},
		{name: "TooLarge", kind: feedkind.KindCSV, in: strings.Repeat("x", 2000), m: csvMap, opt: feedkind.Options{MaxBytes: 1000}, want: feedkind.ErrTooLarge},
		{name: "Script", kind: feedkind.KindScript, want: feedkind.ErrNotConverted},
		{name: "UnknownKind", kind: "xlsx", want: feedkind.ErrUnknownKind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := feedkind.Convert(context.Background(), tt.kind, []byte(tt.in), "", tt.m, tt.opt)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Convert() = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Convert() = %q, want it to say %q", err, tt.msg)
			}
		})
	}
}

// TestConvertSkipsBadItems checks that one bad item is a warning and the
// others are written.
func TestConvertSkipsBadItems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		kind     feedkind.Kind
		in       string
		m        feedkind.Mapping
		events   int
		warnings []string
	}{
		{
			name: "JSONLDInvalidAmongValidBlocks",
			kind: feedkind.KindJSONLD,
			in: `<html><script type="application/ld+json">{"@type":"Event","name":"A","startDate":"2025-05-01"}</script>` +
				`<script type="application/ld+json">{"@type":"Event","name":"B","startDate":</script>` +
				`<script type="application/ld+json"><!-- {"@type":"Event","name":"C","startDate":"2025-05-03"} --></script>` +
				`<script type="application/ld+json">` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `</script></html>`,
			events:   2,
			warnings: []string{"block 2: invalid JSON-LD: unexpected end of JSON input", "block 4: nested deeper than 64: ignored"},
		},
		{
			name:     "JSONLDDatesWithoutDayOrGarbage",
			kind:     feedkind.KindJSONLD,
			in:       `[{"@type":"Event","name":"A","startDate":"2025-02-30"},{"@type":"Event","name":"B","startDate":"2025-05-01T25:00"},{"@type":"Event","name":"C","startDate":"2025-05-01T10:00+01:00","endDate":"soon"}]`,
			events:   1,
			warnings: []string{`block 1 item 1 skipped: startDate: date "2025-02-30" is not a calendar date`, "block 1 item 2 skipped: startDate", "block 1 item 3: endDate ignored"},
		},
		{
			name:     "JSONLDEndBeforeStart",
			kind:     feedkind.KindJSONLD,
			in:       `{"@type":"Event","name":"A","startDate":"2025-05-01T10:00:00Z","endDate":"2025-05-01T09:00:00Z"}`,
			events:   1,
			warnings: []string{"block 1 item 1: end before the start ignored"},
		},
		{
			name: "CSVQuotedNewlinesBOMAndStrayQuote",
			kind: feedkind.KindCSV,
			in: "\ufeffTitle,Date,Notes\r\n" +
				"\"Two\nline title\",2025-06-01,\"a \"\"quoted\"\" note\nover lines\"\r\n" +
				"Bad \"quote,2025-06-02,x\r\n" +
				"Fine,2025-06-03,\r\n" +
				"Short row\r\n",
			m:        feedkind.Mapping{Title: "Title", StartDate: "Date", Description: "Notes", Header: true},
			events:   2,
			warnings: []string{"row 3 skipped: not CSV: bare \" in non-quoted-field", "row 5 skipped: no start date"},
		},
		{
			name:     "CSVWideRecordOverLines",
			kind:     feedkind.KindCSV,
			in:       "Title,Date\nWide" + strings.Repeat(",", 900) + "\"x\ny\"" + strings.Repeat(",", 900) + "\nFine,2025-01-01\n",
			m:        feedkind.Mapping{Title: "Title", StartDate: "Date", Header: true},
			events:   1,
			warnings: []string{"row 2 skipped: more than 1000 fields"},
		},
		{
			name:     "CSVDateWithoutFormat",
			kind:     feedkind.KindCSV,
			in:       "Title,Date\nA,03/04/2025\n",
			m:        feedkind.Mapping{Title: "Title", StartDate: "Date", Header: true},
			warnings: []string{`row 2 skipped: start date: date "03/04/2025" is not ISO 8601 (date_format is ISO 8601, YYYY-MM-DD; set date_format, e.g. "M/D/YYYY")`},
		},
		{
			name:     "CSVBadTimeAndDuration",
			kind:     feedkind.KindCSV,
			in:       "t,d,s,dur\nA,2025-01-01,25:00,\nB,2025-01-01,10am,forever\n",
			m:        feedkind.Mapping{Title: "t", StartDate: "d", StartTime: "s", Duration: "dur", Header: true},
			events:   1,
			warnings: []string{`row 2 skipped: start date: time "25:00" is not a time of day`, `row 3: duration ignored: duration "forever" is not ISO 8601`},
		},
		{
			name:     "JSONItemsWithoutTitleOrWithNumbers",
			kind:     feedkind.KindJSON,
			in:       `[{"start":"2025-01-01"},{"title":7,"start":1735725600},{"title":null,"start":"2025-01-02"}]`,
			m:        feedkind.Mapping{Title: "title", StartDate: "start", DateFormat: "unix"},
			events:   1,
			warnings: []string{"item 1 skipped: no title", "item 3 skipped: no title"},
		},
		{
			name: "RSSBrokenTail",
			kind: feedkind.KindRSS,
			in: `<rss xmlns:ev="http://purl.org/rss/1.0/modules/event/"><channel><item><title>A</title><ev:startdate>2025-01-01</ev:startdate></item>` +
				`<item><title>B</title><ev:startdate>2025-01-02</ev:startdate></item><item><title>C</ti`,
			events:   2,
			warnings: []string{"XML error after 2 items"},
		},
		{
			name:     "DuplicateEvents",
			kind:     feedkind.KindJSONLD,
			in:       `[{"@type":"Event","@id":"#a","name":"A","startDate":"2025-05-01"},{"@type":"Event","@id":"#a","name":"A","startDate":"2025-05-01"},{"@type":"Event","@id":"#a","name":"A again","startDate":"2025-05-08"},{"@type":"Event","name":"B","startDate":"2025-05-01"},{"@type":"Event","name":"B","startDate":"2025-05-01"}]`,
			events:   3,
			warnings: []string{"block 1 item 2 skipped: duplicate of block 1 item 1", "block 1 item 5 skipped: duplicate of block 1 item 4"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ics, rep, err := feedkind.Convert(context.Background(), tt.kind, []byte(tt.in), "https://example.org/", tt.m, feedkind.Options{Zone: hubZone(t)})
			if err != nil {
				t.Fatalf("Convert() = %v", err)
			}
			if rep.Events != tt.events {
				t.Errorf("Report.Events = %d, want %d; warnings %q", rep.Events, tt.events, rep.Warnings)
			}
			if got := len(occurrences(t, ics)); got != tt.events {
				t.Errorf("occurrences = %d, want %d\n%s", got, tt.events, ics)
			}
			i := 0
			for _, w := range rep.Warnings {
				if i < len(tt.warnings) && strings.Contains(w, tt.warnings[i]) {
					i++
				}
			}
			if i < len(tt.warnings) {
				t.Errorf("Report.Warnings = %q, want %q in order", rep.Warnings, tt.warnings)
			}
		})
	}
}

// TestConvertDeterministic checks that the same input converts to the
// same bytes (so that an unchanged source is seen to be unchanged) and
// that events without ids of their own keep their hashed UIDs.
func TestConvertDeterministic(t *testing.T) {
	t.Parallel()
	in := readTestdata(t, "csv/google-calendar-export.csv")
	m := feedkind.Mapping{Title: "Subject", StartDate: "Start Date", StartTime: "Start Time", Location: "Location",
		DateFormat: "M/D/YYYY", Header: true}
	opt := feedkind.Options{Zone: hubZone(t)}
	a, _, err := feedkind.Convert(context.Background(), feedkind.KindCSV, in, "", m, opt)
	if err != nil {
		t.Fatalf("Convert() = %v", err)
	}
	b, _, err := feedkind.Convert(context.Background(), feedkind.KindCSV, in, "", m, opt)
	if err != nil {
		t.Fatalf("Convert() = %v", err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("Convert() twice gave different bytes")
	}
	// The first row moved to another line of the sheet keeps its UID.
	lines := strings.Split(string(in), "\r\n")
	lines[1], lines[2] = lines[2], lines[1]
	c, _, err := feedkind.Convert(context.Background(), feedkind.KindCSV, []byte(strings.Join(lines, "\r\n")), "", m, opt)
	if err != nil {
		t.Fatalf("Convert() = %v", err)
	}
	uids := func(ics []byte) map[string]bool {
		set := map[string]bool{}
		for _, l := range strings.Split(string(ics), "\r\n") {
			if strings.HasPrefix(l, "UID:") {
				set[l] = true
			}
		}
		return set
	}
	if diff := cmp.Diff(uids(a), uids(c)); diff != "" {
		t.Errorf("UIDs after reordering rows (-want +got):\n%s", diff)
	}
}

// TestConvertZones checks how times are written: an offset that agrees
// with the zone is written in the zone (TZID, no VTIMEZONE, which the
// parser resolves as an IANA name); one that does not is written in
// UTC; times without an offset take the mapping's zone over the hub's.
func TestConvertZones(t *testing.T) {
	t.Parallel()
	in := `[{"@type":"Event","name":"Agrees","startDate":"2025-07-04T20:00:00-04:00"},
	{"@type":"Event","name":"Differs","startDate":"2025-07-04T20:00:00+02:00"},
	{"@type":"Event","name":"Local","startDate":"2025-07-04T20:00"},
	{"@type":"Event","name":"Gap","startDate":"2025-03-09T02:30"}]`
	tests := []struct {
		name string
		m    feedkind.Mapping
		want []string
	}{
		{name: "HubZone", want: []string{
			"2025-03-09 03:30 EDT America/New_York | Gap",
			"2025-07-04 18:00 UTC UTC | Differs",
			"2025-07-04 20:00 EDT America/New_York | Local",
			"2025-07-04 20:00 EDT America/New_York | Agrees",
		}},
		{name: "MappingZone", m: feedkind.Mapping{TZ: "Europe/Berlin"}, want: []string{
			"2025-03-09 02:30 CET Europe/Berlin | Gap",
			"2025-07-04 20:00 CEST Europe/Berlin | Differs",
			"2025-07-04 20:00 CEST Europe/Berlin | Local",
			"2025-07-05 00:00 UTC UTC | Agrees",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ics, _, err := feedkind.Convert(context.Background(), feedkind.KindJSONLD, []byte(in), "", tt.m, feedkind.Options{Zone: hubZone(t)})
			if err != nil {
				t.Fatalf("Convert() = %v", err)
			}
			if bytes.Contains(ics, []byte("VTIMEZONE")) {
				t.Errorf("Convert() wrote a VTIMEZONE")
			}
			got := occurrences(t, ics)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("occurrences (-want +got):\n%s\n%s", diff, ics)
			}
		})
	}
}

// TestConvertText checks the writer's escaping and folding on hostile
// text: every line at most 75 octets, valid UTF-8, and the parser reads
// the text back as it was (less control characters and broken bytes).
func TestConvertText(t *testing.T) {
	t.Parallel()
	title := "Ünïcödé; commas, back\\slash \u2028 and emoji 🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉 end"
	in := "Title,Date,Notes\n\"" + title + "\",2025-01-01,\"bad \xff\xfe bytes\x01\x02 and a very long line " + strings.Repeat("é", 200) + "\"\n"
	ics, _, err := feedkind.Convert(context.Background(), feedkind.KindCSV, []byte(in), "",
		feedkind.Mapping{Title: "Title", StartDate: "Date", Description: "Notes", Header: true}, feedkind.Options{})
	if err != nil {
		t.Fatalf("Convert() = %v", err)
	}
	if !utf8.Valid(ics) {
		t.Errorf("Convert() wrote invalid UTF-8")
	}
	for _, l := range strings.Split(string(ics), "\r\n") {
		if len(l) > 75 {
			t.Errorf("line of %d octets: %q", len(l), l)
		}
	}
	cal, err := calendar.NewParser(calendar.Config{}).Parse(context.Background(), ics)
	if err != nil || len(cal.Events) != 1 {
		t.Fatalf("Parse() = %v, %v", cal, err)
	}
	e := cal.Events[0]
	if want := strings.ReplaceAll(title, "\u2028 ", ""); strings.Join(strings.Fields(e.Summary), " ") != strings.Join(strings.Fields(want), " ") {
		t.Errorf("Summary = %q, want %q", e.Summary, want)
	}
	if !strings.HasPrefix(e.Description, "bad \uFFFD bytes and a very long line éé") || !strings.HasSuffix(e.Description, "éé") {
		t.Errorf("Description = %q", e.Description)
	}
	if !e.AllDay || e.Start != time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) {
		t.Errorf("Start = %v (all day %v), want 2025-01-01 all day", e.Start, e.AllDay)
	}
}

// TestConvertICSPassThrough checks that an ics feed is returned as it is.
func TestConvertICSPassThrough(t *testing.T) {
	t.Parallel()
	in := []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
	got, rep, err := feedkind.Convert(context.Background(), feedkind.KindICS, in, "", feedkind.Mapping{}, feedkind.Options{})
	if err != nil || !bytes.Equal(got, in) || rep.Kind != feedkind.KindICS {
		t.Errorf("Convert(ics) = %q, %+v, %v, want the input", got, rep, err)
	}
}

// TestConvertCancelled checks that a done context stops a conversion.
func TestConvertCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := feedkind.Convert(ctx, feedkind.KindJSONLD, []byte(`{"@type":"Event"}`), "", feedkind.Mapping{}, feedkind.Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Convert() = %v, want context.Canceled", err)
	}
}
