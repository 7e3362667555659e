package calendar

// Tests of the lazy rule evaluator against rrule-go, the oracle it
// replaces in production expansion.

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/teambition/rrule-go"
)

// oracleShift moves an oracle run by whole 400-year Gregorian cycles
// (which keep every weekday and leap day in place) so that the end of
// the compared range, oracleLimit, falls in the year 9999: rrule-go
// stops at the end of that year, so a rule with no further instance
// costs it months of scanning, not millennia.
const oracleShift = 8000

// oracleLimit is the end of the compared range.
func oracleLimit() time.Time { return time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC) }

// oracle returns the instants rrule-go gives for a spelled-out rule from
// start, up to limit and at most n of them, with the expansion's reading
// of COUNT=1 (DTSTART counts as the first instance). It reports false
// when rrule-go panics (it does on BYDAY ordinals beyond a month or a
// year, such as -6MO in a MONTHLY rule).
func oracle(o rrule.ROption, start, limit time.Time, count, n int) (out []time.Time, ok bool) {
	defer func() {
		if recover() != nil {
			out, ok = nil, false
		}
	}()
	o.Dtstart = start.AddDate(oracleShift, 0, 0)
	o.Until = limit.AddDate(oracleShift, 0, 0)
	o.Count = count
	r, err := rrule.NewRRule(o)
	if err != nil {
		return nil, false
	}
	next := r.Iterator()
	for len(out) < n {
		v, more := next()
		if !more {
			break
		}
		out = append(out, v.AddDate(-oracleShift, 0, 0))
	}
	if count == 1 && len(out) == 1 && !out[0].Equal(start) {
		out = nil
	}
	return out, true
}

// oracleFrom is oracle's instants at or after skip, at most n of them.
func oracleFrom(o rrule.ROption, start, skip, limit time.Time, count, n int) ([]time.Time, bool) {
	var out []time.Time
	ok := true
	func() {
		defer func() {
			if recover() != nil {
				ok = false
			}
		}()
		o.Dtstart = start.AddDate(oracleShift, 0, 0)
		o.Until = limit.AddDate(oracleShift, 0, 0)
		o.Count = count
		r, err := rrule.NewRRule(o)
		if err != nil {
			ok = false
			return
		}
		next := r.Iterator()
		for first := true; len(out) < n; first = false {
			v, more := next()
			if !more {
				break
			}
			v = v.AddDate(-oracleShift, 0, 0)
			if first && count == 1 && !v.Equal(start) {
				break
			}
			if !v.Before(skip) {
				out = append(out, v)
			}
		}
	}()
	return out, ok
}

// evaluate returns the evaluator's instants of a spelled-out rule, up to
// limit and at most n, and whether the budget ran out.
func evaluate(o rrule.ROption, start, skip, limit time.Time, count, n, budget int) ([]time.Time, bool) {
	w := newWork(context.Background(), budget, budget)
	e := newRuleEval(o, ruleEvalOptions{start: start, skip: skip, limit: limit, count: count}, w)
	var out []time.Time
	for len(out) < n {
		v, ok := e.next()
		if !ok {
			break
		}
		if t := wallTime(v); !t.After(limit) {
			out = append(out, t)
		}
	}
	return out, e.failed
}

