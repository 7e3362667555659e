package script

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dop251/goja"
)

// timeLayout formats times for scripts: RFC 3339 in UTC with fixed
// milliseconds, so strings sort in time order.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// Limits on arguments scripts pass to host functions.
const (
	maxListItems = 100
	maxArgBytes  = 1024
	maxDepth     = 32
)

// elmcityObject is the host API object. Its functions are made on first
// use; the maintenance ones exist in every run, so that a query script
// calling one gets a clear error rather than "not a function".
type elmcityObject struct {
	r     *run
	funcs map[string]goja.Value
}

// elmcityKeys lists the properties of elmcity, sorted.
func elmcityKeys() []string {
	return []string{"enqueue", "events", "feeds", "fetch", "hub", "hubInfo", "hubs", "maintenance", "now", "purgeLog", "readLog", "source", "writeLog"}
}

func (o *elmcityObject) Get(key string) goja.Value {
	r := o.r
	switch key {
	case "hub":
		return r.vm.ToValue(r.req.Hub)
	case "maintenance":
		return r.vm.ToValue(r.mh != nil)
	case "source":
		return r.source()
	}
	if f := o.funcs[key]; f != nil {
		return f
	}
	var fn func(goja.FunctionCall) goja.Value
	switch key {
	case "now":
		fn = func(goja.FunctionCall) goja.Value { return r.vm.ToValue(r.e.now().UTC().Format(timeLayout)) }
	case "readLog":
		fn = r.readLog
	case "hubInfo":
		fn = r.hubInfo
	case "feeds":
		fn = r.feeds
	case "events":
		fn = r.events
	case "writeLog":
		fn = r.writeLog
	case "purgeLog":
		fn = r.purgeLog
	case "enqueue":
		fn = r.enqueue
	case "hubs":
		fn = r.hubs
	case "fetch":
		fn = r.fetch
	default:
		return nil
	}
	f := r.native(key, fn)
	if o.funcs == nil {
		o.funcs = make(map[string]goja.Value, 9)
	}
	o.funcs[key] = f
	return f
}
func (o *elmcityObject) Set(string, goja.Value) bool { return false }
func (o *elmcityObject) Has(key string) bool {
	_, ok := slices.BinarySearch(elmcityKeys(), key)
	return ok
}
func (o *elmcityObject) Delete(string) bool { return false }
func (o *elmcityObject) Keys() []string     { return elmcityKeys() }

// host returns the read host, or raises ErrCapability.
func (r *run) host(fn string) Host {
	if r.req.Host == nil {
		r.throw(fmt.Errorf("%w: elmcity.%s: this run has no host API", ErrCapability, fn))
	}
	return r.req.Host
}

// maint returns the maintenance host, or raises ErrCapability.
func (r *run) maint(fn string) MaintenanceHost {
	if r.mh == nil {
		r.throw(fmt.Errorf("%w: elmcity.%s is a maintenance function; query scripts cannot call it", ErrCapability, fn))
	}
	return r.mh
}

// hubArg returns the hub a host function acts on: v if given, else the
// run's hub. A query script may name only its own hub.
func (r *run) hubArg(fn string, v goja.Value) string {
	hub := r.req.Hub
	if present(v) {
		hub = r.stringArg(fn, "hub", v)
	}
	if hub == "" {
		r.typeError("elmcity.%s: no hub given, and the run has none", fn)
	}
	if r.mh == nil && hub != r.req.Hub {
		r.throw(fmt.Errorf("%w: elmcity.%s(%q): query scripts can read only their own hub %q", ErrCapability, fn, hub, r.req.Hub))
	}
	return hub
}

func present(v goja.Value) bool {
	return v != nil && !goja.IsUndefined(v) && !goja.IsNull(v)
}

// stringArg reads a short string argument.
func (r *run) stringArg(fn, field string, v goja.Value) string {
	if !present(v) {
		return ""
	}
	if !isString(v) {
		r.typeError("elmcity.%s: %s must be a string", fn, field)
	}
	s := v.String()
	if len(s) > maxArgBytes {
		r.throw(fmt.Errorf("%w: elmcity.%s: %s is over %d bytes", ErrLimit, fn, field, maxArgBytes))
	}
	return s
}

