package aggregate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/feedkind"
	"github.com/elmcity/elmcity/shared/fetch"
	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/shared/script"
	"github.com/elmcity/elmcity/shared/scripthost"
)

// window is the hub's expansion window: from local midnight today to
// horizon days later.
func window(h hub.Hub, now time.Time) (time.Time, time.Time) {
	loc := h.Location()
	t := now.In(loc)
	from := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	return from, from.AddDate(0, 0, h.HorizonDays)
}

// PayloadVersion is Header.V: 2 since the payload holds each event body
// once (hubcal.Calendar) rather than one full event per occurrence.
const PayloadVersion = 2

// expandSlack is how far past the hub's window feeds are expanded: an
// unchanged feed is carried for that long before it is parsed again.
const expandSlack = 7 * 24 * time.Hour

// errParseDeadline is the cause of a feed's parse cancelled at
// Config.ParseTimeout.
var errParseDeadline = errors.New("feed parse deadline")

// feedResult is one feed's part of a run.
type feedResult struct {
	st  FeedStats
	c   *hubcal.Contribution
	bad bool
}

// run fetches, parses, expands and merges every approved feed of h. Feeds
// are parsed and expanded on up to GOMAXPROCS goroutines (bounded by
// FeedConcurrency), each into a compact contribution, and each feed's
// body is dropped once parsed, so a hub's expanded occurrences are never
// all held as full events.
func (j *Job) run(ctx context.Context, h hub.Hub, prev *decoded, log *slog.Logger) (Header, *hubcal.Calendar, error) {
	started := j.cfg.Now()
	from, to := window(h, started)
	head := Header{V: PayloadVersion, Hub: h.ID, Started: started, From: from, To: to, TZ: h.TZ}
	// Feeds are expanded a little past the window, so that an unchanged
	// feed's carried events still cover it on the days after.
	expTo := to.Add(expandSlack)

	all, err := j.hubs.ListFeeds(ctx, h.ID)
	if err != nil {
		return head, nil, err
	}
	var feeds []hub.Feed
	for _, f := range all {
		if f.Approved {
			feeds = append(feeds, f)
		}
	}
	reqs := make([]fetch.Request, len(feeds))
	for i, f := range feeds {
		reqs[i] = fetch.Request{URL: f.FeedURL}
		// A conditional fetch lets an unchanged feed be carried; that
		// needs its carried events to have been made in the hub's zone
		// and to reach the end of the window.
		if prev != nil && prev.TZ == h.TZ && !prev.feeds[f.ID].ExpandedTo.Before(to) {
			reqs[i].Prev = prev.feeds[f.ID].Validators
		}
	}
	pc := j.cfg.Bounds
	pc.FloatingZone, pc.DefaultDuration, pc.MaxPerSeries = h.Location(), j.cfg.DefaultDuration, j.cfg.MaxPerSeries
	parser := calendar.NewParser(pc)
	opts := hubcal.Options{Vocabulary: h.Vocabulary}
	src := sourceOptions{hub: h.ID, zone: h.Location()}
	// Feeds are parsed as they arrive, on as many workers as there are
	// cores; a fetched body waits for a free worker holding its fetch
	// slot, so at most FeedConcurrency bodies wait.
	results := make([]feedResult, len(feeds))
	type arrived struct {
		i int
		o fetch.Outcome
	}
	next := make(chan arrived)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), j.cfg.FeedConcurrency, max(len(feeds), 1)) {
		wg.Go(func() {
			for a := range next {
				r := j.feed(ctx, parser, opts, src, feeds[a.i], &a.o, reqs[a.i].Prev, prev, from, expTo, started, log)
				r.c.Prepare()
				results[a.i] = r
			}
		})
	}
	j.fetch.FetchEach(ctx, reqs, j.cfg.FeedConcurrency, func(i int, o fetch.Outcome) { next <- arrived{i, o} })
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return head, nil, err
	}

	cs := make([]*hubcal.Contribution, len(results))
	for i := range results {
		r := &results[i]
		if r.bad {
			head.FeedsBad++
		} else {
			head.FeedsOK++
		}
		cs[i] = r.c
		head.Feeds = append(head.Feeds, r.st)
	}
	cal, mst := hubcal.Merge(cs)
	head.Events, head.Cancelled = cal.Len(), cal.Cancelled()
	head.Merged = mst.Merged
	head.Finished = j.cfg.Now()
	return head, cal, nil
}

