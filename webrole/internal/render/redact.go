package render

import (
	"net/url"
	"strings"

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
	pub := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
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

// SafeURL returns raw when it is an absolute http or https URL with a
// host, without any user name or password, else "". Every link a
// renderer writes (an event's URL, a source's, a contributor's home page)
// passes through it: feeds are written by strangers, and a javascript:,
// data: or vbscript: link, however disguised (case, leading spaces and
// control characters, entities, percent-escapes), must reach no output.
// It allows rather than denies: any other scheme, a relative URL and
// anything that does not parse give "".
func SafeURL(raw string) string {
	if plainHTTPURL(raw) {
		return raw
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return ""
	}
	u.User = nil
	return u.String()
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
		}
	}
	return true
}
