package render

import (
	"net/url"
	"strings"
)

// secretParams are query parameter names (lowercase) that carry
// credentials in feed URLs: API keys, tokens, signatures.
var secretParams = []string{"key", "apikey", "api_key", "token", "access_token", "auth", "secret", "password", "pass", "pwd", "sig", "signature", "code", "session", "sid"}

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
		if strings.HasPrefix(strings.ToLower(seg), "private-") || strings.HasPrefix(strings.ToLower(seg), "private_") {
			return ""
		}
	}
	u.User = nil
	if u.RawQuery != "" {
		q := u.Query()
		for k, vs := range q {
			lk := strings.ToLower(k)
			for _, s := range secretParams {
				if lk == s || strings.HasSuffix(lk, "_"+s) || strings.HasSuffix(lk, "-"+s) {
					for i := range vs {
						vs[i] = "REDACTED"
					}
				}
			}
		}
		u.RawQuery = q.Encode()
	}
	u.Fragment = ""
	return u.String()
}
