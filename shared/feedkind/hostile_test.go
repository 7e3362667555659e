package feedkind_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/feedkind"
	"github.com/elmcity/elmcity/shared/internal/usagetest"
)

// The bounds of TestHostileInputs: an input of the worker's fetch cap
// (10 MiB) built to be expensive converts within hostileCPU and
// hostileHeap, and what it writes parses.
const (
	hostileBytes = feedkind.DefaultMaxBytes
	hostileCPU   = 3 * time.Second
	hostileHeap  = 256 << 20
	// hostileCancelLag is how soon after its context is done a
	// conversion returns.
	hostileCancelLag = 100 * time.Millisecond
)

// hostileInput is one input of TestHostileInputs.
type hostileInput struct {
	name string
	kind feedkind.Kind
	m    feedkind.Mapping
	data func() []byte
	// invalid says the input as a whole is refused (ErrInvalidInput).
	invalid bool
}

// fill repeats unit after head up to n bytes, then adds tail.
func fill(n int, head, unit, tail string) []byte {
	return fillN(n, head, func(int) string { return unit }, tail)
}

// fillN writes unit(0), unit(1), ... after head up to n bytes, then adds
// tail.
func fillN(n int, head string, unit func(i int) string, tail string) []byte {
	var b bytes.Buffer
	b.Grow(n)
	b.WriteString(head)
	for i := 0; ; i++ {
		u := unit(i)
		if b.Len()+len(u)+len(tail) > n {
			break
		}
		b.WriteString(u)
	}
	b.WriteString(tail)
	return b.Bytes()
}

