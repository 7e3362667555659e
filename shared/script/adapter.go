package script

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dop251/goja"

	"github.com/elmcity/elmcity/shared/feedkind"
)

// Fetcher fetches web pages for adapter scripts (elmcity.fetch). The
// worker adapts its feed fetcher (shared/fetch) to it, so that the feed
// rules apply to what adapters fetch: private addresses refused at
// dial time, the size cap, the timeout, the redirect limit, and a URL or
// redirect on a host outside FetchRequest.Hosts refused.
type Fetcher interface {
	// Fetch gets req.URL. A response with any status is a response, not
	// an error; errors are failures to get one (a refused address, a
	// body over the cap, a timeout), which the script sees as a
	// HostError. It honours ctx, the run's, which ends at its time
	// limit.
	Fetch(ctx context.Context, req FetchRequest) (FetchResponse, error)
}

// FetchRequest is one elmcity.fetch call.
type FetchRequest struct {
	// URL is the absolute http(s) URL to get.
	URL string
	// Header holds the request header fields the script set, such as
	// Accept or Authorization.
	Header map[string]string
	// Hosts are the hosts (lower case) the URL and its redirects may
	// lead to: the feed's and those its record lists.
	Hosts []string
}

// FetchResponse is what an adapter script sees of a response: {url,
// status, headers, body}.
type FetchResponse struct {
	// URL is the final URL, after redirects.
	URL string
	// Status is the HTTP status code.
	Status int
	// Header holds the response's header fields, names in lower case,
	// repeated fields joined with ", ".
	Header map[string]string
	// Body is the body as text (UTF-8).
	Body string
}

// DefaultMaxAdapterFetches is the most elmcity.fetch calls one adapter
// run may make when AdapterRequest.MaxFetches is zero.
const DefaultMaxAdapterFetches = 50

// Bounds of elmcity.fetch's arguments and answers.
const (
	maxFetchURL      = 4 << 10
	maxFetchHeaders  = 32
	maxHeaderAnswers = 64
)

// adapterName is what AdapterRequest.Adapter may be: it names
// adapters/{name}.js, as hub.Feed.Adapter does.
var adapterName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// AdapterRequest is one run of an adapter script: the script feed of a
// hub turned into events.
type AdapterRequest struct {
	// Adapter names the script: the run is of adapters/{Adapter}.js under
	// Config.Source. It must match [a-z0-9][a-z0-9_-]{0,63}.
	Adapter string
	// Hub is the hub the feed belongs to; console output is logged with
	// it.
	Hub string
	// FeedURL is the feed's URL, the script's argv[0]. elmcity.fetch may
	// get URLs on its host.
	FeedURL string
	// Hosts are the other hosts elmcity.fetch may get URLs on (the feed
	// record's hosts), such as "api.example.org".
	Hosts []string
	// Fetcher gets what elmcity.fetch asks for; required.
	Fetcher Fetcher
	// Source is the response at FeedURL that the caller fetched already,
	// which the script reads as elmcity.source; nil makes that null.
	Source *FetchResponse
	// MaxFetches bounds the elmcity.fetch calls of the run; 0 means
	// DefaultMaxAdapterFetches.
	MaxFetches int
	// Options bounds and places the events written (the hub's zone, the
	// caps on events and output); Options.MaxItems also bounds the
	// events read from the result.
	Options feedkind.Options
}

// AdapterResult is what an adapter run produced.
type AdapterResult struct {
	// ICS is the events as iCalendar text, for the hub's parser.
	ICS []byte
	// Report counts the events the script returned (Items), those
	// written (Events) and those skipped, with a warning naming each
	// skipped event and the field at fault.
	Report feedkind.Report
	// Fetches counts the elmcity.fetch calls made.
	Fetches int
}

// adapterRun is the adapter capability of a run.
type adapterRun struct {
	req     *AdapterRequest
	hosts   []string // the feed's host first, lower case
	fetches int
	max     int
	source  goja.Value // made on first use
}

