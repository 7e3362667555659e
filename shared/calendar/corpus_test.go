package calendar_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
)

// minCorpusMatch is the share of comparable corpus files whose
// occurrences must match the expected ones exactly (policy differences
// aside). CONFORMANCE.md explains every file below it.
const minCorpusMatch = 0.99

// corpusFileTimeout bounds parse and expansion of one corpus file.
const corpusFileTimeout = 10 * time.Second

// expectedFile is a corpus expectation (shared/corpus/README.md).
type expectedFile struct {
	File   string `json:"file"`
	Window struct {
		From time.Time `json:"from"`
		To   time.Time `json:"to"`
	} `json:"window"`
	Cap         int               `json:"cap_per_event"`
	Error       string            `json:"error"`
	Notes       []string          `json:"notes"`
	Truncated   []string          `json:"truncated"`
	Incomplete  []string          `json:"incomplete"`
	Suspect     []string          `json:"suspect"`
	TZDivergent []string          `json:"tz_divergent"`
	Occurrences []calendar.Record `json:"occurrences"`
}

// corpusDir finds the shared corpus: ELMCITY_CORPUS, else ../shared/corpus
// beside the folder that holds go.work. It returns "" when there is none.
func corpusDir(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv("ELMCITY_CORPUS"); dir != "" {
		return dir
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("Getwd() = %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			c := filepath.Join(dir, "..", "shared", "corpus")
			if _, err := os.Stat(filepath.Join(c, "expected")); err == nil {
				return c
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// corpusResult is the comparison of one file.
type corpusResult struct {
	file     string
	skipped  bool // the reference could not parse it
	missing  []calendar.Record
	extra    []calendar.Record
	policy   int      // differences explained by a hub policy
	policies []string // the policies that explain them
	err      error
	compared int
	timedOut bool
}

// ok reports an exact match, policy differences aside.
func (r corpusResult) ok() bool {
	return r.err == nil && !r.timedOut && len(r.missing) == 0 && len(r.extra) == 0
}

func TestCorpus(t *testing.T) {
	t.Parallel()
	dir := corpusDir(t)
	if dir == "" {
		t.Skip("corpus not found; set ELMCITY_CORPUS")
	}
	files, err := filepath.Glob(filepath.Join(dir, "expected", "*", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no expected files under %s: %v", dir, err)
	}
	parser := calendar.NewParser(calendar.Config{})
	var results []corpusResult
	for _, f := range files {
		results = append(results, runCorpusFile(t, parser, dir, f))
	}
	nComparable, exact := 0, 0
	var explained, report strings.Builder
	nExplained, nDiffer := 0, 0
	for _, r := range results {
		if r.timedOut {
			t.Errorf("%s: parse and expand did not finish in %v", r.file, corpusFileTimeout)
		}
		if r.skipped {
			continue
		}
		nComparable++
		switch {
		case r.ok() && len(r.policies) == 0:
			exact++
		case r.ok():
			nExplained++
			fmt.Fprintf(&explained, "\n  %s: %d occurrence(s) differ through %s", r.file, r.policy, strings.Join(r.policies, ", "))
		default:
			nDiffer++
			writeDifference(&report, r)
		}
	}
	share := float64(exact+nExplained) / float64(max(nComparable, 1))
	t.Logf("corpus: %d files, %d comparable: %d match (%.1f%%): %d exactly (%.1f%%) and %d only through hub policies; %d differ",
		len(results), nComparable, exact+nExplained, 100*share, exact, 100*float64(exact)/float64(max(nComparable, 1)), nExplained, nDiffer)
	if nExplained > 0 {
		t.Logf("differences explained by hub policies (occurrences that carry a policy):%s", explained.String())
	}
	if nDiffer > 0 {
		t.Logf("other differences (see CONFORMANCE.md):%s", report.String())
	}
	if share < minCorpusMatch {
		t.Errorf("corpus match = %.3f, want >= %.3f", share, minCorpusMatch)
	}
}

// writeDifference lists a file's missing and extra occurrences.
func writeDifference(w *strings.Builder, r corpusResult) {
	fmt.Fprintf(w, "\n  %s: %d missing, %d extra", r.file, len(r.missing), len(r.extra))
	if r.err != nil {
		fmt.Fprintf(w, " (error: %v)", r.err)
	}
	for i, m := range r.missing {
		if i == 8 {
			fmt.Fprintf(w, "\n      … %d more missing", len(r.missing)-i)
			break
		}
		fmt.Fprintf(w, "\n    - %s", recordString(m))
	}
	for i, e := range r.extra {
		if i == 8 {
			fmt.Fprintf(w, "\n      … %d more extra", len(r.extra)-i)
			break
		}
		fmt.Fprintf(w, "\n    + %s", recordString(e))
	}
}

// recordString formats a record on one line.
func recordString(r calendar.Record) string {
	b, _ := json.Marshal(r)
	return string(b)
}

// runCorpusFile parses, expands and compares one expected file, within
// corpusFileTimeout.
func runCorpusFile(t *testing.T, parser *calendar.Parser, dir, path string) corpusResult {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("ReadFile(%s) = %v", path, err)
	}
	var want expectedFile
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatalf("Unmarshal(%s) = %v", path, err)
	}
	res := corpusResult{file: want.File, skipped: want.Error != ""}
	data, err := os.ReadFile(filepath.Join(dir, "ics", want.File))
	if err != nil {
		t.Fatalf("ReadFile(%s) = %v", want.File, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), corpusFileTimeout)
	defer cancel()
	type outcome struct {
		got []calendar.Record
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- outcome{err: fmt.Errorf("panic: %v", p)}
			}
		}()
		cal, err := parser.Parse(ctx, data)
		if err != nil {
			done <- outcome{err: err}
			return
		}
		x, err := cal.Expand(ctx, calendar.ExpandOptions{
			From: want.Window.From, To: want.Window.To,
			MaxPerSeries: want.Cap, IncludeCancelled: true,
		})
		if err != nil {
			done <- outcome{err: err}
			return
		}
		recs := make([]calendar.Record, len(x.Occurrences))
		for i := range x.Occurrences {
			recs[i] = x.Occurrences[i].Record()
		}
		done <- outcome{got: recs}
	}()
	var out outcome
	select {
	case out = <-done:
	case <-ctx.Done():
		res.timedOut = true
		return res
	}
	if out.err != nil && strings.HasPrefix(out.err.Error(), "panic") {
		t.Errorf("%s: %v", want.File, out.err)
	}
	if res.skipped {
		return res
	}
	if out.err != nil {
		if len(want.Occurrences) > 0 {
			res.err = out.err
		}
		return res
	}
	compareCorpus(&res, want, out.got)
	return res
}

// compareCorpus compares occurrences, leaving out incomplete and suspect
// series. recurrence_id is compared only where the expected occurrence
// has one. A difference where our occurrence names a policy is counted
// as a policy difference, not a failure.
func compareCorpus(res *corpusResult, want expectedFile, got []calendar.Record) {
	skip := make(map[string]bool)
	for _, u := range slices.Concat(want.Incomplete, want.Suspect) {
		skip[u] = true
	}
	var exp []calendar.Record
	for _, r := range want.Occurrences {
		if !skip[r.UID] {
			exp = append(exp, r)
		}
	}
	var ours []calendar.Record
	for _, r := range got {
		if !skip[r.UID] {
			ours = append(ours, r)
		}
	}
	res.compared = len(exp)
	key := func(r calendar.Record, rid bool) string {
		r.Policy = ""
		if !rid {
			r.RecurrenceID = ""
		}
		return recordString(r)
	}
	count := make(map[string]int)
	for _, r := range ours {
		count[key(r, true)]++
	}
	var rest []calendar.Record
	for _, r := range exp {
		if k := key(r, true); count[k] > 0 {
			count[k]--
			continue
		}
		rest = append(rest, r)
	}
	// Expected occurrences without a recurrence id match ours whatever
	// our recurrence id.
	left := make(map[string][]calendar.Record)
	for _, r := range ours {
		k := key(r, true)
		if count[k] > 0 {
			count[k]--
			left[key(r, false)] = append(left[key(r, false)], r)
		}
	}
	var missing []calendar.Record
	for _, r := range rest {
		k := key(r, false)
		if r.RecurrenceID == "" && len(left[k]) > 0 {
			left[k] = left[k][1:]
			continue
		}
		missing = append(missing, r)
	}
	var extra []calendar.Record
	for _, rs := range left {
		extra = append(extra, rs...)
	}
	slices.SortFunc(extra, func(a, b calendar.Record) int { return cmp.Compare(a.Start, b.Start) })
	// Differences that a hub policy explains: every extra names a
	// policy, and each missing one has an extra for the same UID.
	explained := len(extra) > 0
	for _, r := range extra {
		if r.Policy == "" {
			explained = false
		}
	}
	if explained {
		uids := make(map[string]bool)
		for _, r := range extra {
			uids[r.UID] = true
		}
		for _, r := range missing {
			if !uids[r.UID] {
				explained = false
			}
		}
	}
	if explained {
		res.policy = len(extra)
		seen := make(map[string]bool)
		for _, r := range extra {
			for _, p := range strings.Split(r.Policy, ",") {
				if !seen[p] {
					seen[p] = true
					res.policies = append(res.policies, p)
				}
			}
		}
		slices.Sort(res.policies)
		return
	}
	res.missing, res.extra = missing, extra
}

// TestCorpusSubWindows checks that expanding a narrow window gives the
// occurrences of a wide window that overlap it: iteration that starts
// near the window (fast-forward) must not lose or invent instances.
func TestCorpusSubWindows(t *testing.T) {
	t.Parallel()
	dir := corpusDir(t)
	if dir == "" {
		t.Skip("corpus not found; set ELMCITY_CORPUS")
	}
	files, err := filepath.Glob(filepath.Join(dir, "ics", "*", "*.ics"))
	if err != nil {
		t.Fatalf("Glob() = %v", err)
	}
	parser := calendar.NewParser(calendar.Config{})
	wide := calendar.ExpandOptions{
		From:             time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC),
		To:               time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC),
		MaxPerSeries:     50000,
		IncludeCancelled: true,
	}
	windows := [][2]time.Time{
		{time.Date(2007, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2007, 12, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(2014, 4, 10, 12, 0, 0, 0, time.UTC), time.Date(2014, 7, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), time.Date(2024, 11, 5, 0, 0, 0, 0, time.UTC)},
		{time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 1, 8, 0, 0, 0, 0, time.UTC)},
	}
	ctx := context.Background()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("ReadFile() = %v", err)
		}
		cal, err := parser.Parse(ctx, data)
		if err != nil {
			continue
		}
		all, err := cal.Expand(ctx, wide)
		if err != nil {
			t.Fatalf("Expand() = %v", err)
		}
		if len(all.Truncated) > 0 || len(all.Problems) > 0 {
			continue // the wide window is incomplete itself
		}
		for _, w := range windows {
			opts := wide
			opts.From, opts.To = w[0], w[1]
			got, err := cal.Expand(ctx, opts)
			if err != nil {
				t.Fatalf("Expand() = %v", err)
			}
			var want []string
			for _, o := range all.Occurrences {
				if o.Start.Before(opts.To) && (!o.Start.Before(opts.From) || o.End.After(opts.From)) {
					want = append(want, recordString(o.Record()))
				}
			}
			var have []string
			for _, o := range got.Occurrences {
				have = append(have, recordString(o.Record()))
			}
			if strings.Join(want, "\n") != strings.Join(have, "\n") {
				t.Errorf("%s window %v: Expand() gave %d occurrences, the wide window %d\nwant %v\ngot  %v", filepath.Base(f), w, len(have), len(want), want, have)
			}
		}
	}
}
