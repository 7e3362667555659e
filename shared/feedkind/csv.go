package feedkind

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"github.com/elmcity/elmcity/shared/textenc"
)

// columns holds the index of each mapped field in a record, -1 for a
// field not mapped.
type columns struct {
	title, startDate, startTime, endDate, endTime, duration, allDay,
	location, url, description, categories, uid, status int
}

// maxCSVErrors is how many records that do not parse a CSV may have
// before it is taken for something else.
const maxCSVErrors = 100

// readCSV reads a spreadsheet export through the Mapping: a row per
// event, with or without a header row. The text is UTF-8 (a byte order
// mark is dropped), UTF-16 with a byte order mark, or, when it is not
// valid UTF-8, Windows-1252, as Excel writes it. Quoted fields may hold
// line breaks; a record that does not parse (a stray quote) is skipped
// with a warning.
func (c *converter) readCSV(data []byte) error {
	text, note, err := decodeText(data)
	if err != nil {
		return err
	}
	if note != "" {
		c.warn(note)
	}
	if head := bytes.TrimSpace(text[:min(len(text), 512)]); len(head) > 0 && (head[0] == '<' || head[0] == '{' || head[0] == '[') {
		return fmt.Errorf("looks like HTML, XML or JSON, not CSV: %w", ErrInvalidInput)
	}
	if bytes.IndexByte(text[:min(len(text), 8192)], 0) >= 0 {
		return fmt.Errorf("binary data (NUL bytes), not CSV: %w", ErrInvalidInput)
	}
	comma, _ := csvDelimiter(c.m.Delimiter)
	text = capCSVFields(text, byte(comma), maxCSVFields+1) // #nosec G115 -- csvDelimiter allows only ASCII delimiters
	r := csv.NewReader(bytes.NewReader(text))
	r.Comma = comma
	r.FieldsPerRecord = -1
	r.LazyQuotes = false
	r.ReuseRecord = true
	var cols columns
	haveCols := !c.m.Header
	if haveCols {
		var err error
		if cols, err = c.csvColumns(nil); err != nil {
			return err
		}
	}
	row, parsed, errs := 0, 0, 0
	var lastErr error
	for {
		if row%256 == 0 {
			if err := c.ctx.Err(); err != nil {
				return err
			}
		}
		rec, err := r.Read()
		row++
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return fmt.Errorf("read CSV: %w", err)
			}
			if errs++; errs > maxCSVErrors && parsed == 0 {
				return fmt.Errorf("no record parses as CSV (%v): %w", pe.Err, ErrInvalidInput)
			}
			if errs > 10*maxCSVErrors {
				c.warn("stopped reading: too many records do not parse")
				break
			}
			lastErr = pe.Err
			c.rep.Skipped++
			c.warn(fmt.Sprintf("row %d skipped: not CSV: %v (line %d)", row, pe.Err, pe.Line))
			continue
		}
		parsed++
		if len(rec) > maxCSVFields {
			if !haveCols {
				return fmt.Errorf("the header row has more than %d fields: %w", maxCSVFields, ErrInvalidInput)
			}
			c.skip(fmt.Sprintf("row %d", row), fmt.Sprintf("more than %d fields", maxCSVFields))
			continue
		}
		if !haveCols {
			haveCols = true
			var err error
			if cols, err = c.csvColumns(rec); err != nil {
				return err
			}
			continue
		}
		if blankRecord(rec) {
			continue
		}
		if !c.next() {
			break
		}
		c.emitRecord(fmt.Sprintf("row %d", row), func(i int) string {
			if i < 0 || i >= len(rec) {
				return ""
			}
			return rec[i]
		}, cols, nil)
		if c.full {
			break
		}
	}
	if parsed == 0 {
		if lastErr != nil {
			return fmt.Errorf("no record parses as CSV (%v): %w", lastErr, ErrInvalidInput)
		}
		return fmt.Errorf("no CSV records: %w", ErrInvalidInput)
	}
	return nil
}

