package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/feedcheck"
	"github.com/elmcity/elmcity/shared/feedkind"
	"github.com/elmcity/elmcity/shared/fetch"
	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/script"
	"github.com/elmcity/elmcity/shared/scripthost"
)

// feedFetcher fetches one feed, and the pages a script feed's adapter
// asks for (*fetch.Fetcher). Its errors are *fetch.Error.
type feedFetcher interface {
	Fetch(ctx context.Context, rawURL string, prev fetch.Validators) (fetch.Result, error)
	Get(ctx context.Context, rawURL string, opt fetch.GetOptions) (fetch.Result, error)
}

var _ feedFetcher = (*fetch.Fetcher)(nil)

// adapterRunner runs script feeds' adapter scripts (*script.Engine).
// RunAdapter returns script.ErrNotFound for a missing adapter and a
// *script.Error for a failed run; Exists returns script.ErrInvalidName
// for a bad name.
type adapterRunner interface {
	RunAdapter(ctx context.Context, req script.AdapterRequest) (script.AdapterResult, error)
	Exists(name string) (bool, error)
}

var _ adapterRunner = (*script.Engine)(nil)

// CheckConfig configures POST /api/hubs/{hub}/check, which reads a feed
// the way the worker does. A zero field takes its default; without a
// Fetcher the route answers 503.
type CheckConfig struct {
	// Fetcher fetches under the worker's rules: SSRF blocking (private
	// addresses only where the role's config allows them), the size cap
	// and the timeout.
	Fetcher feedFetcher
	// Adapters runs a script feed's adapter script, adapters/{name}.js
	// (the role's script engine, the one behind /services), with
	// elmcity.fetch going through Fetcher; without it a script feed's
	// check answers 503.
	Adapters adapterRunner
	// Bounds bounds parsing and expanding, as the worker's do.
	Bounds calendar.Config
	// ParseTimeout bounds parsing and expanding (default 20s).
	ParseTimeout time.Duration
	// PerMinute is how many checks one principal may start in a minute
	// (default DefaultChecksPerMinute); one more is a 429.
	PerMinute int
	// AtOnce is how many checks run at once, all principals together
	// (default DefaultChecksAtOnce); one principal runs one at a time.
	AtOnce int
	// Timeout bounds a whole check, fetch and parse (default
	// DefaultCheckTimeout, under the server's write timeout so the answer
	// is never cut off).
	Timeout time.Duration
}

// Defaults of CheckConfig.
const (
	DefaultChecksPerMinute = 10
	DefaultChecksAtOnce    = 2
	DefaultCheckTimeout    = 25 * time.Second
	// checkNext is how many of the next occurrences a check lists.
	checkNext = 10
)

// checker runs feed checks within their bounds.
type checker struct {
	cfg     CheckConfig
	slots   chan struct{}
	now     func() time.Time
	mu      sync.Mutex
	running map[string]bool
	started map[string][]time.Time
}

func newChecker(cfg CheckConfig, now func() time.Time) *checker {
	if cfg.ParseTimeout <= 0 {
		cfg.ParseTimeout = 20 * time.Second
	}
	if cfg.PerMinute <= 0 {
		cfg.PerMinute = DefaultChecksPerMinute
	}
	if cfg.AtOnce <= 0 {
		cfg.AtOnce = DefaultChecksAtOnce
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultCheckTimeout
	}
	return &checker{cfg: cfg, slots: make(chan struct{}, cfg.AtOnce), now: now, running: map[string]bool{}, started: map[string][]time.Time{}}
}

// acquire takes who's check slot: one at a time per principal, at most
// PerMinute started in the last minute, at most AtOnce in all. It returns
// a *Error 429 (with when to try again) otherwise.
func (k *checker) acquire(who string) (func(), error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	recent := k.started[who][:0]
	for _, t := range k.started[who] {
		if now.Sub(t) < time.Minute {
			recent = append(recent, t)
		}
	}
	k.started[who] = recent
	if len(recent) == 0 {
		delete(k.started, who)
	}
	busy := func(msg string, after time.Duration) error {
		return &Error{Status: http.StatusTooManyRequests, Code: "too_many_checks", Message: msg,
			Fields: map[string]string{"retry_after": strconv.Itoa(int(after.Seconds()))}}
	}
	switch {
	case k.running[who]:
		return nil, busy("a check of yours is still running; wait for it to finish", 5*time.Second)
	case len(recent) >= k.cfg.PerMinute:
		return nil, busy(fmt.Sprintf("at most %d checks a minute; try again shortly", k.cfg.PerMinute), time.Minute-now.Sub(recent[0]))
	}
	select {
	case k.slots <- struct{}{}:
	default:
		return nil, busy("other feeds are being checked; try again in a few seconds", 5*time.Second)
	}
	k.running[who] = true
	k.started[who] = append(recent, now)
	return func() {
		<-k.slots
		k.mu.Lock()
		delete(k.running, who)
		k.mu.Unlock()
	}, nil
}

