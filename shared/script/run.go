package script

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

// run is the state of one Run.
type run struct {
	e     *Engine
	req   Request
	name  string // cleaned name, or URL when the source is remote
	mh    MaintenanceHost
	vm    *goja.Runtime
	ctx   context.Context // the run's context, with its deadline
	root  *module
	used  []use                // modules loaded, in order, for provenance
	pre   map[string]preloaded // prefetched modules by id
	mods  map[string]*goja.Object
	files map[string]*module // id -> module, for error positions

	ad        *adapterRun           // the adapter capability, nil but in RunAdapter
	hostBytes int                   // left of Config.MaxHostBytes
	logLines  int                   // console lines written
	strs      map[string]goja.Value // interned strings, see intern
}

// use is a module a run loaded and how.
type use struct {
	m     *module
	state string
}

func (u use) info() ModuleInfo {
	return ModuleInfo{Name: u.m.id.String(), SHA256: u.m.hash, Signer: u.m.signer, State: u.state}
}

// preloaded is a prefetch result.
type preloaded struct {
	m   *module
	err error
}

func (e *Engine) newRun(req Request) (*run, error) {
	name, err := cleanName(req.Name)
	if err != nil {
		return nil, err
	}
	r := &run{e: e, req: req, name: name, hostBytes: e.cfg.MaxHostBytes}
	if e.base != nil {
		r.name = e.base.JoinPath(name).String()
	}
	if req.Maintenance {
		mh, ok := req.Host.(MaintenanceHost)
		if !ok {
			return nil, fmt.Errorf("%w: a maintenance run needs a MaintenanceHost, got %T", ErrCapability, req.Host)
		}
		r.mh = mh
	}
	return r, nil
}

// loadRoot loads the script itself.
func (r *run) loadRoot(ctx context.Context) (*module, error) {
	if r.e.base != nil {
		u, err := parseModuleURL(r.name)
		if err != nil {
			return nil, err
		}
		return r.load(ctx, moduleID{url: u})
	}
	return r.load(ctx, moduleID{local: r.name})
}

// load loads a module, local or remote, and records its use.
func (r *run) load(ctx context.Context, id moduleID) (*module, error) {
	if id.url == nil {
		m, err := r.e.loadLocal(id.local)
		if err != nil {
			return nil, err
		}
		r.used = append(r.used, use{m: m, state: "local"})
		return m, nil
	}
	m, state, err := r.e.loadRemote(ctx, id.url, r.logAttrs)
	if err != nil {
		return nil, err
	}
	r.used = append(r.used, use{m: m, state: state})
	return m, nil
}

// prefetch loads the static requires of m, recursively, before the
// script's clock starts. Errors are kept and raised by require() if the
// script reaches it.
func (r *run) prefetch(ctx context.Context, m *module) {
	if len(m.deps) == 0 {
		return
	}
	queue := []*module{m}
	seen := map[string]bool{m.id.String(): true}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, spec := range cur.deps {
			id, err := r.e.resolve(cur.id, spec)
			if err != nil {
				continue // require() reports it with the right position
			}
			key := id.String()
			if seen[key] {
				continue
			}
			seen[key] = true
			if len(seen) > r.e.cfg.MaxModules {
				return
			}
			dm, err := r.load(ctx, id)
			if r.pre == nil {
				r.pre = make(map[string]preloaded)
			}
			r.pre[key] = preloaded{m: dm, err: err}
			if err == nil {
				queue = append(queue, dm)
			}
		}
	}
}

// exec runs the root script in a fresh runtime under the time limit and
// returns its result.
func (r *run) exec(ctx context.Context, root *module) (out string, err error) {
	err = r.execThen(ctx, root, func() (err error) {
		out, err = r.result()
		return err
	})
	return out, err
}

