package calendar

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"github.com/elmcity/elmcity/shared/textenc"
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

// repairLog collects the repair notes of one feed, each once, in order,
// up to maxNotes distinct ones.
type repairLog struct {
	notes []string
	seen  map[string]int
	more  int // notes past maxNotes
}

// maxNotes caps the distinct notes of one feed (Stats.Repairs).
const maxNotes = 1000

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
	if len(l.notes) == maxNotes {
		l.more++
		return
	}
	l.seen[msg] = 1
	l.notes = append(l.notes, msg)
}

// merge adds o's notes, with their counts, after l's.
func (l *repairLog) merge(o *repairLog) {
	if l.seen == nil {
		l.seen = make(map[string]int)
	}
	for _, n := range o.notes {
		c := o.seen[n]
		switch _, ok := l.seen[n]; {
		case ok:
			l.seen[n] += c
		case len(l.notes) == maxNotes:
			l.more += c
		default:
			l.seen[n] = c
			l.notes = append(l.notes, n)
		}
	}
	l.more += o.more
}

// list returns the notes, with a count for those seen more than once.
func (l *repairLog) list() []string {
	out := make([]string, 0, len(l.notes)+1)
	for _, n := range l.notes {
		if c := l.seen[n]; c > 1 {
			n = fmt.Sprintf("%s (%d times)", n, c)
		}
		out = append(out, n)
	}
	if l.more > 0 {
		out = append(out, fmt.Sprintf("%d more notes left out", l.more))
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

// repairLimits bounds the repair pass.
type repairLimits struct {
	// ctx is polled every few thousand lines; when it is done the pass
	// stops and reports nothing found.
	ctx context.Context
	// maxComponents caps the top-level components kept (0: no cap).
	maxComponents int
}

// linePoll is how many lines a loop over a feed's lines handles between
// looks at the context: a millisecond or so.
const linePoll = 4096

// repairFeedLimited is repairFeed within limits. The lines pass through
// it one at a time, split, unfolded, decoded, tokenized and structured,
// so that only the structured lines are ever held for the whole feed.
// The notes keep the order of the stages.
func repairFeedLimited(data []byte, log *repairLog, lim repairLimits) (lines []contentLine, ok bool) {
	data = decodeUnicode(data, log)
	// A file that is not UTF-8 at all decodes every broken line as
	// Windows-1252, even one with a multi-byte sequence by accident.
	legacyFile := !utf8.Valid(data) && !textenc.MostlyUTF8(data)
	var unfoldLog, lineLog, structLog repairLog
	cancelled := false
	tokens := func(yield func(contentLine) bool) {
		n := 0
		for raw := range logicalLines(data, log, &unfoldLog) {
			if n++; n%linePoll == 0 && lim.ctx.Err() != nil {
				cancelled = true
				return
			}
			line, legacy := decodeText(raw, legacyFile, &lineLog)
			line = dropControls(line, &lineLog)
			if strings.TrimSpace(line) == "" {
				continue
			}
			cl, ok := tokenize(line)
			if !ok {
				lineLog.add("dropped a line that is not a content line")
				continue
			}
			if legacy {
				cl.params = append(cl.params, param{name: charsetMarker, values: []string{"WINDOWS-1252"}})
			}
			if !yield(cl) {
				return
			}
		}
	}
	lines, ok = structure(tokens, lineCount(data), &structLog, lim)
	if cancelled || !ok && lim.ctx.Err() != nil {
		return nil, false
	}
	log.merge(&unfoldLog)
	log.merge(&lineLog)
	log.merge(&structLog)
	return lines, ok
}

// lineCount bounds the lines of data: its line ends, plus one.
func lineCount(data []byte) int {
	if n := bytes.Count(data, []byte{'\n'}); n > 0 {
		return n + 1
	}
	return bytes.Count(data, []byte{'\r'}) + 1
}

// logicalLines yields the logical lines of data: split on CRLF, bare LF
// or, when the data has no LF at all, bare CR (noted in log), and
// unfolded (noted in unfoldLog). A line that starts with a space or a
// tab continues the previous one (RFC 5545 section 3.1); so does a line
// that cannot start a content line, which is how feeds that forget to
// fold show up (the join keeps the break as an escaped newline). Blank
// lines are dropped. The lines yielded are capacity-limited slices of
// data, or copies: appending to one never writes into data.
func logicalLines(data []byte, log, unfoldLog *repairLog) iter.Seq[[]byte] {
	sep := byte('\n')
	if bytes.IndexByte(data, '\n') < 0 {
		if bytes.IndexByte(data, '\r') >= 0 {
			log.add("converted bare CR line endings")
			sep = '\r'
		}
	} else {
		// A line end without CR, before the last line, is a bare LF.
		for i := 0; ; {
			j := bytes.IndexByte(data[i:], '\n')
			if j < 0 {
				break
			}
			if i+j == 0 || data[i+j-1] != '\r' {
				log.add("converted bare LF line endings")
				break
			}
			i += j + 1
		}
	}
	return func(yield func([]byte) bool) {
		// cur is the line being unfolded (continuation lines joined);
		// prev the logical line before it, held back in case cur does
		// not start a content line and joins it.
		var cur, prev []byte
		haveCur, havePrev := false, false
		flush := func(x []byte) bool {
			if havePrev && !startsContentLine(x) {
				unfoldLog.add("joined a line that was not folded")
				prev = append(append(prev, '\\', 'n'), x...)
				return true
			}
			if havePrev && !yield(prev) {
				return false
			}
			prev, havePrev = x, true
			return true
		}
		for rest := data; ; {
			j := bytes.IndexByte(rest, sep)
			l := rest
			if j >= 0 {
				l = rest[:j:j]
			} else {
				l = rest[:len(rest):len(rest)]
			}
			if sep == '\n' && len(l) > 0 && l[len(l)-1] == '\r' {
				l = l[: len(l)-1 : len(l)-1]
			}
			switch {
			case len(l) > 0 && (l[0] == ' ' || l[0] == '\t'):
				if !haveCur {
					cur, haveCur = l[1:], true
				} else {
					cur = append(cur, l[1:]...)
				}
			case len(bytes.TrimSpace(l)) == 0:
			default:
				if haveCur && !flush(cur) {
					return
				}
				cur, haveCur = l, true
			}
			if j < 0 {
				break
			}
			rest = rest[j+1:]
		}
		if haveCur && !flush(cur) {
			return
		}
		if havePrev {
			yield(prev)
		}
	}
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
// for the broken bytes only. In a legacy file (not mostlyUTF8) every
// line that is not valid UTF-8 is Windows-1252.
func decodeText(l []byte, legacyFile bool, log *repairLog) (string, bool) {
	if utf8.Valid(l) {
		return string(l), false
	}
	multi := false
	for i := 0; i < len(l) && !legacyFile; {
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
		if len(cl.params) == maxParams {
			rest = skipParam(rest)
			continue
		}
		var p param
		var ok bool
		p, rest, ok = tokenizeParam(rest)
		if ok {
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

// skipParam passes over what tokenizeParam would read from s, without
// keeping it: the parameters past maxParams.
func skipParam(s string) string {
	end := strings.IndexAny(s, "=;:")
	if end < 0 {
		return ""
	}
	if s[end] != '=' {
		return s[end:]
	}
	s = s[end+1:]
	for {
		s = skipParamValue(s)
		if len(s) == 0 || s[0] != ',' {
			return s
		}
		s = s[1:]
	}
}

// skipParamValue passes over what tokenizeParamValue would read.
func skipParamValue(s string) string {
	if j := strings.IndexAny(s, "\";:,"); j >= 0 && s[j] != '"' {
		return s[j:]
	}
	for len(s) > 0 {
		switch c := s[0]; {
		case c == '"':
			if j := strings.IndexByte(s[1:], '"'); j >= 0 {
				s = s[j+2:]
				continue
			}
			s = s[1:]
		case c == ';' || c == ':' || c == ',':
			return s
		default:
			j := strings.IndexAny(s, "\";:,")
			if j < 0 {
				j = len(s)
			}
			s = s[j:]
		}
	}
	return s
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
func structure(tokens iter.Seq[contentLine], capacity int, log *repairLog, lim repairLimits) ([]contentLine, bool) {
	out := make([]contentLine, 0, capacity+8)
	components := 0 // top-level components opened
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
	i := 0
	for t := range tokens {
		if i++; i%linePoll == 0 && lim.ctx.Err() != nil {
			return nil, false
		}
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
			if len(stack) == 0 {
				components++
				if lim.maxComponents > 0 && components > lim.maxComponents {
					log.add("more than %d components (Config.MaxComponents); the rest are dropped", lim.maxComponents)
					skip = 1
					continue
				}
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
