// Package aggregate is the worker's aggregation job: fetch every approved
// feed of a hub, parse, expand within the hub's window, merge, and publish
// the result atomically. A broken feed never breaks its hub: it keeps
// contributing its last good events and its error class is recorded.
package aggregate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/fetch"
	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/shared/hubrun"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/shared/script"
	"github.com/elmcity/elmcity/shared/tablestore"
)

// hubs is what the job needs of the hub store (*tablestore.Store).
type hubs interface {
	GetHub(ctx context.Context, id string) (hub.Hub, error)
	ListFeeds(ctx context.Context, hubID string) ([]hub.Feed, error)
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (tablestore.Lease, error)
	RenewLease(ctx context.Context, l tablestore.Lease, ttl time.Duration) (tablestore.Lease, error)
	ReleaseLease(ctx context.Context, l tablestore.Lease) error
	ClearPendingJob(ctx context.Context, hubID, jobID string) error
}

// fetcher fetches feeds (*fetch.Fetcher).
type fetcher interface {
	FetchEach(ctx context.Context, reqs []fetch.Request, limit int, handle func(i int, o fetch.Outcome))
}

// publisher stores generations (*publish.Store).
type publisher interface {
	Current(ctx context.Context, hub string) (publish.Pointer, error)
	Load(ctx context.Context, hub string) (publish.Generation, error)
	Publish(ctx context.Context, g publish.Generation) (publish.Generation, error)
}

var (
	_ hubs      = (*tablestore.Store)(nil)
	_ fetcher   = (*fetch.Fetcher)(nil)
	_ publisher = (*publish.Store)(nil)
)

// Config tunes the job. Zero values take the defaults.
type Config struct {
	Instance        string        // lease holder name: required
	LeaseTTL        time.Duration // hub lease, renewed at a third; default 5m
	FeedConcurrency int           // feeds of one hub fetched at once; default 8
	DefaultDuration time.Duration // timed events without an end; default 1h
	MaxPerSeries    int           // per-series occurrence cap; default calendar's
	// Bounds bounds parsing and expanding each feed (MaxFeedBytes,
	// MaxSteps, MaxFeedSteps, MaxPeriodInstants, MaxComponents,
	// MaxOccurrences); zero fields take the calendar package's defaults,
	// and the per-hub fields (zone, duration) are set by the job.
	Bounds calendar.Config
	// ParseTimeout bounds parsing and expanding one feed; default
	// DefaultParseTimeout. A feed that runs over it fails with the error
	// class ClassParseTimeout and keeps contributing its last good events.
	ParseTimeout time.Duration
	// MaxHubEvents caps the events a hub publishes, cancelled ones
	// included (every published row counts); default
	// DefaultMaxHubEvents. The earliest are kept, and Header.Cut counts
	// the rest.
	MaxHubEvents int
	// MaxRegionMembers caps the member hubs a region merges; default
	// DefaultMaxRegionMembers.
	MaxRegionMembers int
	// MaxAttempts is the queue's maximum dequeue count, after which a
	// failed job is parked: its job status then says so (0: unknown).
	MaxAttempts int
	Logger      *slog.Logger // required
	Now         func() time.Time
	// Observe, when set, is told each feed's outcome (status and error
	// class) and each publish's event count (every published event,
	// cancelled ones included), for metrics.
	Observe Observer
	// Jobs, when set, records the progress of the jobs the API queued, for
	// curators to follow.
	Jobs JobRecorder
	// Adapters runs the adapter scripts of script feeds (*script.Engine),
	// with AdapterFetcher as their elmcity.fetch (scripthost.Fetcher over
	// the feed fetcher). Without them a script feed fails.
	Adapters       AdapterRunner
	AdapterFetcher script.Fetcher
	// MaxSourceBytes is the largest source a csv, json, jsonld or rss
	// feed may be converted from: the fetcher's cap. Default
	// feedkind.DefaultMaxBytes.
	MaxSourceBytes int
}

// AdapterRunner runs a script feed's adapter (*script.Engine).
type AdapterRunner interface {
	RunAdapter(ctx context.Context, req script.AdapterRequest) (script.AdapterResult, error)
}

var _ AdapterRunner = (*script.Engine)(nil)

// Defaults of Config.
const (
	DefaultParseTimeout     = 20 * time.Second
	DefaultMaxHubEvents     = 100_000
	DefaultMaxRegionMembers = hub.DefaultMaxRegionMembers
)

