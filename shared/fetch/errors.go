package fetch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
)

// Sentinel errors. Every error that [Fetcher.Fetch] returns is an [*Error]
// that wraps one of these, a context error, or the underlying network error.
var (
	// ErrBadURL means the feed URL (or a redirect target) is not an absolute
	// http, https, webcal or webcals URL, or carries credentials.
	ErrBadURL = errors.New("bad feed url")
	// ErrBlocked means the address being dialled is not globally reachable
	// (see [IsGlobal]) and [Config.AllowPrivate] is false.
	ErrBlocked = errors.New("address not allowed")
	// ErrTooLarge means the body exceeded [Config.MaxBytes], on the wire or
	// after decompression. The fetch is aborted; a body is never truncated.
	ErrTooLarge = errors.New("feed too large")
	// ErrTooManyRedirects means the server redirected more than
	// [Config.MaxRedirects] times.
	ErrTooManyRedirects = errors.New("too many redirects")
	// ErrCharset means the body is in a charset that cannot be decoded, such
	// as one the WHATWG Encoding Standard maps to its "replacement" encoding.
	ErrCharset = errors.New("undecodable charset")
	// ErrStatus means the server answered with a status other than 2xx, or
	// with 304 to an unconditional request. [Error.Status] holds the code.
	ErrStatus = errors.New("unexpected http status")
)

// Class is the kind of failure an [*Error] records, for the feed statistics.
// Its values are stable strings that can be stored.
type Class string

// The classes of fetch failure.
const (
	// ClassDNS is a failed name lookup.
	ClassDNS Class = "dns"
	// ClassConnect is a failed TCP connect, such as connection refused.
	ClassConnect Class = "connect"
	// ClassTLS is a failed TLS handshake, such as an untrusted certificate.
	ClassTLS Class = "tls"
	// ClassTimeout is a connect or total timeout, or the caller's deadline.
	ClassTimeout Class = "timeout"
	// ClassHTTP4xx is a 4xx status.
	ClassHTTP4xx Class = "http_4xx"
	// ClassHTTP5xx is a 5xx status.
	ClassHTTP5xx Class = "http_5xx"
	// ClassTooLarge is [ErrTooLarge].
	ClassTooLarge Class = "too_large"
	// ClassRedirects is [ErrTooManyRedirects].
	ClassRedirects Class = "redirects"
	// ClassBlocked is [ErrBlocked]: an SSRF attempt or a misconfigured feed.
	ClassBlocked Class = "blocked"
	// ClassBadURL is [ErrBadURL].
	ClassBadURL Class = "bad_url"
	// ClassCharset is [ErrCharset].
	ClassCharset Class = "charset"
	// ClassOther is anything else, including a cancelled context, a
	// connection reset mid-body, corrupt gzip and unexpected statuses.
	ClassOther Class = "other"
)

// Error is the error [Fetcher.Fetch] returns. Read it with errors.As.
type Error struct {
	// URL is the feed URL as given to Fetch, with any password redacted.
	URL string
	// Class is the kind of failure.
	Class Class
	// Status is the HTTP status code, or 0 when no response was received.
	Status int
	// Err is the underlying error.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("fetch feed %s: %s", e.URL, e.Reason())
}

// Reason is what went wrong, without the feed's URL: for a report that
// names the feed already.
func (e *Error) Reason() string { return reason(e.Err).Error() }

// reason is err without the wrappers that repeat the operation and the
// URL the Error names already (net/http's *url.Error: Get "...": ...).
func reason(err error) error {
	for {
		ue, ok := err.(*url.Error) //nolint:errorlint // only the outermost wrapper is peeled
		if !ok {
			return err
		}
		err = ue.Err
	}
}

// Unwrap returns the underlying error, so errors.Is matches the sentinels
// and context errors through an *Error.
func (e *Error) Unwrap() error { return e.Err }

// ClassOf returns the [Class] of an error from [Fetcher.Fetch]: "" for nil,
// [ClassOther] for an error that is not an [*Error].
func ClassOf(err error) Class {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Class
	}
	return ClassOther
}

// tlsError marks a failed TLS handshake, whose errors from crypto/tls are
// mostly unexported types or plain strings and so cannot be recognised
// later.
type tlsError struct{ err error }

func (e *tlsError) Error() string { return "tls handshake: " + e.err.Error() }
func (e *tlsError) Unwrap() error { return e.err }

// classify maps a transport or body error to its Class. The order matters:
// our own sentinels first, then timeouts (whatever phase they hit), then the
// phase the failure happened in.
func classify(err error) Class {
	switch {
	case errors.Is(err, ErrBadURL):
		return ClassBadURL
	case errors.Is(err, ErrBlocked):
		return ClassBlocked
	case errors.Is(err, ErrTooManyRedirects):
		return ClassRedirects
	case errors.Is(err, ErrTooLarge):
		return ClassTooLarge
	case errors.Is(err, ErrCharset):
		return ClassCharset
	case errors.Is(err, context.Canceled):
		return ClassOther
	case errors.Is(err, context.DeadlineExceeded):
		return ClassTimeout
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return ClassTimeout
	}
	if _, ok := errors.AsType[*net.DNSError](err); ok {
		return ClassDNS
	}
	if _, ok := errors.AsType[*tlsError](err); ok {
		return ClassTLS
	}
	if oe, ok := errors.AsType[*net.OpError](err); ok && oe.Op == "dial" {
		return ClassConnect
	}
	return ClassOther
}
