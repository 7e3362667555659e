package feedkind

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidMapping means a Mapping does not fit its kind. Validate's
// errors wrap it and name the field at fault.
var ErrInvalidMapping = errors.New("feedkind: invalid mapping")

// Mapping tells Convert where an event's fields are in a csv, json or
// rss source. It is stored in the feed record as JSON.
//
// For csv, a field names a column: by its header text (Header true;
// matched case-insensitively, spaces trimmed) or by its number counted
// from 1 ("1", "2", ...), which works with or without a header. For
// json, a field names a member of each object; a dotted name
// ("venue.name") reaches into nested objects. For rss, a field names an
// element of each item or entry that replaces the default one: a local
// name ("pubDate", any namespace), a prefixed name of a well-known
// namespace ("ev:startdate", "xcal:dtstart", "dc:date"), or
// "{namespace-uri}local".
//
// Only Title and StartDate are required (for csv and json); the others
// may be left empty.
type Mapping struct {
	// Title holds the event's title (SUMMARY).
	Title string `json:"title,omitempty"`
	// StartDate holds the start date, or the start date and time.
	StartDate string `json:"start_date,omitempty"`
	// StartTime holds the start time of day ("19:00", "7:30 PM"), when
	// it is apart from the date. An event with neither a time here nor
	// one in StartDate is all-day.
	StartTime string `json:"start_time,omitempty"`
	// EndDate holds the end date (inclusive for all-day events: the last
	// day), or the end date and time.
	EndDate string `json:"end_date,omitempty"`
	// EndTime holds the end time of day. Without EndDate it is on the
	// start's day, or on the next day when it is earlier than the start.
	EndTime string `json:"end_time,omitempty"`
	// Duration holds the length of the event, when there is no end: ISO
	// 8601 ("PT1H30M"), hours and minutes ("1:30") or minutes ("90").
	Duration string `json:"duration,omitempty"`
	// AllDay holds a flag ("true", "yes", "y", "1", "x", "all day"): the
	// event is all-day whatever its times.
	AllDay string `json:"all_day,omitempty"`
	// Location holds the place, as text.
	Location string `json:"location,omitempty"`
	// URL holds the event's web page.
	URL string `json:"url,omitempty"`
	// Description holds the description.
	Description string `json:"description,omitempty"`
	// Categories holds categories, comma-separated (or, in json, an array
	// of strings).
	Categories string `json:"categories,omitempty"`
	// UID holds the source's own id for the event, from which its UID is
	// made. Without it the UID is a hash of title, start and location.
	UID string `json:"uid,omitempty"`
	// Status holds the event's status: "cancelled" (or "canceled") makes
	// it STATUS:CANCELLED, "tentative" or "postponed" STATUS:TENTATIVE.
	Status string `json:"status,omitempty"`

	// DateFormat says how StartDate and EndDate are written (csv, json).
	// It is not a Go layout but a small language of tokens, with every
	// other character standing for itself:
	//
	//	YYYY 2025   YY 25     MMMM March  MMM Mar    MM 03   M 3
	//	DD 07       D 7       dddd Friday ddd Fri
	//	HH 19 (24-hour)       hh 07, h 7 (12-hour)   mm 05   ss 09
	//	A  PM or AM (any case)               Z  -05:00, Z
	//
	// so "M/D/YYYY", "DD.MM.YYYY", "YYYY-MM-DD HH:mm", "MMM D, YYYY h:mm A".
	// A format with H or h reads a time of day; with Z, an instant.
	// Three names stand for whole formats: "" or "iso" (ISO 8601, as
	// parseISO reads it: "2025-03-07", "2025-03-07T19:30",
	// "2025-03-07T19:30:00-05:00"), "unix" (seconds since 1970, an
	// instant) and "unixms" (milliseconds).
	DateFormat string `json:"date_format,omitempty"`
	// TZ is the IANA zone of times without an offset (csv, json, and the
	// local times of jsonld and rss); empty means Options.Zone, the
	// hub's.
	TZ string `json:"tz,omitempty"`
	// Header says that the first CSV record names the columns.
	Header bool `json:"header,omitempty"`
	// Delimiter is the CSV field separator: "," (the default), ";", "|"
	// or "tab".
	Delimiter string `json:"delimiter,omitempty"`
	// Path is the dotted path of the array of events in a json source
	// ("data.events"); empty means the document is the array.
	Path string `json:"path,omitempty"`
}

// fields lists the column or member fields of m with their JSON names.
func (m *Mapping) fields() []struct {
	name string
	val  *string
} {
	return []struct {
		name string
		val  *string
	}{
		{"title", &m.Title}, {"start_date", &m.StartDate}, {"start_time", &m.StartTime},
		{"end_date", &m.EndDate}, {"end_time", &m.EndTime}, {"duration", &m.Duration},
		{"all_day", &m.AllDay}, {"location", &m.Location}, {"url", &m.URL},
		{"description", &m.Description}, {"categories", &m.Categories}, {"uid", &m.UID},
		{"status", &m.Status},
	}
}