// checkInput is the body of POST /api/hubs/{hub}/check: the feed's
// address and, for a feed that is not iCalendar, its kind and mapping,
// or its adapter and hosts, as a feed record holds them.
type checkInput struct {
	FeedURL string            `json:"feedurl"`
	Kind    string            `json:"kind"`
	Mapping *feedkind.Mapping `json:"mapping"`
	Adapter string            `json:"adapter"`
	Hosts   []string          `json:"hosts"`
}

// unknownAdapter is the 400 of a check whose adapter script does not
// exist.
func unknownAdapter(name string) error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid", Message: "no such adapter script: adapters/" + name + ".js",
		Fields: map[string]string{"adapter": "no adapter script adapters/" + name + ".js among the hub's scripts"}}
}

// postCheck reads a feed the way the worker would for this hub (its zone
// places floating times; its window is expanded) and answers the check
// report as JSON: 200 whatever the verdict, a feed that cannot be read
// included. A feed of another kind than ics is converted first
// (shared/feedkind, with the hub's zone; for a script feed, its adapter
// script run as the worker runs it) and the report carries the
// conversion's. An unknown adapter is a 400 naming adapter. Nothing is
// stored.
func (s *Server) postCheck(c *gin.Context) {
	var in checkInput
	if err := bindJSON(c, &in); err != nil {
		_ = c.Error(err)
		return
	}
	f := hub.Feed{FeedURL: in.FeedURL, Source: "check", Kind: in.Kind, Mapping: in.Mapping, Adapter: in.Adapter, Hosts: in.Hosts}
	if f.Mapping != nil && f.Mapping.IsZero() {
		f.Mapping = nil
	}
	if len(f.Hosts) == 0 {
		f.Hosts = nil
	}
	f.Normalize()
	if err := f.Validate(); err != nil {
		_ = c.Error(err)
		return
	}
	if s.checks.cfg.Fetcher == nil {
		_ = c.Error(&Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "feed checks are not enabled on this server"})
		return
	}
	if k, _ := feedkind.ParseKind(f.Kind); k == feedkind.KindScript {
		ad := s.checks.cfg.Adapters
		if ad == nil {
			_ = c.Error(&Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "adapter scripts are not checked on this server"})
			return
		}
		if ok, err := ad.Exists("adapters/" + f.Adapter + ".js"); err != nil || !ok {
			_ = c.Error(unknownAdapter(f.Adapter))
			return
		}
	}
	ctx := c.Request.Context()
	h, err := s.deps.Store.GetHub(ctx, c.Param("hub"))
	if err != nil {
		_ = c.Error(err)
		return
	}
	release, err := s.checks.acquire(who(c).name())
	if err != nil {
		if ae, ok := errors.AsType[*Error](err); ok {
			c.Header("Retry-After", ae.Fields["retry_after"])
		}
		_ = c.Error(err)
		return
	}
	defer release()
	cctx, cancel := context.WithTimeout(ctx, s.checks.cfg.Timeout)
	defer cancel()
	rep, err := s.checks.check(cctx, h, f, s.deps.Now())
	if err != nil && ctx.Err() == nil && cctx.Err() != nil {
		rep, err = feedcheck.Unreadable(fetch.LogURL(f.FeedURL), fmt.Sprintf("the check took longer than %v", s.checks.cfg.Timeout), "timeout", 0), nil
	}
	if err != nil {
		_ = c.Error(err)
		return
	}
	s.deps.Logger.InfoContext(ctx, "feed checked", "hub", h.ID, "feed_url", fetch.LogURL(f.FeedURL), "kind", cmp.Or(f.Kind, string(feedkind.KindICS)),
		"verdict", rep.Verdict, "by", who(c).name())
	c.JSON(http.StatusOK, rep)
}