// differentialRules is a matrix of rule shapes: every frequency with
// every BY part, alone and combined, at a few intervals.
func differentialRules() []string {
	parts := []string{
		"", "BYMONTH=2,7", "BYMONTHDAY=1,15,-1", "BYMONTHDAY=31", "BYMONTHDAY=29,30", "BYMONTHDAY=-3",
		"BYYEARDAY=1,100,-1", "BYYEARDAY=366", "BYYEARDAY=-366,60", "BYWEEKNO=1,20,53", "BYWEEKNO=-1",
		"BYWEEKNO=52;WKST=SU", "BYWEEKNO=1,2;BYDAY=MO,SU;WKST=SU", "BYWEEKNO=53;BYDAY=TH",
		"BYDAY=MO,WE", "BYDAY=1MO,-1FR", "BYDAY=2TU", "BYDAY=-2SU,3SA", "BYDAY=5FR", "BYDAY=20MO,-20SU",
		"BYDAY=MO,1TU", "BYMONTH=3;BYDAY=-1SU", "BYMONTH=11;BYDAY=1SU", "BYMONTH=1,7;BYMONTHDAY=1,-1;BYHOUR=6,18",
		"BYHOUR=9,17", "BYMINUTE=0,30", "BYSECOND=0,30", "BYHOUR=23;BYMINUTE=59",
		"BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1", "BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "BYDAY=MO,TU,WE,TH,FR;BYSETPOS=2,-2,100",
		"BYDAY=MO,TU,WE,TH,FR;BYHOUR=9,12;BYSETPOS=3,-1", "BYMONTHDAY=1,2,3;BYHOUR=8,20;BYMINUTE=0,15;BYSETPOS=-4,1,5",
		"BYMONTH=2;BYMONTHDAY=29", "BYMONTH=4,6,9,11;BYMONTHDAY=31", "WKST=SU;BYDAY=SU,SA", "WKST=TH",
		"BYMINUTE=0,20,40;BYSETPOS=2", "BYSECOND=10,20,30;BYSETPOS=-1",
	}
	var rules []string
	for _, freq := range []string{"YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY"} {
		for _, interval := range []int{1, 2, 5} {
			for _, p := range parts {
				sub := freq == "HOURLY" || freq == "MINUTELY" || freq == "SECONDLY"
				timeFilter := strings.Contains(p, "BYHOUR") || strings.Contains(p, "BYMINUTE") && freq != "HOURLY" ||
					strings.Contains(p, "BYSECOND") && freq == "SECONDLY"
				dayFilter := strings.Contains(p, "BYMONTH") || strings.Contains(p, "BYYEARDAY") ||
					strings.Contains(p, "BYWEEKNO") || strings.Contains(p, "BYDAY")
				// rrule-go walks these second by second through every
				// day (or unit) it filters out: too slow for an oracle.
				emptySet := strings.Contains(p, "BYSETPOS=2,-2,100") ||
					strings.Contains(p, "BYSETPOS=2") && freq != "HOURLY"
				if sub && (timeFilter && dayFilter || emptySet) {
					continue
				}
				rule := fmt.Sprintf("FREQ=%s;INTERVAL=%d", freq, interval)
				if p != "" {
					rule += ";" + p
				}
				rules = append(rules, rule)
			}
		}
	}
	return rules
}

// corpusRules returns the distinct RRULE values of the shared corpus and
// of testdata.
func corpusRules(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{
		filepath.Join("..", "..", "..", "shared", "corpus", "ics", "*", "*.ics"),
		filepath.Join("testdata", "*.ics"),
	} {
		m, _ := filepath.Glob(pattern)
		files = append(files, m...)
	}
	seen := make(map[string]bool)
	var rules []string
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatalf("Open(%s) = %v", f, err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if len(line) < 6 || !strings.EqualFold(line[:6], "RRULE:") || seen[line[6:]] {
				continue
			}
			seen[line[6:]] = true
			rules = append(rules, line[6:])
		}
		_ = fh.Close()
	}
	return rules
}