// Error classes of feeds that were fetched but could not be used (the
// fetch's own classes are shared/fetch's).
const (
	// ClassParseTimeout is the error class of a feed whose conversion,
	// parse and expansion ran over Config.ParseTimeout.
	ClassParseTimeout = "parse_timeout"
	// ClassParse is the error class of a feed that is not a usable
	// calendar.
	ClassParse = "parse"
	// ClassConvert is the error class of a jsonld, csv, json or rss feed
	// that could not be read as its kind (feedkind.Convert failed).
	ClassConvert = "convert"
	// ClassScript is the error class of a script feed whose adapter
	// failed: an exception, a timeout, a result that is not events.
	ClassScript = "script"
)

// Observer receives the job's figures for metrics.
type Observer interface {
	Feed(status, errorClass string)
	Published(events int)
}

// Job aggregates hubs. It is a worker.Handler for queue.KindAggregate.
type Job struct {
	hubs  hubs
	fetch fetcher
	pub   publisher
	cfg   Config
}

// New builds the job; it panics on a missing dependency.
func New(h hubs, f fetcher, p publisher, cfg Config) *Job {
	if h == nil || f == nil || p == nil || cfg.Logger == nil || cfg.Instance == "" {
		panic("aggregate.New: hubs, fetcher, publisher, Logger and Instance are required")
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 5 * time.Minute
	}
	if cfg.FeedConcurrency <= 0 {
		cfg.FeedConcurrency = 8
	}
	if cfg.DefaultDuration <= 0 {
		cfg.DefaultDuration = time.Hour
	}
	if cfg.ParseTimeout <= 0 {
		cfg.ParseTimeout = DefaultParseTimeout
	}
	if cfg.MaxHubEvents <= 0 {
		cfg.MaxHubEvents = DefaultMaxHubEvents
	}
	if cfg.MaxRegionMembers <= 0 {
		cfg.MaxRegionMembers = DefaultMaxRegionMembers
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Job{hubs: h, fetch: f, pub: p, cfg: cfg}
}

// HubExists reports whether hub exists (worker.HubChecker): the runner
// logs a job for a hub that does not to the system log.
func (j *Job) HubExists(ctx context.Context, hubID string) (bool, error) {
	_, err := j.hubs.GetHub(ctx, hubID)
	if errors.Is(err, tablestore.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// LeaseName is the name of the lease a worker holds while it aggregates
// hubID; the scheduler reads it to leave busy hubs alone.
func LeaseName(hubID string) string { return "hub-" + hubID }

// ScheduledBy is the RequestedBy of the scheduler's jobs, which ask for an
// aggregation only if the hub is still stale when the job runs.
const ScheduledBy = "scheduler"

// Header is the run summary a payload's first line holds (package
// hubrun, which the web role reads too).
type Header = hubrun.Header

// FeedStats is one feed's (or member hub's) line of the run summary.
type FeedStats = hubrun.FeedStats

// Handle runs one aggregation job. An unknown hub is permanent; a hub
// being aggregated by another worker is retried later; a job that an
// aggregation started after it already covered is a logged no-op.
func (j *Job) Handle(ctx context.Context, job queue.Job) (err error) {
	log := j.cfg.Logger.With("hub", job.Hub, "job_id", job.ID)
	prog := j.progress(job, log)
	defer func() { prog.done(ctx, err) }()
	h, err := j.hubs.GetHub(ctx, job.Hub)
	if errors.Is(err, tablestore.ErrNotFound) {
		return queue.Permanent(fmt.Errorf("hub %q does not exist", job.Hub))
	}
	if err != nil {
		return err
	}
	// Decide, then take the hub. A run that holds the hub covers the
	// requests made before it took it (busy), so once it holds the hub it
	// runs: a run that skipped after taking it would drop them. A run that
	// finishes between the decision and the lease is repeated; that costs
	// work, never a request.
	if why, err := j.skip(ctx, h, job, log); err != nil || why != "" {
		if why != "" {
			prog.set(ctx, tablestore.JobSkipped, "nothing to do: "+why)
		}
		return err
	}
	// The lease belongs to this run, not to the worker: two jobs for one
	// hub on one worker must not both run.
	lease, err := j.hubs.AcquireLease(ctx, LeaseName(h.ID), j.holder(job), j.cfg.LeaseTTL)
	if held, ok := errors.AsType[*tablestore.HeldError](err); ok {
		return j.busy(ctx, job, held, log)
	}
	if err != nil {
		return fmt.Errorf("take hub %s: %w", h.ID, err)
	}
	// The job has started: a request from now on needs a job of its own.
	j.clearPending(ctx, h.ID, job, log)
	prog.set(ctx, tablestore.JobRunning, "fetching and merging the hub's feeds")
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopRenew := j.keepLease(ctx, cancel, lease)
	defer func() {
		l := stopRenew()
		_ = j.hubs.ReleaseLease(context.WithoutCancel(ctx), l)
	}()

	prev, err := j.previous(ctx, h.ID)
	if err != nil {
		return err
	}

	run := j.run
	if h.Type == hub.TypeRegion {
		run = j.runRegion
	}
	head, cal, err := run(ctx, h, prev, log)
	if err != nil {
		if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
			return c
		}
		return err
	}
	if cut := cal.Truncate(j.cfg.MaxHubEvents); cut > 0 {
		head.Cut, head.Events, head.Cancelled = cut, cal.Len(), cal.Cancelled()
		log.WarnContext(ctx, msgCalendarCapped, "max_events", j.cfg.MaxHubEvents, "cut", cut)
	}
	// In parts: the merged calendar's body lines go to the publisher as
	// they are, never copied into one payload.
	parts, err := cal.EncodeParts(head)
	if err != nil {
		return err
	}
	size := 0
	for _, p := range parts {
		size += len(p)
	}
	meta := map[string]string{
		"events": strconv.Itoa(head.Events), "cancelled": strconv.Itoa(head.Cancelled), "feeds_ok": strconv.Itoa(head.FeedsOK),
		"feeds_failed": strconv.Itoa(head.FeedsBad), "started": head.Started.Format(time.RFC3339Nano),
	}
	g, err := j.pub.Publish(ctx, publish.Generation{Hub: h.ID, Meta: meta, Parts: parts})
	if errors.Is(err, publish.ErrStale) {
		log.InfoContext(ctx, "another run published first; its calendar stands")
		prog.set(ctx, tablestore.JobSkipped, "another run published the hub first; its calendar stands")
		return nil
	}
	if err != nil {
		return fmt.Errorf("publish %s: %w", h.ID, err)
	}
	if j.cfg.Observe != nil {
		for _, f := range head.Feeds {
			j.cfg.Observe.Feed(f.Status, f.ErrorClass)
		}
		j.cfg.Observe.Published(head.Events)
	}
	prog.published(ctx, head)
	log.InfoContext(ctx, msgCalendarPublished,
		"generation", g.ID, "events", head.Events, "cancelled", head.Cancelled, "merged", head.Merged, "feeds_ok", head.FeedsOK, "feeds_failed", head.FeedsBad,
		"feeds_total", head.FeedsOK+head.FeedsBad, "payload_bytes", size, "duration_ms", head.Finished.Sub(head.Started).Milliseconds())
	return nil
}

// skip says why job has nothing to do, or "" when it has: a run that
// started after the request already published the hub, or the scheduler
// asked for a hub that is fresh again. It reads the generation pointer
// only, never the payload: a burst of requests costs a point read each.
func (j *Job) skip(ctx context.Context, h hub.Hub, job queue.Job, log *slog.Logger) (string, error) {
	ptr, err := j.pub.Current(ctx, h.ID)
	switch {
	case errors.Is(err, publish.ErrNotFound):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("read current calendar of %s: %w", h.ID, err)
	}
	if started, ok := pointerStarted(ptr); ok && !job.EnqueuedAt.IsZero() && job.EnqueuedAt.Before(started) {
		log.InfoContext(ctx, "aggregation skipped: a run that started after this request already published",
			"published", ptr.PublishedAt.Format(time.RFC3339))
		return "a run that started after this request already published the hub", nil
	}
	// The scheduler asks for stale hubs only: one made fresh meanwhile
	// (by a run that started just before the scheduler looked) is done. A
	// region is stale, too, once a member has published since it ran.
	if job.RequestedBy == ScheduledBy && j.cfg.Now().Sub(ptr.PublishedAt) < h.Interval() &&
		MemberPublishedSince(h, ptr.PublishedAt, func(id string) (publish.Pointer, error) { return j.pub.Current(ctx, id) }) == "" {
		log.InfoContext(ctx, "scheduled aggregation skipped: the hub is fresh",
			"published", ptr.PublishedAt.Format(time.RFC3339))
		return "the hub is fresh", nil
	}
	return "", nil
}

// holder names one run of job on this worker, as the hub lease's holder.
func (j *Job) holder(job queue.Job) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return j.cfg.Instance + "/" + job.ID + "/" + hex.EncodeToString(b[:])
}

// holderJob is the job id in a hub lease's holder name (see holder).
func holderJob(holder string) string {
	parts := strings.Split(holder, "/")
	if len(parts) < 3 {
		return ""
	}
	return parts[len(parts)-2]
}

// clearPending clears the hub's pending-job record if it names job, so
// that the next request queues a job again. A failure is only logged: the
// record lapses on its own.
func (j *Job) clearPending(ctx context.Context, hubID string, job queue.Job, log *slog.Logger) {
	if job.ID == "" {
		return
	}
	if err := j.hubs.ClearPendingJob(ctx, hubID, job.ID); err != nil {
		log.WarnContext(ctx, "pending job record not cleared; it lapses on its own", "error", err.Error())
	}
}

// busy settles a job whose hub another run holds. That is no failure: a
// request made before that run took the hub is covered by it (the run
// reads the hub's records after taking it) and is dropped; a later one is
// put back to wait until the run is likely done, without using up the
// job's attempts.
func (j *Job) busy(ctx context.Context, job queue.Job, held *tablestore.HeldError, log *slog.Logger) error {
	// An earlier attempt at this very job (a worker that died holding the
	// hub: its message came back) covers nothing; it waits for the lease
	// to lapse. Another job's run covers requests made before it began:
	// if that run dies, its own message comes back and runs again.
	if !held.Acquired.IsZero() && !job.EnqueuedAt.IsZero() && job.EnqueuedAt.Before(held.Acquired) && holderJob(held.Holder) != job.ID {
		log.InfoContext(ctx, "aggregation request covered by the run in progress", "holder", held.Holder,
			"run_started", held.Acquired.Format(time.RFC3339))
		j.clearPending(ctx, job.Hub, job, log)
		j.progress(job, log).set(ctx, tablestore.JobSkipped, "covered by the run of this hub that was already in progress: it publishes the hub")
		return nil
	}
	// Wait out most of the lease: a run renews it at a third of its
	// ttl, so it ends at most that long after the run does.
	delay := min(max(time.Until(held.Expires), time.Second), j.cfg.LeaseTTL/3+time.Second)
	return queue.Snooze(delay, fmt.Sprintf("hub %s is being aggregated by another run", job.Hub))
}

// keepLease renews the hub lease until stopped; losing it cancels the run
// so two workers never publish over each other. stop returns the newest
// lease for release.
func (j *Job) keepLease(ctx context.Context, cancel context.CancelCauseFunc, l tablestore.Lease) (stop func() tablestore.Lease) {
	done := make(chan struct{})
	out := make(chan tablestore.Lease, 1)
	go func() {
		t := time.NewTicker(j.cfg.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				out <- l
				return
			case <-ctx.Done():
				<-done
				out <- l
				return
			case <-t.C:
				nl, err := j.hubs.RenewLease(ctx, l, j.cfg.LeaseTTL)
				if err != nil {
					cancel(fmt.Errorf("hub lease lost: %w", err))
					continue
				}
				l = nl
			}
		}
	}()
	return func() tablestore.Lease { close(done); return <-out }
}

