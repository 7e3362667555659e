package render

import (
	"net/url"
	"strings"

	"github.com/elmcity/elmcity/shared/fetch"
)

// PublicFeedURL is a feed URL fit to show the public: no user name or
// password, credential-like query values replaced by REDACTED, and
// nothing at all for a URL that is itself the secret (a calendar's
// "private address", such as Google's .../private-<key>/basic.ics).
// Unparsable URLs give "".
func PublicFeedURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return ""
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if fetch.PrivatePathSegment(seg) {
			return ""
		}
	}
	u.User, u.Fragment = nil, ""
	return fetch.LogURL(u.String())
}