// TestEvalMatchesRRuleGo compares the evaluator with rrule-go over the
// rule matrix and every corpus rule, from several starts, with and
// without COUNT, from DTSTART and from a later point (the fast-forward
// of a window).
func TestEvalMatchesRRuleGo(t *testing.T) {
	t.Parallel()
	starts := []time.Time{
		time.Date(1997, 9, 2, 9, 0, 0, 0, time.UTC),
		time.Date(1996, 2, 29, 23, 59, 59, 0, time.UTC),
		time.Date(1998, 12, 28, 0, 0, 0, 0, time.UTC),
		time.Date(1990, 1, 1, 12, 30, 15, 0, time.UTC),
		time.Date(1995, 12, 31, 6, 0, 0, 0, time.UTC),
	}
	limit := oracleLimit()
	rules := append(differentialRules(), corpusRules(t)...)
	compared, instants := 0, 0
	for _, rule := range rules {
		spec, err := parseRule(rule, func(string, ...any) {})
		if err != nil {
			continue
		}
		sub := spec.opt.Freq >= rrule.HOURLY
		for si, start := range starts {
			opt := spellOut(*spec.opt, start)
			n := 400
			if sub {
				n = 150
			}
			for _, count := range []int{0, 1, 2, 7, 150} {
				if count == 0 && spec.count > 0 {
					count = spec.count
				}
				want, ok := oracle(opt, start, limit, count, n)
				if !ok {
					continue
				}
				got, failed := evaluate(opt, start, time.Time{}, limit, count, n, 1<<40)
				if len(want) > 0 {
					instants += len(want)
				}
				compared++
				if failed {
					t.Errorf("%s from %v COUNT=%d: the budget ran out", rule, start, count)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s from %v COUNT=%d (-rrule-go +eval):\n%s", rule, start, count, diff)
				}
			}
			if si > 1 {
				continue
			}
			// From a later point: the instants at or after it. (rrule-go
			// walks sub-daily rules unit by unit: not far for those.)
			skips := []time.Time{start.AddDate(1, 2, 3).Add(5 * time.Hour)}
			if sub {
				skips = []time.Time{start.Add(5*time.Hour + 17*time.Minute + 13*time.Second), start.AddDate(0, 0, 3).Add(-100 * time.Second)}
			}
			for _, skip := range skips {
				for _, count := range []int{0, 50, 400} {
					want, ok := oracleFrom(opt, start, skip, limit, count, n)
					if !ok {
						continue
					}
					got, _ := evaluate(opt, start, skip, limit, count, n, 1<<40)
					compared++
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("%s from %v COUNT=%d skipping to %v (-rrule-go +eval):\n%s", rule, start, count, skip, diff)
					}
				}
			}
		}
	}
	t.Logf("%d rules, %d comparisons of %d instants", len(rules), compared, instants)
}

// TestEvalCountFromLongAgo checks COUNT rules that began a century
// before the point they are asked from: the periods before it are
// counted (DAILY and WEEKLY ones arithmetically), not yielded.
func TestEvalCountFromLongAgo(t *testing.T) {
	t.Parallel()
	start := time.Date(1900, 3, 4, 10, 0, 0, 0, time.UTC)
	skip := time.Date(1999, 6, 1, 0, 0, 0, 0, time.UTC)
	limit := oracleLimit()
	for _, rule := range []string{
		// Each ends between skip and the limit.
		"FREQ=DAILY;COUNT=36300", "FREQ=DAILY;COUNT=72560;BYHOUR=10,22", "FREQ=DAILY;INTERVAL=3;COUNT=12100",
		"FREQ=DAILY;COUNT=72560;BYSETPOS=1,-1;BYHOUR=1,2,3", "FREQ=WEEKLY;COUNT=10400;BYDAY=MO,FR",
		"FREQ=WEEKLY;INTERVAL=2;COUNT=2600;BYDAY=SU;WKST=SU", "FREQ=DAILY;COUNT=5190;BYDAY=TU",
		"FREQ=MONTHLY;COUNT=2390;BYMONTHDAY=1,-1", "FREQ=HOURLY;COUNT=72560;BYHOUR=9,21",
		"FREQ=SECONDLY;INTERVAL=3600;COUNT=870000",
	} {
		spec, err := parseRule(rule, func(string, ...any) {})
		if err != nil {
			t.Fatalf("parseRule(%q) = %v", rule, err)
		}
		opt := spellOut(*spec.opt, start)
		all, ok := oracle(opt, start, limit, spec.count, 1<<22)
		if !ok {
			t.Fatalf("oracle(%q) failed", rule)
		}
		var want []time.Time
		for _, v := range all {
			if !v.Before(skip) {
				want = append(want, v)
			}
		}
		if len(want) == 0 || len(want) == len(all) {
			t.Fatalf("%s: %d of %d instants after %v; the rule should end between it and %v", rule, len(want), len(all), skip, limit)
		}
		got, failed := evaluate(opt, start, skip, limit, spec.count, 1<<22, DefaultMaxSteps)
		if failed {
			t.Errorf("%s: the budget ran out", rule)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s from %v (-rrule-go +eval):\n%s", rule, skip, diff)
		}
	}
}