// check fetches, converts (when f is not iCalendar; a script feed
// through its adapter), parses and expands one feed for hub h.
func (k *checker) check(ctx context.Context, h hub.Hub, f hub.Feed, now time.Time) (feedcheck.Report, error) {
	feedURL := f.FeedURL
	res, err := k.cfg.Fetcher.Fetch(ctx, feedURL, fetch.Validators{})
	if err != nil {
		if ctx.Err() != nil {
			return feedcheck.Report{}, ctx.Err()
		}
		class, status, why := fetch.ClassOf(err), 0, err.Error()
		if fe, ok := errors.AsType[*fetch.Error](err); ok {
			status, why = fe.Status, fe.Reason()
		}
		return feedcheck.Unreadable(fetch.LogURL(feedURL), fmt.Sprintf("could not fetch it (%s): %s", class, why), string(class), status), nil
	}
	loc := h.Location()
	t := now.In(loc)
	from := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	to := from.AddDate(0, 0, h.HorizonDays)
	bounds := k.cfg.Bounds
	bounds.FloatingZone = loc
	body := res.Body
	var conv *feedcheck.Conversion
	kind, err := feedkind.ParseKind(f.Kind)
	if err == nil && kind == feedkind.KindScript {
		// The adapter runs under the engine's time limit, before the
		// parse's.
		body, conv, err = k.runAdapter(ctx, h, f, res, loc)
		if err != nil {
			return feedcheck.Report{}, err
		}
		if conv.Failure != "" {
			r := feedcheck.Unreadable(fetch.LogURL(feedURL), conv.Failure, feedcheck.FailureScript, res.Status)
			r.Conversion = conv
			return r, nil
		}
	}
	pctx, cancel := context.WithTimeout(ctx, k.cfg.ParseTimeout)
	defer cancel()
	if err == nil && kind != feedkind.KindICS && kind != feedkind.KindScript {
		var m feedkind.Mapping
		if f.Mapping != nil {
			m = *f.Mapping
		}
		var rep feedkind.Report
		body, rep, err = feedkind.Convert(pctx, kind, res.Body, feedURL, m, feedkind.Options{Zone: loc, MaxBytes: max(len(res.Body), feedkind.DefaultMaxBytes)})
		conv = feedcheck.ConversionOf(rep, len(res.Body))
		if err != nil {
			conv.Failure = convertFailure(kind, err)
		}
	}
	if err == nil {
		var cal *calendar.Calendar
		if cal, err = calendar.NewParser(bounds).Parse(pctx, body); err == nil {
			var x *calendar.Expansion
			if x, err = cal.Expand(pctx, calendar.ExpandOptions{From: from, To: to, IncludeCancelled: true}); err == nil {
				return feedcheck.Build(cal, x, feedcheck.Options{Source: fetch.LogURL(feedURL), From: from, To: to, Zone: loc, Next: checkNext,
					Cap: bounds.MaxPerSeries, Conversion: conv}), nil
			}
		}
	}
	var r feedcheck.Report
	switch {
	case ctx.Err() != nil:
		return feedcheck.Report{}, ctx.Err()
	case pctx.Err() != nil:
		r = feedcheck.Unreadable(fetch.LogURL(feedURL), fmt.Sprintf("reading its events took longer than %v", k.cfg.ParseTimeout), "parse_timeout", res.Status)
	case conv != nil && conv.Failure != "":
		r = feedcheck.Unreadable(fetch.LogURL(feedURL), conv.Failure, "convert", res.Status)
	default:
		r = feedcheck.Unreadable(fetch.LogURL(feedURL), "it is not a usable calendar: "+err.Error(), "parse", res.Status)
	}
	r.Conversion = conv
	return r, nil
}

// runAdapter runs a script feed's adapter over the source the check
// fetched, as the worker does: elmcity.source is res, elmcity.fetch goes
// through the check's fetcher (SSRF blocking, the size cap, the
// timeout) on the feed's host and its hosts, and the hub's zone places
// times without an offset. It returns the iCalendar the adapter made and
// the conversion's report; a failed run is the report's Failure (the
// script's error, with its file and line), with no error. The error is
// a 400 naming adapter for an adapter that does not exist, or ctx's
// when the check ran out of time.
func (k *checker) runAdapter(ctx context.Context, h hub.Hub, f hub.Feed, res fetch.Result, loc *time.Location) ([]byte, *feedcheck.Conversion, error) {
	source := scripthost.Response(res)
	ar, err := k.cfg.Adapters.RunAdapter(ctx, script.AdapterRequest{
		Adapter: f.Adapter, Hub: h.ID, FeedURL: f.FeedURL, Hosts: f.Hosts, Fetcher: scripthost.NewFetcher(k.cfg.Fetcher), Source: &source,
		Options: feedkind.Options{Zone: loc, MaxBytes: max(len(res.Body), feedkind.DefaultMaxBytes)},
	})
	conv := feedcheck.AdapterConversion(f.Adapter, ar.Report, len(res.Body), ar.Fetches)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		// The adapter itself missing (a module it requires missing is
		// the script's error, with its line).
		if _, inScript := errors.AsType[*script.Error](err); !inScript && errors.Is(err, script.ErrNotFound) {
			return nil, nil, unknownAdapter(f.Adapter)
		}
		conv.Failure = feedcheck.AdapterFailure(f.Adapter, err)
		return nil, conv, nil
	}
	return ar.ICS, conv, nil
}

// convertFailure says in words why a source of kind could not be
// converted.
func convertFailure(kind feedkind.Kind, err error) string {
	switch {
	case errors.Is(err, feedkind.ErrTooLarge):
		return fmt.Sprintf("it is too large to convert from %s: %v", kind, err)
	case errors.Is(err, feedkind.ErrInvalidMapping):
		return fmt.Sprintf("its mapping does not fit kind %s: %v", kind, err)
	}
	return fmt.Sprintf("it is not a usable %s source: %v", kind, err)
}