// listArg reads a list of strings: an array, or one comma-separated
// string.
func (r *run) listArg(fn, field string, v goja.Value) []string {
	if !present(v) {
		return nil
	}
	var out []string
	if isString(v) {
		for s := range strings.SplitSeq(v.String(), ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	} else if err := r.vm.ExportTo(v, &out); err != nil {
		r.typeError("elmcity.%s: %s must be an array of strings or a comma-separated string", fn, field)
	}
	if len(out) > maxListItems {
		r.throw(fmt.Errorf("%w: elmcity.%s: %s has over %d items", ErrLimit, fn, field, maxListItems))
	}
	for _, s := range out {
		if len(s) > maxArgBytes {
			r.throw(fmt.Errorf("%w: elmcity.%s: an item of %s is over %d bytes", ErrLimit, fn, field, maxArgBytes))
		}
	}
	return out
}

// timeArg reads a time: a Date, milliseconds since the epoch, an RFC 3339
// string, a date "2006-01-02" (UTC), or a duration such as "24h" meaning
// that long before now.
func (r *run) timeArg(fn, field string, v goja.Value) time.Time {
	if !present(v) {
		return time.Time{}
	}
	if obj, ok := v.(*goja.Object); ok && obj.ClassName() == "Date" {
		if t, ok := obj.Export().(time.Time); ok {
			return t
		}
	}
	if !isString(v) {
		f := v.ToFloat()
		if f != f || f > 1e15 || f < -1e15 {
			r.typeError("elmcity.%s: %s is not a time", fn, field)
		}
		return time.UnixMilli(int64(f)).UTC()
	}
	s := strings.TrimSpace(v.String())
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return r.e.now().Add(-d)
	}
	r.typeError("elmcity.%s: %s %q is not an RFC 3339 time, a date or a duration", fn, field, s)
	return time.Time{}
}

// intArg reads a non-negative integer, def when absent, capped at hi.
func (r *run) intArg(fn, field string, v goja.Value, def, hi int) int {
	if !present(v) {
		return def
	}
	f := v.ToFloat()
	if f != f || f < 0 {
		r.typeError("elmcity.%s: %s must be a non-negative number", fn, field)
	}
	if f > float64(hi) {
		return hi
	}
	return int(f)
}

// objectArg returns v as an object, or nil when absent.
func (r *run) objectArg(fn string, v goja.Value) *goja.Object {
	if !present(v) {
		return nil
	}
	obj, ok := v.(*goja.Object)
	if !ok {
		r.typeError("elmcity.%s: the argument must be an object", fn)
	}
	return obj
}

func get(obj *goja.Object, key string) goja.Value {
	if obj == nil {
		return nil
	}
	return obj.Get(key)
}

// charge takes n bytes from the run's host data budget, or raises
// ErrLimit. Host functions call it before they make JavaScript values.
func (r *run) charge(fn string, n int) {
	if n > r.hostBytes {
		r.throw(fmt.Errorf("%w: elmcity.%s returned over %d bytes of data (the run's limit)", ErrLimit, fn, r.e.cfg.MaxHostBytes))
	}
	r.hostBytes -= n
}

// readLog is elmcity.readLog(query): {entries, next}.
func (r *run) readLog(call goja.FunctionCall) goja.Value {
	const fn = "readLog"
	h := r.host(fn)
	q := r.objectArg(fn, call.Argument(0))
	lq := LogQuery{
		Hub:     r.hubArg(fn, get(q, "hub")),
		Types:   r.listArg(fn, "types", get(q, "types")),
		Since:   r.timeArg(fn, "since", get(q, "since")),
		Until:   r.timeArg(fn, "until", get(q, "until")),
		Include: r.listArg(fn, "include", get(q, "include")),
		Exclude: r.listArg(fn, "exclude", get(q, "exclude")),
		Limit:   max(1, r.intArg(fn, "limit", get(q, "limit"), 100, r.e.cfg.MaxLogEntries)),
		After:   r.stringArg(fn, "after", get(q, "after")),
	}
	entries, next, err := h.ReadLog(r.ctx, lq)
	if err != nil {
		r.throw(fmt.Errorf("elmcity.readLog: %w", err))
	}
	if len(entries) > lq.Limit {
		entries = entries[:lq.Limit]
	}
	if !slices.IsSortedFunc(entries, newestFirst) {
		// The contract is newest first; hold a careless host to it
		// without changing its slice.
		entries = slices.Clone(entries)
		slices.SortStableFunc(entries, newestFirst)
	}
	n := len(next)
	for i := range entries {
		n += entrySize(&entries[i])
	}
	r.charge(fn, n)
	objs := make([]entryObject, len(entries)) // one allocation, not one per entry
	arr := make([]any, len(entries))
	for i := range entries {
		objs[i] = entryObject{r: r, e: &entries[i]}
		arr[i] = r.vm.NewDynamicObject(&objs[i])
	}
	out := r.vm.NewObject()
	_ = out.Set("entries", r.vm.NewArray(arr...))
	_ = out.Set("next", next)
	return out
}

