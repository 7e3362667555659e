package calendar

import (
	"errors"
	"slices"
	"strings"
	"time"
)

// ErrInvalidFeed means the bytes are not an iCalendar feed at all: nothing
// in them resembles a VCALENDAR or a VEVENT, or they exceed
// Config.MaxFeedBytes. A feed with some broken events is not invalid; its
// broken events are skipped and listed in Stats.Skipped.
var ErrInvalidFeed = errors.New("calendar: invalid feed")

// Status is the STATUS of a VEVENT, upper-cased.
type Status string

// The VEVENT statuses of RFC 5545 section 3.8.1.11.
const (
	StatusTentative Status = "TENTATIVE"
	StatusConfirmed Status = "CONFIRMED"
	StatusCancelled Status = "CANCELLED"
)

// Policy names a hub policy that changed an occurrence relative to a
// literal reading of the feed by ical.js, the reference of the elmcity
// test corpus: there an unknown TZID or a missing zone leaves a time
// floating, a VTIMEZONE in the file is authoritative, and a few RFC 5545
// rules are read differently. Several policies are joined by commas.
type Policy string

// The policies the hub applies.
const (
	// PolicyWindowsZone: a Windows zone name or an Outlook display name
	// ("Eastern Standard Time", "(UTC-05:00) Eastern Time (US & Canada)")
	// was resolved to an IANA zone through CLDR's windowsZones table.
	PolicyWindowsZone Policy = "windows-zone"
	// PolicyTZIDAlias: a TZID that is not an IANA name but plainly
	// names one ("/mozilla.org/20050126_1/Europe/Berlin", "US-Eastern",
	// "Europe_Berlin") was resolved to that IANA zone.
	PolicyTZIDAlias Policy = "tzid-alias"
	// PolicyIANAZone: the file's VTIMEZONE for an IANA name disagrees with
	// the IANA rules, and the IANA rules were used.
	PolicyIANAZone Policy = "iana-zone"
	// PolicyXWRTimezone: a floating time was placed in the calendar's
	// X-WR-TIMEZONE.
	PolicyXWRTimezone Policy = "x-wr-timezone"
	// PolicyHubZone: a floating time was placed in Config.FloatingZone.
	PolicyHubZone Policy = "hub-zone"
	// PolicyDTStart: DTSTART is listed as the first instance of a set
	// defined by RDATE alone (RFC 5545 section 3.6.1: DTSTART "specifies
	// the very first instance in the recurrence set").
	PolicyDTStart Policy = "dtstart"
	// PolicyLocalUntil: the instance is kept because an UNTIL written
	// without a zone (or as a DATE) for a zoned DTSTART was read in
	// DTSTART's zone, through the end of its day for a DATE.
	PolicyLocalUntil Policy = "local-until"
	// PolicyExactDuration: the instance keeps the exact duration between
	// DTSTART and DTEND across a daylight-saving change (RFC 5545
	// section 3.8.5.3), where a wall-clock reading would stretch or
	// shrink it by the change.
	PolicyExactDuration Policy = "exact-duration"
	// PolicySequence: of several overrides for one instance, the one with
	// the highest SEQUENCE was used although a later one in the file has
	// a lower SEQUENCE (RFC 5545 section 3.8.7.4).
	PolicySequence Policy = "sequence"
	// PolicyCharset: text was decoded from Windows-1252 (or Latin-1)
	// rather than replaced by U+FFFD.
	PolicyCharset Policy = "charset"
	// PolicyDSTTransition: the wall clock occurs twice or not at all in
	// its zone and was placed by RFC 5545 section 3.3.5 (the first
	// occurrence; the offset before a gap), where ical.js uses the offset
	// after the change.
	PolicyDSTTransition Policy = "dst-transition"
	// PolicyVTimezone: a VTIMEZONE was applied by RFC 5545 section 3.6.5
	// (each observance's DTSTART is its first onset, every RDATE value
	// is an onset, and TZOFFSETFROM is in force before the first one)
	// where ical.js reads it otherwise.
	PolicyVTimezone Policy = "vtimezone"
	// PolicyRuleIgnored: the event's RRULE is invalid and was ignored,
	// so DTSTART alone is listed.
	PolicyRuleIgnored Policy = "rrule-ignored"
)

