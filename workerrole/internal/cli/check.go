package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/fetch"
)

// Check implements `workerrole check [--from RFC3339] [--to RFC3339]
// [--tz ZONE] FILE|URL`: it prints a human report of a feed's problems,
// what a curator runs before adding a feed to a hub: what was repaired,
// which events were skipped and why, how each time zone was resolved, and
// what an expansion of the window (by default the coming year) gives. It
// returns an error wrapping calendar.ErrInvalidFeed when the feed is
// unusable (not iCalendar, or no usable event), after printing what it
// found, and one wrapping ErrUsage for a bad command line.
func Check(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return check(ctx, args, stdin, stdout, stderr, time.Now)
}

// check is Check with an injected clock.
func check(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, now func() time.Time) error {
	today := now().UTC().Truncate(24 * time.Hour)
	o, err := parseArgs("check", args, stderr, false, today, today.AddDate(1, 0, 0))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	cal, err := parse(ctx, o, stdin)
	if err != nil {
		msg := err.Error()
		if fe, ok := errors.AsType[*fetch.Error](err); ok {
			msg = fmt.Sprintf("could not fetch it (%s): %s", fe.Class, fe.Reason())
		}
		fmt.Fprintf(w, "Feed %s\n  UNUSABLE: %s\n", o.source, msg)
		return fmt.Errorf("%w: %w", ErrReported, err)
	}
	x, err := cal.Expand(ctx, calendar.ExpandOptions{From: o.from, To: o.to, IncludeCancelled: true})
	if err != nil {
		return fmt.Errorf("expand feed %s: %w", o.source, err)
	}
	warnings := report(w, o, cal, x)
	st := cal.Stats
	switch {
	case st.Events == 0:
		fmt.Fprintln(w, "\nVerdict: UNUSABLE: no usable event")
		return fmt.Errorf("%w: check feed %s: no usable event: %w", ErrReported, o.source, calendar.ErrInvalidFeed)
	case warnings == 0:
		fmt.Fprintln(w, "\nVerdict: OK")
	default:
		fmt.Fprintf(w, "\nVerdict: usable, %d warning(s) above\n", warnings)
	}
	return nil
}

// report writes the report's sections and returns the number of
// warnings.
func report(w io.Writer, o options, cal *calendar.Calendar, x *calendar.Expansion) int {
	st := cal.Stats
	warnings := 0
	fmt.Fprintf(w, "Feed %s\n", o.source)
	fmt.Fprintf(w, "  %d bytes, PRODID %q", st.Bytes, st.ProdID)
	if cal.Name != "" {
		fmt.Fprintf(w, ", name %q", cal.Name)
	}
	fmt.Fprintln(w)
	if cal.Timezone != "" {
		fmt.Fprintf(w, "  X-WR-TIMEZONE %q: floating times are placed in it\n", cal.Timezone)
	}
	fmt.Fprintf(w, "\nEvents: %d usable of %d VEVENTs: %d recurring, %d overrides, %d all-day, %d floating\n",
		st.Events, st.Components, st.Recurring, st.Overrides, st.AllDay, st.Floating)
	if st.Floating > 0 && cal.Timezone == "" && o.zone == nil {
		fmt.Fprintln(w, "  warning: floating times with no X-WR-TIMEZONE: the hub places them in its own zone")
		warnings++
	}
	if len(st.Skipped) > 0 {
		fmt.Fprintf(w, "\nSkipped VEVENTs (%d):\n", len(st.Skipped))
		for _, s := range st.Skipped {
			fmt.Fprintf(w, "  - UID %q: %s\n", s.UID, s.Reason)
		}
		warnings += len(st.Skipped)
	}
	if st.DecodeFallback {
		fmt.Fprintln(w, "\nwarning: the feed could not be decoded as a whole; VEVENTs were decoded one by one")
		warnings++
	}
	if len(st.Repairs) > 0 {
		fmt.Fprintf(w, "\nRepairs (%d):\n", len(st.Repairs))
		for _, r := range st.Repairs {
			fmt.Fprintf(w, "  - %s\n", r)
		}
	}
	if len(st.Zones) > 0 {
		fmt.Fprintf(w, "\nTime zones (%d):\n", len(st.Zones))
		for _, z := range st.Zones {
			fmt.Fprintf(w, "  - %q: %s\n", z.TZID, describeZone(z))
			if z.Kind == calendar.ZoneUnknown {
				warnings++
			}
		}
	}
	fmt.Fprintf(w, "\nWindow %s to %s: %d occurrences (%d cancelled)\n",
		o.from.UTC().Format(time.RFC3339), o.to.UTC().Format(time.RFC3339), len(x.Occurrences), x.Cancelled)
	if len(x.Truncated) > 0 {
		fmt.Fprintf(w, "  warning: %d series reached the cap of %d occurrences: %s\n",
			len(x.Truncated), calendar.DefaultMaxPerSeries, strings.Join(quoteAll(x.Truncated), ", "))
		warnings++
	}
	for _, p := range x.Problems {
		fmt.Fprintf(w, "  warning: UID %q: %s\n", p.UID, p.Reason)
		warnings++
	}
	if policies := countPolicies(x.Occurrences); len(policies) > 0 {
		fmt.Fprintln(w, "  hub policies applied:")
		for _, p := range policies {
			fmt.Fprintf(w, "    %s: %d occurrence(s)\n", p.name, p.n)
		}
	}
	if st.RulesIgnored > 0 {
		fmt.Fprintf(w, "  warning: %d event(s) have an RRULE that was ignored (invalid, or too costly to expand: see Repairs); only their DTSTART is listed\n", st.RulesIgnored)
		warnings++
	}
	return warnings
}

// describeZone explains how a TZID was resolved.
func describeZone(z calendar.ZoneUse) string {
	var s string
	switch z.Kind {
	case calendar.ZoneIANA:
		s = "IANA zone"
	case calendar.ZoneWindows:
		s = "Windows zone name, read as " + z.Location
	case calendar.ZoneAlias:
		s = "not an IANA name, read as " + z.Location
	case calendar.ZoneCustom:
		s = "defined by the feed's VTIMEZONE"
	default:
		return "unknown zone with no VTIMEZONE: its times are floating (placed in X-WR-TIMEZONE or the hub's zone if there is one)"
	}
	if z.Divergent {
		s += "; the feed's VTIMEZONE disagrees with the IANA rules, which are used"
	}
	return s
}

// policyCount is how many occurrences a policy changed.
type policyCount struct {
	name string
	n    int
}

// countPolicies counts occurrences by policy, most frequent first.
func countPolicies(occs []calendar.Occurrence) []policyCount {
	counts := make(map[string]int)
	for i := range occs {
		if occs[i].Policy == "" {
			continue
		}
		for _, p := range strings.Split(string(occs[i].Policy), ",") {
			counts[p]++
		}
	}
	out := make([]policyCount, 0, len(counts))
	for name, n := range counts {
		out = append(out, policyCount{name, n})
	}
	slices.SortFunc(out, func(a, b policyCount) int {
		if a.n != b.n {
			return b.n - a.n
		}
		return strings.Compare(a.name, b.name)
	})
	return out
}

// quoteAll quotes each string.
func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