// newestFirst orders log entries by time, newest first.
func newestFirst(a, b LogEntry) int { return b.Time.Compare(a.Time) }

// entrySize estimates an entry's size for the data budget.
func entrySize(e *LogEntry) int {
	n := 64 + len(e.ID) + len(e.Hub) + len(e.Type) + len(e.Message) + len(e.Detail) + len(e.Role) + len(e.Instance)
	for k, v := range e.Attrs {
		n += 16 + len(k) + len(v)
	}
	return n
}

// entryFields lists a log entry's properties in the order scripts see
// them.
func entryFields() []string {
	return []string{"id", "hub", "type", "time", "ms", "message", "detail", "role", "instance", "attrs"}
}

// entryObject is a log entry as scripts see it: a dynamic object that
// makes each property's value on first use and keeps it, so reading a
// thousand entries costs little more than the fields a script touches.
// Scripts may set properties (their own, or to replace a field's value).
type entryObject struct {
	r     *run
	e     *LogEntry
	vals  [10]goja.Value
	extra map[string]goja.Value
}

func entryField(key string) int {
	switch key {
	case "id":
		return 0
	case "hub":
		return 1
	case "type":
		return 2
	case "time":
		return 3
	case "ms":
		return 4
	case "message":
		return 5
	case "detail":
		return 6
	case "role":
		return 7
	case "instance":
		return 8
	case "attrs":
		return 9
	}
	return -1
}

func (o *entryObject) Get(key string) goja.Value {
	i := entryField(key)
	if i < 0 {
		return o.extra[key]
	}
	if v := o.vals[i]; v != nil {
		return v
	}
	vm, e := o.r.vm, o.e
	var v goja.Value
	switch i {
	case 0:
		v = vm.ToValue(e.ID)
	case 1:
		v = o.r.intern(e.Hub)
	case 2:
		v = o.r.intern(e.Type)
	case 3:
		v = vm.ToValue(e.Time.UTC().Format(time.RFC3339))
	case 4:
		v = vm.ToValue(e.Time.UnixMilli())
	case 5:
		v = vm.ToValue(e.Message)
	case 6:
		v = vm.ToValue(e.Detail)
	case 7:
		v = o.r.intern(e.Role)
	case 8:
		v = o.r.intern(e.Instance)
	case 9:
		v = o.r.toJS(e.Attrs)
		if e.Attrs == nil {
			v = vm.NewObject()
		}
	}
	o.vals[i] = v
	return v
}

// intern returns the run's one JavaScript value for s, for the few
// strings (hub, type, role, instance) that repeat across log entries.
func (r *run) intern(s string) goja.Value {
	if v, ok := r.strs[s]; ok {
		return v
	}
	v := r.vm.ToValue(s)
	if r.strs == nil {
		r.strs = make(map[string]goja.Value)
	}
	if len(r.strs) < 1024 {
		r.strs[s] = v
	}
	return v
}

func (o *entryObject) Set(key string, v goja.Value) bool {
	if i := entryField(key); i >= 0 {
		o.vals[i] = v
		return true
	}
	if o.extra == nil {
		o.extra = make(map[string]goja.Value)
	}
	o.extra[key] = v
	return true
}

func (o *entryObject) Has(key string) bool {
	if entryField(key) >= 0 {
		return true
	}
	_, ok := o.extra[key]
	return ok
}

func (o *entryObject) Delete(key string) bool {
	if entryField(key) >= 0 {
		return false
	}
	delete(o.extra, key)
	return true
}

func (o *entryObject) Keys() []string {
	keys := entryFields()
	if len(o.extra) > 0 {
		keys = append(keys, slices.Sorted(maps.Keys(o.extra))...)
	}
	return keys
}

// hubInfo is elmcity.hubInfo([hub]): the hub's record.
func (r *run) hubInfo(call goja.FunctionCall) goja.Value {
	const fn = "hubInfo"
	h := r.host(fn)
	rec, err := h.Hub(r.ctx, r.hubArg(fn, call.Argument(0)))
	if err != nil {
		r.throw(fmt.Errorf("elmcity.hubInfo: %w", err))
	}
	return r.data(fn, rec)
}

