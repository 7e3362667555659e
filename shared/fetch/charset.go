package fetch

import (
	"bytes"
	"fmt"
	"mime"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"

	"github.com/elmcity/elmcity/shared/textenc"
)

// Charset names reported in [Result.Charset], as the WHATWG Encoding
// Standard spells them; a declared charset is reported by its htmlindex
// name, e.g. "iso-8859-2" or "shift_jis".
const (
	CharsetUTF8        = "utf-8"
	CharsetUTF16LE     = "utf-16le"
	CharsetUTF16BE     = "utf-16be"
	CharsetWindows1252 = "windows-1252"
)

// Byte order marks.
const (
	bomUTF8    = "\xEF\xBB\xBF"
	bomUTF16LE = "\xFF\xFE"
	bomUTF16BE = "\xFE\xFF"
)

// decodeCharset returns body as UTF-8 without a byte order mark, and the
// name of the charset it was decoded from. The rules, in order:
//
//  1. A byte order mark wins: UTF-8, UTF-16LE or UTF-16BE.
//  2. A charset declared in Content-Type is used, looked up as browsers do
//     (htmlindex: "iso-8859-1" and "latin1" mean windows-1252). A declared
//     UTF-16 is trusted. Any other declared charset is overridden when the
//     body is valid UTF-8 with non-ASCII bytes: iCalendar's default charset
//     is UTF-8 (RFC 5545 section 3.1.4), servers often label every .ics with
//     a stale default, and legacy text is almost never valid UTF-8 by
//     accident.
//  3. An HTML page (a jsonld feed's) with no charset in Content-Type is
//     read in the charset its <meta> declares, found as browsers find it
//     (x/net/html/charset's prescan of the first 1024 bytes), unless that
//     is UTF-8 or Windows-1252, which the next rule reads anyway.
//  4. Otherwise (absent, unknown or wrong): UTF-8 if the body is valid
//     UTF-8, else Windows-1252, which is what such feeds are in practice.
//
// A body that is not valid UTF-8 but mostly is (mostlyUTF8: UTF-8 with a
// few broken bytes, or a legacy line pasted into a UTF-8 file) is read
// as UTF-8 whenever UTF-8 or Windows-1252 would be (a UTF-8 byte order
// mark, a declared UTF-8 or Latin-1, or nothing declared): repairUTF8
// keeps its UTF-8 and mends only the lines that are broken. Decoding the
// whole of it as Windows-1252 would garble every character of its UTF-8
// ("2005å¹´" for "2005年").
//
// The returned slice may share memory with body.
func decodeCharset(body []byte, contentType string) ([]byte, string, error) {
	switch {
	case bytes.HasPrefix(body, []byte(bomUTF8)):
		body = body[len(bomUTF8):]
		if utf8.Valid(body) {
			return body, CharsetUTF8, nil
		}
		if textenc.MostlyUTF8(body) {
			return repairUTF8(body), CharsetUTF8, nil
		}
		return decodeWindows1252(body), CharsetWindows1252, nil
	case bytes.HasPrefix(body, []byte(bomUTF16LE)):
		return decodeWith(unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM), CharsetUTF16LE, body)
	case bytes.HasPrefix(body, []byte(bomUTF16BE)):
		return decodeWith(unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM), CharsetUTF16BE, body)
	}
	if enc, name := declaredCharset(contentType); enc != nil {
		switch {
		case enc == encoding.Replacement:
			return nil, name, fmt.Errorf("decode charset %s: %w", name, ErrCharset)
		case name == CharsetUTF16LE || name == CharsetUTF16BE:
			return decodeWith(enc, name, body)
		case name == CharsetUTF8:
			// checked below, with the fallback
		case utf8.Valid(body) && !isASCII(body):
			return body, CharsetUTF8, nil
		case enc == charmap.Windows1252 && textenc.MostlyUTF8(body):
			// A stale Latin-1 default over a UTF-8 body with a few
			// broken bytes. Other legacy charsets are trusted as
			// declared: their text can look like UTF-8 in places.
			return repairUTF8(body), CharsetUTF8, nil
		case enc == charmap.Windows1252:
			return decodeWindows1252(body), CharsetWindows1252, nil
		default:
			return decodeWith(enc, name, body)
		}
	}
	if enc, name := metaCharset(body, contentType); enc != nil {
		return decodeWith(enc, name, body)
	}
	switch {
	case utf8.Valid(body):
		return body, CharsetUTF8, nil
	case textenc.MostlyUTF8(body):
		return repairUTF8(body), CharsetUTF8, nil
	}
	return decodeWindows1252(body), CharsetWindows1252, nil
}

