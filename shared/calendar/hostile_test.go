package calendar_test

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/internal/usagetest"
)

// The hostile suite: inputs built to make parsing or expansion cost
// more than their size. Every one must be parsed and expanded over a
// one-year window within hostileCPU of CPU time and hostileHeap of heap,
// must not spend more work than the budgets, and must be cancellable.
// Small inputs live in testdata/hostile; large ones (the 10 MiB feeds,
// the 9 MiB lines, thousands of VTIMEZONEs, deep nesting) are built
// here. With -v each input's CPU time, peak heap, bytes allocated and
// work steps are logged:
//
//	go test -count=1 -run '^TestHostileInputs$' -v ./shared/calendar/ | grep -E 'hostile|FAIL'

// hostileDump, when set, names a directory the suite writes each input
// to (as NAME.ics), to replay them through the worker:
//
//	go test -count=1 -run '^TestHostileInputs$' ./shared/calendar/ -hostile.dump=/tmp/hostile
//	/usr/bin/time -v workerrole check /tmp/hostile/tiny-events.ics
var hostileDump = flag.String("hostile.dump", "", "write the hostile inputs to this directory")

// Bounds of the hostile suite.
const (
	// hostileFeedBytes is the largest feed the worker fetches
	// (fetch.DefaultMaxBytes).
	hostileFeedBytes = 10 << 20
	// hostileCPU bounds the CPU time of one input's parse and
	// expansion. It is checked only without the race detector, which
	// slows the code down several times.
	hostileCPU = 2 * time.Second
	// hostileHeap bounds the peak heap of one input's parse and
	// expansion, above what was live before (the input itself).
	hostileHeap = 256 << 20
	// hostileCancel bounds how long Parse or Expand may run on once
	// their context is cancelled (checked without the race detector).
	hostileCancel = 50 * time.Millisecond
)

// hostileWindow is the expansion window of the suite: a year from
// mid-2026, so that rules that begin in 2026 (most of rules.txt) are
// fast-forwarded into it, as the worker's window, which begins today,
// has them.
func hostileWindow() calendar.ExpandOptions {
	return calendar.ExpandOptions{
		From: time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC),
		To:   time.Date(2027, 6, 15, 0, 0, 0, 0, time.UTC),
	}
}

// hostileInput is one input of the suite.
type hostileInput struct {
	name string
	cfg  calendar.Config
	data func() []byte
}

// hostileRule is one line of testdata/hostile/rules.txt.
type hostileRule struct {
	dtstart, rule string
}

// rangeToken is a BY value written as a range: "a..b" or "a..bXX".
var rangeToken = regexp.MustCompile(`^(-?\d+)\.\.(-?\d+)([A-Z]{2})?$`)

// expandRanges writes out the ranges of a rule (see rules.txt).
func expandRanges(rule string) string {
	parts := strings.Split(rule, ";")
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		var out []string
		for _, item := range strings.Split(v, ",") {
			m := rangeToken.FindStringSubmatch(item)
			if m == nil {
				out = append(out, item)
				continue
			}
			lo, _ := strconv.Atoi(m[1])
			hi, _ := strconv.Atoi(m[2])
			for n := lo; n <= hi; n++ {
				if n != 0 || m[3] == "" {
					out = append(out, strconv.Itoa(n)+m[3])
				}
			}
		}
		parts[i] = k + "=" + strings.Join(out, ",")
	}
	return strings.Join(parts, ";")
}

// readHostileRules reads testdata/hostile/rules.txt, ranges written out.
func readHostileRules(t testing.TB) []hostileRule {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "hostile", "rules.txt"))
	if err != nil {
		t.Fatalf("Open(rules.txt) = %v", err)
	}
	defer func() { _ = f.Close() }() // read only
	var rules []hostileRule
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		dtstart, rule, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("rules.txt: bad line %q", line)
		}
		rules = append(rules, hostileRule{dtstart: dtstart, rule: expandRanges(rule)})
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read rules.txt: %v", err)
	}
	return rules
}

// feedBuilder writes a feed.
type feedBuilder struct{ bytes.Buffer }

// line writes one content line, unfolded.
func (b *feedBuilder) line(s string) {
	b.WriteString(s)
	b.WriteString("\r\n")
}