// TestCivil checks the day arithmetic against the time package.
func TestCivil(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Time{
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1600, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2000, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC),
	} {
		for i := range 800 {
			day := d.AddDate(0, 0, i)
			z := dayNumber(day.Year(), int(day.Month()), day.Day())
			if want := floorDiv(day.Unix(), secondsPerDay); z != want {
				t.Fatalf("dayNumber(%v) = %d, want %d", day, z, want)
			}
			y, m, dd := civil(z)
			if y != day.Year() || m != int(day.Month()) || dd != day.Day() {
				t.Fatalf("civil(%d) = %d-%d-%d, want %v", z, y, m, dd, day)
			}
			if wd := (int(day.Weekday()) + 6) % 7; weekdayOf(z) != wd {
				t.Fatalf("weekdayOf(%v) = %d, want %d", day, weekdayOf(z), wd)
			}
		}
	}
}

// fuzzBudget is the work budget of FuzzExpandRule's expansions.
const fuzzBudget = 200_000

// FuzzExpandRule expands a random RRULE from a random DTSTART over a
// random window with a small work budget: the expansion must end within
// the budget, never panic, and list only occurrences in the window.
// When the rule is one rrule-go can evaluate quickly (and DTSTART falls
// where the oracle runs), the evaluator's instants must be rrule-go's.
// The seeds are the hostile rules and the differential matrix.
func FuzzExpandRule(f *testing.F) {
	hostile, err := os.ReadFile(filepath.Join("testdata", "hostile", "rules.txt"))
	if err != nil {
		f.Fatalf("ReadFile(rules.txt) = %v", err)
	}
	for _, line := range strings.Split(string(hostile), "\n") {
		dtstart, rule, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || strings.HasPrefix(dtstart, "#") {
			continue
		}
		v, err := parseDateTime(dtstart)
		if err != nil {
			f.Fatalf("rules.txt: %v", err)
		}
		f.Add(seedRanges(rule), v.wall.Unix(), int32(0), uint16(365), uint8(0))
	}
	for i, rule := range differentialRules() {
		if i%7 == 0 {
			start := time.Date(1991+i%9, time.Month(1+i%12), 1+i%28, i%24, 0, 0, 0, time.UTC)
			f.Add(rule, start.Unix(), int32(i%900), uint16(30+i%400), uint8(i))
		}
	}
	zones := []string{"", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Pacific/Apia"}
	ctx := context.Background()
	parser := NewParser(Config{MaxSteps: fuzzBudget, MaxFeedSteps: fuzzBudget, MaxPerSeries: 1000})
	first := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	last := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC).Unix()
	f.Fuzz(func(t *testing.T, rule string, start int64, from int32, days uint16, zone uint8) {
		if len(rule) > 4096 || strings.ContainsAny(rule, "\r\n") {
			return
		}
		dtstart := time.Unix(first+floorMod(start-first, last-first), 0).UTC()
		winFrom := dtstart.Add(time.Duration(from) * 97 * time.Second)
		winTo := winFrom.Add(time.Duration(days%800+1) * 3 * time.Hour)
		dt := "DTSTART:" + dtstart.Format("20060102T150405Z")
		if z := zones[int(zone)%len(zones)]; z != "" {
			dt = "DTSTART;TZID=" + z + ":" + dtstart.Format("20060102T150405")
		}
		feed := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:fuzz\r\n" + dt +
			"\r\nDURATION:PT" + strconv.Itoa(int(zone)) + "M\r\nRRULE:" + rule + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
		cal, err := parser.Parse(ctx, []byte(feed))
		if err != nil {
			return
		}
		x, err := cal.Expand(ctx, ExpandOptions{From: winFrom, To: winTo})
		if err != nil {
			t.Fatalf("Expand() = %v", err)
		}
		if x.Steps > fuzzBudget {
			t.Fatalf("Expand() spent %d steps, budget %d", x.Steps, fuzzBudget)
		}
		for _, o := range x.Occurrences {
			if !InWindow(o.Start, o.End, winFrom, winTo) {
				t.Fatalf("occurrence %v-%v outside [%v, %v)", o.Start, o.End, winFrom, winTo)
			}
		}
		// A wider window lists the same occurrences in this one, unless
		// a cap or the budget cut either short.
		wide, err := cal.Expand(ctx, ExpandOptions{From: winFrom.AddDate(0, 0, -9), To: winTo.AddDate(0, 0, 9)})
		if err != nil {
			t.Fatalf("Expand() = %v", err)
		}
		if len(x.Problems)+len(x.Truncated)+len(wide.Problems)+len(wide.Truncated) == 0 {
			var want, have []time.Time
			for _, o := range wide.Occurrences {
				if InWindow(o.Start, o.End, winFrom, winTo) {
					want = append(want, o.Start)
				}
			}
			for _, o := range x.Occurrences {
				have = append(have, o.Start)
			}
			if diff := cmp.Diff(want, have); diff != "" {
				t.Fatalf("window [%v, %v) differs from the wider window (-wide +window):\n%s", winFrom, winTo, diff)
			}
		}
		// Against rrule-go, where it is quick: DTSTART in the 1990s (see
		// oracleShift), and no sub-daily rule that rrule-go walks unit by
		// unit through filtered days or empty BYSETPOS positions.
		spec, err := parseRule(rule, func(string, ...any) {})
		if err != nil || dtstart.Year() < 1990 || dtstart.Year() > 1999 {
			return
		}
		if o := spec.opt; o.Freq >= rrule.HOURLY && (len(o.Bysetpos) > 0 || len(o.Byhour) > 0 ||
			o.Freq >= rrule.MINUTELY && len(o.Byminute) > 0 || o.Freq == rrule.SECONDLY && len(o.Bysecond) > 0) {
			return
		}
		opt := spellOut(*spec.opt, dtstart)
		want, ok := oracle(opt, dtstart, oracleLimit(), spec.count, 200)
		if !ok {
			return
		}
		got, _ := evaluate(opt, dtstart, time.Time{}, oracleLimit(), spec.count, 200, 1<<40)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("%s from %v (-rrule-go +eval):\n%s", rule, dtstart, diff)
		}
	})
}

