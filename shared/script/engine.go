package script

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"aead.dev/minisign"
	"github.com/dop251/goja"
)

// LockMode says how the lock file of remote module hashes is used.
type LockMode string

// Lock modes.
const (
	// LockOff ignores the lock file.
	LockOff LockMode = "off"
	// LockVerify refuses a remote module whose SHA-256 differs from the
	// lock file's, or that the lock file does not list.
	LockVerify LockMode = "lock"
	// LockUpdate records the hash of every remote module that passes the
	// signature policy in the lock file, adding and replacing entries.
	LockUpdate LockMode = "update"
)

// SignatureMode says how minisign signatures of remote modules are
// checked.
type SignatureMode string

// Signature modes.
const (
	// SignaturesOff fetches no signatures.
	SignaturesOff SignatureMode = "off"
	// SignaturesVerify checks a module's signature when "<url>.minisig"
	// exists and refuses a bad one, but accepts unsigned modules.
	SignaturesVerify SignatureMode = "verify"
	// SignaturesRequire refuses unsigned modules as well.
	SignaturesRequire SignatureMode = "require"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultSource           = "scripts"
	DefaultTimeout          = 5 * time.Second
	DefaultMaxCallStackSize = 1000
	DefaultMaxResultBytes   = 1 << 20
	DefaultMaxHostBytes     = 8 << 20
	DefaultMaxLogBytes      = 16 << 10
	DefaultMaxLogLines      = 1000
	DefaultMaxLogEntries    = 5000
	DefaultMaxModuleBytes   = 1 << 20
	DefaultMaxModules       = 256
	DefaultFetchTimeout     = 10 * time.Second
	DefaultCacheTTL         = 5 * time.Minute
	DefaultStaleRetry       = 30 * time.Second
	DefaultLocalTTL         = time.Second
)

// Config configures an Engine. The zero value runs scripts from the
// "scripts" folder with the default limits and no remote policy.
type Config struct {
	// Source is where scripts come from: a local folder (default
	// DefaultSource) or a base URL, "https://host/path/" (http:// only on
	// loopback).
	Source string
	// LocalTTL is how long a local script's file status is trusted before
	// it is checked again for edits. Default DefaultLocalTTL; negative
	// checks on every run.
	LocalTTL time.Duration
	// Imports maps bare require() prefixes to URL prefixes, so
	// require("std/text.js") with {"std/": "https://example.org/std@1/"}
	// loads "https://example.org/std@1/text.js". A key that does not end
	// in "/" maps that exact name.
	Imports map[string]string
	// CacheDir is the folder of the on-disk cache of remote modules. Empty
	// keeps the cache in memory, so the offline fallback lasts only as
	// long as the process.
	CacheDir string
	// CacheTTL is how long a cached remote module is used without asking
	// the origin; after it the module is revalidated with If-None-Match
	// and If-Modified-Since. Default DefaultCacheTTL; negative always
	// revalidates.
	CacheTTL time.Duration
	// StaleRetry is how long after a failed fetch the cached copy is used
	// without trying the origin again. Default DefaultStaleRetry.
	StaleRetry time.Duration
	// AuthTokens holds per-host credentials in the DENO_AUTH_TOKENS form,
	// "token@host[:port];user:pass@host": a bearer token or basic
	// credentials, sent only to that exact host. It is a secret; Config's
	// LogValue redacts it.
	AuthTokens string
	// LockFile is the path of the lock file; required unless Lock is
	// LockOff.
	LockFile string
	// Lock is the lock file mode, default LockOff.
	Lock LockMode
	// TrustedKeys are the minisign public keys (the base64 line of a
	// .pub file, with or without its comment line) that may sign remote
	// modules.
	TrustedKeys []string
	// Signatures is the signature mode, default SignaturesOff.
	Signatures SignatureMode
	// Timeout is the wall-time limit of one run, default DefaultTimeout.
	// Fetching the script and its static requires happens before the
	// clock starts, under FetchTimeout per request.
	Timeout time.Duration
	// MaxCallStackSize is the call depth limit, default
	// DefaultMaxCallStackSize.
	MaxCallStackSize int
	// MaxResultBytes caps the result, default DefaultMaxResultBytes.
	MaxResultBytes int
	// MaxHostBytes caps the data host functions hand one run, default
	// DefaultMaxHostBytes.
	MaxHostBytes int
	// MaxLogBytes caps one console line (longer ones are truncated) and
	// one written log entry (longer ones are refused), default
	// DefaultMaxLogBytes.
	MaxLogBytes int
	// MaxLogLines caps the console lines of one run; later ones are
	// dropped. Default DefaultMaxLogLines.
	MaxLogLines int
	// MaxLogEntries caps the entries one readLog or events call returns,
	// default DefaultMaxLogEntries.
	MaxLogEntries int
	// MaxModuleBytes caps a script or module, local or fetched, default
	// DefaultMaxModuleBytes.
	MaxModuleBytes int64
	// MaxModules caps the modules one run may require, default
	// DefaultMaxModules.
	MaxModules int
	// FetchTimeout bounds each HTTP request, default DefaultFetchTimeout.
	FetchTimeout time.Duration
	// Transport sends the HTTP requests, default a clone of
	// http.DefaultTransport.
	Transport http.RoundTripper
	// Logger receives console output (with "hub" and "script"), module
	// provenance and warnings. Nil discards.
	Logger *slog.Logger
	// Now is the clock, default time.Now.
	Now func() time.Time
}