// hostileInputs returns the hostile inputs, each of about n bytes.
func hostileInputs(n int) []hostileInput {
	csvMap := feedkind.Mapping{Title: "1", StartDate: "2", Description: "3"}
	jsonMap := feedkind.Mapping{Title: "t", StartDate: "s", Description: "d"}
	return []hostileInput{
		{name: "jsonld-tiny-events", kind: feedkind.KindJSONLD, data: func() []byte {
			return fillN(n, "[", func(i int) string {
				return fmt.Sprintf(`{"@type":"Event","name":"e%d","startDate":"2025-01-01T10:00:00Z"},`, i)
			}, `{}]`)
		}},
		{name: "jsonld-graph-of-empty-objects", kind: feedkind.KindJSONLD, data: func() []byte {
			return fill(n, `<html><script type="application/ld+json">{"@graph":[`, `{},`, `{}]}</script></html>`)
		}},
		{name: "jsonld-deep-nesting", kind: feedkind.KindJSONLD, data: func() []byte {
			return []byte(strings.Repeat("[", n/2) + strings.Repeat("]", n/2))
		}},
		{name: "jsonld-deep-inside-event", kind: feedkind.KindJSONLD, data: func() []byte {
			return []byte(`{"@type":"Event","name":"x","startDate":"2025-01-01","offers":` + strings.Repeat(`{"a":`, n/10) + "1" + strings.Repeat("}", n/10) + "}")
		}},
		{name: "jsonld-many-script-blocks", kind: feedkind.KindJSONLD, data: func() []byte {
			return fill(n, "<html>", `<script type="application/ld+json">{"@type":"Event","name":"e","startDate":"2025-01-01"}</script>`, "</html>")
		}},
		{name: "jsonld-enormous-fields", kind: feedkind.KindJSONLD, data: func() []byte {
			big := strings.Repeat("ab<i>c</i>&amp;", n/60)
			return []byte(`{"@type":"Event","name":"` + big + `","description":"` + big + `","location":"` + big + `","startDate":"2025-01-01"}`)
		}},
		{name: "jsonld-many-except-dates", kind: feedkind.KindJSONLD, data: func() []byte {
			return fill(n, `{"@type":"Event","name":"x","eventSchedule":{"repeatFrequency":"P1D","startDate":"2025-01-01","startTime":"10:00","exceptDate":[`, `"2025-01-02",`, `"2025-01-03"]}}`)
		}},
		{name: "jsonld-invalid-utf8", kind: feedkind.KindJSONLD, data: func() []byte {
			return fill(n, "[", "{\"@type\":\"Event\",\"name\":\"\xff\xfe\xc3\",\"startDate\":\"2025-01-01\",\"location\":\"\xed\xa0\x80\"},", "{}]")
		}},
		{name: "jsonld-html-tag-soup", kind: feedkind.KindJSONLD, data: func() []byte {
			return fill(n, "<html>", `<div><p><script type="application/ld+json"><a><b>`, "")
		}},
		{name: "csv-tiny-rows", kind: feedkind.KindCSV, m: csvMap, data: func() []byte {
			return fillN(n, "", func(i int) string { return fmt.Sprintf("a%d,2025-01-01\n", i) }, "")
		}},
		{name: "csv-enormous-quoted-field", kind: feedkind.KindCSV, m: csvMap, data: func() []byte {
			return []byte("a,2025-01-01,\"" + strings.Repeat("x\n\"\"", n/4-10) + "\"\n")
		}},
		{name: "csv-many-fields", kind: feedkind.KindCSV, m: csvMap, data: func() []byte {
			return fill(n, "a,2025-01-01", ",", "\n")
		}},
		{name: "csv-unclosed-quote", kind: feedkind.KindCSV, m: csvMap, invalid: true, data: func() []byte {
			return fill(n, "a,2025-01-01,\"", "text,with,commas\n", "")
		}},
		{name: "csv-stray-quotes", kind: feedkind.KindCSV, m: csvMap, invalid: true, data: func() []byte {
			return fill(n, "", "a\"b,2025-01-01\n", "")
		}},
		{name: "csv-invalid-utf8", kind: feedkind.KindCSV, m: csvMap, data: func() []byte {
			return fill(n, "", "\x80\xff\xfe,2025-01-01,\x81\x8d\n", "")
		}},
		{name: "json-array-of-empty-objects", kind: feedkind.KindJSON, m: jsonMap, data: func() []byte {
			return fill(n, "[", "{},", "{}]")
		}},
		{name: "json-tiny-events", kind: feedkind.KindJSON, m: jsonMap, data: func() []byte {
			return fillN(n, "[", func(i int) string { return fmt.Sprintf(`{"t":"e%d","s":"2025-01-01"},`, i) }, "{}]")
		}},
		{name: "json-deep-nesting", kind: feedkind.KindJSON, m: jsonMap, invalid: true, data: func() []byte {
			return []byte(strings.Repeat("[", n/2) + strings.Repeat("]", n/2))
		}},
		{name: "json-enormous-string", kind: feedkind.KindJSON, m: jsonMap, data: func() []byte {
			return []byte(`[{"t":"` + strings.Repeat("\\u00e9", n/6-10) + `","s":"2025-01-01"}]`)
		}},
		{name: "json-long-path-skip", kind: feedkind.KindJSON, m: feedkind.Mapping{Title: "t", StartDate: "s", Path: "b"}, data: func() []byte {
			return fill(n, `{"a":[`, `{"x":[1,2,3]},`, `{}],"b":[{"t":"e","s":"2025-01-01"}]}`)
		}},
		{name: "rss-tiny-items", kind: feedkind.KindRSS, data: func() []byte {
			return fillN(n, `<rss xmlns:ev="http://purl.org/rss/1.0/modules/event/"><channel>`, func(i int) string {
				return fmt.Sprintf(`<item><title>x%d</title><ev:startdate>2025-01-01</ev:startdate></item>`, i)
			}, "</channel></rss>")
		}},
		{name: "rss-deep-nesting", kind: feedkind.KindRSS, invalid: true, data: func() []byte {
			return fill(n, "<rss>", "<a>", "")
		}},
		{name: "rss-many-fields-per-item", kind: feedkind.KindRSS, data: func() []byte {
			return fill(n, "<rss><channel><item>", "<category>c</category>", "</item></channel></rss>")
		}},
		{name: "rss-enormous-text", kind: feedkind.KindRSS, data: func() []byte {
			return []byte(`<rss xmlns:ev="http://purl.org/rss/1.0/modules/event/"><channel><item><title>` + strings.Repeat("t&amp;", n/6-100) + `</title><ev:startdate>2025-01-01</ev:startdate></item></channel></rss>`)
		}},
		{name: "rss-entity-expansion", kind: feedkind.KindRSS, data: func() []byte {
			dtd := `<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>`
			return fill(n, dtd+`<rss xmlns:ev="http://purl.org/rss/1.0/modules/event/"><channel>`, `<item><title>&c;</title><ev:startdate>2025-01-01</ev:startdate></item>`, "</channel></rss>")
		}},
	}
}

