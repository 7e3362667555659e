package calendar

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// Limits of the repair pass that keep a hostile feed from costing more
// than its size.
const (
	// maxDepth is the deepest component nesting kept; deeper components
	// are dropped whole.
	maxDepth = 12
	// maxParamValue caps a parameter value (go-ical decodes parameter
	// values one byte at a time by string concatenation).
	maxParamValue = 1024
	// maxParams caps the parameters of one property.
	maxParams = 64
)

// repairLog collects the repair notes of one feed, each once, in order.
type repairLog struct {
	notes []string
	seen  map[string]int
}

// add records a note; repeated notes are counted, not repeated.
func (l *repairLog) add(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if l.seen == nil {
		l.seen = make(map[string]int)
	}
	if _, ok := l.seen[msg]; ok {
		l.seen[msg]++
		return
	}
	l.seen[msg] = 1
	l.notes = append(l.notes, msg)
}

// list returns the notes, with a count for those seen more than once.
func (l *repairLog) list() []string {
	out := make([]string, 0, len(l.notes))
	for _, n := range l.notes {
		if c := l.seen[n]; c > 1 {
			n = fmt.Sprintf("%s (%d times)", n, c)
		}
		out = append(out, n)
	}
	return out
}

// contentLine is one unfolded, tokenised content line.
type contentLine struct {
	name   string
	params []param
	value  string
}

// param is one property parameter with its values.
type param struct {
	name   string
	values []string
}

// repairFeed normalises raw feed bytes into text go-ical decodes without
// error: one VCALENDAR, CRLF line ends, folded lines joined, clean
// parameters, balanced BEGIN/END. It reports whether anything resembling
// iCalendar was found.
func repairFeed(data []byte, log *repairLog) (lines []contentLine, ok bool) {
	data = decodeUnicode(data, log)
	physical := splitLines(data, log)
	logical := unfold(physical, log)
	tokens := make([]contentLine, 0, len(logical))
	for _, raw := range logical {
		line, legacy := decodeText(raw, log)
		line = dropControls(line, log)
		if strings.TrimSpace(line) == "" {
			continue
		}
		cl, ok := tokenize(line)
		if !ok {
			log.add("dropped a line that is not a content line")
			continue
		}
		if legacy {
			cl.params = append(cl.params, param{name: charsetMarker, values: []string{"WINDOWS-1252"}})
		}
		tokens = append(tokens, cl)
	}
	return structure(tokens, log)
}

// decodeUnicode strips a UTF-8 byte order mark and converts UTF-16 to
// UTF-8.
func decodeUnicode(data []byte, log *repairLog) []byte {
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		log.add("removed the UTF-8 byte order mark")
		return data[3:]
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return decodeUTF16(data, unicode.ExpectBOM, unicode.LittleEndian, log)
	case len(data) >= 4 && data[0] != 0 && data[1] == 0 && data[2] != 0 && data[3] == 0:
		return decodeUTF16(data, unicode.IgnoreBOM, unicode.LittleEndian, log)
	case len(data) >= 4 && data[0] == 0 && data[1] != 0 && data[2] == 0 && data[3] != 0:
		return decodeUTF16(data, unicode.IgnoreBOM, unicode.BigEndian, log)
	}
	return data
}

// decodeUTF16 decodes UTF-16 text, keeping the input if it cannot.
func decodeUTF16(data []byte, bom unicode.BOMPolicy, order unicode.Endianness, log *repairLog) []byte {
	out, err := unicode.UTF16(order, bom).NewDecoder().Bytes(data)
	if err != nil {
		return data
	}
	log.add("decoded UTF-16 text")
	return out
}

// splitLines splits on CRLF, bare LF or, when the file has no LF at all,
// bare CR.
func splitLines(data []byte, log *repairLog) [][]byte {
	// bytes.Split returns capacity-limited slices; keep them so, so
	// that appends to a line (unfold) copy it rather than write into
	// the caller's input.
	if bytes.IndexByte(data, '\n') < 0 {
		if bytes.IndexByte(data, '\r') >= 0 {
			log.add("converted bare CR line endings")
			return bytes.Split(data, []byte{'\r'})
		}
		return [][]byte{data[:len(data):len(data)]}
	}
	lines := bytes.Split(data, []byte{'\n'})
	bareLF := false
	for i, l := range lines {
		if n := len(l); n > 0 && l[n-1] == '\r' {
			lines[i] = l[: n-1 : n-1]
		} else if i < len(lines)-1 {
			bareLF = true
		}
	}
	if bareLF {
		log.add("converted bare LF line endings")
	}
	return lines
}