// RunAdapter runs the adapter script adapters/{req.Adapter}.js for a
// script feed and turns its result into iCalendar. The script gets the
// adapter capability and no other: argv is [req.FeedURL], elmcity.hub
// and elmcity.now() work, elmcity.source is req.Source, and
// elmcity.fetch(url, {headers}) gets pages through req.Fetcher on the
// feed's host or one of req.Hosts, at most req.MaxFetches times; the
// storage functions throw a CapabilityError. It must leave an array of
// events in result, each an object with title and start (required),
// end, all_day, tz, uid, location, url, description, categories,
// rrule, exdate and status (see feedkind.Event), which RunAdapter
// validates and writes with feedkind.WriteEvents: an event that cannot
// be used is skipped, and a warning names it ("result[3] (uid "a-17")")
// and the field at fault.
//
// RunAdapter returns ErrInvalidName for a bad adapter name, ErrNotFound
// for a missing script, a *Error for a failure in the script (an
// exception, with its file and line; a timeout, matching
// context.DeadlineExceeded; a result that is not an array), and an
// error wrapping feedkind.ErrInvalidInput when the script returned
// events and none is usable.
func (e *Engine) RunAdapter(ctx context.Context, req AdapterRequest) (AdapterResult, error) {
	if !adapterName.MatchString(req.Adapter) {
		return AdapterResult{}, fmt.Errorf("run adapter %q: %w: an adapter name is lowercase letters, digits, - and _", req.Adapter, ErrInvalidName)
	}
	if req.Fetcher == nil {
		return AdapterResult{}, fmt.Errorf("run adapter %q: %w: no fetcher", req.Adapter, ErrCapability)
	}
	feed, err := url.Parse(req.FeedURL)
	if err != nil || feed.Hostname() == "" {
		return AdapterResult{}, fmt.Errorf("run adapter %q: feed URL %q has no host: %w", req.Adapter, req.FeedURL, ErrCapability)
	}
	name := "adapters/" + req.Adapter + ".js"
	r, err := e.newRun(Request{Name: name, Argv: []string{req.FeedURL}, Hub: req.Hub})
	if err != nil {
		return AdapterResult{}, fmt.Errorf("run adapter %q: %w", req.Adapter, err)
	}
	ad := &adapterRun{req: &req, hosts: []string{strings.ToLower(feed.Hostname())}, max: req.MaxFetches}
	if ad.max <= 0 {
		ad.max = DefaultMaxAdapterFetches
	}
	for _, h := range req.Hosts {
		ad.hosts = append(ad.hosts, strings.ToLower(strings.TrimSpace(h)))
	}
	r.ad = ad
	root, err := r.loadRoot(ctx)
	if err != nil {
		return AdapterResult{}, fmt.Errorf("run adapter %q: %w", req.Adapter, err)
	}
	defer r.logProvenance(ctx)
	opt := req.Options
	maxItems := cmpPositive(opt.MaxItems, feedkind.DefaultMaxItems)
	var rd adapterRead
	err = r.execThen(ctx, root, func() error {
		var err error
		rd, err = r.adapterEvents(maxItems)
		return err
	})
	res := AdapterResult{Fetches: ad.fetches}
	if err != nil {
		return res, err
	}
	res.ICS, res.Report, err = feedkind.WriteEvents(ctx, rd.events, opt)
	maxWarnings := cmpPositive(opt.MaxWarnings, feedkind.DefaultMaxWarnings)
	addWarning := func(w string) {
		if len(res.Report.Warnings) >= maxWarnings {
			res.Report.MoreWarnings++
			return
		}
		res.Report.Warnings = append(res.Report.Warnings, w)
	}
	if rd.length > len(rd.events) {
		addWarning(fmt.Sprintf("result has %d events; only the first %d were read (the limit)", rd.length, len(rd.events)))
	}
	for _, k := range slices.Sorted(maps.Keys(rd.unknown)) {
		addWarning(fmt.Sprintf("%d× field %q is not an event field; ignored", rd.unknown[k], k))
	}
	if err != nil {
		return res, fmt.Errorf("run adapter %q: %w", req.Adapter, err)
	}
	return res, nil
}