// IsZero reports an empty Mapping.
func (m Mapping) IsZero() bool { return m == Mapping{} }

// Validate checks m for kind and returns every problem found, joined,
// each naming the field at fault, wrapping ErrInvalidMapping. A kind
// that needs no mapping (ics, script) takes none; jsonld takes only TZ;
// rss takes element names and TZ; csv and json need Title and
// StartDate.
func (m Mapping) Validate(kind Kind) error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("mapping field %s: %s: %w", field, fmt.Sprintf(format, args...), ErrInvalidMapping))
	}
	if _, err := ParseKind(string(kind)); err != nil || kind == "" {
		return fmt.Errorf("validate mapping: kind %q: %w", kind, ErrUnknownKind)
	}
	if m.TZ != "" {
		if _, err := loadZone(m.TZ); err != nil {
			bad("tz", "%q is not an IANA time zone (America/New_York)", m.TZ)
		}
	}
	switch kind {
	case KindICS, KindScript:
		if !m.IsZero() {
			bad("(any)", "kind %s takes no mapping", kind)
		}
	case KindJSONLD:
		rest := m
		rest.TZ = ""
		if !rest.IsZero() {
			bad("(any)", "kind jsonld takes only tz: its fields are schema.org's")
		}
	case KindRSS:
		for _, f := range m.fields() {
			if *f.val != "" && !validElementName(*f.val) {
				bad(f.name, "%q is not an element name (pubDate, ev:startdate, {uri}local)", *f.val)
			}
		}
		if m.Header || m.Delimiter != "" || m.Path != "" || m.DateFormat != "" {
			bad("header/delimiter/path/date_format", "not used by kind rss")
		}
	case KindCSV, KindJSON:
		if m.Title == "" {
			bad("title", "required for kind %s", kind)
		}
		if m.StartDate == "" {
			bad("start_date", "required for kind %s", kind)
		}
		if m.EndTime != "" && m.Duration != "" {
			bad("duration", "give end_time or duration, not both")
		}
		if _, err := compileDateFormat(m.DateFormat); err != nil {
			bad("date_format", "%v", err)
		}
		for _, f := range m.fields() {
			v := *f.val
			if v == "" {
				continue
			}
			if len(v) > 256 {
				bad(f.name, "longer than 256 bytes")
				continue
			}
			if kind == KindCSV {
				if n, err := strconv.Atoi(v); err == nil {
					if n < 1 || n > maxCSVFields {
						bad(f.name, "column number %d is not between 1 and %d", n, maxCSVFields)
					}
				} else if !m.Header {
					bad(f.name, "column %q is a name but header is false: number the column (1 is the first) or set header", v)
				}
			} else if strings.Contains(v, "..") || strings.HasPrefix(v, ".") || strings.HasSuffix(v, ".") {
				bad(f.name, "%q is not a member name or dotted path", v)
			}
		}
		if kind == KindCSV {
			if _, err := csvDelimiter(m.Delimiter); err != nil {
				bad("delimiter", "%v", err)
			}
			if m.Path != "" {
				bad("path", "not used by kind csv")
			}
		} else {
			if m.Header || m.Delimiter != "" {
				bad("header/delimiter", "not used by kind json")
			}
			if m.Path != "" && (strings.Contains(m.Path, "..") || strings.HasPrefix(m.Path, ".") || strings.HasSuffix(m.Path, ".") || len(m.Path) > 256) {
				bad("path", "%q is not a dotted path (data.events)", m.Path)
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}

// csvDelimiter returns the separator a Mapping.Delimiter names.
func csvDelimiter(s string) (rune, error) {
	switch s {
	case "", ",":
		return ',', nil
	case ";":
		return ';', nil
	case "|":
		return '|', nil
	case "tab", "\t", "\\t":
		return '\t', nil
	}
	return 0, fmt.Errorf("%q is not one of \",\", \";\", \"|\", \"tab\"", s)
}

// validElementName reports an rss element name of the forms Mapping
// describes.
func validElementName(s string) bool {
	if len(s) > 256 {
		return false
	}
	if strings.HasPrefix(s, "{") {
		i := strings.IndexByte(s, '}')
		return i > 1 && i < len(s)-1 && !strings.ContainsAny(s[i+1:], "{}: ")
	}
	prefix, local, ok := strings.Cut(s, ":")
	if ok {
		if _, known := rssPrefixes[strings.ToLower(prefix)]; !known {
			return false
		}
	} else {
		local = prefix
	}
	return local != "" && !strings.ContainsAny(local, "{}: <>/")
}

// loadZone loads an IANA zone by name. "Local" is refused: it names
// the machine's zone, which no TZID can carry.
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" || len(name) > 64 {
		return nil, fmt.Errorf("zone %q is not an IANA name", name)
	}
	return time.LoadLocation(name)
}
