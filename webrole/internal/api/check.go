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
)

// feedFetcher fetches one feed (*fetch.Fetcher). Its errors are
// *fetch.Error.
type feedFetcher interface {
	Fetch(ctx context.Context, rawURL string, prev fetch.Validators) (fetch.Result, error)
}

var _ feedFetcher = (*fetch.Fetcher)(nil)

// CheckConfig configures POST /api/hubs/{hub}/check, which reads a feed
// the way the worker does. A zero field takes its default; without a
// Fetcher the route answers 503.
type CheckConfig struct {
	// Fetcher fetches under the worker's rules: SSRF blocking (private
	// addresses only where the role's config allows them), the size cap
	// and the timeout.
	Fetcher feedFetcher
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
// address and, for a feed that is not iCalendar, its kind and mapping as
// a feed record holds them.
type checkInput struct {
	FeedURL string            `json:"feedurl"`
	Kind    string            `json:"kind"`
	Mapping *feedkind.Mapping `json:"mapping"`
}

// errAdapterNotChecked answers a check of a script feed: its adapter runs
// only in the worker (with the adapter capability and its hosts), never
// in the web role, so there is nothing the check could read.
var errAdapterNotChecked = &Error{Status: http.StatusBadRequest, Code: "not_checkable",
	Message: "adapter feeds are previewed by the worker: add the feed without approving it, refresh the hub, and read the feed's stats",
	Fields:  map[string]string{"kind": "script feeds are not checked here: the adapter runs only in the worker"}}

// postCheck reads a feed the way the worker would for this hub (its zone
// places floating times; its window is expanded) and answers the check
// report as JSON: 200 whatever the verdict, a feed that cannot be read
// included. A feed of another kind than ics is converted first
// (shared/feedkind, with the hub's zone) and the report carries the
// conversion's. A script feed is a 400 (errAdapterNotChecked). Nothing
// is stored.
func (s *Server) postCheck(c *gin.Context) {
	var in checkInput
	if err := bindJSON(c, &in); err != nil {
		_ = c.Error(err)
		return
	}
	f := hub.Feed{FeedURL: in.FeedURL, Source: "check", Kind: in.Kind, Mapping: in.Mapping}
	if f.Mapping != nil && f.Mapping.IsZero() {
		f.Mapping = nil
	}
	f.Normalize()
	if k, err := feedkind.ParseKind(f.Kind); err == nil && k == feedkind.KindScript {
		_ = c.Error(errAdapterNotChecked)
		return
	}
	if err := f.Validate(); err != nil {
		_ = c.Error(err)
		return
	}
	if s.checks.cfg.Fetcher == nil {
		_ = c.Error(&Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "feed checks are not enabled on this server"})
		return
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

// check fetches, converts (when f is not iCalendar), parses and expands
// one feed for hub h.
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
	pctx, cancel := context.WithTimeout(ctx, k.cfg.ParseTimeout)
	defer cancel()
	body := res.Body
	var conv *feedcheck.Conversion
	kind, err := feedkind.ParseKind(f.Kind)
	if err == nil && kind != feedkind.KindICS {
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