// seedRanges writes out the "a..b" ranges of a rules.txt rule.
func seedRanges(rule string) string {
	parts := strings.Split(rule, ";")
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		var out []string
		for _, item := range strings.Split(v, ",") {
			lo, hi, ok := strings.Cut(item, "..")
			if !ok {
				out = append(out, item)
				continue
			}
			suffix := strings.TrimLeft(hi, "-0123456789")
			a, err1 := strconv.Atoi(lo)
			b, err2 := strconv.Atoi(strings.TrimSuffix(hi, suffix))
			if err1 != nil || err2 != nil {
				out = append(out, item)
				continue
			}
			for n := a; n <= b; n++ {
				if n != 0 || suffix == "" {
					out = append(out, strconv.Itoa(n)+suffix)
				}
			}
		}
		parts[i] = k + "=" + strings.Join(out, ",")
	}
	return strings.Join(parts, ";")
}

// TestWindowsAroundClockChanges checks that rules begin early enough for
// any window: the occurrences of a window, starting just before, inside
// or after an hour that the clocks repeat (or skip), are those of a wide
// window that fall in it.
func TestWindowsAroundClockChanges(t *testing.T) {
	t.Parallel()
	feed := "BEGIN:VCALENDAR\r\n" +
		"BEGIN:VTIMEZONE\r\nTZID:Custom Back Two\r\n" +
		"BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0300\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n" +
		"BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nTZOFFSETFROM:+0300\r\nTZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n" +
		"END:VTIMEZONE\r\n"
	rules := []string{"FREQ=MINUTELY;INTERVAL=7", "FREQ=HOURLY", "FREQ=SECONDLY;INTERVAL=997", "FREQ=DAILY;BYHOUR=0,1,2,3,4;BYMINUTE=0,30"}
	zones := []string{"America/New_York", "Europe/Berlin", "Custom Back Two", "Australia/Lord_Howe"}
	for i, z := range zones {
		for j, r := range rules {
			feed += fmt.Sprintf("BEGIN:VEVENT\r\nUID:%d-%d\r\nDTSTART;TZID=%s:20260101T000000\r\nDURATION:PT%dM\r\nRRULE:%s\r\nEND:VEVENT\r\n", i, j, z, 1+7*j, r)
		}
	}
	feed += "END:VCALENDAR\r\n"
	ctx := context.Background()
	cal, err := NewParser(Config{}).Parse(ctx, []byte(feed))
	if err != nil {
		t.Fatalf("Parse() = %v", err)
	}
	wide := ExpandOptions{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), MaxPerSeries: 1 << 20, MaxOccurrences: 1 << 22}
	all, err := cal.Expand(ctx, wide)
	if err != nil || len(all.Problems) > 0 {
		t.Fatalf("Expand() = %v, problems %v", err, all.Problems)
	}
	for _, from := range []time.Time{
		time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), // New York: 01:30, the first time
		time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC),  // New York: 01:00, the second time
		time.Date(2026, 11, 1, 6, 59, 0, 0, time.UTC),
		time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC),  // Berlin: 02:30, the first time
		time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC),   // Berlin: 02:00, the second time; Custom: 02:00
		time.Date(2026, 10, 24, 23, 30, 0, 0, time.UTC), // Custom: 02:30 before going back two hours
		time.Date(2026, 4, 4, 14, 45, 0, 0, time.UTC),   // Lord Howe: half an hour back
		time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC),     // New York: the hour skipped
		time.Date(2026, 3, 8, 7, 30, 0, 0, time.UTC),    // New York: 03:30, after it
		time.Date(2026, 3, 29, 1, 40, 0, 0, time.UTC),   // Berlin: 03:40, after the skipped hour
		time.Date(2026, 3, 29, 1, 20, 0, 0, time.UTC),   // Custom: 04:20, after two skipped hours
		time.Date(2026, 10, 3, 16, 10, 0, 0, time.UTC),  // Lord Howe: 02:40, after the skipped half hour
	} {
		opts := wide
		opts.From, opts.To = from, from.Add(5*time.Hour)
		got, err := cal.Expand(ctx, opts)
		if err != nil {
			t.Fatalf("Expand() = %v", err)
		}
		var want, have []string
		for _, o := range all.Occurrences {
			if InWindow(o.Start, o.End, opts.From, opts.To) {
				want = append(want, o.UID+" "+o.Start.UTC().Format(time.RFC3339))
			}
		}
		for _, o := range got.Occurrences {
			have = append(have, o.UID+" "+o.Start.UTC().Format(time.RFC3339))
		}
		if len(want) == 0 {
			t.Fatalf("window from %v: no occurrences to compare", from)
		}
		if diff := cmp.Diff(want, have); diff != "" {
			t.Errorf("window from %v (-wide +window):\n%s", from, diff)
		}
	}
}
