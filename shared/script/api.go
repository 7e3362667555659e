package script

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// install provides the run's globals: argv, params, console, elmcity and
// require. They live on an object that is made the global object's
// prototype and creates each value on first use, which keeps a trivial
// run cheap (setting five globals would cost more than the run). A
// script may still shadow them with its own globals.
func (r *run) install() {
	// A fresh object makes no prototype loop: SetPrototype cannot fail.
	_ = r.vm.GlobalObject().SetPrototype(r.vm.NewDynamicObject(&globals{r: r}))
}

// globalNames lists the globals a run provides, sorted.
func globalNames() []string { return []string{"argv", "console", "elmcity", "params", "require"} }

// globals is the prototype of a run's global object.
type globals struct {
	r                                       *run
	argv, params, console, elmcity, require goja.Value
}

func (g *globals) Get(key string) goja.Value {
	r, vm := g.r, g.r.vm
	switch key {
	case "argv":
		if g.argv == nil {
			argv := make([]any, len(r.req.Argv))
			for i, a := range r.req.Argv {
				argv[i] = a
			}
			g.argv = vm.NewArray(argv...)
		}
		return g.argv
	case "params":
		if g.params == nil {
			g.params = vm.NewDynamicObject(&paramsObject{vm: vm, m: r.req.Params})
		}
		return g.params
	case "console":
		if g.console == nil {
			g.console = vm.NewDynamicObject(&consoleObject{r: r})
		}
		return g.console
	case "elmcity":
		if g.elmcity == nil {
			g.elmcity = vm.NewDynamicObject(&elmcityObject{r: r})
		}
		return g.elmcity
	case "require":
		if g.require == nil {
			g.require = r.native("require", r.requireFunc(r.root))
		}
		return g.require
	}
	return nil
}
func (g *globals) Set(string, goja.Value) bool { return false }
func (g *globals) Has(key string) bool {
	_, ok := slices.BinarySearch(globalNames(), key)
	return ok
}
func (g *globals) Delete(string) bool { return false }
func (g *globals) Keys() []string     { return globalNames() }

// native makes a host function whose name property is name rather than
// its Go name.
func (r *run) native(name string, fn func(goja.FunctionCall) goja.Value) goja.Value {
	f := r.vm.ToValue(fn)
	if obj, ok := f.(*goja.Object); ok {
		_ = obj.DefineDataProperty("name", r.vm.ToValue(name), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	}
	return f
}

// throw raises err in the script as an exception whose name says what
// kind of error it is: CapabilityError, LimitError, IntegrityError,
// NotFoundError or HostError. The exception unwraps to err, so if the
// script does not catch it, Run's *Error does too.
func (r *run) throw(err error) {
	r.throwAs("HostError", err)
}

// throwAs is throw with the name to use when err is none of the
// sentinels with names of their own.
func (r *run) throwAs(name string, err error) {
	obj := r.vm.NewGoError(err)
	switch {
	case errors.Is(err, ErrCapability):
		name = "CapabilityError"
	case errors.Is(err, ErrLimit):
		name = "LimitError"
	case errors.Is(err, ErrIntegrity):
		name = "IntegrityError"
	case errors.Is(err, ErrNotFound) && name == "HostError":
		name = "NotFoundError"
	}
	_ = obj.Set("name", name)
	panic(obj)
}

// typeError raises a TypeError about a bad argument.
func (r *run) typeError(format string, args ...any) {
	panic(r.vm.NewTypeError("%s", fmt.Sprintf(format, args...)))
}

// paramsObject is the read-only params object.
type paramsObject struct {
	vm *goja.Runtime
	m  map[string]string
}

func (p *paramsObject) Get(key string) goja.Value {
	if v, ok := p.m[key]; ok {
		return p.vm.ToValue(v)
	}
	return nil
}
func (p *paramsObject) Set(string, goja.Value) bool { return false }
func (p *paramsObject) Has(key string) bool {
	_, ok := p.m[key]
	return ok
}
func (p *paramsObject) Delete(string) bool { return false }
func (p *paramsObject) Keys() []string     { return slices.Sorted(maps.Keys(p.m)) }

// consoleObject is console: log, info and debug at their levels, warn
// at Warn and error at Error, through the engine's logger with the run's
// hub.
type consoleObject struct {
	r     *run
	funcs map[string]goja.Value
}

// consoleLevel maps a console method to its level.
func consoleLevel(method string) (slog.Level, bool) {
	switch method {
	case "log", "info":
		return slog.LevelInfo, true
	case "debug":
		return slog.LevelDebug, true
	case "warn":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	}
	return 0, false
}

func (c *consoleObject) Get(key string) goja.Value {
	level, ok := consoleLevel(key)
	if !ok {
		return nil
	}
	if f := c.funcs[key]; f != nil {
		return f
	}
	f := c.r.native(key, func(call goja.FunctionCall) goja.Value {
		c.r.console(level, call.Arguments)
		return goja.Undefined()
	})
	if c.funcs == nil {
		c.funcs = make(map[string]goja.Value, 5)
	}
	c.funcs[key] = f
	return f
}
func (c *consoleObject) Set(string, goja.Value) bool { return false }
func (c *consoleObject) Has(key string) bool {
	_, ok := consoleLevel(key)
	return ok
}
func (c *consoleObject) Delete(string) bool { return false }
func (c *consoleObject) Keys() []string     { return []string{"debug", "error", "info", "log", "warn"} }

// console logs one console line.
func (r *run) console(level slog.Level, args []goja.Value) {
	if !r.e.log.Enabled(r.ctx, level) {
		return
	}
	r.logLines++
	switch {
	case r.logLines == r.e.cfg.MaxLogLines+1:
		r.logAttrs(r.ctx, slog.LevelWarn, fmt.Sprintf("console output stopped after %d lines", r.e.cfg.MaxLogLines))
		return
	case r.logLines > r.e.cfg.MaxLogLines:
		return
	}
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(r.format(a))
		if b.Len() > r.e.cfg.MaxLogBytes {
			break
		}
	}
	r.logAttrs(r.ctx, level, truncate(b.String(), r.e.cfg.MaxLogBytes))
}

// format renders a console argument: strings as they are, objects as
// JSON, errors and functions through toString.
func (r *run) format(v goja.Value) string {
	if obj, ok := v.(*goja.Object); ok {
		switch obj.ClassName() {
		case "Error", "Function":
		default:
			if b, err := json.Marshal(obj); err == nil {
				return string(b)
			}
		}
	}
	return safeString(v)
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…(truncated)"
	cut := max(n-len(mark), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