// ruleFeed returns a feed with copies events of each rule.
func ruleFeed(rules []hostileRule, copies int) []byte {
	var b feedBuilder
	b.line("BEGIN:VCALENDAR")
	b.line("VERSION:2.0")
	b.line("PRODID:-//elmcity//hostile//EN")
	for i, r := range rules {
		for c := range copies {
			b.line("BEGIN:VEVENT")
			b.line(fmt.Sprintf("UID:rule-%d-%d@hostile", i, c))
			b.line("DTSTART:" + r.dtstart)
			b.line("SUMMARY:hostile rule")
			b.line("RRULE:" + r.rule)
			b.line("END:VEVENT")
		}
	}
	b.line("END:VCALENDAR")
	return b.Bytes()
}

// repeatFeed returns a VCALENDAR of body repeated to fill size bytes;
// %d in body is replaced by the copy's number.
func repeatFeed(size int, head, body string) []byte {
	var b feedBuilder
	b.line("BEGIN:VCALENDAR")
	b.WriteString(head)
	numbered := strings.Contains(body, "%d")
	for i := 0; b.Len() < size-len(body)-32; i++ {
		if numbered {
			b.WriteString(strings.ReplaceAll(body, "%d", strconv.Itoa(i)))
		} else {
			b.WriteString(body)
		}
	}
	b.line("END:VCALENDAR")
	return b.Bytes()
}

// eventWith returns a feed of one event with extra lines.
func eventWith(extra func(b *feedBuilder)) []byte {
	var b feedBuilder
	b.line("BEGIN:VCALENDAR")
	b.line("BEGIN:VEVENT")
	b.line("UID:long@hostile")
	b.line("DTSTART:20260105T100000Z")
	b.line("RRULE:FREQ=DAILY")
	extra(&b)
	b.line("END:VEVENT")
	b.line("END:VCALENDAR")
	return b.Bytes()
}

// stamps returns n DATE-TIME values, one a minute from 2026-01-05.
func stamps(n int) []string {
	t := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	out := make([]string, n)
	for i := range out {
		out[i] = t.Add(time.Duration(i) * time.Minute).Format("20060102T150405Z")
	}
	return out
}

