package script

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

// maxNameLen caps script names and require() specifiers.
const maxNameLen = 256

// wrapperPrefix and wrapperSuffix turn a module's source into a CommonJS
// function. The prefix shares the module's first line, so line numbers
// stay right and only columns on line 1 need correcting.
const (
	wrapperPrefix = "(function (exports, require, module, __filename, __dirname) {"
	wrapperSuffix = "\n})"
)

// requireRE finds static require("...") calls, so a script's modules can
// be fetched before its clock starts.
var requireRE = regexp.MustCompile(`\brequire\s*\(\s*(?:"([^"\\\n]+)"|'([^'\\\n]+)')\s*\)`)

// module is a script or module's content.
type module struct {
	id     moduleID
	src    string
	hash   string
	signer string
	deps   []string // static require() specifiers
}

func newModule(id moduleID, src []byte, signer string) *module {
	sum := sha256.Sum256(src)
	m := &module{id: id, src: string(src), hash: hex.EncodeToString(sum[:]), signer: signer}
	for _, sm := range requireRE.FindAllStringSubmatch(m.src, -1) {
		spec := cmpOr(sm[1], sm[2])
		if !slices.Contains(m.deps, spec) {
			m.deps = append(m.deps, spec)
		}
	}
	return m
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// moduleID names a script or module: a name under the local source, or
// an absolute URL.
type moduleID struct {
	local string
	url   *url.URL
}

// String returns the local name or the URL.
func (id moduleID) String() string {
	if id.url != nil {
		return id.url.String()
	}
	return id.local
}

// cleanName validates a script name relative to the source and appends
// ".js" when it has no extension.
func cleanName(name string) (string, error) {
	if name == "" || len(name) > maxNameLen {
		return "", fmt.Errorf("%w: %q: must be 1-%d characters", ErrInvalidName, name, maxNameLen)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '/' || c == '-') {
			return "", fmt.Errorf("%w: %q: only A-Z a-z 0-9 _ . / - are allowed", ErrInvalidName, name)
		}
	}
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("%w: %q: must be relative", ErrInvalidName, name)
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == "" || strings.HasPrefix(seg, ".") {
			return "", fmt.Errorf("%w: %q: empty, hidden, . or .. path segment", ErrInvalidName, name)
		}
	}
	switch path.Ext(name) {
	case ".js":
	case "":
		name += ".js"
	default:
		return "", fmt.Errorf("%w: %q: scripts end in .js", ErrInvalidName, name)
	}
	return name, nil
}

// isURL reports whether s starts with a scheme.
func isURL(s string) bool { return strings.Contains(s, "://") }

// isLoopback reports whether host (without port) is a loopback address
// or localhost.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkScheme allows https anywhere and http only on loopback.
func checkScheme(u *url.URL) error {
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	case u.Scheme == "http":
		return fmt.Errorf("%w: %s: http:// is allowed only on loopback; use https://", ErrInvalidName, u.Redacted())
	default:
		return fmt.Errorf("%w: %s: scheme %q is not allowed", ErrInvalidName, u.Redacted(), u.Scheme)
	}
	if u.User != nil {
		return fmt.Errorf("%w: %s: credentials in URLs are not allowed; use Config.AuthTokens", ErrInvalidName, u.Redacted())
	}
	if u.Host == "" {
		return fmt.Errorf("%w: %s: no host", ErrInvalidName, u.Redacted())
	}
	return nil
}

// parseModuleURL parses and checks an absolute module URL.
func parseModuleURL(s string) (*url.URL, error) {
	if len(s) > 2048 {
		return nil, fmt.Errorf("%w: URL longer than 2048 characters", ErrInvalidName)
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidName, err)
	}
	if !u.IsAbs() {
		return nil, fmt.Errorf("%w: %q is not an absolute URL", ErrInvalidName, s)
	}
	u.Fragment = ""
	u.RawFragment = ""
	return u, checkScheme(u)
}

// ModuleURL checks a remote module URL as require() would (https, or
// http on loopback; no credentials) and returns it in the form the engine
// uses for the cache, the lock file and signatures, with ".js" appended
// when the path has no extension. It returns ErrInvalidName for a URL
// require() would refuse.
func ModuleURL(s string) (string, error) {
	u, err := parseModuleURL(s)
	if err != nil {
		return "", err
	}
	return withJS(u).String(), nil
}

// importRule maps a bare prefix to a URL prefix.
type importRule struct {
	prefix string
	target string
}

func parseImports(m map[string]string) ([]importRule, error) {
	var rules []importRule
	var errs []error
	for k, v := range m {
		if k == "" || strings.HasPrefix(k, ".") || strings.HasPrefix(k, "/") || isURL(k) {
			errs = append(errs, fmt.Errorf("%q: a prefix is a bare name such as \"std/\"", k))
			continue
		}
		if _, err := parseModuleURL(v); err != nil {
			errs = append(errs, fmt.Errorf("%q: %w", k, err))
			continue
		}
		if strings.HasSuffix(k, "/") != strings.HasSuffix(v, "/") {
			errs = append(errs, fmt.Errorf("%q: prefix and URL must both end in / or neither", k))
			continue
		}
		rules = append(rules, importRule{prefix: k, target: v})
	}
	// Longest prefix first.
	slices.SortFunc(rules, func(a, b importRule) int { return len(b.prefix) - len(a.prefix) })
	return rules, errors.Join(errs...)
}

