// Package feedkind turns the feeds that are not iCalendar into
// iCalendar: a web page's schema.org JSON-LD, a spreadsheet's CSV
// export, a JSON API's array of objects, and RSS or Atom items that
// carry event dates. A feed record names its Kind (KindICS when it names
// none) and, for csv and json, a Mapping of fields; Convert writes one
// VEVENT per event found, and the hub parses the result with its
// calendar parser (shared/calendar) exactly as it parses any ICS feed,
// as the original elmcity's ics_from_csv did. Tags and catmap, time
// zones, recurrence, dedupe, stats, conditional GET and unchanged
// skipping, and the parser's own bounds are therefore the same for
// every kind. KindICS is returned as it is; KindScript is run by the
// script engine and is not converted here (ErrNotConverted).
//
// # The kinds
//
// jsonld: a page's <script type="application/ld+json"> blocks (found
// with golang.org/x/net/html's tokenizer), or a bare JSON-LD document.
// Events are found at the top level, in arrays, in @graph, in an
// ItemList's ListItems, in a page's mainEntity, in an event's subEvent
// and in a place's or organisation's event list. An Event is any type
// whose name ends in "Event" (MusicEvent, TheaterEvent, ...) and
// Festival, Hackathon, CourseInstance and EventSeries; the subtype
// becomes a category, as do keywords. name and description lose their
// HTML markup and entities (plugins such as The Events Calendar escape
// both); location is text, a Place with a PostalAddress, a
// VirtualLocation, or a list of them; eventStatus EventCancelled is
// STATUS:CANCELLED and EventPostponed STATUS:TENTATIVE. eventSchedule
// (a schema.org Schedule, or several, each its own VEVENT) maps to
// RRULE: repeatFrequency (P1D, P1W, P2W, P1M, P1Y, or daily ... yearly)
// to FREQ and INTERVAL, byDay (DayOfWeek or iCalendar's "MO", "-1FR"),
// byMonthWeek (with byDay, "1SA"), byMonth and byMonthDay to BY parts,
// repeatCount to COUNT, endDate to UNTIL, exceptDate to EXDATE,
// startDate and startTime to DTSTART (moved to the first listed weekday
// of a weekly rule), endTime or duration to the length, and
// scheduleTimezone to the zone. A block that is not valid JSON is named
// in a warning and skipped (raw line breaks in strings, the commonest
// fault, are read as spaces); the others are read.
//
// csv: encoding/csv with strict quotes and any number of fields per
// record. The text may be UTF-8 (a byte order mark is dropped), UTF-16
// with a byte order mark, or Windows-1252 as Excel writes it. Quoted
// fields may hold line breaks and delimiters; a record that does not
// parse is skipped with a warning (a file where none parses is not
// CSV). Columns are named by header text or by number (Mapping).
//
// json: the document, or the member at Mapping.Path, is an array of
// objects, decoded one at a time; fields are members, dotted names reach
// into nested objects, and arrays of strings are lists (categories).
//
// rss: RSS 2.0, RSS 1.0 and Atom read with encoding/xml (not strict:
// HTML entities are known; declared charsets are decoded), no DTD
// entity is expanded. An item's start is xCal's dtstart (RFC 6321's
// namespace or the older xCal one) or the RSS event module's
// ev:startdate, its end dtend or ev:enddate, its place location or
// ev:location; the Mapping may name other elements (a feed whose event
// date is in pubDate, or in an element of its own). Items without an
// event start are skipped with a warning: pubDate is when the item was
// published.
//
// # Dates, times and zones
//
// A date without a time makes an all-day event; its end date, as
// schema.org and spreadsheets write it, is the last day (inclusive).
// A time with an offset is an instant: it is written in the event's
// zone (Mapping.TZ, a Schedule's scheduleTimezone, else Options.Zone,
// the hub's) when the zone has that offset at that instant, so that its
// recurrences keep their wall clock across daylight-saving changes, and
// in UTC otherwise. A time without an offset is read in the event's
// zone; when that is the hub's zone the Report says so once, with a
// count, naming the policy "<kind>-local-time" (jsonld-local-time for
// JSON-LD startDates), and with no zone at all the time is written
// floating for the parser's Config.FloatingZone to place. Times are
// written with TZID=<IANA name> and no VTIMEZONE: the parser resolves
// IANA names itself.
//
// # UIDs
//
// An event's UID is its source's own id: JSON-LD @id (resolved against
// the page's URL) or else its url and startDate, RSS guid or Atom id
// (or link and start), the csv or json uid field. Without one, it is
// "h-" and 32 hex digits of the SHA-256 of its title, start and
// location, "@feedkind.elmcity", which stays the same from one fetch to
// the next while those do. Two events with one id and different starts
// get the start appended; an event with the id (or the title and
// location) and the start of one already written is a duplicate and is
// skipped. DTSTAMP is Options.Stamp (the Unix epoch by default), so the
// same source always converts to the same bytes.
//
// # The writer
//
// The iCalendar is written by hand (see icsWriter for why not
// go-ical's encoder): TEXT values escaped as RFC 5545 section 3.3.11
// says, control characters dropped, invalid UTF-8 replaced, lines
// folded at 75 octets between characters, and each field capped (title
// and location 1 KiB, description 16 KiB, URL 2 KiB and http(s) only,
// 32 categories of 128 bytes, 1,000 EXDATEs).
//
// # Bounds
//
// No input makes Convert panic or run without bound: inputs over
// Options.MaxBytes (10 MiB) are refused; at most Options.MaxItems items
// are examined (and four times as many JSON-LD objects walked), at most
// Options.MaxEvents written, and at most Options.MaxOutputBytes of
// iCalendar; JSON and XML nested deeper than Options.MaxDepth (64) are
// refused (a JSON-LD block is skipped), at most 1,000 JSON-LD blocks
// are read and CSV records of more than 1,000 fields are skipped before
// encoding/csv builds them. Large JSON-LD arrays are walked in place
// rather than decoded into Go values. ctx is checked every few hundred
// items. TestHostileInputs converts 10 MiB inputs built to be expensive
// (tiny events, deep nesting, a million fields, enormous strings,
// invalid UTF-8, entity expansion) within 3 s of CPU and 256 MiB of
// heap, and the fuzz targets FuzzConvertJSONLD and FuzzConvertCSV check
// that whatever Convert writes parses with every event kept.
//
// # Reports
//
// Report counts the items examined, the events written and the items
// skipped, and its Warnings say why, item by item ("row 7 skipped: no
// start date", "block 2: invalid JSON-LD: ...", "item 3: end before the
// start ignored"), with the policies applied counted once each: the
// kind-specific part of a feed's stats. A whole input that is not of
// its kind is an error (ErrInvalidInput), so that the hub keeps the
// feed's previous events rather than replacing them with none.
package feedkind