// cmpPositive returns v if it is positive, else def.
func cmpPositive(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// adapterRead is what adapterEvents read of the result.
type adapterRead struct {
	events  []feedkind.Event
	length  int            // the result's length
	unknown map[string]int // fields no event has, with their counts
}

// adapterEvents reads the result, an array of event objects, reading at
// most maxItems of them. It runs under the run's time limit: reading a
// property may run a getter.
func (r *run) adapterEvents(maxItems int) (rd adapterRead, err error) {
	defer func() {
		// A getter interrupted by the time limit, or one that overflowed
		// the stack, panics with goja's uncatchable error.
		if p := recover(); p != nil {
			if perr, ok := p.(error); ok {
				err = r.scriptError(perr)
				return
			}
			panic(p)
		}
	}()
	v, err := r.resultValue()
	if err != nil {
		return rd, err
	}
	arr, ok := v.(*goja.Object)
	if !ok || arr.ClassName() != "Array" {
		return rd, &Error{Script: r.name, File: r.root.id.String(), Hash: r.root.hash,
			Msg: "result must be an array of events, not " + describe(v)}
	}
	if ex := r.vm.Try(func() {
		n := arr.Get("length").ToInteger()
		rd.length = int(min(max(n, 0), 1<<31))
		rd.events = make([]feedkind.Event, 0, min(rd.length, maxItems))
		for i := 0; i < rd.length && i < maxItems; i++ {
			if i%256 == 0 && r.ctx.Err() != nil {
				return
			}
			rd.events = append(rd.events, r.adapterEvent(i, arr.Get(strconv.Itoa(i)), &rd))
		}
	}); ex != nil {
		return rd, r.scriptError(ex)
	}
	if err := r.ctx.Err(); err != nil {
		return rd, &Error{Script: r.name, File: r.root.id.String(), Hash: r.root.hash, Err: err,
			Msg: fmt.Sprintf("timed out reading the result (%v; the run limit is %v)", err, r.e.cfg.Timeout)}
	}
	return rd, nil
}

// eventFields lists the fields of an adapter's event object.
func eventFields() []string {
	return []string{"all_day", "categories", "description", "end", "exdate", "location", "rrule", "start", "status", "title", "tz", "uid", "url"}
}

// adapterEvent reads result[i].
func (r *run) adapterEvent(i int, v goja.Value, rd *adapterRead) feedkind.Event {
	ev := feedkind.Event{Where: "result[" + strconv.Itoa(i) + "]"}
	o, ok := v.(*goja.Object)
	if !ok || o.ClassName() == "Array" || o.ClassName() == "Function" {
		ev.Problem = "not an event object but " + describe(v)
		return ev
	}
	problem := func(field, msg string) {
		if ev.Problem == "" {
			ev.Problem = field + ": " + msg
		}
	}
	// text reads a string field; numbers are written as they print
	// (ids are often numbers), and dates as RFC 3339 when dates is set.
	text := func(field string, dates bool) string {
		v := o.Get(field)
		if !present(v) {
			return ""
		}
		if isString(v) {
			return v.String()
		}
		if obj, ok := v.(*goja.Object); ok {
			if dates && obj.ClassName() == "Date" {
				if t, ok := obj.Export().(time.Time); ok {
					return t.UTC().Format(time.RFC3339)
				}
			}
			problem(field, "must be a string, not "+describe(v))
			return ""
		}
		switch x := v.Export().(type) {
		case int64:
			if dates {
				break
			}
			return strconv.FormatInt(x, 10)
		case float64:
			if dates {
				break
			}
			return strconv.FormatFloat(x, 'f', -1, 64)
		}
		problem(field, "must be a string, not "+describe(v))
		return ""
	}
	// list reads an array of strings (or dates), or one string.
	list := func(field string, limit int, dates bool) []string {
		v := o.Get(field)
		if !present(v) {
			return nil
		}
		if isString(v) {
			if dates {
				return []string{v.String()}
			}
			return strings.Split(v.String(), ",")
		}
		a, ok := v.(*goja.Object)
		if !ok || a.ClassName() != "Array" {
			problem(field, "must be an array of strings, not "+describe(v))
			return nil
		}
		n := int(min(max(a.Get("length").ToInteger(), 0), int64(limit)))
		out := make([]string, 0, n)
		for j := range n {
			x := a.Get(strconv.Itoa(j))
			switch {
			case isString(x):
				out = append(out, x.String())
			case dates && isDate(x):
				t, _ := x.Export().(time.Time)
				out = append(out, t.UTC().Format(time.RFC3339))
			default:
				problem(fmt.Sprintf("%s[%d]", field, j), "must be a string, not "+describe(x))
				return nil
			}
		}
		return out
	}
	ev.UID = text("uid", false)
	ev.Title = text("title", false)
	ev.Start = text("start", true)
	ev.End = text("end", true)
	if v := o.Get("all_day"); present(v) {
		b, ok := v.Export().(bool)
		if !ok {
			problem("all_day", "must be true or false, not "+describe(v))
		}
		ev.AllDay = b
	}
	ev.TZ = text("tz", false)
	ev.Location = text("location", false)
	ev.URL = text("url", false)
	ev.Description = text("description", false)
	ev.Categories = list("categories", 64, false)
	ev.RRule = text("rrule", false)
	ev.ExDate = list("exdate", 1001, true)
	ev.Status = text("status", false)
	for _, k := range o.Keys() {
		if _, known := slices.BinarySearch(eventFields(), k); !known {
			if rd.unknown == nil {
				rd.unknown = make(map[string]int)
			}
			if _, seen := rd.unknown[k]; seen || len(rd.unknown) < 32 {
				rd.unknown[k]++
			}
		}
	}
	return ev
}

// isDate reports whether v is a Date.
func isDate(v goja.Value) bool {
	o, ok := v.(*goja.Object)
	return ok && o.ClassName() == "Date"
}

// describe names the type of v for messages: "undefined", "null", "a
// string", "a number", "a boolean", "an array", "a function", "an
// object".
func describe(v goja.Value) string {
	switch {
	case v == nil || goja.IsUndefined(v):
		return "undefined"
	case goja.IsNull(v):
		return "null"
	case isString(v):
		return "a string"
	}
	if o, ok := v.(*goja.Object); ok {
		switch o.ClassName() {
		case "Array":
			return "an array"
		case "Function":
			return "a function"
		case "Date":
			return "a Date"
		}
		return "an object"
	}
	switch v.Export().(type) {
	case bool:
		return "a boolean"
	case int64, float64:
		return "a number"
	}
	return "a " + v.ExportType().String()
}

// source is elmcity.source: the response at the feed's URL that the
// worker fetched, {url, status, headers, body}, or null.
func (r *run) source() goja.Value {
	if r.ad == nil || r.ad.req.Source == nil {
		return goja.Null()
	}
	if r.ad.source == nil {
		r.ad.source = r.response("source", *r.ad.req.Source)
	}
	return r.ad.source
}

// response makes the JavaScript object of a response, after charging
// its size to the run's data budget.
func (r *run) response(fn string, resp FetchResponse) goja.Value {
	n := 64 + len(resp.URL) + len(resp.Body)
	for k, v := range resp.Header {
		n += 32 + len(k) + len(v)
	}
	r.charge(fn, n)
	o := r.vm.NewObject()
	_ = o.Set("url", resp.URL)
	_ = o.Set("status", resp.Status)
	h := r.vm.NewObject()
	keys := slices.Sorted(maps.Keys(resp.Header))
	if len(keys) > maxHeaderAnswers {
		keys = keys[:maxHeaderAnswers]
	}
	for _, k := range keys {
		_ = h.Set(strings.ToLower(k), resp.Header[k])
	}
	_ = o.Set("headers", h)
	_ = o.Set("body", resp.Body)
	return o
}

// fetch is elmcity.fetch(url, {headers}): {url, status, headers, body}.
func (r *run) fetch(call goja.FunctionCall) goja.Value {
	const fn = "fetch"
	ad := r.ad
	if ad == nil {
		r.throw(fmt.Errorf("%w: elmcity.fetch is an adapter function; only adapter scripts (adapters/*.js, run for a script feed) can call it", ErrCapability))
	}
	v := call.Argument(0)
	if !isString(v) {
		r.typeError("elmcity.fetch: the URL must be a string")
	}
	raw := strings.TrimSpace(v.String())
	if len(raw) > maxFetchURL {
		r.throw(fmt.Errorf("%w: elmcity.fetch: the URL is over %d bytes", ErrLimit, maxFetchURL))
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		r.typeError("elmcity.fetch: %q is not an absolute http or https URL", truncate(raw, 200))
	}
	host := strings.ToLower(u.Hostname())
	if !slices.Contains(ad.hosts, host) {
		others := "none"
		if len(ad.hosts) > 1 {
			others = strings.Join(ad.hosts[1:], ", ")
		}
		r.throw(fmt.Errorf("%w: elmcity.fetch %s: host %q is neither the feed's (%s) nor one of its hosts (%s); a curator may add it to the feed's hosts",
			ErrCapability, truncate(raw, 200), host, ad.hosts[0], others))
	}
	var header map[string]string
	if opts := r.objectArg(fn, call.Argument(1)); opts != nil {
		if hv := opts.Get("headers"); present(hv) {
			if err := r.vm.ExportTo(hv, &header); err != nil {
				r.typeError("elmcity.fetch: headers must be an object of strings")
			}
			if len(header) > maxFetchHeaders {
				r.throw(fmt.Errorf("%w: elmcity.fetch: over %d headers", ErrLimit, maxFetchHeaders))
			}
			for k, hv := range header {
				if len(k)+len(hv) > maxArgBytes || strings.ContainsAny(k+hv, "\r\n") {
					r.typeError("elmcity.fetch: header %q is over %d bytes or has a line break", truncate(k, 64), maxArgBytes)
				}
			}
		}
	}
	if ad.fetches >= ad.max {
		r.throw(fmt.Errorf("%w: elmcity.fetch: over %d fetches in one run", ErrLimit, ad.max))
	}
	ad.fetches++
	resp, err := ad.req.Fetcher.Fetch(r.ctx, FetchRequest{URL: u.String(), Header: header, Hosts: ad.hosts})
	if err != nil {
		r.throw(fmt.Errorf("elmcity.fetch %s: %w", truncate(raw, 200), err))
	}
	return r.response(fn, resp)
}
