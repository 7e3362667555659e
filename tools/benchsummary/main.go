// Command benchsummary prints the one table `make bench` ends with: for
// each headline benchmark, our figure, its baseline's figure and the ratio
// between them.
//
// It reads the CSV that benchstat writes for each suite (`benchstat
// -format csv SUITE.txt > DIR/SUITE.csv`, one column, a section per unit)
// and takes benchstat's medians from it, so no benchmark output is parsed
// here. Each argument names one row of the table:
//
//	suite|label|benchmark|baseline label|baseline benchmark|units
//
// benchmark names are as benchstat prints them without the GOMAXPROCS
// suffix (Write/size=small/impl=log-write100); units is a comma-separated
// preference list (req/s,sec/op): the first unit both benchmarks report is
// used. An empty baseline prints the figure alone. A ratio above 1 always
// means ours is better: ours/baseline for rates (…/s), baseline/ours for
// costs (…/op).
//
// A suite whose DIR/SUITE.status file says "failed" prints "failed"; a
// benchmark missing from the CSV (the suite has no such benchmark yet)
// prints "not run".
//
// It is its own module, using only the standard library, so it runs with
// no network: GOWORK=off go -C tools/benchsummary run . -dir DIR ROW...
package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchsummary:", err)
		os.Exit(1)
	}
}

func run(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("benchsummary", flag.ContinueOnError)
	dir := fs.String("dir", ".", "folder holding SUITE.csv (benchstat -format csv) and SUITE.status")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var rows []Row
	for _, a := range fs.Args() {
		r, err := ParseRow(a)
		if err != nil {
			return err
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		return errors.New("no rows: pass suite|label|benchmark|baseline label|baseline benchmark|units")
	}
	suites := map[string]*Suite{}
	for _, r := range rows {
		if _, ok := suites[r.Suite]; ok {
			continue
		}
		s, err := LoadSuite(*dir, r.Suite)
		if err != nil {
			return err
		}
		suites[r.Suite] = s
	}
	return Write(stdout, rows, suites)
}

// Row is one line of the summary: a benchmark of ours and its baseline.
type Row struct {
	Suite, Label, Bench string
	BaseLabel, Base     string // both empty: no baseline
	Units               []string
}

// ParseRow reads suite|label|benchmark|baseline label|baseline benchmark|units.
func ParseRow(s string) (Row, error) {
	f := strings.Split(s, "|")
	if len(f) != 6 {
		return Row{}, fmt.Errorf("row %q: want 6 |-separated fields, have %d", s, len(f))
	}
	r := Row{Suite: f[0], Label: f[1], Bench: f[2], BaseLabel: f[3], Base: f[4]}
	for _, u := range strings.Split(f[5], ",") {
		if u = strings.TrimSpace(u); u != "" {
			r.Units = append(r.Units, u)
		}
	}
	if r.Suite == "" || r.Bench == "" || len(r.Units) == 0 {
		return Row{}, fmt.Errorf("row %q: suite, benchmark and units are required", s)
	}
	return r, nil
}

// Suite holds benchstat's medians of one suite: unit, then benchmark name
// as benchstat printed it (with any GOMAXPROCS suffix).
type Suite struct {
	Failed bool
	Median map[string]map[string]float64
}

// LoadSuite reads DIR/NAME.status and DIR/NAME.csv. A missing CSV is a
// suite that ran nothing.
func LoadSuite(dir, name string) (*Suite, error) {
	s := &Suite{Median: map[string]map[string]float64{}}
	if b, err := os.ReadFile(filepath.Join(dir, name+".status")); err == nil {
		s.Failed = strings.TrimSpace(string(b)) == "failed"
	}
	f, err := os.Open(filepath.Join(dir, name+".csv"))
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := s.readCSV(f); err != nil {
		return nil, fmt.Errorf("suite %s: %w", name, err)
	}
	return s, nil
}

// readCSV reads benchstat's CSV: config lines ("pkg: …", one field), then
// per unit a header pair (",FILE," and ",UNIT,CI"), rows "NAME,VALUE,CI"
// and a geomean row.
func (s *Suite) readCSV(r io.Reader) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	unit := ""
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case len(rec) < 2:
			// goos:, pkg: and other configuration lines.
		case rec[0] == "" && len(rec) >= 3 && rec[2] == "CI":
			unit = rec[1]
		case rec[0] == "" || rec[0] == "geomean" || unit == "":
		default:
			v, err := strconv.ParseFloat(rec[1], 64)
			if err != nil {
				continue // a cell benchstat left empty
			}
			if s.Median[unit] == nil {
				s.Median[unit] = map[string]float64{}
			}
			s.Median[unit][rec[0]] = v
		}
	}
}

