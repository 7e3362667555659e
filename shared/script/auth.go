package script

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// authToken is one host's credentials: a bearer token or basic
// credentials.
type authToken struct {
	host   string // lower-case host[:port]
	header string // Authorization header value
}

// authTokens holds the credentials of Config.AuthTokens.
type authTokens []authToken

// parseAuthTokens parses the DENO_AUTH_TOKENS form:
// "token@host[:port];user:pass@host". The last "@" separates the
// credentials from the host. Errors never include the credentials.
func parseAuthTokens(s string) (authTokens, error) {
	var out authTokens
	var errs []error
	for i, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		at := strings.LastIndexByte(part, '@')
		if at <= 0 || at == len(part)-1 {
			errs = append(errs, fmt.Errorf("entry %d: want token@host or user:pass@host", i+1))
			continue
		}
		cred, host := part[:at], strings.ToLower(part[at+1:])
		if strings.ContainsAny(host, "/@ ") {
			errs = append(errs, fmt.Errorf("entry %d: host %q is not host[:port]", i+1, host))
			continue
		}
		t := authToken{host: host}
		if user, pass, ok := strings.Cut(cred, ":"); ok {
			t.header = "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
		} else {
			t.header = "Bearer " + cred
		}
		out = append(out, t)
	}
	return out, errors.Join(errs...)
}

// lookup returns the Authorization header for a request URL's scheme and
// host, or "". A token for "host" matches that host on the scheme's
// default port; a token for "host:port" matches only that port.
func (ts authTokens) lookup(scheme, host string) string {
	host = strings.ToLower(host)
	for _, t := range ts {
		if t.host == host ||
			scheme == "https" && t.host+":443" == host ||
			scheme == "http" && t.host+":80" == host {
			return t.header
		}
	}
	return ""
}

// authTransport adds each request's own host's credentials, hop by hop:
// the first request carries none of its own, so a redirect to another
// host gets that host's credentials or none, never the first host's.
type authTransport struct {
	base   http.RoundTripper
	tokens authTokens
}

// RoundTrip implements http.RoundTripper.
func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	h := ""
	if checkScheme(req.URL) == nil {
		h = t.tokens.lookup(req.URL.Scheme, req.URL.Host)
	}
	if h == "" && req.Header.Get("Authorization") == "" {
		return t.base.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	req.Header.Del("Authorization")
	if h != "" {
		req.Header.Set("Authorization", h)
	}
	return t.base.RoundTrip(req)
}

// maxRedirects caps the redirects of one fetch.
const maxRedirects = 5

// checkRedirect allows up to maxRedirects redirects to allowed URLs and
// refuses a downgrade from https to http.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("%w: more than %d redirects", ErrInvalidName, maxRedirects)
	}
	if err := checkScheme(req.URL); err != nil {
		return fmt.Errorf("redirect: %w", err)
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("%w: redirect from https to %s", ErrInvalidName, req.URL.Scheme)
	}
	return nil
}