// join returns p and q as one Policy, each name once.
func (p Policy) join(q Policy) Policy {
	switch {
	case q == "" || p == q:
		return p
	case p == "":
		return q
	}
	for _, name := range strings.Split(string(q), ",") {
		if !slices.Contains(strings.Split(string(p), ","), name) {
			p += "," + Policy(name)
		}
	}
	return p
}

// Calendar is one parsed feed: its events (recurring masters, overrides
// and single events, in file order) and what parsing found. Expand may be
// called concurrently; the Events, which Occurrences point to, must not be
// modified.
type Calendar struct {
	// Name is X-WR-CALNAME, if any.
	Name string
	// ProdID is the PRODID of the first VCALENDAR.
	ProdID string
	// Timezone is X-WR-TIMEZONE as written, if any.
	Timezone string
	// Events holds every usable VEVENT: masters, overrides (RecurrenceID
	// set) and single events.
	Events []*Event
	// Stats describes the parse.
	Stats Stats

	// maxPerSeries is the default cap for Expand.
	maxPerSeries int
	// maxSteps and maxFeedSteps are the work budgets of Expand, per
	// series and per feed.
	maxSteps     int
	maxFeedSteps int
	// maxTotal is the default bound of an expansion's occurrences.
	maxTotal int
	// broken holds the UIDs of masters that were skipped: their
	// overrides are not listed on their own.
	broken map[string]bool
	// series groups Events by UID; it is built once by Parse and only
	// read by Expand, which may run concurrently.
	series []*series
}

// Event is one VEVENT with its dates resolved. Recurrence data (RRULE,
// RDATE, EXDATE) is kept unexported and applied by Calendar.Expand.
type Event struct {
	// UID is the UID property, or "" when the VEVENT has none.
	UID string
	// RecurrenceID is the original start of the instance this override
	// replaces; it is the zero Time for masters and single events.
	RecurrenceID time.Time
	// ThisAndFuture reports RECURRENCE-ID;RANGE=THISANDFUTURE: the
	// override's changes apply to every later instance as well.
	ThisAndFuture bool
	// Summary, Description, Location and URL are unescaped text.
	Summary     string
	Description string
	Location    string
	URL         string
	// Start and End bound the event. End is exclusive; for a DATE event
	// it is the day after the last day.
	//
	// DATE values (AllDay) are midnight UTC of the date: only the year,
	// month and day matter. Zoned times carry their resolved location.
	// Floating times that no policy placed in a zone (Floating) carry
	// their wall clock in UTC.
	Start time.Time
	End   time.Time
	// AllDay reports a DATE DTSTART.
	AllDay bool
	// Floating reports a DATE-TIME with no usable zone whose wall clock is
	// kept as is (see Start).
	Floating bool
	// Status is the upper-cased STATUS, or "".
	Status Status
	// Categories lists every CATEGORIES value.
	Categories []string
	// Sequence is SEQUENCE, 0 when absent.
	Sequence int
	// Policy names the hub policies that changed Start or End, if any.
	Policy Policy
	// Recurring reports an RRULE or RDATE.
	Recurring bool

	start       dateValue
	end         dateValue // DTEND, when hasEnd
	hasEnd      bool
	dur         duration
	hasDur      bool
	rules       []ruleSpec
	rdates      []rdate
	exdates     []dateValue
	recurID     dateValue
	hasRecur    bool
	startPolicy Policy        // policies that placed DTSTART
	durPolicy   Policy        // policies that placed DTSTART and DTEND
	span        time.Duration // DTEND - DTSTART
	ruleIgnored bool          // an RRULE was invalid
	charset     bool          // text decoded from Windows-1252
	seqWin      bool          // won over a later override by SEQUENCE
}

// IsOverride reports whether e carries a RECURRENCE-ID.
func (e *Event) IsOverride() bool { return e.hasRecur }