// execThen runs the root script in a fresh runtime under the time limit,
// then finish, still under it, to read what the script left.
func (r *run) execThen(ctx context.Context, root *module, finish func() error) (err error) {
	r.root = root
	c := r.e.compile(root, false)
	if c.err != nil {
		return r.compileError(root, false, c.err)
	}
	r.prefetch(ctx, root)

	runCtx, cancel := context.WithTimeout(ctx, r.e.cfg.Timeout)
	defer cancel()
	r.ctx = runCtx
	vm := goja.New()
	r.vm = vm
	vm.SetMaxCallStackSize(r.e.cfg.MaxCallStackSize)
	stop := context.AfterFunc(runCtx, func() { vm.Interrupt(runCtx.Err()) })
	defer stop()
	defer func() {
		// A panic here is a bug in goja or in a host adapter; turn it into
		// an error rather than take the role down.
		if p := recover(); p != nil {
			err = &Error{Script: r.name, File: root.id.String(), Hash: root.hash,
				Msg: fmt.Sprintf("internal error: %v", p)}
		}
	}()
	r.install()
	if _, err := vm.RunProgram(c.prog); err != nil {
		return r.scriptError(err)
	}
	return finish()
}

// resultValue reads the global result variable; undefined is an error.
func (r *run) resultValue() (goja.Value, error) {
	v := r.vm.Get("result")
	if v == nil {
		// Not a global object property: maybe a top-level let or const.
		var err error
		if v, err = r.vm.RunProgram(r.e.resultProg); err != nil {
			return nil, r.scriptError(err)
		}
	}
	if v == nil || goja.IsUndefined(v) {
		return nil, &Error{Script: r.name, File: r.root.id.String(), Hash: r.root.hash,
			Msg: "result is undefined: the script must assign its output to the global variable result"}
	}
	return v, nil
}

// result reads the global result variable as a string.
func (r *run) result() (string, error) {
	v, err := r.resultValue()
	if err != nil {
		return "", err
	}
	var s string
	switch {
	case isString(v):
		s = v.String()
	default:
		obj, ok := v.(*goja.Object)
		if ok && obj.ClassName() != "Function" && obj.ClassName() != "String" {
			b, err := json.Marshal(obj)
			if err != nil {
				return "", r.scriptError(err)
			}
			s = string(b)
		} else {
			s = v.String()
		}
	}
	if len(s) > r.e.cfg.MaxResultBytes {
		return "", fmt.Errorf("run script %q: %w: result is %d bytes, over %d", r.name, ErrLimit, len(s), r.e.cfg.MaxResultBytes)
	}
	return s, nil
}

// isString reports whether v is a string, without exporting objects.
func isString(v goja.Value) bool {
	t := v.ExportType()
	return t != nil && t.Kind() == reflect.String
}

// compileError maps a syntax error to *Error. A module's columns on line
// 1 are corrected for the CommonJS wrapper.
func (r *run) compileError(m *module, asModule bool, err error) *Error {
	e := &Error{Script: r.name, File: m.id.String(), Hash: m.hash, Msg: err.Error()}
	var syn *goja.CompilerSyntaxError
	var list parser.ErrorList
	var one *parser.Error
	switch {
	case errors.As(err, &syn) && syn.File != nil:
		p := syn.File.Position(syn.Offset)
		e.Line, e.Col, e.Msg = p.Line, p.Column, "SyntaxError: "+syn.Message
	case errors.As(err, &list) && len(list) > 0:
		e.Line, e.Col, e.Msg = list[0].Position.Line, list[0].Position.Column, "SyntaxError: "+list[0].Message
	case errors.As(err, &one):
		e.Line, e.Col, e.Msg = one.Position.Line, one.Position.Column, "SyntaxError: "+one.Message
	}
	if asModule && e.Line == 1 {
		e.Col -= len(wrapperPrefix)
	}
	return e
}

