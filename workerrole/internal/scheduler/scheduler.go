// Package scheduler is the worker's timer: exactly one instance at a time
// (the holder of a leader lease in table storage) enqueues hubs whose last
// good aggregation is older than their interval, or that never ran, and
// runs the maintenance scripts that are due, logging info on success and
// an exception with the script's stack on failure.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/shared/script"
	"github.com/elmcity/elmcity/shared/tablelog"
	"github.com/elmcity/elmcity/shared/tablestore"
	"github.com/elmcity/elmcity/workerrole/internal/aggregate"
)

// store is what the scheduler needs of the hub store (*tablestore.Store).
type store interface {
	ListHubs(ctx context.Context) ([]hub.Hub, error)
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (tablestore.Lease, error)
	LeaseHeld(ctx context.Context, name string) (bool, error)
	Mark(ctx context.Context, name string) (time.Time, error)
	SetMark(ctx context.Context, name string, t time.Time) error
}

// pointers reads when each hub was last published (*publish.Store).
type pointers interface {
	Current(ctx context.Context, hub string) (publish.Pointer, error)
}

// enqueuer sends aggregation jobs (*queue.Client).
type enqueuer interface {
	Enqueue(ctx context.Context, job queue.Job, delay time.Duration) (queue.Job, error)
}

// runner runs maintenance scripts (*script.Engine).
type runner interface {
	Run(ctx context.Context, req script.Request) (string, error)
}

var (
	_ store    = (*tablestore.Store)(nil)
	_ pointers = (*publish.Store)(nil)
	_ enqueuer = (*queue.Client)(nil)
	_ runner   = (*script.Engine)(nil)
)

// Config tunes the scheduler.
type Config struct {
	Instance string        // lease holder: required
	Tick     time.Duration // default 1m
	LeaseTTL time.Duration // leadership, renewed every tick; default 3 ticks
	Schedule Schedule
	// Host is the maintenance host API scripts get.
	Host   script.MaintenanceHost
	Logger *slog.Logger // required
	Now    func() time.Time
	// OnLeader, when set, is told whether this instance leads after each
	// tick (for a metric).
	OnLeader func(bool)
}

// Scheduler runs ticks.
type Scheduler struct {
	store   store
	pub     pointers
	jobs    enqueuer
	scripts runner
	cfg     Config

	mu      sync.Mutex
	pending map[string]time.Time // hub -> when this instance last enqueued it
}

