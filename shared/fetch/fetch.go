package fetch

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Defaults for the zero fields of a [Config].
const (
	DefaultTimeout        = 30 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultMaxBytes       = 10 << 20
	DefaultMaxRedirects   = 5
	DefaultPerHost        = 4
	DefaultForceEvery     = 10
	DefaultUserAgent      = "elmcity/1 (+https://github.com/elmcity/elmcity) calendar aggregator"
)

// Resolver looks up the IP addresses of a host name. *net.Resolver
// satisfies it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Config configures a [Fetcher]. Zero fields take the defaults above.
type Config struct {
	// Timeout bounds a whole fetch: connect, request, body and decoding. It
	// starts once a per-host slot is free. Default 30s.
	Timeout time.Duration
	// ConnectTimeout bounds name lookup, TCP connect and TLS handshake.
	// Default 10s.
	ConnectTimeout time.Duration
	// MaxBytes caps the body, both as received and after gzip decoding; a
	// larger body fails with [ErrTooLarge]. Default 10 MiB.
	MaxBytes int64
	// MaxRedirects is how many redirects a fetch follows before failing
	// with [ErrTooManyRedirects]. Default 5; negative follows none.
	MaxRedirects int
	// PerHost bounds concurrent requests to one host name. Default 4.
	PerHost int
	// UserAgent is sent with every request. Default [DefaultUserAgent].
	UserAgent string
	// AllowPrivate lets the Fetcher connect to addresses that are not
	// globally reachable (see [IsGlobal]). Set it only in development and
	// tests; the roles map ELMCITY_FETCH_ALLOW_PRIVATE to it.
	AllowPrivate bool
	// ForceEvery makes every ForceEvery-th run of a feed an unconditional
	// fetch, for servers that answer 304 to everything. Default 10;
	// negative never forces.
	ForceEvery int
	// Logger receives one debug record per successful fetch. Default: a
	// logger that discards.
	Logger *slog.Logger
	// Now is the clock for [Result.Duration]. Default time.Now.
	Now func() time.Time
	// Transport, if set, replaces the Fetcher's own transport, and with it
	// the dial-time address check, the connect timeout and the TLS
	// settings. For tests that need no network at all.
	Transport http.RoundTripper
	// Resolver, if set, replaces the system resolver for host names; the
	// address check still applies to what it returns. For tests that map a
	// public-looking name to loopback. With it, a host's addresses are
	// dialled in turn rather than raced (Happy Eyeballs).
	Resolver Resolver
	// RootCAs, if set, replaces the system roots for verifying servers'
	// certificates, e.g. with an httptest TLS server's.
	RootCAs *x509.CertPool
}

// withDefaults returns c with its zero fields filled, or the errors of its
// invalid fields.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("field Timeout %v is negative", c.Timeout))
	}
	if c.ConnectTimeout < 0 {
		errs = append(errs, fmt.Errorf("field ConnectTimeout %v is negative", c.ConnectTimeout))
	}
	if c.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("field MaxBytes %d is negative", c.MaxBytes))
	}
	if c.PerHost < 0 {
		errs = append(errs, fmt.Errorf("field PerHost %d is negative", c.PerHost))
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("fetch config: %w", err)
	}
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.ConnectTimeout = cmp.Or(c.ConnectTimeout, DefaultConnectTimeout)
	c.MaxBytes = cmp.Or(c.MaxBytes, DefaultMaxBytes)
	c.MaxRedirects = cmp.Or(c.MaxRedirects, DefaultMaxRedirects)
	c.PerHost = cmp.Or(c.PerHost, DefaultPerHost)
	c.UserAgent = cmp.Or(c.UserAgent, DefaultUserAgent)
	c.ForceEvery = cmp.Or(c.ForceEvery, DefaultForceEvery)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// Validators is what a feed's previous fetch left for its next one. Store
// [Result.Validators] with the feed and pass it back to the next Fetch; the
// zero value means a first fetch.
type Validators struct {
	// ETag is the previous response's ETag, sent as If-None-Match.
	ETag string `json:"etag,omitempty"`
	// LastModified is the previous response's Last-Modified, sent as
	// If-Modified-Since.
	LastModified string `json:"last_modified,omitempty"`
	// Runs counts the conditional fetches since the last unconditional one.
	Runs int `json:"runs,omitempty"`
	// BodyHash is the previous body's [ContentHash].
	BodyHash string `json:"body_hash,omitempty"`
}