// TestHostileInputs converts inputs of the fetch cap built to be
// expensive and checks that each stays within the bounds (CPU time, peak
// heap, events and output written) and that what it writes is valid
// UTF-8 and parses with every event kept.
//
// It is not parallel, and neither are its subtests: it measures the
// process's CPU time and heap, which other tests would disturb.
func TestHostileInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("hostile inputs of 10 MiB are skipped in -short mode")
	}
	ctx := context.Background()
	opt := feedkind.Options{Zone: hubZone(t)}
	parser := calendar.NewParser(calendar.Config{})
	for _, in := range hostileInputs(hostileBytes) {
		t.Run(in.name, func(t *testing.T) {
			data := in.data()
			if len(data) > hostileBytes {
				t.Fatalf("input of %d bytes, more than %d", len(data), hostileBytes)
			}
			var ics []byte
			var rep feedkind.Report
			var err error
			u := usagetest.Measure(func() {
				ics, rep, err = feedkind.Convert(ctx, in.kind, data, "https://example.org/", in.m, opt)
			})
			t.Logf("hostile %-30s %8.1f KiB  cpu %7.1f ms  peak heap %6.1f MiB  items %6d  events %6d  skipped %6d  out %8.1f KiB  err %v",
				in.name, float64(len(data))/1024, float64(u.CPU.Microseconds())/1000, float64(u.PeakHeap)/(1<<20),
				rep.Items, rep.Events, rep.Skipped, float64(len(ics))/1024, err)
			if in.invalid {
				if !errors.Is(err, feedkind.ErrInvalidInput) {
					t.Errorf("Convert() = %v, want ErrInvalidInput", err)
				}
			} else if err != nil {
				t.Fatalf("Convert() = %v", err)
			}
			if u.PeakHeap > hostileHeap {
				t.Errorf("peak heap = %d MiB, want at most %d MiB", u.PeakHeap>>20, hostileHeap>>20)
			}
			if !raceEnabled && u.CPU > hostileCPU {
				t.Errorf("CPU time = %v, want at most %v", u.CPU, hostileCPU)
			}
			if rep.Events > feedkind.DefaultMaxEvents || rep.Items > feedkind.DefaultMaxItems || len(rep.Warnings) > feedkind.DefaultMaxWarnings {
				t.Errorf("Report = %d items, %d events, %d warnings: over the caps", rep.Items, rep.Events, len(rep.Warnings))
			}
			if err != nil {
				return
			}
			if len(ics) > feedkind.DefaultMaxOutputBytes || !utf8.Valid(ics) {
				t.Fatalf("Convert() wrote %d bytes (valid UTF-8 %v)", len(ics), utf8.Valid(ics))
			}
			cal, err := parser.Parse(ctx, ics)
			if err != nil {
				t.Fatalf("Parse() = %v", err)
			}
			if len(cal.Events) != rep.Events || len(cal.Stats.Skipped) > 0 {
				t.Errorf("Parse() read %d events (skipped %v), want the %d written", len(cal.Events), cal.Stats.Skipped, rep.Events)
			}
		})
	}
}

// TestHostileCancel checks that a conversion returns promptly once its
// context is done.
func TestHostileCancel(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("wall-clock latency is not measured in -short mode or under the race detector")
	}
	for _, in := range hostileInputs(hostileBytes / 4) {
		if !strings.HasSuffix(in.name, "tiny-events") && in.name != "csv-tiny-rows" && in.name != "rss-tiny-items" {
			continue
		}
		t.Run(in.name, func(t *testing.T) {
			data := in.data()
			opt := feedkind.Options{MaxItems: 1 << 30, MaxEvents: 1 << 30, MaxOutputBytes: 1 << 30}
			start := time.Now()
			if _, _, err := feedkind.Convert(context.Background(), in.kind, data, "", in.m, opt); err != nil {
				t.Fatalf("Convert() = %v", err)
			}
			full := time.Since(start)
			ctx, cancel := context.WithTimeout(context.Background(), full/4)
			defer cancel()
			start = time.Now()
			_, _, err := feedkind.Convert(ctx, in.kind, data, "", in.m, opt)
			lag := time.Since(start) - full/4
			t.Logf("cancel %-22s full %v, returned %v after the deadline", in.name, full.Round(time.Millisecond), lag.Round(time.Microsecond))
			if err == nil && lag < 0 {
				t.Logf("Convert() finished before its deadline (a busy machine timed the first run slow): not measured")
				return
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Convert() = %v, want context.DeadlineExceeded", err)
			}
			if lag > hostileCancelLag {
				t.Errorf("Convert() returned %v after its deadline, want at most %v", lag, hostileCancelLag)
			}
		})
	}
}
