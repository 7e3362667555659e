package console

import (
	"strings"

	"github.com/elmcity/elmcity/shared/feedkind"
	"github.com/elmcity/elmcity/shared/hub"
)

// kindOption is one choice of the feed form's kind select, with its
// short help.
type kindOption struct {
	Value, Label, Help string
}

// kindOptions are the feed kinds the form offers, in feedkind.Kinds'
// order.
func kindOptions() []kindOption {
	return []kindOption{
		{"ics", "iCalendar feed (.ics)", "A calendar feed, as calendar programs and most event sites publish one. Nothing to map."},
		{"jsonld", "Web page with schema.org events (JSON-LD)", "An event page or a listing whose HTML carries schema.org Event data, as ticketing sites and event plugins write it. Nothing to map; give a time zone only if the page's times have no offset and are not in the hub's zone."},
		{"csv", "Spreadsheet (CSV)", "A spreadsheet saved or published as CSV. Say below which column holds the title, the start date and the rest."},
		{"json", "JSON array of events", "An array of objects from a site's API. Say below which member holds the title, the start date and the rest, and where the array is."},
		{"rss", "RSS or Atom feed with event dates", "Items that carry event dates (xCal dtstart or ev:startdate). Name other elements below only when the dates are elsewhere."},
		{"script", "Adapter script", "An adapter script, adapters/NAME.js from the hub's scripts, that turns the page into events. The check runs it as the worker will and shows what it returned."},
	}
}

// kindLabel is how the hub's feed table names a feed's kind.
func kindLabel(f hub.Feed) string {
	switch feedkind.Kind(f.Kind) {
	case "", feedkind.KindICS:
		return "iCalendar"
	case feedkind.KindJSONLD:
		return "JSON-LD page"
	case feedkind.KindCSV:
		return "CSV"
	case feedkind.KindJSON:
		return "JSON"
	case feedkind.KindRSS:
		return "RSS/Atom"
	case feedkind.KindScript:
		return "adapter " + f.Adapter
	}
	return f.Kind
}

// mapField is one row of the mapping table: an event field and where
// the form keeps its column or member name.
type mapField struct {
	Name, Label, Hint string
	ptr               func(*feedkind.Mapping) *string
}

// mapFields are the mapping's column fields, in the form's order.
func mapFields() []mapField {
	return []mapField{
		{"title", "Title", "required for CSV and JSON", func(m *feedkind.Mapping) *string { return &m.Title }},
		{"start_date", "Start date", "required for CSV and JSON; the date, or the date and time", func(m *feedkind.Mapping) *string { return &m.StartDate }},
		{"start_time", "Start time", "when apart from the date; no time makes an all-day event", func(m *feedkind.Mapping) *string { return &m.StartTime }},
		{"end_date", "End date", "the last day, for all-day events", func(m *feedkind.Mapping) *string { return &m.EndDate }},
		{"end_time", "End time", "", func(m *feedkind.Mapping) *string { return &m.EndTime }},
		{"duration", "Duration", "instead of an end: PT1H30M, 1:30 or 90 minutes", func(m *feedkind.Mapping) *string { return &m.Duration }},
		{"all_day", "All day", "a yes/no column", func(m *feedkind.Mapping) *string { return &m.AllDay }},
		{"location", "Location", "", func(m *feedkind.Mapping) *string { return &m.Location }},
		{"url", "Web page", "", func(m *feedkind.Mapping) *string { return &m.URL }},
		{"description", "Description", "", func(m *feedkind.Mapping) *string { return &m.Description }},
		{"categories", "Categories", "comma separated", func(m *feedkind.Mapping) *string { return &m.Categories }},
		{"uid", "Id", "the source's own id for each event, which keeps it the same event from one fetch to the next", func(m *feedkind.Mapping) *string { return &m.UID }},
		{"status", "Status", "cancelled cancels the event", func(m *feedkind.Mapping) *string { return &m.Status }},
	}
}

// mapRow is one row of the mapping table as the template shows it.
type mapRow struct {
	Name, Label, Hint, Value string
}

// MapRows are the mapping table's rows with the form's values.
func (ff feedForm) MapRows() []mapRow {
	fields := mapFields()
	out := make([]mapRow, len(fields))
	for i, f := range fields {
		out[i] = mapRow{Name: f.Name, Label: f.Label, Hint: f.Hint, Value: *f.ptr(&ff.Mapping)}
	}
	return out
}

// KindOptions are the kind select's choices.
func (ff feedForm) KindOptions() []kindOption { return kindOptions() }

// readMapping reads the mapping fields of the form as posted (m_NAME).
func readMapping(post func(string) string) feedkind.Mapping {
	var m feedkind.Mapping
	for _, f := range mapFields() {
		*f.ptr(&m) = strings.TrimSpace(post("m_" + f.Name))
	}
	m.DateFormat = strings.TrimSpace(post("m_date_format"))
	m.TZ = strings.TrimSpace(post("m_tz"))
	m.Header = post("m_header") == "yes"
	m.Delimiter = post("m_delimiter")
	m.Path = strings.TrimSpace(post("m_path"))
	return m
}

// mapping is the form's mapping for its kind, nil for none: the form
// shows every field without JavaScript, and those its kind does not use
// are left out (jsonld uses only the zone; rss the element names and the
// zone).
func (ff feedForm) mapping() *feedkind.Mapping {
	m := ff.Mapping
	switch feedkind.Kind(ff.Kind) {
	case feedkind.KindCSV:
		m.Path = ""
	case feedkind.KindJSON:
		m.Header, m.Delimiter = false, ""
	case feedkind.KindRSS:
		m.Header, m.Delimiter, m.Path, m.DateFormat = false, "", "", ""
	case feedkind.KindJSONLD:
		m = feedkind.Mapping{TZ: m.TZ}
	default:
		return nil
	}
	if m.IsZero() && !feedkind.Kind(ff.Kind).Mapped() {
		return nil
	}
	return &m
}

// mappingPatch is the merge patch that makes a feed's mapping m: every
// member, null where m has none, so that a field emptied on the form is
// removed; null for no mapping.
func mappingPatch(m *feedkind.Mapping) any {
	if m == nil {
		return nil
	}
	p := map[string]any{}
	for _, f := range mapFields() {
		p[f.Name] = orNull(*f.ptr(m))
	}
	p["date_format"], p["tz"], p["delimiter"], p["path"] = orNull(m.DateFormat), orNull(m.TZ), orNull(m.Delimiter), orNull(m.Path)
	p["header"] = m.Header
	return p
}

// orNull is s, or nil (JSON null) when s is empty.
func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// kindPatch adds the form's kind, mapping, adapter and hosts to a feed's
// merge patch. An adapter and hosts belong to a script feed only.
func (ff feedForm) kindPatch(p map[string]any) {
	p["kind"] = ff.Kind
	p["mapping"] = mappingPatch(ff.mapping())
	if ff.Kind == string(feedkind.KindScript) {
		p["adapter"] = ff.Adapter
		p["hosts"] = splitList(ff.Hosts)
	} else {
		p["adapter"], p["hosts"] = nil, nil
	}
}
