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

// redact returns rawURL with any password replaced, for error messages.
func redact(rawURL string) string {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		return rawURL
	}
	return u.Redacted()
}