// metaCharset returns the charset an HTML page's <meta> declares, when it
// is neither UTF-8 nor Windows-1252 (rule 4 of decodeCharset reads those),
// or nil. Only a body served as HTML is looked at.
func metaCharset(body []byte, contentType string) (encoding.Encoding, string) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || (mt != "text/html" && mt != "application/xhtml+xml") {
		return nil, ""
	}
	// Without a BOM or a declared charset, DetermineEncoding's answer
	// comes from the <meta> prescan, or is UTF-8 or Windows-1252 by
	// default: only another charset is the page's own word.
	enc, name, _ := charset.DetermineEncoding(body, "text/html")
	if enc == nil || name == CharsetUTF8 || name == CharsetWindows1252 {
		return nil, ""
	}
	if n, err := htmlindex.Name(enc); err == nil {
		name = n
	}
	return enc, name
}

// repairUTF8 returns mostly-UTF-8 text as valid UTF-8, line by line: a
// valid line stays as it is; a line with valid multi-byte sequences is
// UTF-8 with broken bytes, each replaced by U+FFFD; a line with none is a
// legacy line pasted in (a Latin-1 description in a UTF-8 file), decoded
// as Windows-1252, so it keeps its accents.
func repairUTF8(body []byte) []byte {
	out := make([]byte, 0, len(body)+len(body)/8)
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line = body[:i+1]
		}
		body = body[len(line):]
		switch {
		case utf8.Valid(line):
			out = append(out, line...)
		case hasMultiByte(line):
			for len(line) > 0 {
				r, size := utf8.DecodeRune(line)
				if r == utf8.RuneError && size <= 1 {
					out = utf8.AppendRune(out, utf8.RuneError)
				} else {
					out = append(out, line[:size]...)
				}
				line = line[size:]
			}
		default:
			out = append(out, decodeWindows1252(line)...)
		}
	}
	return out
}

// hasMultiByte reports whether b holds a valid multi-byte UTF-8
// sequence.
func hasMultiByte(b []byte) bool {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			return true
		}
		i += size
	}
	return false
}

// declaredCharset returns the encoding named by the charset parameter of a
// Content-Type, and its canonical name, or nil if there is none or it is
// unknown.
func declaredCharset(contentType string) (encoding.Encoding, string) {
	if contentType == "" {
		return nil, ""
	}
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["charset"] == "" {
		return nil, ""
	}
	enc, err := htmlindex.Get(params["charset"])
	if err != nil {
		return nil, ""
	}
	name, err := htmlindex.Name(enc)
	if err != nil {
		return nil, ""
	}
	return enc, name
}

func decodeWith(enc encoding.Encoding, name string, body []byte) ([]byte, string, error) {
	out, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return nil, name, fmt.Errorf("decode charset %s: %w: %w", name, ErrCharset, err)
	}
	return out, name, nil
}

// decodeWindows1252 decodes body as the WHATWG Encoding Standard's
// windows-1252. It uses x/text's table, but by hand, because x/text's
// decoder turns the five bytes that Windows-1252 leaves undefined (0x81,
// 0x8D, 0x8F, 0x90, 0x9D) into U+FFFD, whereas WHATWG, and Latin-1, which
// such feeds may really be in, map them to the C1 controls of the same
// value: no byte is mangled into U+FFFD.
func decodeWindows1252(body []byte) []byte {
	out := make([]byte, 0, len(body)+len(body)/4)
	for _, c := range body {
		if c < utf8.RuneSelf {
			out = append(out, c)
			continue
		}
		r := charmap.Windows1252.DecodeByte(c)
		if r == utf8.RuneError {
			r = rune(c)
		}
		out = utf8.AppendRune(out, r)
	}
	return out
}

// isASCII is hand-written: neither bytes nor utf8 has it.
func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
