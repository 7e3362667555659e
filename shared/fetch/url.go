package fetch

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// NormalizeURL parses a feed URL and returns the URL a [Fetcher] requests:
// webcal:// and webcals:// become https:// (calendar servers that publish
// webcal links serve them over TLS), the fragment is dropped, and anything
// but an absolute http or https URL with a host is refused with [ErrBadURL].
// A URL with userinfo is refused too, so credentials in a feed URL are never
// sent. The error never contains the password.
func NormalizeURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		// url.Parse's own *url.Error repeats the whole URL, password
		// included; keep only its reason.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return nil, fmt.Errorf("parse feed url: %w: %w", ErrBadURL, err)
	}
	if err := checkURL(u); err != nil {
		return nil, err
	}
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

// checkURL maps webcal schemes to https in place and checks what a Fetcher
// may request; it runs on feed URLs and on every redirect target.
func checkURL(u *url.URL) error {
	switch u.Scheme { // url.Parse lowercases the scheme
	case "http", "https":
	case "webcal", "webcals":
		u.Scheme = "https"
	default:
		return fmt.Errorf("check feed url: scheme %q: %w", u.Scheme, ErrBadURL)
	}
	switch {
	case u.Opaque != "" || u.Hostname() == "":
		return fmt.Errorf("check feed url: no host: %w", ErrBadURL)
	case u.User != nil:
		return fmt.Errorf("check feed url: credentials in url: %w", ErrBadURL)
	}
	return nil
}

// harmlessParams are the query parameter names (lowercase) whose values
// LogURL keeps: display options that no calendar server uses as a
// credential. Every other value is redacted, whatever its name.
var harmlessParams = []string{
	"format", "output", "alt", "view", "mode", "type", "tz", "timezone",
	"lang", "language", "locale", "category", "categories", "cat", "tag",
	"tags", "days", "from", "to", "start", "end", "limit", "count",
}

// harmlessParam reports whether LogURL may keep the value of a query
// parameter of that (unescaped) name.
func harmlessParam(name string) bool {
	for _, h := range harmlessParams {
		if strings.EqualFold(name, h) {
			return true
		}
	}
	return false
}

// PrivatePathSegment reports a path segment that is itself a calendar's
// secret address, as Google's .../private-<key>/basic.ics.
func PrivatePathSegment(seg string) bool {
	l := strings.ToLower(seg)
	return strings.HasPrefix(l, "private-") || strings.HasPrefix(l, "private_")
}

// LogURL returns a feed URL fit for logs and error messages: the scheme,
// host and path that tell a feed apart, without its credentials. Any
// userinfo becomes REDACTED, a private address segment becomes
// private-REDACTED, the fragment is dropped, and every query value is
// REDACTED unless its name is a known display option (format, view, tz,
// lang, type, category ...). The query is read pair by pair as written,
// splitting at '&' and ';': a pair that does not unescape, or that has no
// '=', is redacted whole, never dropped or left in the clear. Text that
// does not parse as a URL becomes "(unparsable url)".
func LogURL(rawURL string) string {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		return "(unparsable url)"
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	if strings.Contains(strings.ToLower(u.Path), "private") {
		segs := strings.Split(u.Path, "/")
		for i, seg := range segs {
			if PrivatePathSegment(seg) {
				segs[i] = "private-REDACTED"
			}
		}
		u.Path, u.RawPath = strings.Join(segs, "/"), ""
	}
	u.RawQuery = redactQuery(u.RawQuery)
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// redactQuery redacts a raw query string pair by pair, keeping its
// separators, so nothing in it is lost or reordered.
func redactQuery(raw string) string {
	if raw == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(len(raw))
	for {
		i := strings.IndexAny(raw, "&;")
		if i < 0 {
			b.WriteString(redactPair(raw))
			return b.String()
		}
		b.WriteString(redactPair(raw[:i]))
		b.WriteByte(raw[i])
		raw = raw[i+1:]
	}
}

// redactPair is one name=value pair of a query with its value REDACTED
// unless the name is harmless and the value unescapes. A pair whose name
// does not unescape, or a bare value with no '=' (a token on its own),
// becomes REDACTED whole.
func redactPair(pair string) string {
	if pair == "" {
		return ""
	}
	rawName, rawValue, hasValue := strings.Cut(pair, "=")
	name, err := url.QueryUnescape(rawName)
	if err != nil || !hasValue {
		if err == nil && harmlessParam(name) {
			return pair
		}
		return "REDACTED"
	}
	if harmlessParam(name) {
		if _, err := url.QueryUnescape(rawValue); err == nil {
			return pair
		}
	}
	return rawName + "=REDACTED"
}