// capCSVFields returns text with the delimiters of each record after
// its first limit-1 made spaces, so that csv.Reader, which has no bound
// of its own, never builds a record of more than limit fields (a record
// of a million empty fields costs it hundreds of megabytes). It follows
// encoding/csv's reading of quotes (LazyQuotes off), and copies text
// only when a record is over the limit.
func capCSVFields(text []byte, comma byte, limit int) []byte {
	const (
		fieldStart = iota
		unquoted
		quoted
		quoteInQuoted
	)
	state, fields, copied := fieldStart, 1, false
	endRecord := func() { state, fields = fieldStart, 1 }
	for i := 0; i < len(text); i++ {
		c := text[i]
		sep := false
		switch state {
		case fieldStart, unquoted:
			switch {
			case c == comma:
				sep = true
			case c == '\n':
				endRecord()
			case c == '"' && state == fieldStart:
				state = quoted
			case c == '"':
				// A bare quote: csv.Reader drops the rest of the line.
				i = lineEnd(text, i)
				endRecord()
			default:
				state = unquoted
			}
		case quoted:
			if c == '"' {
				state = quoteInQuoted
			}
		case quoteInQuoted:
			switch {
			case c == '"':
				state = quoted
			case c == comma:
				sep = true
			case c == '\n' || c == '\r' && i+1 < len(text) && text[i+1] == '\n':
				endRecord()
			default:
				// A quote inside a quoted field: csv.Reader drops
				// the rest of the line.
				i = lineEnd(text, i)
				endRecord()
			}
		}
		if !sep {
			continue
		}
		state = fieldStart
		if fields < limit {
			fields++
			continue
		}
		if !copied {
			text, copied = bytes.Clone(text), true
		}
		text[i] = ' '
	}
	return text
}

// csvColumns finds the mapped columns: by header name, or by number.
func (c *converter) csvColumns(header []string) (columns, error) {
	var missing []string
	find := func(name string) int {
		if name == "" {
			return -1
		}
		if n, err := strconv.Atoi(name); err == nil {
			return n - 1
		}
		for i, h := range header {
			h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
			if strings.EqualFold(h, strings.TrimSpace(name)) {
				return i
			}
		}
		missing = append(missing, strconv.Quote(name))
		return -1
	}
	m := c.m
	cols := columns{
		title: find(m.Title), startDate: find(m.StartDate), startTime: find(m.StartTime),
		endDate: find(m.EndDate), endTime: find(m.EndTime), duration: find(m.Duration),
		allDay: find(m.AllDay), location: find(m.Location), url: find(m.URL),
		description: find(m.Description), categories: find(m.Categories), uid: find(m.UID),
		status: find(m.Status),
	}
	if len(missing) > 0 {
		have := make([]string, 0, min(len(header), 20))
		for _, h := range header[:min(len(header), 20)] {
			have = append(have, strconv.Quote(clip(oneLine(h), 40)))
		}
		return cols, fmt.Errorf("mapped column %s not in the header (%s): %w", strings.Join(missing, ", "), strings.Join(have, ", "), ErrInvalidInput)
	}
	return cols, nil
}