// unfold joins folded lines. A line that starts with a space or a tab
// continues the previous one (RFC 5545 section 3.1); so does a line that
// cannot start a content line, which is how feeds that forget to fold show
// up (the join keeps the break as an escaped newline).
func unfold(lines [][]byte, log *repairLog) [][]byte {
	// Lines are capacity-limited slices of the input (see splitLines),
	// so appending to one copies it and never writes into the input.
	folded := make([][]byte, 0, len(lines))
	for _, l := range lines {
		switch {
		case len(l) > 0 && (l[0] == ' ' || l[0] == '\t'):
			if len(folded) == 0 {
				folded = append(folded, l[1:])
				continue
			}
			folded[len(folded)-1] = append(folded[len(folded)-1], l[1:]...)
		case len(bytes.TrimSpace(l)) == 0:
			continue
		default:
			folded = append(folded, l)
		}
	}
	out := folded[:0]
	for _, l := range folded {
		if !startsContentLine(l) && len(out) > 0 {
			log.add("joined a line that was not folded")
			last := append(out[len(out)-1], '\\', 'n')
			out[len(out)-1] = append(last, l...)
			continue
		}
		out = append(out, l)
	}
	return out
}

// knownName reports a property name that may appear in mixed case.
func knownName(name string) bool {
	switch name {
	case "BEGIN", "END", "DTSTART", "DTEND", "DURATION", "SUMMARY", "DESCRIPTION",
		"LOCATION", "UID", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID", "STATUS",
		"SEQUENCE", "URL", "CATEGORIES", "TZID", "DTSTAMP", "VERSION", "PRODID",
		"TZOFFSETFROM", "TZOFFSETTO", "TZNAME":
		return true
	}
	return strings.HasPrefix(name, "X-")
}

// startsContentLine reports whether l looks like "NAME:" or "NAME;": a
// name of letters, digits and dashes that is upper-case or a known
// property.
func startsContentLine(l []byte) bool {
	i := bytes.IndexAny(l, ":;")
	if i <= 0 {
		return false
	}
	name := l[:i]
	lower := false
	for _, c := range name {
		switch {
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		case c >= 'a' && c <= 'z':
			lower = true
		default:
			return false
		}
	}
	if !lower {
		return true
	}
	return knownName(strings.ToUpper(string(name)))
}

// repairedProdID is the PRODID given to a feed that has none; Stats
// reports it as "".
const repairedProdID = "-//elmcity//repaired//EN"

// Private parameters the repair pass adds for the interpretation; they
// never leave the package.
const (
	// charsetMarker marks a line decoded from Windows-1252.
	charsetMarker = "X-ELMCITY-CHARSET"
	// calendarMarker is a property naming the VCALENDAR (0, 1, ...) a
	// top-level component came from when several were merged.
	calendarMarker = "X-ELMCITY-CALENDAR"
)

// decodeText returns l as UTF-8 and reports whether it was decoded from
// Windows-1252. A line that is valid UTF-8 is kept. A line that is not,
// but holds no valid multi-byte UTF-8 sequence either, is Windows-1252
// (a superset of Latin-1's printable range) and is decoded as such, so
// Latin-1 feeds keep their accents instead of turning into U+FFFD. A
// line of UTF-8 with a few broken bytes keeps its UTF-8 and gets U+FFFD
// for the broken bytes only.
func decodeText(l []byte, log *repairLog) (string, bool) {
	if utf8.Valid(l) {
		return string(l), false
	}
	multi := false
	for i := 0; i < len(l); {
		r, size := utf8.DecodeRune(l[i:])
		if r != utf8.RuneError && size > 1 {
			multi = true
			break
		}
		i += size
	}
	if multi {
		log.add("replaced invalid UTF-8 bytes in UTF-8 text with U+FFFD")
		var sb strings.Builder
		sb.Grow(len(l) + 8)
		for len(l) > 0 {
			r, size := utf8.DecodeRune(l)
			if r == utf8.RuneError && size <= 1 {
				sb.WriteRune(utf8.RuneError)
			} else {
				sb.Write(l[:size])
			}
			l = l[size:]
		}
		return sb.String(), false
	}
	log.add("decoded non-UTF-8 text as Windows-1252")
	dec := charmap.Windows1252
	var sb strings.Builder
	sb.Grow(len(l) + 8)
	for _, c := range l {
		if c < utf8.RuneSelf {
			sb.WriteByte(c)
			continue
		}
		sb.WriteRune(dec.DecodeByte(c))
	}
	return sb.String(), true
}

// dropControls removes C0 control characters other than tab, DEL, and
// the C1 controls that undefined Windows-1252 bytes decode to.
func dropControls(s string, log *repairLog) string {
	clean := true
	for _, r := range s {
		if isControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	log.add("removed control characters")
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return -1
		}
		return r
	}, s)
}

