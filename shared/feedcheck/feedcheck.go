// Package feedcheck is the report of one feed read the way the worker
// reads it, for a curator deciding whether to add it: what was repaired,
// which events were skipped and why, how each time zone was resolved,
// what an expansion of a window gives, the next occurrences, the warnings
// and a verdict. `workerrole check` prints it as text (WriteText); the web
// role's POST /api/hubs/{hub}/check returns it as JSON.
//
// A feed that is not iCalendar (a JSON-LD page, CSV, JSON or RSS: see
// shared/feedkind; or a script feed, whose adapter script turns its
// source into events) is converted first, and the report carries what
// the conversion found (Conversion: items, events, items skipped and
// why, and an adapter's name and fetches) above the report on the
// iCalendar it made.
package feedcheck

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/feedkind"
)

// Verdicts.
const (
	VerdictOK       = "ok"       // usable, no warning
	VerdictUsable   = "usable"   // usable, with warnings
	VerdictUnusable = "unusable" // not iCalendar, no usable event, or unreadable
)

// DefaultNext is Options.Next's default.
const DefaultNext = 10

// Options say how the report reads the feed.
type Options struct {
	// Source names the feed: its URL or file.
	Source string
	// From and To are the window expanded.
	From, To time.Time
	// Zone is the hub's zone, which places floating times, and in which
	// the next occurrences are given; nil leaves floating times floating
	// (and the next occurrences in UTC).
	Zone *time.Location
	// Next is how many of the next occurrences (from From) to list;
	// default DefaultNext, negative for none.
	Next int
	// Cap is the per-series cap the expansion used, for the report's
	// words; default calendar.DefaultMaxPerSeries.
	Cap int
	// Conversion is what converting the feed to iCalendar found, for a
	// feed that is not iCalendar; nil for an iCalendar feed. Items it
	// skipped are a warning.
	Conversion *Conversion
}

// Conversion is what feedkind.Convert, or a script feed's adapter,
// found in a feed that is not iCalendar: the kind-specific part of the
// report, shown before the rest.
type Conversion struct {
	// Kind is the feed's kind (jsonld, csv, json, rss, script).
	Kind string `json:"kind"`
	// Adapter names a script feed's adapter script
	// (adapters/{Adapter}.js); "" for the other kinds.
	Adapter string `json:"adapter,omitempty"`
	// Bytes is the size of the source as fetched, before conversion.
	Bytes int `json:"bytes"`
	// Items counts the items examined (CSV rows, JSON objects, schema.org
	// Events, RSS items, the events an adapter returned); Events the
	// events written; Skipped the items left out, whose reasons are among
	// Warnings.
	Items   int `json:"items"`
	Events  int `json:"events"`
	Skipped int `json:"skipped"`
	// Fetches counts the pages an adapter fetched itself (elmcity.fetch),
	// besides the feed's source; absent when none.
	Fetches int `json:"fetches,omitempty"`
	// Warnings says why items were skipped and which policies were
	// applied ("row 7 skipped: no start date").
	Warnings []string `json:"warnings"`
	// MoreWarnings counts the warnings past those listed.
	MoreWarnings int `json:"more_warnings,omitempty"`
	// Failure says why the source could not be converted at all (for a
	// script feed, why its adapter failed: the script's error, with its
	// file and line); "" otherwise.
	Failure string `json:"failure,omitempty"`
}

// FailureScript is Report.FailureClass of a script feed whose adapter
// failed: it threw (the failure names the file and line), timed out,
// left a result that is not an array of events, or fetched from a host
// that is not the feed's nor one of its hosts.
const FailureScript = "script"

// ConversionOf is the Conversion of a feedkind.Report for a source of
// n bytes.
func ConversionOf(r feedkind.Report, n int) *Conversion {
	return &Conversion{Kind: string(r.Kind), Bytes: n, Items: r.Items, Events: r.Events, Skipped: r.Skipped,
		Warnings: nonNil(r.Warnings), MoreWarnings: r.MoreWarnings}
}