// LogValue implements slog.LogValuer, redacting AuthTokens.
func (c Config) LogValue() slog.Value {
	auth := ""
	if c.AuthTokens != "" {
		auth = "REDACTED"
	}
	return slog.GroupValue(
		slog.String("source", c.Source),
		slog.String("cache_dir", c.CacheDir),
		slog.Duration("cache_ttl", c.CacheTTL),
		slog.String("auth_tokens", auth),
		slog.String("lock_file", c.LockFile),
		slog.String("lock", string(c.Lock)),
		slog.Int("trusted_keys", len(c.TrustedKeys)),
		slog.String("signatures", string(c.Signatures)),
		slog.Duration("timeout", c.Timeout),
	)
}

// withDefaults fills zero fields.
func (c Config) withDefaults() Config {
	c.Source = cmp.Or(c.Source, DefaultSource)
	c.Lock = cmp.Or(c.Lock, LockOff)
	c.Signatures = cmp.Or(c.Signatures, SignaturesOff)
	c.CacheTTL = cmp.Or(c.CacheTTL, DefaultCacheTTL)
	c.StaleRetry = cmp.Or(c.StaleRetry, DefaultStaleRetry)
	c.LocalTTL = cmp.Or(c.LocalTTL, DefaultLocalTTL)
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.MaxCallStackSize = cmp.Or(c.MaxCallStackSize, DefaultMaxCallStackSize)
	c.MaxResultBytes = cmp.Or(c.MaxResultBytes, DefaultMaxResultBytes)
	c.MaxHostBytes = cmp.Or(c.MaxHostBytes, DefaultMaxHostBytes)
	c.MaxLogBytes = cmp.Or(c.MaxLogBytes, DefaultMaxLogBytes)
	c.MaxLogLines = cmp.Or(c.MaxLogLines, DefaultMaxLogLines)
	c.MaxLogEntries = cmp.Or(c.MaxLogEntries, DefaultMaxLogEntries)
	c.MaxModuleBytes = cmp.Or(c.MaxModuleBytes, DefaultMaxModuleBytes)
	c.MaxModules = cmp.Or(c.MaxModules, DefaultMaxModules)
	c.FetchTimeout = cmp.Or(c.FetchTimeout, DefaultFetchTimeout)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Engine runs scripts. It is safe for concurrent use: each run gets a
// fresh JavaScript runtime, while compiled programs, fetched modules and
// the cache are shared.
type Engine struct {
	cfg  Config
	log  *slog.Logger
	now  func() time.Time
	keys []minisign.PublicKey

	// Exactly one of root and base is set.
	root *os.Root
	base *url.URL

	imports []importRule
	http    *http.Client
	tr      *http.Transport // closed by Close when we made it
	auth    authTokens
	cache   *diskCache
	lock    *lockFile

	localMu sync.RWMutex
	local   map[string]*localFile

	remoteMu sync.Mutex
	remote   map[string]*remoteEntry
	inflight map[string]chan struct{}

	progMu sync.RWMutex
	progs  map[progKey]*compiled

	resultProg *goja.Program
}

// New returns an Engine for cfg. It opens the source folder, the cache
// folder and the lock file, and checks every setting, returning all
// problems joined.
func New(cfg Config) (*Engine, error) {
	cfg = cfg.withDefaults()
	e := &Engine{
		cfg:    cfg,
		log:    cfg.Logger,
		now:    cfg.Now,
		local:  make(map[string]*localFile),
		remote: make(map[string]*remoteEntry),
		progs:  make(map[progKey]*compiled),

		inflight: make(map[string]chan struct{}),
	}
	var errs []error
	bad := func(field string, err error) { errs = append(errs, fmt.Errorf("Config.%s: %w", field, err)) } //nolint:staticcheck // names the Go field, capitalized as it is

	if strings.Contains(cfg.Source, "://") {
		u, err := parseModuleURL(cfg.Source)
		if err != nil {
			bad("Source", err)
		} else {
			if !strings.HasSuffix(u.Path, "/") {
				u.Path += "/"
			}
			e.base = u
		}
	} else {
		root, err := os.OpenRoot(cfg.Source)
		if err != nil {
			bad("Source", err)
		} else {
			e.root = root
		}
	}
	imports, err := parseImports(cfg.Imports)
	if err != nil {
		bad("Imports", err)
	}
	e.imports = imports
	if e.auth, err = parseAuthTokens(cfg.AuthTokens); err != nil {
		bad("AuthTokens", err)
	}
	for i, k := range cfg.TrustedKeys {
		var pk minisign.PublicKey
		if err := pk.UnmarshalText([]byte(strings.TrimSpace(k))); err != nil {
			bad(fmt.Sprintf("TrustedKeys[%d]", i), err)
			continue
		}
		e.keys = append(e.keys, pk)
	}
	switch cfg.Signatures {
	case SignaturesOff, SignaturesVerify:
	case SignaturesRequire:
		if len(e.keys) == 0 && len(cfg.TrustedKeys) == 0 {
			bad("Signatures", errors.New(`"require" needs at least one trusted key`))
		}
	default:
		bad("Signatures", fmt.Errorf("%q is not off, verify or require", cfg.Signatures))
	}
	switch cfg.Lock {
	case LockOff:
	case LockVerify, LockUpdate:
		if cfg.LockFile == "" {
			bad("LockFile", fmt.Errorf("required when Lock is %q", cfg.Lock))
			break
		}
		lf, err := openLockFile(cfg.LockFile, cfg.Lock == LockUpdate)
		if err != nil {
			bad("LockFile", err)
		}
		e.lock = lf
	default:
		bad("Lock", fmt.Errorf("%q is not off, lock or update", cfg.Lock))
	}
	if cfg.CacheDir != "" {
		c, err := openDiskCache(cfg.CacheDir)
		if err != nil {
			bad("CacheDir", err)
		}
		e.cache = c
	}
	for _, l := range []struct {
		field string
		v     int64
	}{
		{"Timeout", int64(cfg.Timeout)}, {"MaxCallStackSize", int64(cfg.MaxCallStackSize)},
		{"MaxResultBytes", int64(cfg.MaxResultBytes)}, {"MaxHostBytes", int64(cfg.MaxHostBytes)},
		{"MaxLogBytes", int64(cfg.MaxLogBytes)}, {"MaxLogLines", int64(cfg.MaxLogLines)},
		{"MaxLogEntries", int64(cfg.MaxLogEntries)}, {"MaxModuleBytes", cfg.MaxModuleBytes},
		{"MaxModules", int64(cfg.MaxModules)}, {"FetchTimeout", int64(cfg.FetchTimeout)},
		{"StaleRetry", int64(cfg.StaleRetry)},
	} {
		if l.v < 0 {
			bad(l.field, errors.New("must not be negative"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		if e.root != nil {
			_ = e.root.Close()
		}
		return nil, fmt.Errorf("script.New: %w", err)
	}

	rt := cfg.Transport
	if rt == nil {
		e.tr = http.DefaultTransport.(*http.Transport).Clone()
		rt = e.tr
	}
	e.http = &http.Client{
		Transport:     &authTransport{base: rt, tokens: e.auth},
		CheckRedirect: checkRedirect,
	}
	e.resultProg = goja.MustCompile("<result>", "typeof result === 'undefined' ? undefined : result", false)
	return e, nil
}

// Close releases the source folder and idle HTTP connections.
func (e *Engine) Close() error {
	if e.tr != nil {
		e.tr.CloseIdleConnections()
	}
	if e.root != nil {
		return e.root.Close()
	}
	return nil
}

// Run runs the script req.Name and returns its result: the value the
// script left in the global variable result, as a string if it is one,
// as JSON if it is an object or array, and through String() otherwise.
// An undefined result is an error.
//
// Run returns ErrInvalidName for a bad name, ErrNotFound for a missing
// script, ErrCapability when req.Maintenance is set but req.Host is not a
// MaintenanceHost, ErrLimit for a result over Config.MaxResultBytes, and
// a *Error for anything that went wrong inside the script (read it with
// errors.As; a timeout also matches context.DeadlineExceeded).
func (e *Engine) Run(ctx context.Context, req Request) (string, error) {
	r, err := e.newRun(req)
	if err != nil {
		return "", fmt.Errorf("run script %q: %w", req.Name, err)
	}
	root, err := r.loadRoot(ctx)
	if err != nil {
		return "", fmt.Errorf("run script %q: %w", req.Name, err)
	}
	defer r.logProvenance(ctx)
	return r.exec(ctx, root)
}

// Exists reports whether the script name exists, without running it: a
// stat of the file when scripts are local. When they come from the web it
// reports true, as finding out would cost a fetch; Run then answers
// ErrNotFound. It returns ErrInvalidName for a bad name.
func (e *Engine) Exists(name string) (bool, error) {
	clean, err := cleanName(name)
	if err != nil {
		return false, err
	}
	if e.root == nil {
		return true, nil
	}
	if _, err := e.loadLocal(clean); err != nil {
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// ModuleInfo describes one script or module a run used or Preload
// loaded.
type ModuleInfo struct {
	// Name is the local name or URL.
	Name string
	// SHA256 is the hex SHA-256 of the content.
	SHA256 string
	// Signer is the key ID of the minisign key that signed it, empty when
	// unsigned or local.
	Signer string
	// State is how it was obtained: "local", "fresh" (cached, within the
	// TTL), "revalidated" (the origin confirmed the cached copy),
	// "fetched" (downloaded) or "stale" (origin unreachable, last
	// verified copy used).
	State string
}

// Preload loads the named scripts and everything they require
// statically, through the same cache, lock and signature policy as Run,
// without running them, and returns what it loaded. Names are script
// names or absolute URLs. Roles can call it at startup to warm the cache
// and fail fast; with LockUpdate it records the hashes in the lock file,
// which is how the elmcity-script CLI locks modules.
func (e *Engine) Preload(ctx context.Context, names ...string) ([]ModuleInfo, error) {
	var out []ModuleInfo
	var errs []error
	for _, name := range names {
		var r *run
		var m *module
		var err error
		if isURL(name) {
			var u *url.URL
			if u, err = parseModuleURL(name); err == nil {
				u = withJS(u)
				r = &run{e: e, name: u.String()}
				m, err = r.load(ctx, moduleID{url: u})
			}
		} else if r, err = e.newRun(Request{Name: name}); err == nil {
			m, err = r.loadRoot(ctx)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("preload %s: %w", name, err))
			continue
		}
		r.root = m
		if c := e.compile(m, isURL(name)); c.err != nil {
			errs = append(errs, fmt.Errorf("preload %s: %w", name, r.compileError(m, isURL(name), c.err)))
		}
		r.prefetch(ctx, m)
		for _, p := range r.pre {
			if p.err != nil {
				errs = append(errs, fmt.Errorf("preload %s: %w", name, p.err))
			}
		}
		for _, u := range r.used {
			out = append(out, u.info())
		}
	}
	return out, errors.Join(errs...)
}