// Result is a successful fetch.
type Result struct {
	// URL is the final URL, after webcal mapping and redirects.
	URL string
	// Status is the HTTP status code: 200 or another 2xx, or 304.
	Status int
	// NotModified means the server answered 304 to a conditional request:
	// reuse the last parsed result. Body is nil.
	NotModified bool
	// Forced means validators were withheld because of [Config.ForceEvery].
	Forced bool
	// Unchanged means ContentHash equals the previous BodyHash: the body
	// differs from the last one at most in DTSTAMP, so parsing it again
	// can be skipped.
	Unchanged bool
	// Body is the body as UTF-8 without a byte order mark.
	Body []byte
	// Header is the response's header (an adapter script reads it as
	// elmcity.source.headers).
	Header http.Header
	// Charset is the charset Body was decoded from, e.g. [CharsetUTF8] or
	// [CharsetWindows1252].
	Charset string
	// Gzip means the body came gzip-encoded.
	Gzip bool
	// WireBytes is the size of the body as received.
	WireBytes int64
	// DecodedBytes is the size of the body after gzip decoding, before
	// charset decoding; it equals WireBytes without gzip.
	DecodedBytes int64
	// ContentHash is the [ContentHash] of Body.
	ContentHash string
	// Validators is what to pass to the next Fetch of this feed.
	Validators Validators
	// Duration is the time the fetch took, on [Config.Now]'s clock.
	Duration time.Duration
}

// Fetcher fetches feeds over HTTP. It is safe for concurrent use; make one
// per process and share it, so connections and per-host bounds are shared.
type Fetcher struct {
	cfg    Config
	client *http.Client
	hosts  *hostSlots
}

// New returns a Fetcher for cfg, or an error naming every invalid field.
func New(cfg Config) (*Fetcher, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	f := &Fetcher{cfg: cfg, hosts: newHostSlots(cfg.PerHost)}
	rt := cfg.Transport
	if rt == nil {
		rt = f.newTransport()
	}
	f.client = &http.Client{Transport: rt, CheckRedirect: f.checkRedirect}
	return f, nil
}

// CloseIdleConnections closes the Fetcher's idle keep-alive connections. The
// Fetcher stays usable.
func (f *Fetcher) CloseIdleConnections() { f.client.CloseIdleConnections() }

// checkRedirect bounds redirects and applies the feed URL rules to each
// target, mapping a webcal target to https in place before it is sent.
func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > f.cfg.MaxRedirects {
		return fmt.Errorf("redirect %d to %s: %w", len(via), LogURL(req.URL.String()), ErrTooManyRedirects)
	}
	if err := checkURL(req.URL); err != nil {
		return fmt.Errorf("redirect to %s: %w", LogURL(req.URL.String()), err)
	}
	if hosts, _ := req.Context().Value(hostsKey{}).([]string); hosts != nil && !slices.Contains(hosts, strings.ToLower(req.URL.Hostname())) {
		return fmt.Errorf("redirect to %s: host %q is not one this request may reach: %w", LogURL(req.URL.String()), req.URL.Hostname(), ErrBlocked)
	}
	return nil
}

// hostsKey carries GetOptions.Hosts to checkRedirect on the request's
// context.
type hostsKey struct{}

// GetOptions are a Get's request header and the hosts it may reach.
type GetOptions struct {
	// Header's fields are added to the request (Accept replaces the
	// default; Host, Accept-Encoding, User-Agent, Connection and the
	// conditional fields are the Fetcher's own and are not sent).
	Header http.Header
	// Hosts, when not nil, are the only hosts (lower case) the URL and
	// every redirect may lead to; another is refused ([ErrBlocked]).
	Hosts []string
}

// Fetch fetches one feed. prev is what the feed's last Fetch returned in
// [Result.Validators] (the zero value the first time). A 304 answer returns
// a Result with NotModified set and no body.
//
// It waits for a per-host slot first, for as long as ctx allows; the
// Timeout starts after that. Every error is an [*Error]; errors.Is matches
// [ErrBadURL], [ErrBlocked], [ErrTooLarge], [ErrTooManyRedirects],
// [ErrCharset], [ErrStatus], context.Canceled and context.DeadlineExceeded
// (for the Fetcher's own timeouts too).
func (f *Fetcher) Fetch(ctx context.Context, rawURL string, prev Validators) (Result, error) {
	res, done, err := f.fetch(ctx, rawURL, prev, nil, GetOptions{})
	done()
	return res, err
}