// Occurrence is one instance of an event inside an expansion window. It
// embeds the Event that supplies its data (the master, or the override
// that replaces the instance), so UID, Summary, Description, Location,
// URL, Status, Categories and Sequence read through; the fields below
// are the instance's own and shadow the Event's.
type Occurrence struct {
	*Event
	// RecurrenceID is the original start of the instance when an
	// override supplies the data (Override true); otherwise it equals
	// Start.
	RecurrenceID time.Time
	// Start and End follow the conventions of Event.Start and Event.End.
	Start time.Time
	End   time.Time
	// Override reports that an override supplied the data.
	Override bool
	// AllDay reports DATE values.
	AllDay bool
	// Floating reports wall-clock times that no zone was applied to.
	Floating bool
	// Policy names the hub policies that changed the occurrence, if any.
	Policy Policy

	ridDate bool // the recurrence id is a DATE
}

// Cancelled reports STATUS:CANCELLED.
func (o *Occurrence) Cancelled() bool { return o.Status == StatusCancelled }

// Stats describes what parsing found in a feed.
type Stats struct {
	// ProdID is the feed's PRODID: which software wrote it.
	ProdID string
	// Bytes is the size of the input.
	Bytes int
	// Components counts the VEVENTs seen, usable or not.
	Components int
	// Events counts usable VEVENTs (masters, overrides and single events).
	Events int
	// Recurring counts masters with an RRULE or RDATE.
	Recurring int
	// Overrides counts VEVENTs with a RECURRENCE-ID.
	Overrides int
	// Floating counts events whose DTSTART is a floating DATE-TIME.
	Floating int
	// AllDay counts events whose DTSTART is a DATE.
	AllDay int
	// RulesIgnored counts events with an RRULE that was refused: invalid,
	// or too costly to expand (Config.MaxPeriodInstants). Repairs says
	// which and why.
	RulesIgnored int
	// Skipped lists the VEVENTs that could not be used, with the reason.
	Skipped []Skipped
	// Repairs lists what the repair pass and the interpretation changed,
	// one human-readable line each (deduplicated, in order).
	Repairs []string
	// Zones lists every TZID the feed uses, with how it was resolved.
	Zones []ZoneUse
	// DecodeFallback reports that go-ical could not decode the repaired
	// feed as a whole and VEVENTs were decoded one by one.
	DecodeFallback bool
}

// Skipped is a VEVENT that was left out.
type Skipped struct {
	// UID is the component's UID, or "".
	UID string
	// Reason says why.
	Reason string
}

// ZoneKind says how a TZID was resolved.
type ZoneKind string

// The ways a TZID is resolved.
const (
	// ZoneIANA: an IANA name, with or without a VTIMEZONE in the file.
	ZoneIANA ZoneKind = "iana"
	// ZoneWindows: a Windows zone or Outlook display name mapped to IANA.
	ZoneWindows ZoneKind = "windows"
	// ZoneAlias: a vendor-prefixed or misspelt IANA name.
	ZoneAlias ZoneKind = "alias"
	// ZoneCustom: a VTIMEZONE in the file with a non-IANA name, applied
	// by its own rules.
	ZoneCustom ZoneKind = "custom"
	// ZoneUnknown: a TZID with no VTIMEZONE that names no known zone;
	// its times are treated as floating.
	ZoneUnknown ZoneKind = "unknown"
)

// ZoneUse is one TZID of a feed and how it was resolved.
type ZoneUse struct {
	// TZID is the parameter value as written (unquoted).
	TZID string
	// Kind says how it was resolved.
	Kind ZoneKind
	// Location is the IANA name or, for ZoneCustom, the TZID; "" for
	// ZoneUnknown.
	Location string
	// Divergent reports a VTIMEZONE in the file whose offsets disagree
	// with the IANA zone used in its place.
	Divergent bool
}

// Expansion is the result of Calendar.Expand.
type Expansion struct {
	// Occurrences are sorted by start instant, then UID, recurrence id,
	// end, summary and status.
	Occurrences []Occurrence
	// Truncated lists the UIDs of series that reached the cap, in file
	// order, once each.
	Truncated []string
	// Cancelled counts cancelled instances (listed only with
	// ExpandOptions.IncludeCancelled).
	Cancelled int
	// Problems lists series that could not be expanded fully, with the
	// reason (a work budget exhausted), and a feed cut short by
	// ExpandOptions.MaxOccurrences.
	Problems []Skipped
	// Steps is the work the expansion did, in the units of
	// Config.MaxSteps: periods, days and times of day the rules
	// examined. It is at most Config.MaxFeedSteps (plus one period).
	Steps int64
}