// resolve turns a require() specifier into a module id, relative to
// parent.
func (e *Engine) resolve(parent moduleID, spec string) (moduleID, error) {
	if spec == "" || len(spec) > 2048 {
		return moduleID{}, fmt.Errorf("%w: require(%q)", ErrInvalidName, spec)
	}
	switch {
	case isURL(spec):
		u, err := parseModuleURL(spec)
		if err != nil {
			return moduleID{}, err
		}
		return moduleID{url: withJS(u)}, nil
	case strings.HasPrefix(spec, "./") || strings.HasPrefix(spec, "../"):
		if parent.url != nil {
			ref, err := url.Parse(spec)
			if err != nil {
				return moduleID{}, fmt.Errorf("%w: require(%q): %w", ErrInvalidName, spec, err)
			}
			u := parent.url.ResolveReference(ref)
			if err := checkScheme(u); err != nil {
				return moduleID{}, err
			}
			return moduleID{url: withJS(u)}, nil
		}
		joined := path.Join(path.Dir(parent.local), spec)
		if joined == ".." || strings.HasPrefix(joined, "../") {
			return moduleID{}, fmt.Errorf("%w: require(%q) from %s leaves the script source", ErrInvalidName, spec, parent)
		}
		name, err := cleanName(joined)
		if err != nil {
			return moduleID{}, fmt.Errorf("require(%q) from %s: %w", spec, parent, err)
		}
		return moduleID{local: name}, nil
	case strings.HasPrefix(spec, "/"):
		return moduleID{}, fmt.Errorf("%w: require(%q): absolute paths are not allowed; use ./, ../ or https://", ErrInvalidName, spec)
	}
	for _, r := range e.imports {
		if spec == r.prefix || (strings.HasSuffix(r.prefix, "/") && strings.HasPrefix(spec, r.prefix)) {
			u, err := parseModuleURL(r.target + strings.TrimPrefix(spec, r.prefix))
			if err != nil {
				return moduleID{}, err
			}
			return moduleID{url: withJS(u)}, nil
		}
	}
	return moduleID{}, fmt.Errorf("%w: require(%q): bare names need a Config.Imports mapping; use ./, ../ or https://", ErrInvalidName, spec)
}

// withJS appends ".js" to a URL path without an extension.
func withJS(u *url.URL) *url.URL {
	if path.Ext(u.Path) == "" && !strings.HasSuffix(u.Path, "/") {
		c := *u
		c.Path += ".js"
		c.RawPath = ""
		return &c
	}
	return u
}

// localFile is a cached local script, valid while the file's size and
// modification time are unchanged.
type localFile struct {
	mod     time.Time
	size    int64
	m       *module
	checked atomic.Int64 // when the file was last checked, in Unix nanoseconds
}

// loadLocal reads a file under the local source, reusing the cached
// module while the file is unchanged.
func (e *Engine) loadLocal(name string) (*module, error) {
	if e.root == nil {
		return nil, fmt.Errorf("%w: %s: the script source is remote", ErrInvalidName, name)
	}
	now := e.now().UnixNano()
	e.localMu.RLock()
	lf := e.local[name]
	e.localMu.RUnlock()
	if lf != nil && e.cfg.LocalTTL > 0 && now-lf.checked.Load() < int64(e.cfg.LocalTTL) {
		return lf.m, nil
	}
	fi, err := e.root.Stat(name)
	if errors.Is(err, fs.ErrNotExist) || err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", name, err)
	}
	if lf != nil && lf.size == fi.Size() && lf.mod.Equal(fi.ModTime()) {
		lf.checked.Store(now)
		return lf.m, nil
	}
	if fi.Size() > e.cfg.MaxModuleBytes {
		return nil, fmt.Errorf("%w: %s is %d bytes, over %d", ErrLimit, name, fi.Size(), e.cfg.MaxModuleBytes)
	}
	b, err := e.root.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	m := newModule(moduleID{local: name}, b, "")
	lf = &localFile{mod: fi.ModTime(), size: fi.Size(), m: m}
	lf.checked.Store(now)
	e.localMu.Lock()
	e.local[name] = lf
	e.localMu.Unlock()
	return m, nil
}

// progKey identifies a compiled program: the same content under the same
// name, as a script or as a module.
type progKey struct {
	id     string
	hash   string
	module bool
}

// compiled is a compiled program, or the error compiling it gave.
type compiled struct {
	prog *goja.Program
	err  error
}

// maxPrograms bounds the program cache; it is cleared when full, which
// only costs recompiling.
const maxPrograms = 4096

// compile returns m's program, compiling it once per content hash.
func (e *Engine) compile(m *module, asModule bool) *compiled {
	key := progKey{id: m.id.String(), hash: m.hash, module: asModule}
	e.progMu.RLock()
	c := e.progs[key]
	e.progMu.RUnlock()
	if c != nil {
		return c
	}
	src := m.src
	if asModule {
		src = wrapperPrefix + src + wrapperSuffix
	}
	// Parse with the parser directly rather than goja.Compile, whose
	// syntax errors carry the position only in their text.
	var prog *goja.Program
	ast, err := parser.ParseFile(nil, key.id, src, 0)
	if err == nil {
		prog, err = goja.CompileAST(ast, false)
	}
	c = &compiled{prog: prog, err: err}
	e.progMu.Lock()
	if len(e.progs) >= maxPrograms {
		clear(e.progs)
	}
	e.progs[key] = c
	e.progMu.Unlock()
	return c
}
