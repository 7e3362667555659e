package feedkind

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// icsWriter writes the converted calendar.
//
// It is written by hand rather than through github.com/emersion/go-ical's
// Encoder, which the parser decodes with: that encoder does not fold
// lines (RFC 5545 section 3.1 asks for lines of at most 75 octets), it
// refuses a parameter value with a double quote instead of dropping it,
// and it builds a map per component and per property, which would cost
// more than the rest of a conversion. The writer escapes TEXT values as
// section 3.3.11 says (backslash, semicolon, comma, newline), drops
// other control characters, writes valid UTF-8 only, and folds each
// line at 75 octets without splitting a character.
type icsWriter struct {
	buf     bytes.Buffer
	dtstamp string
	line    []byte // scratch: the line being built
}

// init writes the VCALENDAR header.
func (w *icsWriter) init(kind Kind, opt Options) {
	stamp := opt.Stamp
	if stamp.IsZero() {
		stamp = time.Unix(0, 0)
	}
	w.dtstamp = stamp.UTC().Format("20060102T150405Z")
	w.raw("BEGIN:VCALENDAR")
	w.raw("VERSION:2.0")
	w.raw("PRODID:-//elmcity//feedkind " + string(kind) + "//EN")
	w.raw("CALSCALE:GREGORIAN")
}

// name writes X-WR-CALNAME, the source's own title, if any.
func (w *icsWriter) name(s string) {
	if s = clip(oneLine(s), maxTitle); s != "" {
		w.text("X-WR-CALNAME", s)
	}
}

// finish closes the VCALENDAR and returns the text.
func (w *icsWriter) finish() []byte {
	w.raw("END:VCALENDAR")
	return w.buf.Bytes()
}

func (w *icsWriter) begin() { w.raw("BEGIN:VEVENT") }
func (w *icsWriter) end()   { w.raw("END:VEVENT") }

// stamp writes DTSTAMP.
func (w *icsWriter) stamp() { w.prop("DTSTAMP", "", w.dtstamp) }

// raw writes a short line that needs no folding.
func (w *icsWriter) raw(s string) {
	w.buf.WriteString(s)
	w.buf.WriteString("\r\n")
}

// prop writes a property whose value is already in iCalendar form.
func (w *icsWriter) prop(name, params, value string) {
	w.line = append(w.line[:0], name...)
	w.line = append(w.line, params...)
	w.line = append(w.line, ':')
	w.line = append(w.line, value...)
	w.fold()
}

// text writes a property with a TEXT value, escaped.
func (w *icsWriter) text(name, value string) {
	w.line = append(w.line[:0], name...)
	w.line = append(w.line, ':')
	w.line = appendText(w.line, value)
	w.fold()
}

// categories writes CATEGORIES with each value escaped.
func (w *icsWriter) categories(list []string) {
	w.line = append(w.line[:0], "CATEGORIES:"...)
	for i, c := range list {
		if i > 0 {
			w.line = append(w.line, ',')
		}
		w.line = appendText(w.line, c)
	}
	w.fold()
}

// fold writes w.line folded at 75 octets, each continuation line
// beginning with a space, never inside a UTF-8 sequence.
func (w *icsWriter) fold() {
	s := w.line
	limit := 75
	for len(s) > limit {
		cut := limit
		for cut > 1 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		w.buf.Write(s[:cut])
		w.buf.WriteString("\r\n ")
		s = s[cut:]
		limit = 74 // the leading space counts
	}
	w.buf.Write(s)
	w.buf.WriteString("\r\n")
}

// appendText appends s escaped as an RFC 5545 TEXT value: valid UTF-8,
// backslash, semicolon and comma escaped, line breaks as \n, other
// control characters dropped.
func appendText(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\\' || c == ';' || c == ',':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				if i+1 >= len(s) || s[i+1] != '\n' {
					dst = append(dst, '\\', 'n')
				}
			case c == '\t':
				dst = append(dst, ' ')
			case c < 0x20 || c == 0x7f:
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = utf8.AppendRune(dst, unicode.ReplacementChar)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, '\\', 'n')
		case unicode.Is(unicode.Cc, r):
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

// clip cuts s to at most n bytes at a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// oneLine returns s, valid UTF-8, with every run of white space (line
// breaks included) made one space, trimmed.
func oneLine(s string) string {
	simple := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= utf8.RuneSelf || (c == ' ' && (i == 0 || i == len(s)-1 || s[i+1] == ' ')) {
			simple = false
			break
		}
	}
	if simple {
		return s
	}
	return strings.Join(strings.Fields(strings.ToValidUTF8(s, "\uFFFD")), " ")
}

// cleanURL returns s if it is an absolute http(s) URL of reasonable
// length without spaces or control characters, else "".
func cleanURL(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxURL || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || r == utf8.RuneError }) {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return s
}

// resolveURL resolves ref against base; it returns ref as it is when
// either does not parse, and "" for an empty ref.
func resolveURL(base, ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" || base == "" {
		return ref
	}
	r, err := url.Parse(ref)
	if err != nil || r.IsAbs() {
		return ref
	}
	b, err := url.Parse(base)
	if err != nil {
		return ref
	}
	return b.ResolveReference(r).String()
}

// hashUID returns a UID made from parts: "h-" and 32 hex digits of their
// SHA-256 (NUL-separated), "@feedkind.elmcity". The same parts always
// give the same UID, so an event without an id of its own keeps its UID
// from one fetch to the next as long as its title, start and location
// do not change.
func hashUID(parts ...string) string {
	h := sha256.New()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(p))
	}
	sum := h.Sum(nil)
	return "h-" + hex.EncodeToString(sum[:16]) + "@feedkind.elmcity"
}