// AdapterConversion is the Conversion of a script feed's adapter run: r
// is its report, n the size of the feed's source, fetches the pages the
// adapter fetched itself.
func AdapterConversion(adapter string, r feedkind.Report, n, fetches int) *Conversion {
	c := ConversionOf(r, n)
	c.Kind, c.Adapter, c.Fetches = string(feedkind.KindScript), adapter, fetches
	return c
}

// AdapterFailure says in words why adapter failed with err, for
// Conversion.Failure and Report.Failure.
func AdapterFailure(adapter string, err error) string {
	return fmt.Sprintf("adapter %s failed: %v", adapter, err)
}

// Report is what a check found. Its JSON is the body of POST
// /api/hubs/{hub}/check.
type Report struct {
	Source string `json:"source"`
	// Bytes is the size read; ProdID the software that wrote the feed;
	// Name its X-WR-CALNAME; XWRTimezone its X-WR-TIMEZONE.
	Bytes       int    `json:"bytes"`
	ProdID      string `json:"prodid"`
	Name        string `json:"name,omitempty"`
	XWRTimezone string `json:"x_wr_timezone,omitempty"`
	// Zone is the hub's zone the check placed floating times in ("" for
	// none).
	Zone   string `json:"zone,omitempty"`
	Events Events `json:"events"`
	// Skipped are the VEVENTs left out, with why: each is a warning.
	Skipped []Problem `json:"skipped"`
	// DecodeFallback: the feed was not valid as a whole and each VEVENT
	// was read on its own (a warning).
	DecodeFallback bool `json:"decode_fallback"`
	// Repairs are what was fixed silently; not warnings.
	Repairs []string `json:"repairs"`
	// Zones says how each TZID was read.
	Zones  []Zone `json:"zones"`
	Window Window `json:"window"`
	// Truncated lists the UIDs of series cut at Cap occurrences.
	Truncated []string `json:"truncated"`
	Cap       int      `json:"cap"`
	// Problems are series that could not be expanded fully.
	Problems []Problem `json:"problems"`
	// Policies count the occurrences each hub policy placed differently
	// from a strict reading, most frequent first.
	Policies []Policy `json:"policies"`
	// RulesIgnored counts events whose RRULE was refused.
	RulesIgnored int `json:"rules_ignored"`
	// Next are the next occurrences from the window's start, not
	// cancelled, in the zone.
	Next []Occurrence `json:"next"`
	// Warnings says each warning in words, in the order of the text
	// report.
	Warnings []string `json:"warnings"`
	// Verdict is VerdictOK, VerdictUsable or VerdictUnusable, and
	// VerdictText says it in words.
	Verdict     string `json:"verdict"`
	VerdictText string `json:"verdict_text"`
	// Failure says why an unreadable feed could not be read (the fetch's
	// error class and reason, or why it is not a calendar); "" otherwise.
	Failure      string `json:"failure,omitempty"`
	FailureClass string `json:"failure_class,omitempty"`
	HTTPStatus   int    `json:"http_status,omitempty"`
	// Conversion is what converting a feed that is not iCalendar found
	// (absent for an iCalendar feed).
	Conversion *Conversion `json:"conversion,omitempty"`
}

// Events counts the feed's VEVENTs.
type Events struct {
	Usable     int `json:"usable"`
	Components int `json:"components"`
	Recurring  int `json:"recurring"`
	Overrides  int `json:"overrides"`
	AllDay     int `json:"all_day"`
	Floating   int `json:"floating"`
}

// Problem is an event left out or cut short, and why.
type Problem struct {
	UID    string `json:"uid"`
	Reason string `json:"reason"`
}

// Zone is how one TZID was read.
type Zone struct {
	TZID        string `json:"tzid"`
	Kind        string `json:"kind"` // calendar.ZoneKind
	Location    string `json:"location,omitempty"`
	Divergent   bool   `json:"divergent,omitempty"`
	Description string `json:"description"`
	Warning     bool   `json:"warning,omitempty"`
}