// feed turns one fetched feed into its contribution and stats: parsed and
// expanded over [from, to) when it came, else its events carried from the
// previous run.
// The outcome's body is released once parsed.
func (j *Job) feed(ctx context.Context, parser *calendar.Parser, opts hubcal.Options, src sourceOptions, f hub.Feed, out *fetch.Outcome, prevValidators fetch.Validators,
	prev *decoded, from, to, started time.Time, log *slog.Logger) feedResult {
	meta := hubcal.Feed{Feed: f.ID, Source: f.Source, HomeURL: f.URL, Categories: f.Categories, CatMap: f.CatMap}
	var before FeedStats
	if prev != nil {
		before = prev.feeds[f.ID]
	}
	st := FeedStats{Feed: f.ID, URL: f.FeedURL, Source: f.Source, Previous: before.Occurrences, PreviousCancelled: before.Cancelled, LastSuccess: before.LastSuccess,
		Kind: f.Kind}
	res := out.Result
	out.Result.Body = nil
	st.DurationMS = res.Duration.Milliseconds()
	st.HTTPStatus = res.Status
	st.Bytes = res.WireBytes
	var c *hubcal.Contribution
	bad := false
	carry := func() {
		c = hubcal.NewContribution(meta, opts)
		if prev != nil {
			// Carried as they were parsed, but with the feed's and hub's
			// records as they are now: a curator's edit applies whether
			// or not the feed's bytes changed.
			k := prev.cal.Carry(f.ID, from, to)
			k.Reapply(meta, opts)
			c.AddCarried(k)
			st.ExpandedTo = before.ExpandedTo
		}
		st.Cancelled = c.Cancelled()
		st.Occurrences = c.Len() - st.Cancelled
		st.Events, st.Recurring, st.Skipped, st.ProdID = before.Events, before.Recurring, before.Skipped, before.ProdID
		st.Items, st.ItemsSkipped, st.KindWarnings, st.MoreKindWarnings, st.Fetches =
			before.Items, before.ItemsSkipped, before.KindWarnings, before.MoreKindWarnings, before.Fetches
	}
	switch {
	case out.Err != nil && ctx.Err() != nil:
		// The run was cancelled (shutdown, a lost lease): the fetch
		// stopped with it, which says nothing of the feed. The run fails
		// and publishes nothing, so nothing is logged per feed.
		return feedResult{st: st, c: hubcal.NewContribution(meta, opts), bad: true}
	case out.Err != nil:
		st.Status = "failed"
		st.ErrorClass = string(fetch.ClassOf(out.Err))
		st.Error = out.Err.Error()
		if fe, ok := errors.AsType[*fetch.Error](out.Err); ok && fe.Status != 0 {
			st.HTTPStatus = fe.Status
		}
		st.Validators = prevValidators
		carry()
		bad = true
		logFeedFailed(ctx, log, f, st)
	case res.NotModified || res.Unchanged:
		st.Status = "not_modified"
		if res.Unchanged {
			st.Status = "unchanged"
		}
		st.Validators = res.Validators
		st.LastSuccess = started
		carry()
	default:
		st.Validators = res.Validators
		// The validators are the source's: an unchanged page, sheet or
		// feed is carried above without being converted again.
		pctx, cancel := context.WithTimeoutCause(ctx, j.cfg.ParseTimeout, errParseDeadline)
		body, class, err := j.source(pctx, src, f, &res, &st)
		res.Body = nil
		var occs []calendar.Occurrence
		if err == nil {
			occs, err = j.parseFeed(pctx, parser, body, from, to, &st)
		}
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return feedResult{st: st, c: hubcal.NewContribution(meta, opts)}
			}
			st.Status = "failed"
			st.ErrorClass = cmp.Or(class, ClassParse)
			st.Error = err.Error()
			if errors.Is(context.Cause(pctx), errParseDeadline) {
				st.ErrorClass = ClassParseTimeout
				st.Error = fmt.Sprintf("parsing and expanding took longer than %v", j.cfg.ParseTimeout)
			}
			st.Validators = fetch.Validators{} // refetch in full next time
			carry()
			bad = true
			logFeedFailed(ctx, log, f, st)
			break
		}
		meta.Occurrences = occs
		c = hubcal.NewContribution(meta, opts)
		st.Status = "ok"
		st.LastSuccess = started
		st.ExpandedTo = to
		if st.ItemsSkipped > 0 {
			logItemsSkipped(ctx, log, f, st)
		}
	}
	if st.Status == "ok" {
		flagDrop(&st)
	}
	markFailing(&st, before, started)
	if st.Flag != "" {
		was, now := listed(st)
		log.WarnContext(ctx, msgFeedDropped, "source", f.Source, "feed_url", fetch.LogURL(f.FeedURL),
			"flag", st.Flag, "listed_before", was, "listed", now)
	}
	return feedResult{st: st, c: c, bad: bad}
}

// markFailing sets when a failed feed (or member) began failing: this
// run, or the start of the failures it is in already.
func markFailing(st *FeedStats, before FeedStats, started time.Time) {
	if st.Status != "failed" {
		return
	}
	st.FailingSince = started
	if before.Status == "failed" && !before.FailingSince.IsZero() {
		st.FailingSince = before.FailingSince
	}
}

// logFeedFailed warns of a failed feed. Curators read it as a sentence
// (feedFailedSentence): what failed, in words, and what the hub serves
// instead; the error is in its detail.
func logFeedFailed(ctx context.Context, log *slog.Logger, f hub.Feed, st FeedStats) {
	log.WarnContext(ctx, msgFeedFailed, "source", f.Source, "feed_url", fetch.LogURL(f.FeedURL), "kind", cmp.Or(st.Kind, "ics"),
		"error_class", st.ErrorClass, "error", st.Error, "detail", st.Error, "carried", st.Occurrences)
}

