package script

import (
	"fmt"
	"path"

	"github.com/dop251/goja"
)

// requireFunc returns the require function of module parent.
func (r *run) requireFunc(parent *module) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		spec := call.Argument(0)
		if !isString(spec) {
			r.typeError("require: the argument must be a string")
		}
		return r.require(parent, spec.String())
	}
}

// require loads, compiles and evaluates a module once per run, and
// returns its exports. A module being evaluated (a require cycle) gives
// its exports so far, as in Node.
func (r *run) require(parent *module, spec string) goja.Value {
	id, err := r.e.resolve(parent.id, spec)
	if err != nil {
		r.throwAs("ModuleError", err)
	}
	if parent.id.url != nil && id.url == nil {
		r.throwAs("ModuleError", fmt.Errorf("%w: require(%q): a remote module may not require a local file", ErrInvalidName, spec))
	}
	key := id.String()
	if mod := r.mods[key]; mod != nil {
		return mod.Get("exports")
	}
	if len(r.mods) >= r.e.cfg.MaxModules {
		r.throwAs("ModuleError", fmt.Errorf("%w: require(%q): over %d modules", ErrLimit, spec, r.e.cfg.MaxModules))
	}
	var m *module
	if p, ok := r.pre[key]; ok {
		m, err = p.m, p.err
	} else {
		m, err = r.load(r.ctx, id)
	}
	if err != nil {
		r.throwAs("ModuleError", fmt.Errorf("require(%q): %w", spec, err))
	}
	c := r.e.compile(m, true)
	if c.err != nil {
		r.throwAs("ModuleError", r.compileError(m, true, c.err))
	}
	if r.files == nil {
		r.files = make(map[string]*module)
		r.mods = make(map[string]*goja.Object)
	}
	r.files[key] = m
	vm := r.vm
	modObj := vm.NewObject()
	exports := vm.NewObject()
	_ = modObj.Set("exports", exports)
	_ = modObj.Set("id", key)
	r.mods[key] = modObj
	fv, err := vm.RunProgram(c.prog)
	if err != nil {
		panic(err) // an interrupt or exception: propagate it as it is
	}
	f, ok := goja.AssertFunction(fv)
	if !ok {
		r.typeError("require(%q): module did not compile to a function", spec)
	}
	dir := path.Dir(key)
	if id.url != nil {
		dir = id.url.JoinPath("..").String()
	}
	if _, err := f(exports, exports, r.native("require", r.requireFunc(m)), modObj, vm.ToValue(key), vm.ToValue(dir)); err != nil {
		panic(err)
	}
	return modObj.Get("exports")
}