// New builds a Scheduler; it panics on a missing dependency.
func New(s store, p pointers, q enqueuer, r runner, cfg Config) *Scheduler {
	if s == nil || p == nil || q == nil || r == nil || cfg.Logger == nil || cfg.Instance == "" {
		panic("scheduler.New: store, pointers, queue, runner, Logger and Instance are required")
	}
	if cfg.Tick <= 0 {
		cfg.Tick = time.Minute
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 3 * cfg.Tick
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Scheduler{store: s, pub: p, jobs: q, scripts: r, cfg: cfg, pending: map[string]time.Time{}}
}

// Messages of the scheduler's records whose table entries curators read
// as sentences (see Sentences).
const (
	msgScheduled    = "aggregation scheduled"
	msgScriptFailed = "maintenance script failed"
	msgScriptRan    = "maintenance script ran"
)

// Sentences renders the scheduler's records in the table log, as curators
// read them: "aggregation scheduled: never aggregated", "maintenance script
// purge failed: ...".
func Sentences() tablelog.Sentences {
	return tablelog.Sentences{
		msgScheduled:    tablelog.Template("aggregation scheduled: {reason}"),
		msgScriptFailed: tablelog.Template("maintenance script {task} failed: {error}"),
		msgScriptRan:    tablelog.Template("maintenance script {task}: {output}"),
	}
}

// LeaseName is the leader lease's name.
const LeaseName = "scheduler"

// Run ticks until ctx ends. A failing tick is logged and the next one runs
// (as river's job cleaner does).
func (s *Scheduler) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	for {
		tctx, cancel := context.WithTimeout(ctx, s.cfg.Tick*5)
		if _, err := s.RunOnce(tctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.WarnContext(ctx, "scheduler tick failed", "error", err.Error())
		}
		cancel()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunOnce is one tick: take or keep leadership, and if leading, enqueue
// stale hubs and run due scripts. It reports whether this instance led.
func (s *Scheduler) RunOnce(ctx context.Context) (bool, error) {
	_, err := s.store.AcquireLease(ctx, LeaseName, s.cfg.Instance, s.cfg.LeaseTTL)
	lead := err == nil
	if s.cfg.OnLeader != nil {
		s.cfg.OnLeader(lead)
	}
	if errors.Is(err, tablestore.ErrHeld) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, errors.Join(s.enqueueStale(ctx), s.runDue(ctx))
}

// enqueueStale queues hubs never published or published longer ago than
// their interval, unless an aggregation of the hub is running. A hub this
// instance queued within the last interval is not queued again while the
// first job is pending.
func (s *Scheduler) enqueueStale(ctx context.Context) error {
	hubs, err := s.store.ListHubs(ctx)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	var errs []error
	type current struct {
		p   publish.Pointer
		err error
	}
	pointers := make(map[string]current, len(hubs))
	for _, h := range hubs {
		p, err := s.pub.Current(ctx, h.ID)
		pointers[h.ID] = current{p, err}
	}
	for _, h := range hubs {
		reason := ""
		p, err := pointers[h.ID].p, pointers[h.ID].err
		switch {
		case errors.Is(err, publish.ErrNotFound):
			reason = "never aggregated"
		case err != nil:
			errs = append(errs, err)
			continue
		case now.Sub(p.PublishedAt) >= h.Interval():
			reason = fmt.Sprintf("last aggregated %s ago, interval %s", now.Sub(p.PublishedAt).Round(time.Minute), h.Interval())
		default:
			member := aggregate.MemberPublishedSince(h, p.PublishedAt, func(id string) (publish.Pointer, error) {
				if c, ok := pointers[id]; ok {
					return c.p, c.err
				}
				return publish.Pointer{}, publish.ErrNotFound // no such hub
			})
			if member != "" {
				reason = fmt.Sprintf("member hub %s published since", member)
			}
		}
		if reason == "" {
			continue
		}
		// A hub being aggregated right now will be fresh when that run
		// publishes.
		if busy, err := s.store.LeaseHeld(ctx, aggregate.LeaseName(h.ID)); err != nil || busy {
			if err != nil {
				errs = append(errs, err)
			}
			continue
		}
		s.mu.Lock()
		last, queued := s.pending[h.ID]
		s.mu.Unlock()
		if queued && now.Sub(last) < h.Interval() && (err != nil || p.PublishedAt.Before(last)) {
			continue
		}
		job, err := s.jobs.Enqueue(ctx, queue.Job{Kind: queue.KindAggregate, Hub: h.ID, Reason: reason, RequestedBy: aggregate.ScheduledBy}, 0)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.mu.Lock()
		s.pending[h.ID] = now
		s.mu.Unlock()
		s.cfg.Logger.InfoContext(ctx, msgScheduled, "hub", h.ID, "job_id", job.ID, "reason", reason)
	}
	return errors.Join(errs...)
}

// runDue runs every task whose time has come, marking it run first so a
// crashing script does not run on every tick.
func (s *Scheduler) runDue(ctx context.Context) error {
	var errs []error
	for _, t := range s.cfg.Schedule.Tasks {
		last, err := s.store.Mark(ctx, "task-"+t.Name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		now := s.cfg.Now()
		if !t.Due(last, now) {
			continue
		}
		if err := s.store.SetMark(ctx, "task-"+t.Name, now); err != nil {
			errs = append(errs, err)
			continue
		}
		start := time.Now()
		out, err := s.scripts.Run(ctx, script.Request{Name: t.Script, Argv: t.Args, Host: s.cfg.Host, Maintenance: true})
		if err != nil {
			var se *script.Error
			detail := err.Error()
			if errors.As(err, &se) {
				detail = se.Stack
			}
			s.cfg.Logger.ErrorContext(ctx, msgScriptFailed, "hub", tablelog.System, "task", t.Name, "script", t.Script,
				"error", err.Error(), "detail", detail, "duration_ms", time.Since(start).Milliseconds())
			continue
		}
		s.cfg.Logger.InfoContext(ctx, msgScriptRan, "hub", tablelog.System, "task", t.Name, "script", t.Script,
			"output", out, "duration_ms", time.Since(start).Milliseconds())
	}
	return errors.Join(errs...)
}