// parseFeed parses and expands one feed body, filling st, and returns its
// occurrences, cancelled ones included.
func (j *Job) parseFeed(ctx context.Context, p *calendar.Parser, body []byte, from, to time.Time, st *FeedStats) ([]calendar.Occurrence, error) {
	cal, err := p.Parse(ctx, body)
	if err != nil {
		return nil, err
	}
	// Cancelled occurrences are published, marked so: the public learns
	// that an event is off rather than seeing it vanish.
	x, err := cal.Expand(ctx, calendar.ExpandOptions{From: from, To: to, IncludeCancelled: true})
	if err != nil {
		return nil, err
	}
	s := cal.Stats
	st.Events, st.Recurring, st.Skipped, st.ProdID = s.Events, s.Recurring, len(s.Skipped), s.ProdID
	if st.Kind != "" {
		// A converted event the parser skipped (an adapter's RRULE it
		// cannot use, say) is named with the conversion's warnings.
		for _, sk := range s.Skipped {
			st.AddKindWarning(fmt.Sprintf("event %s skipped by the parser: %s", cmp.Or(sk.UID, "without a UID"), sk.Reason))
		}
	}
	st.Occurrences, st.Cancelled = len(x.Occurrences)-x.Cancelled, x.Cancelled
	st.Truncated = len(x.Truncated)
	zones := map[string]int{}
	if s.Floating > 0 {
		zones["floating"] = s.Floating
	}
	for _, z := range s.Zones {
		if z.Kind != calendar.ZoneIANA {
			zones[string(z.Kind)]++
		}
	}
	if len(zones) > 0 {
		st.Zones = zones
	}
	return x.Occurrences, nil
}

// sourceOptions is what turning a feed's source into iCalendar needs of
// its hub.
type sourceOptions struct {
	hub  string
	zone *time.Location
}

// source turns a fetched body into iCalendar by the feed's kind: ics as
// it is, jsonld, csv, json and rss through feedkind.Convert, script
// through its adapter script, which reads the body as elmcity.source.
// It fills st's kind figures, and returns the error class of a failure.
func (j *Job) source(ctx context.Context, src sourceOptions, f hub.Feed, res *fetch.Result, st *FeedStats) ([]byte, string, error) {
	kind, err := feedkind.ParseKind(f.Kind)
	if err != nil {
		return nil, ClassConvert, err
	}
	opt := feedkind.Options{Zone: src.zone, MaxBytes: j.cfg.MaxSourceBytes}
	var ics []byte
	var rep feedkind.Report
	switch kind {
	case feedkind.KindICS:
		return res.Body, "", nil
	case feedkind.KindScript:
		if j.cfg.Adapters == nil || j.cfg.AdapterFetcher == nil {
			return nil, ClassScript, errors.New("this worker runs no adapter scripts")
		}
		source := scripthost.Response(*res)
		var ar script.AdapterResult
		ar, err = j.cfg.Adapters.RunAdapter(ctx, script.AdapterRequest{
			Adapter: f.Adapter, Hub: src.hub, FeedURL: f.FeedURL, Hosts: f.Hosts, Fetcher: j.cfg.AdapterFetcher, Source: &source, Options: opt,
		})
		ics, rep, st.Fetches = ar.ICS, ar.Report, ar.Fetches
		if err != nil {
			kindStats(st, rep)
			return nil, ClassScript, err
		}
	default:
		var m feedkind.Mapping
		if f.Mapping != nil {
			m = *f.Mapping
		}
		ics, rep, err = feedkind.Convert(ctx, kind, res.Body, cmp.Or(res.URL, f.FeedURL), m, opt)
		if err != nil {
			kindStats(st, rep)
			return nil, ClassConvert, err
		}
	}
	kindStats(st, rep)
	return ics, "", nil
}

// kindStats puts a conversion's report into a feed's stats.
func kindStats(st *FeedStats, rep feedkind.Report) {
	st.Items, st.ItemsSkipped = rep.Items, rep.Skipped
	st.KindWarnings, st.MoreKindWarnings = nil, 0
	for _, w := range rep.Warnings {
		st.AddKindWarning(w)
	}
	st.MoreKindWarnings += rep.MoreWarnings
}

// logItemsSkipped warns of a converted feed that left items out.
// Curators read it as a sentence (itemsSkippedSentence); every warning
// is in its detail.
func logItemsSkipped(ctx context.Context, log *slog.Logger, f hub.Feed, st FeedStats) {
	first := ""
	if len(st.KindWarnings) > 0 {
		first = st.KindWarnings[0]
	}
	log.WarnContext(ctx, msgFeedItemsSkipped, "source", f.Source, "feed_url", fetch.LogURL(f.FeedURL), "kind", st.Kind,
		"items", st.Items, "skipped", st.ItemsSkipped, "first", first, "detail", strings.Join(st.KindWarnings, "\n"))
}