// isControl reports a character no calendar text should carry.
func isControl(r rune) bool {
	return (r < 0x20 && r != '\t') || (r >= 0x7F && r <= 0x9F) || r == 0xFEFF
}

// tokenize splits a content line into name, parameters and value,
// tolerating what go-ical rejects or panics on: unterminated or misplaced
// quotes, parameters without "=", spaces around the name.
func tokenize(line string) (contentLine, bool) {
	i := indexParamOrValue(line)
	if i < 0 {
		return contentLine{}, false
	}
	name := strings.ToUpper(strings.TrimSpace(line[:i]))
	if !validName(name) {
		return contentLine{}, false
	}
	cl := contentLine{name: name}
	rest := line[i:]
	for len(rest) > 0 && rest[0] == ';' {
		rest = rest[1:]
		var p param
		var ok bool
		p, rest, ok = tokenizeParam(rest)
		if ok && len(cl.params) < maxParams {
			cl.params = append(cl.params, p)
		}
	}
	if len(rest) == 0 || rest[0] != ':' {
		return contentLine{}, false
	}
	cl.value = rest[1:]
	return cl, true
}

// indexParamOrValue is strings.IndexAny(s, ";:") for the hot path of
// tokenize, without building a character set on every call.
func indexParamOrValue(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ';' || c == ':' {
			return i
		}
	}
	return -1
}

// tokenizeParam reads one "NAME=value,value" from s, which follows a ';'.
// It returns ok false for a parameter that is kept out of the output (no
// name or no "="), having consumed it.
func tokenizeParam(s string) (param, string, bool) {
	end := strings.IndexAny(s, "=;:")
	if end < 0 {
		return param{}, "", false
	}
	if s[end] != '=' {
		// "DTSTART;VALUE:..." — a parameter without a value.
		return param{}, s[end:], false
	}
	p := param{name: strings.ToUpper(strings.TrimSpace(s[:end]))}
	s = s[end+1:]
	for {
		var v string
		v, s = tokenizeParamValue(s)
		if len(v) > maxParamValue {
			v = v[:maxParamValue]
			for !utf8.ValidString(v) {
				v = v[:len(v)-1]
			}
		}
		p.values = append(p.values, v)
		if len(s) == 0 || s[0] != ',' {
			break
		}
		s = s[1:]
	}
	return p, s, validName(p.name)
}

// tokenizeParamValue reads one parameter value: quoted, or up to the next
// ';', ':' or ','. A quote without its closing quote is taken literally
// and dropped; text between a closing quote and the next delimiter is
// kept.
func tokenizeParamValue(s string) (string, string) {
	// Most values have no quotes: the text up to the next delimiter.
	if j := strings.IndexAny(s, "\";:,"); j >= 0 && s[j] != '"' {
		return strings.TrimSpace(s[:j]), s[j:]
	}
	var sb strings.Builder
	for len(s) > 0 {
		c := s[0]
		switch {
		case c == '"':
			if j := strings.IndexByte(s[1:], '"'); j >= 0 {
				sb.WriteString(s[1 : 1+j])
				s = s[j+2:]
				continue
			}
			s = s[1:]
		case c == ';' || c == ':' || c == ',':
			return strings.TrimSpace(sb.String()), s
		default:
			j := strings.IndexAny(s, "\";:,")
			if j < 0 {
				j = len(s)
			}
			sb.WriteString(s[:j])
			s = s[j:]
		}
	}
	return strings.TrimSpace(sb.String()), s
}