// hostileInputs lists the suite.
func hostileInputs(t testing.TB) []hostileInput {
	t.Helper()
	rules := readHostileRules(t)
	var in []hostileInput
	add := func(name string, cfg calendar.Config, data func() []byte) {
		in = append(in, hostileInput{name: name, cfg: cfg, data: data})
	}
	// lazy turns the parse-time refusal of rule bombs off, so that the
	// evaluator meets them.
	lazy := calendar.Config{MaxPeriodInstants: math.MaxInt}
	// small keeps the 200-copy feeds of single rules quick: the bounds
	// are the same with the default budget, which the all-rules feeds
	// spend.
	small := calendar.Config{MaxFeedSteps: 500_000, MaxPeriodInstants: math.MaxInt}
	for _, f := range []string{"bomb.ics", "vtimezone_bomb.ics"} {
		add("file/"+f, calendar.Config{}, func() []byte {
			data, err := os.ReadFile(filepath.Join("testdata", "hostile", f))
			if err != nil {
				t.Fatalf("ReadFile(%s) = %v", f, err)
			}
			return data
		})
	}
	for i, r := range rules {
		one := []hostileRule{r}
		add(fmt.Sprintf("rule-%02d/default", i+1), calendar.Config{}, func() []byte { return ruleFeed(one, 1) })
		add(fmt.Sprintf("rule-%02d/lazy", i+1), lazy, func() []byte { return ruleFeed(one, 1) })
		add(fmt.Sprintf("rule-%02d/x200", i+1), small, func() []byte { return ruleFeed(one, 200) })
	}
	add("all-rules-x200/default", calendar.Config{}, func() []byte { return ruleFeed(rules, 200) })
	add("all-rules-x200/lazy", lazy, func() []byte { return ruleFeed(rules, 200) })

	// 10 MiB feeds of tiny events.
	for _, ev := range []struct{ name, body string }{
		{"tiny-events", "BEGIN:VEVENT\r\nUID:%d\r\nDTSTART:20260101T000000Z\r\nEND:VEVENT\r\n"},
		{"tiny-daily-events", "BEGIN:VEVENT\r\nUID:%d\r\nDTSTART:20260101T000000Z\r\nRRULE:FREQ=DAILY\r\nEND:VEVENT\r\n"},
		{"tiny-secondly-events", "BEGIN:VEVENT\r\nDTSTART:20260101T000000Z\r\nRRULE:FREQ=SECONDLY\r\nEND:VEVENT\r\n"},
		{"tiny-sparse-events", "BEGIN:VEVENT\r\nUID:%d\r\nDTSTART:20260101T000000Z\r\nRRULE:FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30;BYHOUR=23\r\nEND:VEVENT\r\n"},
		{"tiny-count-events", "BEGIN:VEVENT\r\nUID:%d\r\nDTSTART:19000101T000000Z\r\nRRULE:FREQ=DAILY;COUNT=46000;BYHOUR=1,2\r\nEND:VEVENT\r\n"},
		{"tiny-bomb-events", "BEGIN:VEVENT\r\nUID:%d\r\nDTSTART:20260101T000000Z\r\nRRULE:FREQ=YEARLY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;BYMINUTE=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59;BYMONTHDAY=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\r\nEND:VEVENT\r\n"},
		{"tiny-events-one-uid", "BEGIN:VEVENT\r\nUID:same\r\nDTSTART:20260101T000000Z\r\nRRULE:FREQ=DAILY\r\nEND:VEVENT\r\n"},
		{"tiny-unclosed", "BEGIN:VEVENT\r\n"},
		{"tiny-vcalendars", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:%d\r\nDTSTART:20260101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"},
		{"tiny-tzids", "BEGIN:VEVENT\r\nUID:%d\r\nDTSTART;TZID=Zone/No%d:20260101T000000\r\nEND:VEVENT\r\n"},
		{"tiny-latin1", "BEGIN:VEVENT\r\nUID:%d\r\nSUMMARY:caf\xe9 cr\xe8me\r\nDTSTART:20260101T000000Z\r\nEND:VEVENT\r\n"},
	} {
		add(ev.name, calendar.Config{}, func() []byte { return repeatFeed(hostileFeedBytes, "", ev.body) })
	}
	add("tiny-events-lazy", lazy, func() []byte {
		return repeatFeed(hostileFeedBytes, "", "BEGIN:VEVENT\r\nUID:%d\r\nDTSTART:20260101T000000Z\r\nRRULE:FREQ=YEARLY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;BYMINUTE=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59;BYMONTHDAY=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\r\nEND:VEVENT\r\n")
	})
	add("tiny-events-utf16", calendar.Config{}, func() []byte {
		utf8 := repeatFeed(hostileFeedBytes/2-4, "", "BEGIN:VEVENT\r\nUID:%d\r\nDTSTART:20260101T000000Z\r\nEND:VEVENT\r\n")
		out := []byte{0xFF, 0xFE}
		for _, c := range string(utf8) {
			out = append(out, byte(c), byte(c>>8))
		}
		return out
	})

	// Very long lines.
	const long = 9 << 20
	add("long-summary-folded", calendar.Config{}, func() []byte {
		return eventWith(func(b *feedBuilder) {
			b.WriteString("SUMMARY:")
			chunk := strings.Repeat("x", 74)
			for n := 0; n < long; n += 74 {
				b.WriteString(chunk)
				b.WriteString("\r\n ")
			}
			b.line("end")
		})
	})
	add("long-line-unfolded", calendar.Config{}, func() []byte {
		return eventWith(func(b *feedBuilder) { b.line("DESCRIPTION:" + strings.Repeat("a\\,b\\nc ", long/8)) })
	})
	add("long-line-no-colon", calendar.Config{}, func() []byte {
		return eventWith(func(b *feedBuilder) { b.line(strings.Repeat("X", long)) })
	})
	add("long-line-params", calendar.Config{}, func() []byte {
		return eventWith(func(b *feedBuilder) {
			b.line("X-P" + strings.Repeat(`;A="x;y:z",b`, long/12) + ":v")
		})
	})
	add("long-line-param-value", calendar.Config{}, func() []byte {
		return eventWith(func(b *feedBuilder) { b.line(`X-P;A="` + strings.Repeat("q", long) + `":v`) })
	})
	add("long-line-tzid", calendar.Config{}, func() []byte {
		return eventWith(func(b *feedBuilder) {
			b.line("EXDATE;TZID=" + strings.Repeat("a/", long/2) + ":20260106T100000")
		})
	})
	add("long-rrule-values", calendar.Config{}, func() []byte {
		return eventWith(func(b *feedBuilder) {
			b.line("RRULE:FREQ=YEARLY;BYMONTHDAY=" + strings.Repeat("1,", long/4) + ";BYYEARDAY=" + strings.Repeat("99999,", long/12))
		})
	})
	add("long-rrule-parts", calendar.Config{}, func() []byte {
		return eventWith(func(b *feedBuilder) { b.line("RRULE:FREQ=DAILY" + strings.Repeat(";BYHOUR=1", long/9)) })
	})
	add("long-categories", calendar.Config{}, func() []byte {
		return eventWith(func(b *feedBuilder) { b.line("CATEGORIES:" + strings.Repeat("a,", long/2)) })
	})

	// Huge RDATE, EXDATE and override lists.
	add("rdates-100k-one-line", calendar.Config{}, func() []byte {
		return eventWith(func(b *feedBuilder) { b.line("RDATE:" + strings.Join(stamps(100_000), ",")) })
	})
	add("rdates-100k-lines", calendar.Config{}, func() []byte {
		return eventWith(func(b *feedBuilder) {
			for _, s := range stamps(100_000) {
				b.line("RDATE:" + s)
			}
		})
	})
	add("rdates-10MiB", calendar.Config{}, func() []byte {
		return eventWith(func(b *feedBuilder) {
			b.line("RDATE;TZID=Europe/Berlin:" + strings.Repeat("20260301T100000,", hostileFeedBytes/16-100))
		})
	})
	add("exdates-100k", calendar.Config{}, func() []byte {
		return eventWith(func(b *feedBuilder) { b.line("EXDATE:" + strings.Join(stamps(100_000), ",")) })
	})
	add("exdates-10MiB-secondly", calendar.Config{}, func() []byte {
		var b feedBuilder
		b.line("BEGIN:VCALENDAR")
		b.line("BEGIN:VEVENT")
		b.line("UID:x@hostile")
		b.line("DTSTART:20260101T000000Z")
		b.line("RRULE:FREQ=SECONDLY")
		b.line("EXDATE:" + strings.Join(stamps(hostileFeedBytes/17-64), ","))
		b.line("END:VEVENT")
		b.line("END:VCALENDAR")
		return b.Bytes()
	})
	overrides := func(n int, rid func(i int, s string) string, extra string) func() []byte {
		return func() []byte {
			var b feedBuilder
			b.line("BEGIN:VCALENDAR")
			b.line("BEGIN:VEVENT")
			b.line("UID:one@hostile")
			b.line("DTSTART:20260105T100000Z")
			b.line("RRULE:FREQ=MINUTELY")
			b.line("END:VEVENT")
			for i, s := range stamps(n) {
				b.line("BEGIN:VEVENT")
				b.line("UID:one@hostile")
				b.line("RECURRENCE-ID" + extra + ":" + rid(i, s))
				b.line("SEQUENCE:" + strconv.Itoa(i%7))
				b.line("DTSTART:" + s)
				b.line("END:VEVENT")
			}
			b.line("END:VCALENDAR")
			return b.Bytes()
		}
	}
	add("overrides-90k", calendar.Config{}, overrides(90_000, func(_ int, s string) string { return s }, ""))
	add("overrides-90k-same-id", calendar.Config{}, overrides(90_000, func(int, string) string { return "20260105T100000Z" }, ""))
	add("overrides-75k-thisandfuture", calendar.Config{}, overrides(75_000, func(_ int, s string) string { return s }, ";RANGE=THISANDFUTURE"))
	add("masters-50k-overrides-50k", calendar.Config{}, func() []byte {
		var b feedBuilder
		b.line("BEGIN:VCALENDAR")
		for i, s := range stamps(50_000) {
			b.line("BEGIN:VEVENT")
			b.line("UID:one@hostile")
			b.line("DTSTART:" + s)
			b.line("END:VEVENT")
			b.line("BEGIN:VEVENT")
			b.line("UID:one@hostile")
			b.line("RECURRENCE-ID:" + time.Date(2027, 1, 1, 0, 0, i, 0, time.UTC).Format("20060102T150405Z"))
			b.line("DTSTART:" + s)
			b.line("END:VEVENT")
		}
		b.line("END:VCALENDAR")
		return b.Bytes()
	})
	add("rrules-100k-one-event", calendar.Config{}, func() []byte {
		return eventWith(func(b *feedBuilder) {
			for i := range 100_000 {
				b.line(fmt.Sprintf("RRULE:FREQ=MINUTELY;INTERVAL=%d", i+1))
			}
		})
	})

	// Time zones.
	add("vtimezones-3500x20", calendar.Config{}, func() []byte {
		var b feedBuilder
		b.line("BEGIN:VCALENDAR")
		for z := range 3500 {
			b.line("BEGIN:VTIMEZONE")
			b.line(fmt.Sprintf("TZID:Custom %d", z))
			for o := range 20 {
				kind := "STANDARD"
				if o%2 == 1 {
					kind = "DAYLIGHT"
				}
				b.line("BEGIN:" + kind)
				b.line(fmt.Sprintf("DTSTART:%04d0301T020000", 1601+o))
				b.line(fmt.Sprintf("TZOFFSETFROM:+%02d00", o%12))
				b.line(fmt.Sprintf("TZOFFSETTO:+%02d00", (o+1)%12))
				b.line("RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU")
				b.line("END:" + kind)
			}
			b.line("END:VTIMEZONE")
		}
		for z := range 3500 {
			b.line("BEGIN:VEVENT")
			b.line(fmt.Sprintf("UID:%d@hostile", z))
			b.line(fmt.Sprintf("DTSTART;TZID=custom %d:20260105T100000", z))
			b.line("RRULE:FREQ=WEEKLY")
			b.line("END:VEVENT")
		}
		b.line("END:VCALENDAR")
		return b.Bytes()
	})
	add("vtimezone-60k-observances", calendar.Config{}, func() []byte {
		var b feedBuilder
		b.line("BEGIN:VCALENDAR")
		b.line("BEGIN:VTIMEZONE")
		b.line("TZID:Many")
		for o := range 60_000 {
			b.line("BEGIN:STANDARD")
			b.line(fmt.Sprintf("DTSTART:%04d0101T000000", 1900+o%200))
			b.line("TZOFFSETFROM:+0100")
			b.line("TZOFFSETTO:+0200")
			b.line("RRULE:FREQ=DAILY;BYHOUR=0,12")
			b.line("RDATE:20260101T000000,20270101T000000")
			b.line("END:STANDARD")
		}
		b.line("END:VTIMEZONE")
		b.line("BEGIN:VEVENT")
		b.line("UID:x@hostile")
		b.line("DTSTART;TZID=Many:20260105T100000")
		b.line("RRULE:FREQ=DAILY")
		b.line("END:VEVENT")
		b.line("END:VCALENDAR")
		return b.Bytes()
	})
	add("vtimezone-rdates-10MiB", calendar.Config{}, func() []byte {
		var b feedBuilder
		b.line("BEGIN:VCALENDAR")
		b.line("BEGIN:VTIMEZONE")
		b.line("TZID:Many")
		b.line("BEGIN:DAYLIGHT")
		b.line("DTSTART:19700101T000000")
		b.line("TZOFFSETFROM:+0100")
		b.line("TZOFFSETTO:+0200")
		b.line("RDATE:" + strings.Repeat("20260301T100000,", hostileFeedBytes/16-100))
		b.line("END:DAYLIGHT")
		b.line("END:VTIMEZONE")
		b.line("BEGIN:VEVENT")
		b.line("UID:x@hostile")
		b.line("DTSTART;TZID=Many:20260105T100000")
		b.line("END:VEVENT")
		b.line("END:VCALENDAR")
		return b.Bytes()
	})
	add("vtimezone-rule-bombs", calendar.Config{}, func() []byte {
		var b feedBuilder
		b.line("BEGIN:VCALENDAR")
		for z, r := range rules {
			b.line("BEGIN:VTIMEZONE")
			b.line(fmt.Sprintf("TZID:Z%d", z))
			for _, kind := range []string{"STANDARD", "DAYLIGHT"} {
				b.line("BEGIN:" + kind)
				b.line("DTSTART:" + strings.TrimSuffix(r.dtstart, "Z"))
				b.line("TZOFFSETFROM:+0100")
				b.line("TZOFFSETTO:+0200")
				b.line("RRULE:" + r.rule)
				b.line("RDATE:20260301T100000")
				b.line("END:" + kind)
			}
			b.line("END:VTIMEZONE")
			b.line("BEGIN:VEVENT")
			b.line(fmt.Sprintf("UID:%d@hostile", z))
			b.line(fmt.Sprintf("DTSTART;TZID=Z%d:20260105T100000", z))
			b.line("END:VEVENT")
		}
		b.line("END:VCALENDAR")
		return b.Bytes()
	})

	// Deep nesting.
	add("nesting-100k-unclosed", calendar.Config{}, func() []byte {
		return eventWith(func(b *feedBuilder) { b.WriteString(strings.Repeat("BEGIN:X\r\n", 100_000)) })
	})
	add("nesting-100k-closed", calendar.Config{}, func() []byte {
		return eventWith(func(b *feedBuilder) {
			b.WriteString(strings.Repeat("BEGIN:X\r\n", 100_000))
			b.WriteString(strings.Repeat("END:X\r\n", 100_000))
		})
	})
	add("nesting-100k-vevents", calendar.Config{}, func() []byte {
		return repeatFeed(hostileFeedBytes, "", "BEGIN:VALARM\r\nBEGIN:X-A\r\nBEGIN:X-B\r\nBEGIN:X-C\r\n")
	})
	add("nesting-mismatched-ends", calendar.Config{}, func() []byte {
		return repeatFeed(hostileFeedBytes, "", "BEGIN:VEVENT\r\nBEGIN:VALARM\r\nEND:VEVEN\r\nEND:VALARMX\r\n")
	})
	return in
}

// TestHostileInputs parses and expands every hostile input and checks
// that each stays within the bounds: work within the budgets, the peak
// heap, and (without the race detector) the CPU time.
//
// It is not parallel, and neither are its subtests: it measures the
// process's CPU time and heap, which other tests would disturb.
func TestHostileInputs(t *testing.T) {
	ctx := context.Background()
	window := hostileWindow()
	var worstCPU, worstHeap struct {
		name string
		u    usagetest.Usage
	}
	for _, in := range hostileInputs(t) {
		t.Run(in.name, func(t *testing.T) {
			data := in.data()
			if len(data) > hostileFeedBytes {
				t.Fatalf("input of %d bytes, more than the %d a feed may have", len(data), hostileFeedBytes)
			}
			if *hostileDump != "" {
				name := filepath.Join(*hostileDump, strings.ReplaceAll(in.name, "/", "-")+".ics")
				if err := os.WriteFile(name, data, 0o644); err != nil {
					t.Fatalf("WriteFile(%s) = %v", name, err)
				}
			}
			cfg := in.cfg
			parser := calendar.NewParser(cfg)
			var cal *calendar.Calendar
			var x *calendar.Expansion
			var perr, xerr error
			u := usagetest.Measure(func() {
				cal, perr = parser.Parse(ctx, data)
				if perr == nil {
					x, xerr = cal.Expand(ctx, window)
				}
			})
			if perr != nil || xerr != nil {
				t.Fatalf("Parse() = %v, Expand() = %v", perr, xerr)
			}
			feedSteps := int64(cmp.Or(cfg.MaxFeedSteps, calendar.DefaultMaxFeedSteps))
			t.Logf("hostile %-34s %8.1f KiB  cpu %7.1f ms  peak heap %6.1f MiB  allocated %7.1f MiB  steps %9d  occurrences %6d  problems %d",
				in.name, float64(len(data))/1024, float64(u.CPU.Microseconds())/1000, float64(u.PeakHeap)/(1<<20),
				float64(u.Allocated)/(1<<20), x.Steps, len(x.Occurrences), len(x.Problems))
			if x.Steps > feedSteps {
				t.Errorf("Expand() spent %d steps, more than the feed budget %d", x.Steps, feedSteps)
			}
			if len(cal.Events) == 1 && x.Steps > int64(cmp.Or(cfg.MaxSteps, calendar.DefaultMaxSteps)) {
				t.Errorf("Expand() spent %d steps on one series, more than its budget", x.Steps)
			}
			if u.PeakHeap > hostileHeap {
				t.Errorf("peak heap = %d MiB, want at most %d MiB", u.PeakHeap>>20, hostileHeap>>20)
			}
			if !raceEnabled && u.CPU > hostileCPU {
				t.Errorf("CPU time = %v, want at most %v", u.CPU, hostileCPU)
			}
			if u.CPU > worstCPU.u.CPU {
				worstCPU.name, worstCPU.u = in.name, u
			}
			if u.PeakHeap > worstHeap.u.PeakHeap {
				worstHeap.name, worstHeap.u = in.name, u
			}
		})
	}
	t.Logf("hostile worst CPU time: %v (%s); worst peak heap: %.1f MiB (%s)",
		worstCPU.u.CPU, worstCPU.name, float64(worstHeap.u.PeakHeap)/(1<<20), worstHeap.name)
}

// TestHostileCancel checks that Parse and Expand return promptly, within
// hostileCancel, once their context is cancelled halfway through the
// slowest hostile inputs. It measures wall-clock time, so it runs only
// without the race detector, and not in parallel.
func TestHostileCancel(t *testing.T) {
	if raceEnabled {
		t.Skip("wall-clock latency is not measured under the race detector")
	}
	window := hostileWindow()
	for _, in := range hostileInputs(t) {
		if strings.HasPrefix(in.name, "rule-") {
			continue // small inputs: nothing to interrupt
		}
		t.Run(in.name, func(t *testing.T) {
			data := in.data()
			parser := calendar.NewParser(in.cfg)
			start := time.Now()
			cal, err := parser.Parse(context.Background(), data)
			if err != nil {
				t.Fatalf("Parse() = %v", err)
			}
			parseTime := time.Since(start)
			start = time.Now()
			if _, err := cal.Expand(context.Background(), window); err != nil {
				t.Fatalf("Expand() = %v", err)
			}
			expandTime := time.Since(start)
			if parseTime > 20*time.Millisecond {
				lag := cancelLag(parseTime/2, func(ctx context.Context) error {
					_, err := parser.Parse(ctx, data)
					return err
				})
				t.Logf("hostile cancel %-34s Parse  %7.1f ms, returned %5.1f ms after cancellation", in.name, ms(parseTime), ms(lag))
				if lag > hostileCancel {
					t.Errorf("Parse() returned %v after its context was cancelled, want at most %v", lag, hostileCancel)
				}
			}
			if expandTime > 20*time.Millisecond {
				lag := cancelLag(expandTime/2, func(ctx context.Context) error {
					_, err := cal.Expand(ctx, window)
					return err
				})
				t.Logf("hostile cancel %-34s Expand %7.1f ms, returned %5.1f ms after cancellation", in.name, ms(expandTime), ms(lag))
				if lag > hostileCancel {
					t.Errorf("Expand() returned %v after its context was cancelled, want at most %v", lag, hostileCancel)
				}
			}
		})
	}
}

// cancelLag runs f with a context cancelled after d and returns how long
// f ran on after the cancellation (0 when it finished first): the least
// of up to three tries, so that another process taking the CPU for a
// moment does not count.
func cancelLag(d time.Duration, f func(context.Context) error) time.Duration {
	lag := cancelLagOnce(d, f)
	for try := 1; try < 3 && lag > hostileCancel; try++ {
		lag = min(lag, cancelLagOnce(d, f))
	}
	return lag
}

// cancelLagOnce is one try of cancelLag.
func cancelLagOnce(d time.Duration, f func(context.Context) error) time.Duration {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cancelled time.Time
	timer := time.AfterFunc(d, func() {
		cancelled = time.Now()
		cancel()
	})
	_ = f(ctx)
	end := time.Now()
	if !timer.Stop() {
		// The timer fired: wait for its function to have run.
		<-ctx.Done()
	}
	if cancelled.IsZero() || end.Before(cancelled) {
		return 0
	}
	return end.Sub(cancelled)
}

// ms returns d in milliseconds.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