// scriptError maps an error from RunProgram to *Error.
func (r *run) scriptError(err error) error {
	e := &Error{Script: r.name, File: r.root.id.String(), Hash: r.root.hash}
	var intr *goja.InterruptedError
	var so *goja.StackOverflowError
	var exc *goja.Exception
	switch {
	case errors.As(err, &intr):
		e.Err = intr.Unwrap()
		if e.Err == nil {
			e.Err = context.Canceled
		}
		e.Msg = "interrupted: " + e.Err.Error()
		if errors.Is(e.Err, context.DeadlineExceeded) {
			e.Msg = fmt.Sprintf("timed out (%v; the run limit is %v)", e.Err, r.e.cfg.Timeout)
		}
		r.position(e, intr.Stack())
	case errors.As(err, &so):
		e.Err = ErrLimit
		e.Msg = fmt.Sprintf("RangeError: call stack exceeded %d frames", r.e.cfg.MaxCallStackSize)
		r.position(e, so.Stack())
	case errors.As(err, &exc):
		e.Msg = safeString(exc.Value())
		e.Err = exc.Unwrap()
		r.position(e, exc.Stack())
		var inner *Error
		if errors.As(e.Err, &inner) {
			// A required module did not compile: report its position.
			inner.Stack = e.Stack
			return inner
		}
	default:
		e.Msg = err.Error()
	}
	return e
}

// safeString is v.String() that survives a throwing toString.
func safeString(v goja.Value) (s string) {
	defer func() {
		if recover() != nil {
			s = "exception (its toString threw)"
		}
	}()
	if v == nil {
		return "exception"
	}
	return v.String()
}

// position fills e's file, line, column and stack from frames. Columns
// on a module's first line are corrected for the CommonJS wrapper, and
// host functions show as "native" rather than by their Go names.
func (r *run) position(e *Error, frames []goja.StackFrame) {
	var b strings.Builder
	found := false
	for i := range frames {
		f := &frames[i]
		p := f.Position()
		if p.Filename == "" || p.Line == 0 {
			b.WriteString("\tat native\n")
			continue
		}
		m := r.files[p.Filename]
		if m == nil && p.Filename == r.root.id.String() {
			m = r.root
		}
		col := p.Column
		if m != nil && m != r.root && p.Line == 1 {
			col -= len(wrapperPrefix)
		}
		fmt.Fprintf(&b, "\tat %s (%s:%d:%d)\n", f.FuncName(), p.Filename, p.Line, col)
		if found || strings.HasPrefix(p.Filename, "<") {
			continue
		}
		found = true
		e.File, e.Line, e.Col, e.Hash = p.Filename, p.Line, col, ""
		if m != nil {
			e.Hash = m.hash
		}
	}
	e.Stack = b.String()
}

// logAttrs logs through the engine's logger with the run's hub and
// script attributes, so the table log files the record under the hub.
func (r *run) logAttrs(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	if !r.e.log.Enabled(ctx, level) {
		return
	}
	base := make([]slog.Attr, 0, len(attrs)+2)
	if r.req.Hub != "" {
		base = append(base, slog.String("hub", r.req.Hub))
	}
	base = append(base, slog.String("script", r.name))
	r.e.log.LogAttrs(ctx, level, msg, append(base, attrs...)...)
}

// logProvenance logs which modules the run used: at Info when any came
// from the web, at Debug when all were local.
func (r *run) logProvenance(ctx context.Context) {
	level := slog.LevelDebug
	for _, u := range r.used {
		if u.m.id.url != nil {
			level = slog.LevelInfo
			break
		}
	}
	if !r.e.log.Enabled(ctx, level) {
		return
	}
	var b strings.Builder
	for i, u := range r.used {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s sha256:%s state:%s", u.m.id, u.m.hash, u.state)
		if u.m.signer != "" {
			fmt.Fprintf(&b, " signer:%s", u.m.signer)
		}
	}
	r.logAttrs(ctx, level, "script modules", slog.String("modules", b.String()))
}