// feeds is elmcity.feeds([hub]): the hub's feeds with their stats.
func (r *run) feeds(call goja.FunctionCall) goja.Value {
	const fn = "feeds"
	h := r.host(fn)
	fs, err := h.Feeds(r.ctx, r.hubArg(fn, call.Argument(0)))
	if err != nil {
		r.throw(fmt.Errorf("elmcity.feeds: %w", err))
	}
	return r.data(fn, fs)
}

// events is elmcity.events([hub], [limit]): published events.
func (r *run) events(call goja.FunctionCall) goja.Value {
	const fn = "events"
	h := r.host(fn)
	hub := r.hubArg(fn, call.Argument(0))
	limit := max(1, r.intArg(fn, "limit", call.Argument(1), 100, r.e.cfg.MaxLogEntries))
	evs, err := h.Events(r.ctx, hub, limit)
	if err != nil {
		r.throw(fmt.Errorf("elmcity.events: %w", err))
	}
	if len(evs) > limit {
		evs = evs[:limit]
	}
	return r.data(fn, evs)
}

// writeLog is elmcity.writeLog({hub, type, message, detail, attrs}).
func (r *run) writeLog(call goja.FunctionCall) goja.Value {
	const fn = "writeLog"
	h := r.maint(fn)
	o := r.objectArg(fn, call.Argument(0))
	if o == nil {
		r.typeError("elmcity.writeLog: needs an entry {type, message, detail, attrs, hub}")
	}
	e := LogEntry{
		Hub:  r.hubArg(fn, o.Get("hub")),
		Type: r.stringArg(fn, "type", o.Get("type")),
		Time: r.e.now().UTC(),
	}
	if e.Type == "" {
		r.typeError("elmcity.writeLog: type is required")
	}
	msg, detail := o.Get("message"), o.Get("detail")
	if present(msg) && !isString(msg) || present(detail) && !isString(detail) {
		r.typeError("elmcity.writeLog: message and detail must be strings")
	}
	size := 0
	if present(msg) {
		size += len(msg.String())
	}
	if present(detail) {
		size += len(detail.String())
	}
	var attrs map[string]string
	if a := o.Get("attrs"); present(a) {
		if err := r.vm.ExportTo(a, &attrs); err != nil {
			r.typeError("elmcity.writeLog: attrs must be an object of strings")
		}
		for k, v := range attrs {
			size += len(k) + len(v)
		}
	}
	if size > r.e.cfg.MaxLogBytes {
		r.throw(fmt.Errorf("%w: elmcity.writeLog: entry is %d bytes, over %d", ErrLimit, size, r.e.cfg.MaxLogBytes))
	}
	if present(msg) {
		e.Message = msg.String()
	}
	if present(detail) {
		e.Detail = detail.String()
	}
	e.Attrs = attrs
	if e.Message == "" {
		r.typeError("elmcity.writeLog: message is required")
	}
	if err := h.WriteLog(r.ctx, e); err != nil {
		r.throw(fmt.Errorf("elmcity.writeLog: %w", err))
	}
	return goja.Undefined()
}

// purgeLog is elmcity.purgeLog(hub, olderThan): the number deleted.
func (r *run) purgeLog(call goja.FunctionCall) goja.Value {
	const fn = "purgeLog"
	h := r.maint(fn)
	hub := r.hubArg(fn, call.Argument(0))
	older := r.timeArg(fn, "olderThan", call.Argument(1))
	if older.IsZero() {
		r.typeError("elmcity.purgeLog: olderThan is required (a time, a date or a duration such as \"720h\")")
	}
	n, err := h.PurgeLog(r.ctx, hub, older)
	if err != nil {
		r.throw(fmt.Errorf("elmcity.purgeLog %s: %w", hub, err))
	}
	return r.vm.ToValue(n)
}

// enqueue is elmcity.enqueue(hub, reason): the job id.
func (r *run) enqueue(call goja.FunctionCall) goja.Value {
	const fn = "enqueue"
	h := r.maint(fn)
	hub := r.hubArg(fn, call.Argument(0))
	reason := r.stringArg(fn, "reason", call.Argument(1))
	id, err := h.Enqueue(r.ctx, hub, reason)
	if err != nil {
		r.throw(fmt.Errorf("elmcity.enqueue %s: %w", hub, err))
	}
	return r.vm.ToValue(id)
}

