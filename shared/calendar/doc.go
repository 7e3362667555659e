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
//  4. Expand: Calendar.Expand applies RRULE (through
//     github.com/teambition/rrule-go, iterated in wall-clock time and
//     fast-forwarded to the window when COUNT allows), RDATE (including
//     PERIOD values), EXDATE, RECURRENCE-ID overrides (moved, edited and
//     cancelled instances, highest SEQUENCE wins, RANGE=THISANDFUTURE), and
//     bounds the work by a window and a per-series occurrence cap.
//
// Where the hub departs from the corpus reference's reading of a feed (a
// Windows zone name resolved to an IANA zone, X-WR-TIMEZONE applied to
// floating times, the IANA rules preferred over a VTIMEZONE that
// redefines an IANA name, and a few RFC 5545 rules ical.js reads
// otherwise), every Occurrence the policy changed names it in
// Occurrence.Policy.
//
// No input makes the package panic or loop without bound: malformed
// components are skipped and counted in Stats.Skipped, the input size is
// capped (Config.MaxFeedBytes), and expansion is bounded by the window,
// the per-series cap (Config.MaxPerSeries), a per-feed cap
// (Config.MaxOccurrences) and an iteration budget (Config.MaxSteps).
// rrule-go is only ever given rules it cannot loop on forever, and a rule
// that can produce no further instance costs at most a few centuries of
// its iteration, not the millennia up to rrule-go's year 9999.
//
// A Parser is safe for concurrent use and should be shared: it caches
// time.LoadLocation results (each call reads a zoneinfo file) and the
// locations built from VTIMEZONEs.
//
// CONFORMANCE.md compares the package with the shared ICS corpus.
package calendar
