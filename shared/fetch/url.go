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

// secretParams are query parameter names (lowercase) that carry
// credentials in feed URLs: API keys, tokens, signatures.
var secretParams = []string{"key", "apikey", "api_key", "token", "access_token", "auth", "secret", "password", "pass", "pwd", "sig", "signature", "code", "session", "sid"}

// SecretParam reports whether a query parameter of that name carries a
// credential ("token", "api_key", "X-Amz-Signature", ...).
func SecretParam(name string) bool {
	lk := strings.ToLower(name)
	for _, s := range secretParams {
		if lk == s || strings.HasSuffix(lk, "_"+s) || strings.HasSuffix(lk, "-"+s) {
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

// LogURL returns a feed URL fit for logs and error messages: the host and
// path that tell a feed apart, without its credentials. A password is
// dropped, credential-like query values become REDACTED and a private
// address segment becomes private-REDACTED; text that does not parse as
// a URL becomes "(unparsable url)".
func LogURL(rawURL string) string {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		return "(unparsable url)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
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
	if u.RawQuery != "" {
		q := u.Query()
		changed := false
		for k, vs := range q {
			if SecretParam(k) {
				for i := range vs {
					vs[i] = "REDACTED"
				}
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}
