package feedkind

import (
	"errors"
	"fmt"
	"strings"
)

// Kind is the format of a feed's source: what the hub fetches at the
// feed's URL and how it is turned into iCalendar.
type Kind string

// The kinds of feed. The zero Kind is not valid; ParseKind reads "" as
// KindICS.
const (
	// KindICS is an iCalendar feed, parsed as it is.
	KindICS Kind = "ics"
	// KindJSONLD is a web page (or a bare JSON-LD document) whose
	// <script type="application/ld+json"> blocks hold schema.org Events.
	KindJSONLD Kind = "jsonld"
	// KindCSV is a spreadsheet export, read through a Mapping.
	KindCSV Kind = "csv"
	// KindJSON is an array of JSON objects (or one at Mapping.Path), read
	// through a Mapping.
	KindJSON Kind = "json"
	// KindRSS is an RSS 2.0 or Atom feed whose items carry event dates.
	KindRSS Kind = "rss"
	// KindScript is a feed produced by a hub script (shared/script); it
	// is not converted here.
	KindScript Kind = "script"
)

// Kinds lists every Kind, in the order the documentation gives them.
func Kinds() []Kind {
	return []Kind{KindICS, KindJSONLD, KindCSV, KindJSON, KindRSS, KindScript}
}

// ErrUnknownKind means a kind name is none of Kinds.
var ErrUnknownKind = errors.New("feedkind: unknown kind")

// ParseKind reads a kind name as a feed record stores it. The empty string
// is KindICS; names are case-insensitive and trimmed. It returns an error
// wrapping ErrUnknownKind for any other name.
func ParseKind(s string) (Kind, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return KindICS, nil
	}
	for _, k := range Kinds() {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("parse kind %q (want one of ics, jsonld, csv, json, rss, script): %w", s, ErrUnknownKind)
}

// Mapped reports whether the kind reads its fields through a Mapping
// (csv and json) rather than from the format's own vocabulary.
func (k Kind) Mapped() bool { return k == KindCSV || k == KindJSON }