// Get fetches rawURL as Fetch does, unconditionally, with opt's header
// and on opt's hosts only. Adapter scripts fetch through it, under the
// same address, size, time and redirect rules as feeds.
func (f *Fetcher) Get(ctx context.Context, rawURL string, opt GetOptions) (Result, error) {
	res, done, err := f.fetch(ctx, rawURL, Validators{}, nil, opt)
	done()
	return res, err
}

// fetch is Fetch with an optional hub-wide semaphore, taken after the
// per-host slot so that requests queued for a busy host hold no hub slot.
// The slots stay held until the caller calls done.
func (f *Fetcher) fetch(ctx context.Context, rawURL string, prev Validators, hub chan struct{}, opt GetOptions) (_ Result, done func(), _ error) {
	var releaseHost func()
	holdsHub := false
	done = func() {
		if holdsHub {
			<-hub
		}
		if releaseHost != nil {
			releaseHost()
		}
	}
	u, err := NormalizeURL(rawURL)
	if err != nil {
		return Result{}, done, &Error{URL: LogURL(rawURL), Class: ClassBadURL, Err: err}
	}
	fail := func(ctx context.Context, status int, err error) (Result, func(), error) {
		// A body read cut short by ctx may report the transport's own
		// error; make sure errors.Is sees the context's.
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w: %w", err, ctxErr)
		}
		class := classify(err)
		if errors.Is(err, ErrStatus) {
			class = statusClass(status)
		}
		return Result{}, done, &Error{URL: LogURL(rawURL), Class: class, Status: status, Err: err}
	}
	if opt.Hosts != nil {
		if !slices.Contains(opt.Hosts, strings.ToLower(u.Hostname())) {
			return fail(ctx, 0, fmt.Errorf("host %q is not one this request may reach: %w", u.Hostname(), ErrBlocked))
		}
		ctx = context.WithValue(ctx, hostsKey{}, opt.Hosts)
	}

	release, err := f.hosts.acquire(ctx, strings.ToLower(u.Hostname()))
	if err != nil {
		return fail(ctx, 0, fmt.Errorf("wait for host slot: %w", err))
	}
	releaseHost = release
	if hub != nil {
		select {
		case hub <- struct{}{}:
			holdsHub = true
		case <-ctx.Done():
			return fail(ctx, 0, fmt.Errorf("wait for hub slot: %w", ctx.Err()))
		}
	}
	// select picks at random among ready cases: a slot freed just as ctx
	// ended may have been taken after the end.
	if err := ctx.Err(); err != nil {
		return fail(ctx, 0, fmt.Errorf("wait for slot: %w", err))
	}

	fetchCtx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	start := f.cfg.Now()
	res, status, err := f.do(fetchCtx, u, prev, opt.Header)
	if err != nil {
		return fail(fetchCtx, status, err)
	}
	res.Duration = f.cfg.Now().Sub(start)
	f.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "feed fetched",
		slog.String("feed_url", LogURL(res.URL)),
		slog.Int("status", res.Status),
		slog.Int64("duration_ms", res.Duration.Milliseconds()),
		slog.Int64("wire_bytes", res.WireBytes),
		slog.Bool("gzip", res.Gzip),
		slog.String("charset", res.Charset),
		slog.Bool("not_modified", res.NotModified),
		slog.Bool("unchanged", res.Unchanged),
		slog.Bool("forced", res.Forced),
	)
	return res, done, nil
}

func statusClass(status int) Class {
	switch {
	case status >= 400 && status < 500:
		return ClassHTTP4xx
	case status >= 500 && status < 600:
		return ClassHTTP5xx
	}
	return ClassOther
}