// Window is the expansion's window and what it held.
type Window struct {
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	Occurrences int       `json:"occurrences"`
	Cancelled   int       `json:"cancelled"`
}

// Policy is how many occurrences one hub policy changed.
type Policy struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

// Occurrence is one of the next occurrences. Start and End are in the
// report's zone; an all-day one's End is the day after its last.
type Occurrence struct {
	UID      string    `json:"uid"`
	Title    string    `json:"title"`
	Location string    `json:"location,omitempty"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	AllDay   bool      `json:"all_day,omitempty"`
	Floating bool      `json:"floating,omitempty"`
}

// Build reports on a parsed feed and its expansion over the options'
// window (which should include cancelled instances, so they are
// counted).
func Build(cal *calendar.Calendar, x *calendar.Expansion, o Options) Report {
	if o.Next == 0 {
		o.Next = DefaultNext
	}
	if o.Cap <= 0 {
		o.Cap = calendar.DefaultMaxPerSeries
	}
	st := cal.Stats
	r := Report{Source: o.Source, Bytes: st.Bytes, ProdID: st.ProdID, Name: cal.Name, XWRTimezone: cal.Timezone,
		Events:         Events{Usable: st.Events, Components: st.Components, Recurring: st.Recurring, Overrides: st.Overrides, AllDay: st.AllDay, Floating: st.Floating},
		DecodeFallback: st.DecodeFallback, Repairs: nonNil(st.Repairs), Cap: o.Cap, RulesIgnored: st.RulesIgnored,
		Window:    Window{From: o.From, To: o.To, Occurrences: len(x.Occurrences), Cancelled: x.Cancelled},
		Truncated: nonNil(x.Truncated), Skipped: []Problem{}, Problems: []Problem{}, Zones: []Zone{}, Warnings: []string{},
	}
	if o.Zone != nil {
		r.Zone = o.Zone.String()
	}
	warn := func(s string) { r.Warnings = append(r.Warnings, s) }
	if c := o.Conversion; c != nil {
		r.Conversion = c
		if c.Skipped > 0 {
			warn(fmt.Sprintf("%d of %d %s item(s) skipped in the conversion to iCalendar: see the conversion's warnings", c.Skipped, c.Items, c.Kind))
		}
	}
	if st.Floating > 0 && cal.Timezone == "" && o.Zone == nil {
		warn("floating times with no X-WR-TIMEZONE: the hub places them in its own zone")
	}
	for _, s := range st.Skipped {
		r.Skipped = append(r.Skipped, Problem{UID: s.UID, Reason: s.Reason})
		warn(fmt.Sprintf("VEVENT UID %q skipped: %s", s.UID, s.Reason))
	}
	if st.DecodeFallback {
		warn("the feed could not be decoded as a whole; VEVENTs were decoded one by one")
	}
	for _, z := range st.Zones {
		zr := Zone{TZID: z.TZID, Kind: string(z.Kind), Location: z.Location, Divergent: z.Divergent, Description: describeZone(z)}
		if z.Kind == calendar.ZoneUnknown {
			zr.Warning = true
			warn(fmt.Sprintf("time zone %q is unknown and has no VTIMEZONE: its times float", z.TZID))
		}
		r.Zones = append(r.Zones, zr)
	}
	if len(x.Truncated) > 0 {
		warn(fmt.Sprintf("%d series reached the cap of %d occurrences: %s", len(x.Truncated), o.Cap, strings.Join(quoteAll(x.Truncated), ", ")))
	}
	for _, p := range x.Problems {
		r.Problems = append(r.Problems, Problem{UID: p.UID, Reason: p.Reason})
		warn(fmt.Sprintf("UID %q: %s", p.UID, p.Reason))
	}
	r.Policies = countPolicies(x.Occurrences)
	if st.RulesIgnored > 0 {
		warn(fmt.Sprintf("%d event(s) have an RRULE that was ignored (invalid, or too costly to expand: see Repairs); only their DTSTART is listed", st.RulesIgnored))
	}
	r.Next = next(x.Occurrences, o)
	switch {
	case st.Events == 0:
		r.Verdict, r.VerdictText = VerdictUnusable, "UNUSABLE: no usable event"
	case len(r.Warnings) == 0:
		r.Verdict, r.VerdictText = VerdictOK, "OK"
	default:
		r.Verdict, r.VerdictText = VerdictUsable, fmt.Sprintf("usable, %d warning(s) above", len(r.Warnings))
	}
	return r
}

// Unreadable is the report of a feed that could not be read at all:
// class and status say how the fetch failed ("" and 0 when it did not
// get that far).
func Unreadable(source, why, class string, status int) Report {
	return Report{Source: source, Failure: why, FailureClass: class, HTTPStatus: status, Verdict: VerdictUnusable,
		VerdictText: "UNUSABLE: " + why, Skipped: []Problem{}, Problems: []Problem{}, Zones: []Zone{}, Warnings: []string{},
		Repairs: []string{}, Truncated: []string{}, Policies: []Policy{}, Next: []Occurrence{}}
}

// next lists the first o.Next occurrences of the window that are not
// cancelled, in o.Zone.
func next(occs []calendar.Occurrence, o Options) []Occurrence {
	out := []Occurrence{}
	if o.Next < 0 {
		return out
	}
	loc := o.Zone
	if loc == nil {
		loc = time.UTC
	}
	for i := range occs {
		oc := &occs[i]
		if len(out) == o.Next {
			break
		}
		if oc.Cancelled() {
			continue
		}
		n := Occurrence{UID: oc.UID, Title: oc.Summary, Location: oc.Location, AllDay: oc.AllDay, Floating: oc.Floating,
			Start: oc.Start, End: oc.End}
		switch {
		case oc.AllDay:
			n.Start = time.Date(oc.Start.Year(), oc.Start.Month(), oc.Start.Day(), 0, 0, 0, 0, loc)
			n.End = time.Date(oc.End.Year(), oc.End.Month(), oc.End.Day(), 0, 0, 0, 0, loc)
		case oc.Floating:
			n.Start = time.Date(oc.Start.Year(), oc.Start.Month(), oc.Start.Day(), oc.Start.Hour(), oc.Start.Minute(), oc.Start.Second(), 0, loc)
			n.End = time.Date(oc.End.Year(), oc.End.Month(), oc.End.Day(), oc.End.Hour(), oc.End.Minute(), oc.End.Second(), 0, loc)
		default:
			n.Start, n.End = oc.Start.In(loc), oc.End.In(loc)
		}
		out = append(out, n)
	}
	return out
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

// countPolicies counts occurrences by policy, most frequent first.
func countPolicies(occs []calendar.Occurrence) []Policy {
	counts := make(map[string]int)
	for i := range occs {
		if occs[i].Policy == "" {
			continue
		}
		for _, p := range strings.Split(string(occs[i].Policy), ",") {
			counts[p]++
		}
	}
	out := make([]Policy, 0, len(counts))
	for name, n := range counts {
		out = append(out, Policy{name, n})
	}
	slices.SortFunc(out, func(a, b Policy) int {
		if a.N != b.N {
			return b.N - a.N
		}
		return strings.Compare(a.Name, b.Name)
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

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

// WriteText writes the report as `workerrole check` prints it: the
// conversion's report first, for a feed that is not iCalendar.
func (r *Report) WriteText(w io.Writer) {
	if c := r.Conversion; c != nil {
		c.WriteText(w, r.Source)
	}
	if r.Failure != "" {
		fmt.Fprintf(w, "Feed %s\n  UNUSABLE: %s\n", r.Source, r.Failure)
		return
	}
	fmt.Fprintf(w, "Feed %s\n", r.Source)
	fmt.Fprintf(w, "  %d bytes, PRODID %q", r.Bytes, r.ProdID)
	if r.Name != "" {
		fmt.Fprintf(w, ", name %q", r.Name)
	}
	fmt.Fprintln(w)
	if r.XWRTimezone != "" {
		fmt.Fprintf(w, "  X-WR-TIMEZONE %q: floating times are placed in it\n", r.XWRTimezone)
	}
	e := r.Events
	fmt.Fprintf(w, "\nEvents: %d usable of %d VEVENTs: %d recurring, %d overrides, %d all-day, %d floating\n",
		e.Usable, e.Components, e.Recurring, e.Overrides, e.AllDay, e.Floating)
	if e.Floating > 0 && r.XWRTimezone == "" && r.Zone == "" {
		fmt.Fprintln(w, "  warning: floating times with no X-WR-TIMEZONE: the hub places them in its own zone")
	}
	if len(r.Skipped) > 0 {
		fmt.Fprintf(w, "\nSkipped VEVENTs (%d):\n", len(r.Skipped))
		for _, s := range r.Skipped {
			fmt.Fprintf(w, "  - UID %q: %s\n", s.UID, s.Reason)
		}
	}
	if r.DecodeFallback {
		fmt.Fprintln(w, "\nwarning: the feed could not be decoded as a whole; VEVENTs were decoded one by one")
	}
	if len(r.Repairs) > 0 {
		fmt.Fprintf(w, "\nRepairs (%d):\n", len(r.Repairs))
		for _, s := range r.Repairs {
			fmt.Fprintf(w, "  - %s\n", s)
		}
	}
	if len(r.Zones) > 0 {
		fmt.Fprintf(w, "\nTime zones (%d):\n", len(r.Zones))
		for _, z := range r.Zones {
			fmt.Fprintf(w, "  - %q: %s\n", z.TZID, z.Description)
		}
	}
	fmt.Fprintf(w, "\nWindow %s to %s: %d occurrences (%d cancelled)\n",
		r.Window.From.UTC().Format(time.RFC3339), r.Window.To.UTC().Format(time.RFC3339), r.Window.Occurrences, r.Window.Cancelled)
	if len(r.Truncated) > 0 {
		fmt.Fprintf(w, "  warning: %d series reached the cap of %d occurrences: %s\n",
			len(r.Truncated), r.Cap, strings.Join(quoteAll(r.Truncated), ", "))
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  warning: UID %q: %s\n", p.UID, p.Reason)
	}
	if len(r.Policies) > 0 {
		fmt.Fprintln(w, "  hub policies applied:")
		for _, p := range r.Policies {
			fmt.Fprintf(w, "    %s: %d occurrence(s)\n", p.Name, p.N)
		}
	}
	if r.RulesIgnored > 0 {
		fmt.Fprintf(w, "  warning: %d event(s) have an RRULE that was ignored (invalid, or too costly to expand: see Repairs); only their DTSTART is listed\n", r.RulesIgnored)
	}
	fmt.Fprintf(w, "\nVerdict: %s\n", r.VerdictText)
}

// WriteText writes the conversion's report, for the source named.
func (c *Conversion) WriteText(w io.Writer, source string) {
	if c.Adapter != "" {
		fmt.Fprintf(w, "Conversion of %s by adapter %s (%d bytes)\n", source, c.Adapter, c.Bytes)
	} else {
		fmt.Fprintf(w, "Conversion of %s from %s (%d bytes)\n", source, c.Kind, c.Bytes)
	}
	if c.Failure != "" {
		fmt.Fprintf(w, "  FAILED: %s\n", c.Failure)
	} else {
		fmt.Fprintf(w, "  %d item(s) found, %d event(s) written, %d skipped\n", c.Items, c.Events, c.Skipped)
	}
	if c.Adapter != "" {
		fmt.Fprintf(w, "  %d page(s) fetched by the adapter besides the feed's source\n", c.Fetches)
	}
	if len(c.Warnings) > 0 {
		fmt.Fprintf(w, "  Warnings (%d):\n", len(c.Warnings)+c.MoreWarnings)
		for _, s := range c.Warnings {
			fmt.Fprintf(w, "  - %s\n", s)
		}
		if c.MoreWarnings > 0 {
			fmt.Fprintf(w, "  - ... and %d more\n", c.MoreWarnings)
		}
	}
	fmt.Fprintln(w)
}