var procsSuffix = regexp.MustCompile(`^-[0-9]+$`)

// Lookup returns the median of benchmark name in unit, accepting the name
// with or without benchstat's GOMAXPROCS suffix.
func (s *Suite) Lookup(unit, name string) (float64, bool) {
	byName := s.Median[unit]
	if v, ok := byName[name]; ok {
		return v, true
	}
	for n, v := range byName {
		if strings.HasPrefix(n, name) && procsSuffix.MatchString(n[len(name):]) {
			return v, true
		}
	}
	return 0, false
}

// Write prints the summary table.
func Write(w io.Writer, rows []Row, suites map[string]*Suite) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "suite\tours\tfigure\tbaseline\tfigure\tratio")
	for _, r := range rows {
		s := suites[r.Suite]
		ours, base, ratio := cells(r, s)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Suite, r.Label, ours, r.BaseLabel, base, ratio)
	}
	return tw.Flush()
}

func cells(r Row, s *Suite) (ours, base, ratio string) {
	if s.Failed {
		return "failed", "", ""
	}
	for _, u := range r.Units {
		v, ok := s.Lookup(u, r.Bench)
		if !ok {
			continue
		}
		if r.Base == "" {
			return Format(v, u), "", ""
		}
		b, ok := s.Lookup(u, r.Base)
		if !ok {
			continue
		}
		return Format(v, u), Format(b, u), Ratio(v, b, u)
	}
	return "not run", "", ""
}

// Ratio is how many times better ours is than the baseline: ours/base for
// a rate, base/ours for a cost per op.
func Ratio(ours, base float64, unit string) string {
	x := ours / base
	if strings.HasSuffix(unit, "/op") || unit == "sec" {
		x = base / ours
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "-"
	}
	if x < 0.1 {
		return fmt.Sprintf("%.3fx", x)
	}
	return fmt.Sprintf("%.2fx", x)
}

// Format renders v in unit the way a reader expects: times in ns, µs, ms
// or s, B/s in MB/s, other figures with thousands separators.
func Format(v float64, unit string) string {
	switch unit {
	case "sec/op":
		switch a := math.Abs(v); {
		case a >= 1:
			return sig(v) + " s/op"
		case a >= 1e-3:
			return sig(v*1e3) + " ms/op"
		case a >= 1e-6:
			return sig(v*1e6) + " µs/op"
		default:
			return sig(v*1e9) + " ns/op"
		}
	case "B/s":
		return sig(v/1e6) + " MB/s"
	}
	return sig(v) + " " + unit
}

// sig prints three significant digits, and whole numbers from 1,000 up
// with thousands separators.
func sig(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	if math.Abs(v) >= 1000 {
		return group(strconv.FormatFloat(math.Round(v), 'f', 0, 64))
	}
	return strconv.FormatFloat(v, 'f', max(0, 2-int(math.Floor(math.Log10(math.Abs(v))))), 64)
}

func group(digits string) string {
	neg := strings.HasPrefix(digits, "-")
	digits = strings.TrimPrefix(digits, "-")
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