// hubs is elmcity.hubs(): all hub ids.
func (r *run) hubs(goja.FunctionCall) goja.Value {
	const fn = "hubs"
	h := r.maint(fn)
	ids, err := h.Hubs(r.ctx)
	if err != nil {
		r.throw(fmt.Errorf("elmcity.hubs: %w", err))
	}
	return r.data(fn, ids)
}

// data converts JSON-like host data to JavaScript values after charging
// its size to the budget, so an oversized answer is refused before any
// JavaScript value is made.
func (r *run) data(fn string, v any) goja.Value {
	n, err := sizeOf(v, 0)
	if err != nil {
		r.throw(fmt.Errorf("elmcity.%s: %w", fn, err))
	}
	r.charge(fn, n)
	return r.toJS(v)
}

// sizeOf estimates the size of JSON-like data and rejects data nested
// deeper than maxDepth (which includes cycles).
func sizeOf(v any, depth int) (int, error) {
	if depth > maxDepth {
		return 0, fmt.Errorf("%w: data nested deeper than %d levels", ErrLimit, maxDepth)
	}
	switch x := v.(type) {
	case string:
		return 16 + len(x), nil
	case []string:
		n := 16
		for _, s := range x {
			n += 16 + len(s)
		}
		return n, nil
	case map[string]string:
		n := 16
		for k, s := range x {
			n += 32 + len(k) + len(s)
		}
		return n, nil
	case []any:
		n := 16
		for _, e := range x {
			m, err := sizeOf(e, depth+1)
			if err != nil {
				return 0, err
			}
			n += m
		}
		return n, nil
	case []map[string]any:
		n := 16
		for _, e := range x {
			m, err := sizeOf(e, depth+1)
			if err != nil {
				return 0, err
			}
			n += m
		}
		return n, nil
	case map[string]any:
		n := 16
		for k, e := range x {
			m, err := sizeOf(e, depth+1)
			if err != nil {
				return 0, err
			}
			n += 16 + len(k) + m
		}
		return n, nil
	case nil, bool, int, int32, int64, uint, uint32, uint64, float32, float64, time.Time, time.Duration:
		return 16, nil
	case json.Number:
		return 16 + len(x), nil
	default:
		// Anything else (structs, typed slices and maps) goes through
		// JSON, as toJS does.
		b, err := json.Marshal(x)
		if err != nil {
			return 0, fmt.Errorf("host data of type %T: %w", x, err)
		}
		return 16 + len(b), nil
	}
}

// toJS converts JSON-like data to plain JavaScript values (not Go
// wrappers), with object keys in sorted order.
func (r *run) toJS(v any) goja.Value {
	vm := r.vm
	switch x := v.(type) {
	case nil:
		return goja.Null()
	case string, bool, int, int32, int64, uint, uint32, uint64, float32, float64:
		return vm.ToValue(x)
	case json.Number:
		if f, err := strconv.ParseFloat(string(x), 64); err == nil {
			return vm.ToValue(f)
		}
		return vm.ToValue(string(x))
	case time.Time:
		return vm.ToValue(x.UTC().Format(timeLayout))
	case time.Duration:
		return vm.ToValue(x.String())
	case []string:
		items := make([]any, len(x))
		for i, s := range x {
			items[i] = s
		}
		return vm.NewArray(items...)
	case []any:
		items := make([]any, len(x))
		for i, e := range x {
			items[i] = r.toJS(e)
		}
		return vm.NewArray(items...)
	case []map[string]any:
		items := make([]any, len(x))
		for i, e := range x {
			items[i] = r.toJS(e)
		}
		return vm.NewArray(items...)
	case map[string]string:
		o := vm.NewObject()
		for _, k := range slices.Sorted(maps.Keys(x)) {
			_ = o.Set(k, x[k])
		}
		return o
	case map[string]any:
		o := vm.NewObject()
		for _, k := range slices.Sorted(maps.Keys(x)) {
			_ = o.Set(k, r.toJS(x[k]))
		}
		return o
	default:
		// Structs, typed slices and maps: their JSON form, as plain values.
		b, err := json.Marshal(x)
		if err != nil {
			return vm.ToValue(fmt.Sprint(x))
		}
		var plain any
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if err := d.Decode(&plain); err != nil {
			return vm.ToValue(string(b))
		}
		return r.toJS(plain)
	}
}