// blankRecord reports a record whose fields are all empty.
func blankRecord(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// emitRecord builds an event from a CSV row or a JSON object, through
// the columns (get returns a field's text by column index; CSV) or the
// members (getList returns a member's values; JSON), and emits it.
func (c *converter) emitRecord(where string, get func(int) string, cols columns, list func(string) []string) {
	field := func(i int, name string) string {
		if list != nil {
			if name == "" {
				return ""
			}
			v := list(name)
			if len(v) == 0 {
				return ""
			}
			return v[0]
		}
		return get(i)
	}
	m := c.m
	e := event{localWhat: "start date", endInclusive: true}
	e.title = oneLine(field(cols.title, m.Title))
	if list != nil {
		// JSON APIs of content systems write HTML entities and markup
		// in their text (The Events Calendar's REST API does).
		e.title = htmlText(e.title, false)
	}
	if e.title == "" {
		c.skip(where, "no title")
		return
	}
	e.id = oneLine(field(cols.uid, m.UID))
	e.location = oneLine(field(cols.location, m.Location))
	e.url = resolveURL(c.base, oneLine(field(cols.url, m.URL)))
	e.description = strings.TrimSpace(strings.ToValidUTF8(field(cols.description, m.Description), "\uFFFD"))
	if list != nil {
		e.location = htmlText(e.location, false)
		e.description = htmlText(e.description, true)
	}
	if list != nil && m.Categories != "" {
		for _, v := range list(m.Categories) {
			e.categories = append(e.categories, splitCategories(v)...)
		}
	} else {
		e.categories = splitCategories(field(cols.categories, m.Categories))
	}
	switch strings.ToLower(strings.TrimSpace(field(cols.status, m.Status))) {
	case "cancelled", "canceled", "eventcancelled":
		e.status = "CANCELLED"
	case "tentative", "postponed":
		e.status = "TENTATIVE"
	}
	start, err := c.recordWhen(field(cols.startDate, m.StartDate), field(cols.startTime, m.StartTime), when{})
	if err != nil {
		reason := "start date: " + err.Error()
		if errors.Is(err, errNoDate) {
			reason = "no start date"
		} else if c.layout.goLayout == "" && c.layout.unix == "" {
			reason += ` (date_format is ISO 8601, YYYY-MM-DD; set date_format, e.g. "M/D/YYYY")`
		}
		c.skip(where, reason)
		return
	}
	e.start = start
	endDate, endTime := field(cols.endDate, m.EndDate), field(cols.endTime, m.EndTime)
	if strings.TrimSpace(endDate) != "" || strings.TrimSpace(endTime) != "" {
		end, err := c.recordWhen(endDate, endTime, start)
		switch {
		case err != nil:
			c.warn(fmt.Sprintf("%s: end ignored: %v", where, err))
		default:
			e.end = end
		}
	} else if d := strings.TrimSpace(field(cols.duration, m.Duration)); d != "" {
		dur, err := parseDuration(d, true)
		if err != nil {
			c.warn(fmt.Sprintf("%s: duration ignored: %v", where, err))
		} else {
			e.dur, e.hasDur = dur, true
		}
	}
	if truthy(field(cols.allDay, m.AllDay)) {
		e.start = e.start.dateOnly()
		if !e.end.isZero() {
			e.end = e.end.dateOnly()
		}
	}
	c.emit(where, &e)
}

// recordWhen reads a date field and an optional time field as one
// value. For an end, start supplies the date when the end has only a
// time, and an end time earlier than the start's is on the next day.
func (c *converter) recordWhen(dateText, timeText string, start when) (when, error) {
	dateText, timeText = strings.TrimSpace(dateText), strings.TrimSpace(timeText)
	var w when
	switch {
	case dateText != "":
		var err error
		if w, err = c.layout.parse(dateText); err != nil {
			return when{}, err
		}
	case !start.isZero() && timeText != "":
		w = start
		if w.form == formInstant {
			w = when{t: wallIn(w.t, w.t.Location()), form: formLocal}
		}
		w = w.dateOnly()
	default:
		return when{}, errNoDate
	}
	if timeText == "" || w.form != formDate {
		return w, nil
	}
	h, m, s, err := parseTimeOfDay(timeText)
	if err != nil {
		return when{}, err
	}
	y, mo, d := w.t.Date()
	w = when{t: time.Date(y, mo, d, h, m, s, 0, time.UTC), form: formLocal}
	if !start.isZero() && dateText == "" && start.form != formDate {
		sw := start.t
		if start.form == formInstant {
			sw = wallIn(start.t, start.t.Location())
		}
		if w.t.Before(sw) {
			w.t = w.t.AddDate(0, 0, 1)
		}
	}
	return w, nil
}

// lineEnd returns the index of the line break at or after i, or
// len(text).
func lineEnd(text []byte, i int) int {
	if j := bytes.IndexByte(text[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(text)
}

// truthy reads an all-day flag.
func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "y", "1", "x", "t", "all day", "all-day", "allday", "on":
		return true
	}
	return false
}

// decodeText returns data as UTF-8 without a byte order mark: UTF-16
// (with a byte order mark) and Windows-1252 (text that is not UTF-8 and
// not mostly UTF-8 either) are decoded, and a note says so.
func decodeText(data []byte) ([]byte, string, error) {
	switch {
	case bytes.HasPrefix(data, []byte("\xff\xfe")), bytes.HasPrefix(data, []byte("\xfe\xff")):
		out, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewDecoder().Bytes(data)
		if err != nil {
			return nil, "", fmt.Errorf("decode UTF-16: %v: %w", err, ErrInvalidInput)
		}
		return trimBOM(out), "decoded from UTF-16", nil
	}
	data = trimBOM(data)
	if utf8.Valid(data) || textenc.MostlyUTF8(data) {
		return data, "", nil
	}
	out, err := charmap.Windows1252.NewDecoder().Bytes(data)
	if err != nil {
		return nil, "", fmt.Errorf("decode Windows-1252: %v: %w", err, ErrInvalidInput)
	}
	return out, "not UTF-8: decoded as Windows-1252", nil
}