// pointerStarted reads the start of the run that published p, from its
// metadata.
func pointerStarted(p publish.Pointer) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, p.Meta["started"])
	return t, err == nil
}

// previous loads the current generation and decodes its header and
// events; a hub never published has none.
func (j *Job) previous(ctx context.Context, hubID string) (*decoded, error) {
	g, err := j.pub.Load(ctx, hubID)
	if errors.Is(err, publish.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load current calendar of %s: %w", hubID, err)
	}
	d, err := decode(g.Payload)
	if err != nil {
		// A payload we cannot read is replaced by this run, not fatal.
		j.cfg.Logger.WarnContext(ctx, "previous calendar unreadable; aggregating from scratch", "hub", hubID, "error", err.Error())
		return nil, nil
	}
	return d, nil
}

// decoded is a payload read back: its header and its calendar in compact
// form, from which failed and unchanged feeds are carried.
type decoded struct {
	Header
	cal   *hubcal.Calendar
	feeds map[string]FeedStats
}

func decode(payload []byte) (*decoded, error) {
	var h Header
	cal, err := hubcal.Read(payload, &h)
	if err != nil {
		return nil, err
	}
	d := &decoded{Header: h, cal: cal, feeds: make(map[string]FeedStats, len(h.Feeds))}
	for _, f := range h.Feeds {
		d.feeds[f.Feed] = f
	}
	return d, nil
}
