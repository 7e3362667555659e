// Package calendar is the parse, repair, time-zone and recurrence core of
// elmcity's aggregation engine. A hub gathers many iCalendar (RFC 5545)
// feeds; this package turns the bytes of one feed into Events and expands
// them into the Occurrences that fall inside a window.
//
// The pipeline is:
//
//  1. Repair: the raw bytes are decoded (UTF-8 with or without a byte order
//     mark, UTF-16, and Windows-1252 or Latin-1 bytes decoded character by
//     character), line endings and folding are normalised, stray control
//     characters dropped, broken content lines mended so that the decoder
//     cannot trip over them, and the component structure closed
//     (missing END lines, a bare VEVENT without VCALENDAR, several
//     concatenated VCALENDARs, missing VERSION and PRODID). Every change is
//     recorded in Stats.Repairs.
//  2. Decode: the repaired lines become github.com/emersion/go-ical's
//     component tree. The repair pass has tokenized them already, so the
//     tree is built from its tokens exactly as go-ical's decoder builds it
//     from their text (TestTreeMatchesGoical and FuzzTree hold the two
//     equal), which saves decoding the feed twice. Lines whose BEGIN and
//     END do not pair go to go-ical's decoder; if it fails, the body is
//     split into its top-level components (VEVENT, VTIMEZONE, ...) and
//     each is decoded on its own, so one bad event cannot sink the rest.
//  3. Interpret: each VEVENT becomes an Event. Dates and times are resolved
//     by this package, not by go-ical: TZIDs are looked up once per feed
//     through a Parser-held cache, IANA names, Windows zone names (through
//     CLDR's windowsZones table), Outlook display names, vendor prefixes
//     such as "/mozilla.org/20050126_1/Europe/Berlin" and quoted TZIDs are
//     all understood, and a VTIMEZONE with a non-IANA name is applied by its
//     own STANDARD and DAYLIGHT rules. Floating times take X-WR-TIMEZONE,
//     then Config.FloatingZone; DATE values stay dates.
//  4. Expand: Calendar.Expand applies RRULE (by a lazy evaluator of this
//     package, in wall-clock time, that reads rules as
//     github.com/teambition/rrule-go and python-dateutil do; the tests
//     hold the two equal), RDATE (including PERIOD values), EXDATE,
//     RECURRENCE-ID overrides (moved, edited and cancelled instances,
//     highest SEQUENCE wins, RANGE=THISANDFUTURE), and bounds the work by
//     a window, occurrence caps and work budgets.
//
// Where the hub departs from the corpus reference's reading of a feed (a
// Windows zone name resolved to an IANA zone, X-WR-TIMEZONE applied to
// floating times, the IANA rules preferred over a VTIMEZONE that
// redefines an IANA name, and a few RFC 5545 rules ical.js reads
// otherwise), every Occurrence the policy changed names it in
// Occurrence.Policy.
//
// No input makes the package panic or loop without bound, and the cost
// of a feed is bounded whatever its rules: TestHostileInputs parses and
// expands feeds of up to 10 MiB (the worker's fetch cap) built to be
// expensive (rule bombs, tiny events, 9 MiB lines, thousands of
// VTIMEZONEs, deep nesting) within 2 s of CPU and 256 MB of heap. The
// bounds:
//
//   - Parse: the input is capped (Config.MaxFeedBytes), and so are the
//     top-level components read (Config.MaxComponents), the nesting depth
//     (12), a property's parameters (64) and a parameter value (1 KiB),
//     an event's RRULEs (16), RDATE and EXDATE values (100,000 each) and
//     CATEGORIES (1,000), an RRULE's parts (64) and a BY list's values
//     (1,000), the distinct TZIDs looked up (1,000; later ones are read
//     as floating), the VTIMEZONEs built (64, with 4,000 transitions and
//     100,000 steps of rule work each) and the repair notes kept (1,000).
//     Each cap that is reached is noted in Stats.Repairs. Malformed
//     components are skipped and counted in Stats.Skipped.
//   - Rules: before a rule is expanded, its BY parts are multiplied out;
//     one whose period (a year of a YEARLY rule, a day of a DAILY one)
//     may have more instants than Config.MaxPeriodInstants is ignored
//     (PolicyRuleIgnored, with a note that names it). Otherwise the rule
//     is evaluated lazily: a period's candidate days (at most 373) are
//     listed and its times of day indexed arithmetically, BYSETPOS picks
//     positions without building the set, HOURLY, MINUTELY and SECONDLY
//     rules walk only the grid units or the BYHOUR/BYMINUTE/BYSECOND
//     combinations of the days that pass, whichever are fewer, and no
//     period after the window (or UNTIL) is looked at. Without COUNT (or
//     with a COUNT larger than the instants before the window can be)
//     evaluation begins at the window; with it, the periods before the
//     window are counted, not listed.
//   - Expand: every candidate a rule examines (a period, a day, a time
//     of day) costs a step of a work budget, and every instance it
//     yields a few more: Config.MaxSteps per series (but no more than a
//     fair share of what is left of the feed's budget),
//     Config.MaxFeedSteps per feed. A series that runs out is cut short
//     and listed in Expansion.Problems; the rest of the feed is expanded.
//     Rules begin at the window: at the wall clock, in the event's zone,
//     of the earliest start that can reach into it. Occurrences are
//     capped per series (Config.MaxPerSeries) and per feed
//     (Config.MaxOccurrences).
//   - Parse and Expand look at their context every few thousand lines,
//     components, values or steps, and return within milliseconds of its
//     cancellation.
//
// A Parser is safe for concurrent use and should be shared: it caches
// time.LoadLocation results (each call reads a zoneinfo file) and the
// locations built from VTIMEZONEs.
//
// CONFORMANCE.md compares the package with the shared ICS corpus.
package calendar
