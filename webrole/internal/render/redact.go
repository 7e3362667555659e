package render

import (
	"net/url"
	"strings"

	"golang.org/x/net/idna"

	"github.com/elmcity/elmcity/shared/fetch"
)

// PublicFeedURL is a feed URL fit to show the public: its scheme, host
// and path only. The query, any user name or password, the fragment and
// path parameters (";jsessionid=...") are left out, since any of them may
// carry a credential; webcal and webcals become https, as the fetcher
// reads them. A URL that is itself the secret (a calendar's "private
// address", such as Google's .../private-<key>/basic.ics), one that is
// not http(s) or webcal, and one that does not parse give "".
func PublicFeedURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || u.Opaque != "" {
		return ""
	}
	switch u.Scheme { // url.Parse lowercases the scheme
	case "http", "https":
	case "webcal", "webcals":
		u.Scheme = "https"
	default:
		return ""
	}
	host, ok := asciiHost(u.Host)
	if !ok {
		return ""
	}
	pub := &url.URL{Scheme: u.Scheme, Host: host, Path: u.Path, RawPath: u.RawPath}
	if strings.IndexByte(u.Path, ';') >= 0 || strings.Contains(strings.ToLower(u.Path), "private") {
		segs := strings.Split(u.Path, "/")
		for i, seg := range segs {
			if fetch.PrivatePathSegment(seg) {
				return ""
			}
			segs[i], _, _ = strings.Cut(seg, ";")
		}
		pub.Path, pub.RawPath = strings.Join(segs, "/"), ""
	}
	return pub.String()
}

// SafeURL returns raw as a URI when it is an absolute http or https URL
// with a host, without any user name or password, else "". Every link a
// renderer writes (an event's URL, a source's, a contributor's home page)
// passes through it: feeds are written by strangers, and a javascript:,
// data: or vbscript: link, however disguised (case, leading spaces and
// control characters, entities, percent-escapes), must reach no output.
// It allows rather than denies: any other scheme, a relative URL and
// anything that does not parse give "".
//
// The result is a URI (RFC 3986), not an IRI: printable ASCII only, as
// RSS readers, feed validators and calendar apps want. A host in another
// script becomes its IDNA (punycode) form; other characters a URI cannot
// hold (non-ASCII, spaces, quotes, angle brackets, braces ...) are
// percent-encoded as UTF-8, in the path, the query and the fragment alike.
func SafeURL(raw string) string {
	if plainHTTPURL(raw) {
		return raw
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return ""
	}
	host, ok := asciiHost(u.Host)
	if !ok {
		return ""
	}
	u.User, u.Host = nil, host
	// url.URL escapes the path and fragment it writes, but not the
	// query, which it keeps as it came.
	u.RawQuery = escapeURIText(u.RawQuery)
	return u.String()
}

// asciiHost is host (with its port, if any) in ASCII: a name in another
// script becomes its IDNA (punycode) form. ok is false for a name IDNA
// refuses.
func asciiHost(host string) (string, bool) {
	if isASCII(host) {
		return host, true
	}
	name, port := host, ""
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		name, port = host[:i], host[i:]
	}
	a, err := idna.Lookup.ToASCII(name)
	if err != nil || !isASCII(a) {
		return "", false
	}
	return a + port, true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// escapeURIText percent-encodes the bytes of s that a URI's query or
// fragment cannot hold as they are (controls, space, non-ASCII, and
// " < > \ ^ ` { | }), and a % that starts no escape; the rest, escapes
// included, stays.
func escapeURIText(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	escaped := false // b holds s up to i, escaped
	for i := 0; i < len(s); i++ {
		c := s[i]
		keep := c > ' ' && c < 0x7f && strings.IndexByte(`"<>\^`+"`"+`{|}`, c) < 0
		if c == '%' {
			keep = i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2])
		}
		switch {
		case keep && escaped:
			b.WriteByte(c)
		case keep:
		default:
			if !escaped {
				b.Grow(len(s) + 16)
				b.WriteString(s[:i])
				escaped = true
			}
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	if !escaped {
		return s
	}
	return b.String()
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// plainHTTPURL is SafeURL's fast path: raw starts with http:// or
// https:// and a host, holds only printable ASCII that needs no escaping
// in a URL, and has no '@' in its authority (no userinfo). Such a string
// is an http(s) URL to every reader, as it stands.
func plainHTTPURL(raw string) bool {
	rest, ok := strings.CutPrefix(raw, "https://")
	if !ok {
		if rest, ok = strings.CutPrefix(raw, "http://"); !ok {
			return false
		}
	}
	if rest == "" || strings.IndexByte("/?#", rest[0]) >= 0 {
		return false
	}
	authority := true
	for i := 0; i < len(rest); i++ {
		switch c := rest[i]; {
		case c <= ' ' || c >= 0x7f, c == '"', c == '<', c == '>', c == '\\', c == '^', c == '`', c == '{', c == '|', c == '}':
			return false
		case c == '/' || c == '?' || c == '#':
			authority = false
		case c == '@' && authority:
			return false
		case c == '%' && (i+2 >= len(rest) || !ishex(rest[i+1]) || !ishex(rest[i+2])):
			return false
		}
	}
	return true
}