// do sends the request and reads the response. It returns the status code
// with an error whenever a response arrived.
func (f *Fetcher) do(ctx context.Context, u *url.URL, prev Validators, header http.Header) (Result, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Result{}, 0, fmt.Errorf("new request: %w: %w", ErrBadURL, err)
	}
	for k, vs := range header {
		switch http.CanonicalHeaderKey(k) {
		case "Host", "Accept-Encoding", "User-Agent", "Connection", "If-None-Match", "If-Modified-Since", "Content-Length", "Transfer-Encoding", "Te", "Upgrade":
			continue
		}
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("User-Agent", f.cfg.UserAgent)
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "text/calendar, */*;q=0.5")
	}
	// Set by hand, so net/http does not decode transparently: the size cap
	// must see the decoded bytes too.
	req.Header.Set("Accept-Encoding", "gzip")

	hasValidators := prev.ETag != "" || prev.LastModified != ""
	forced := hasValidators && f.cfg.ForceEvery > 0 && prev.Runs+1 >= f.cfg.ForceEvery
	conditional := hasValidators && !forced
	if conditional {
		if prev.ETag != "" {
			req.Header.Set("If-None-Match", prev.ETag)
		}
		if prev.LastModified != "" {
			req.Header.Set("If-Modified-Since", prev.LastModified)
		}
	}

	resp, err := f.client.Do(req)
	if err != nil {
		// The *url.Error names the method and URL, which for a refused
		// redirect is the Location as sent, password included.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			ue.URL = LogURL(ue.URL)
		}
		return Result{}, 0, err
	}
	defer func() { _ = resp.Body.Close() }()

	res := Result{URL: resp.Request.URL.String(), Status: resp.StatusCode, Forced: forced, Header: resp.Header}
	next := Validators{
		ETag:         resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"),
	}
	if conditional {
		next.Runs = prev.Runs + 1
	}

	switch {
	case resp.StatusCode == http.StatusNotModified && conditional:
		drain(resp.Body)
		next.ETag = cmp.Or(next.ETag, prev.ETag)
		next.LastModified = cmp.Or(next.LastModified, prev.LastModified)
		next.BodyHash = prev.BodyHash
		res.NotModified = true
		res.Validators = next
		return res, resp.StatusCode, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		drain(resp.Body)
		return Result{}, resp.StatusCode, fmt.Errorf("get %s: %w %d", LogURL(res.URL), ErrStatus, resp.StatusCode)
	}

	raw, err := f.readBody(resp, &res)
	if err != nil {
		return Result{}, resp.StatusCode, fmt.Errorf("read body of %s: %w", LogURL(res.URL), err)
	}
	res.Body, res.Charset, err = decodeCharset(raw, resp.Header.Get("Content-Type"))
	if err != nil {
		return Result{}, resp.StatusCode, err
	}
	res.ContentHash = ContentHash(res.Body)
	res.Unchanged = prev.BodyHash != "" && res.ContentHash == prev.BodyHash
	next.BodyHash = res.ContentHash
	res.Validators = next
	return res, resp.StatusCode, nil
}

// drain reads a little of an unwanted body so its connection can be reused.
func drain(body io.Reader) {
	_, _ = io.CopyN(io.Discard, body, 4<<10)
}

// readBody reads the whole body, gunzipping it if need be, and sets res's
// byte counts and Gzip. Both the wire and the decoded bytes are capped.
func (f *Fetcher) readBody(resp *http.Response, res *Result) ([]byte, error) {
	limit := f.cfg.MaxBytes
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("content-length %d over %d bytes: %w", resp.ContentLength, limit, ErrTooLarge)
	}
	wire := &capReader{r: resp.Body, max: limit}
	var r io.Reader = wire
	switch ce := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); ce {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(wire)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer func() { _ = zr.Close() }()
		r = &capReader{r: zr, max: limit}
		res.Gzip = true
	default:
		return nil, fmt.Errorf("unsupported content-encoding %q", ce)
	}
	var (
		data []byte
		err  error
	)
	if n := resp.ContentLength; n >= 0 && !res.Gzip {
		// The size is known: one allocation, with room to see EOF.
		buf := bytes.NewBuffer(make([]byte, 0, n+bytes.MinRead))
		_, err = buf.ReadFrom(r)
		data = buf.Bytes()
	} else {
		data, err = io.ReadAll(r)
	}
	res.WireBytes = wire.n
	res.DecodedBytes = int64(len(data))
	if err != nil {
		return nil, err
	}
	return data, nil
}

// capReader is io.LimitReader with an error instead of a silent EOF: a
// feed cut short at the limit would parse as a valid but truncated
// calendar. (http.MaxBytesReader is meant for server request bodies.)
type capReader struct {
	r      io.Reader
	n, max int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n > c.max {
		return 0, c.errTooLarge()
	}
	if room := c.max - c.n + 1; int64(len(p)) > room {
		p = p[:room] // read one byte past the cap to detect it
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		return n, c.errTooLarge()
	}
	return n, err
}

func (c *capReader) errTooLarge() error {
	return fmt.Errorf("body over %d bytes: %w", c.max, ErrTooLarge)
}