// validName reports a property or parameter name of letters, digits,
// dashes and underscores.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// structure balances BEGIN and END into a single VCALENDAR: components
// outside a VCALENDAR are wrapped, several VCALENDARs are merged, END
// lines that close nothing are dropped, missing ones are added, and VERSION
// and PRODID are supplied when absent.
func structure(tokens []contentLine, log *repairLog) ([]contentLine, bool) {
	out := make([]contentLine, 0, len(tokens)+8)
	out = append(out, contentLine{name: "BEGIN", value: "VCALENDAR"})
	var stack []string // open components below the VCALENDAR
	calendars := 0
	skip := 0 // depth inside a dropped, too deep component
	hasVersion, hasProdID, found := false, false, false
	calProps := make(map[string]bool) // calendar-level properties kept
	closeTo := func(n int) {
		for len(stack) > n {
			top := stack[len(stack)-1]
			log.add("added missing END:%s", top)
			out = append(out, contentLine{name: "END", value: top})
			stack = stack[:len(stack)-1]
		}
	}
	for _, t := range tokens {
		switch t.name {
		case "BEGIN":
			comp := strings.ToUpper(strings.TrimSpace(t.value))
			if !validName(comp) {
				log.add("dropped BEGIN with an invalid component name")
				continue
			}
			found = true
			if skip > 0 {
				skip++
				continue
			}
			if comp == "VCALENDAR" {
				if len(stack) > 0 {
					closeTo(0)
				}
				calendars++
				if calendars == 2 {
					log.add("merged several VCALENDARs into one")
				}
				continue
			}
			if len(stack) == 0 && calendars == 0 {
				log.add("root component is %s, not VCALENDAR; wrapped it", comp)
				calendars++
			}
			if topLevel(comp) && len(stack) > 0 {
				// A VEVENT cannot sit inside another component: the
				// one open lacks its END.
				closeTo(0)
			}
			if len(stack) >= maxDepth {
				log.add("dropped components nested deeper than %d", maxDepth)
				skip = 1
				continue
			}
			stack = append(stack, comp)
			out = append(out, contentLine{name: "BEGIN", value: comp})
			if len(stack) == 1 && calendars > 1 {
				out = append(out, contentLine{name: calendarMarker, value: strconv.Itoa(calendars - 1)})
			}
		case "END":
			comp := strings.ToUpper(strings.TrimSpace(t.value))
			if skip > 0 {
				skip--
				continue
			}
			if comp == "VCALENDAR" {
				closeTo(0)
				continue
			}
			idx := -1
			for i := len(stack) - 1; i >= 0; i-- {
				if stack[i] == comp {
					idx = i
					break
				}
			}
			if idx < 0 && len(stack) > 0 && typo(comp, stack[len(stack)-1]) {
				log.add("read END:%s as END:%s", comp, stack[len(stack)-1])
				idx = len(stack) - 1
				comp = stack[idx]
			}
			if idx < 0 {
				log.add("dropped END:%s that closes nothing", comp)
				continue
			}
			closeTo(idx + 1)
			stack = stack[:idx]
			out = append(out, contentLine{name: "END", value: comp})
		default:
			if skip > 0 {
				continue
			}
			if len(stack) == 0 {
				switch t.name {
				case "VERSION":
					if hasVersion {
						continue
					}
					hasVersion = true
				case "PRODID":
					if hasProdID {
						continue
					}
					hasProdID = true
				}
				if calendars > 1 && calProps[t.name] {
					// Keep the first calendar's properties; a later
					// calendar adds only those the first one lacks.
					continue
				}
				calProps[t.name] = true
			}
			out = append(out, t)
		}
	}
	closeTo(0)
	if !found && calendars == 0 {
		return nil, false
	}
	if !hasVersion {
		log.add("added missing VERSION")
		out = append(out, contentLine{name: "VERSION", value: "2.0"})
	}
	if !hasProdID {
		log.add("added missing PRODID")
		out = append(out, contentLine{name: "PRODID", value: repairedProdID})
	}
	out = append(out, contentLine{name: "END", value: "VCALENDAR"})
	return out, true
}

// topLevel reports a component that only a VCALENDAR contains.
func topLevel(name string) bool {
	switch name {
	case "VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY", "VTIMEZONE", "VAVAILABILITY":
		return true
	}
	return false
}

// typo reports whether got is a misspelling of want: at most two edits
// apart, and at least four letters long.
func typo(got, want string) bool {
	if len(got) < 4 || len(want) < 4 {
		return false
	}
	// Levenshtein distance with two rows.
	prev := make([]int, len(want)+1)
	cur := make([]int, len(want)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(got); i++ {
		cur[0] = i
		for j := 1; j <= len(want); j++ {
			cost := 1
			if got[i-1] == want[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(want)] <= 2
}

// render writes content lines as iCalendar text with CRLF line ends and
// safely quoted parameters. Lines are not folded: go-ical accepts long
// lines.
func render(lines []contentLine) string {
	n := 0
	for _, l := range lines {
		n += len(l.name) + len(l.value) + 3
		for _, p := range l.params {
			n += len(p.name) + 2
			for _, v := range p.values {
				n += len(v) + 3
			}
		}
	}
	var sb strings.Builder
	sb.Grow(n)
	for _, l := range lines {
		writeLine(&sb, l)
	}
	return sb.String()
}

// writeLine writes one content line.
func writeLine(sb *strings.Builder, l contentLine) {
	sb.WriteString(l.name)
	for _, p := range l.params {
		sb.WriteByte(';')
		sb.WriteString(p.name)
		sb.WriteByte('=')
		for i, v := range p.values {
			if i > 0 {
				sb.WriteByte(',')
			}
			v = strings.ReplaceAll(v, `"`, "")
			if strings.ContainsAny(v, ";:,") {
				sb.WriteByte('"')
				sb.WriteString(v)
				sb.WriteByte('"')
			} else {
				sb.WriteString(v)
			}
		}
	}
	sb.WriteByte(':')
	sb.WriteString(l.value)
	sb.WriteString("\r\n")
}
