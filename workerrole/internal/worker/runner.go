// Package worker consumes jobs from the queue with bounded concurrency and
// turns each handler's outcome into a queue action: complete, release with
// backoff, or park. It stops like river: on cancel it stops receiving, lets
// in-flight jobs finish for SoftStop, then cancels them and makes their
// messages visible again at once.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/shared/tablelog"
)

// Handler does one kind of job. It must honour ctx. A nil return completes
// the job; queue.Permanent(err) parks it at once; queue.Snooze puts it
// back as a new message, not counted as an attempt; any other error
// releases it for a retry with backoff until the queue's maximum dequeue
// count.
type Handler interface {
	Handle(ctx context.Context, job queue.Job) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, job queue.Job) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, job queue.Job) error { return f(ctx, job) }

// receiver is what the Runner needs of the queue (*queue.Client).
type receiver interface {
	Receive(ctx context.Context, count int) ([]*queue.Delivery, error)
}

var _ receiver = (*queue.Client)(nil)

// Config tunes a Runner. Zero values take the defaults.
type Config struct {
	Concurrency int           // jobs at once, default 4
	PollMin     time.Duration // first wait after an empty receive, default 100ms
	PollMax     time.Duration // longest wait between empty receives, default 10s
	SoftStop    time.Duration // grace for in-flight jobs on stop, default 20s
	RetryBase   time.Duration // first retry delay, default 5s
	RetryMax    time.Duration // longest retry delay, default 5m
	// JobTimeout bounds one job run, default 10m. A job that runs over it
	// is cancelled and fails with ErrJobDeadline, so it is retried and, at
	// the queue's maximum dequeue count, parked.
	JobTimeout time.Duration
	Logger     *slog.Logger // job start/finish/failure, with "hub": required
	// Observe, when set, is told each job's outcome ("ok", "retry",
	// "snoozed", "parked", "cancelled") and duration, for metrics.
	Observe func(kind, outcome string, d time.Duration)
	// Started, when set, is told each job's kind as it starts.
	Started func(kind string)
	Rand    func() float64 // jitter source, default math/rand/v2
}

// DefaultJobTimeout is Config.JobTimeout's default.
const DefaultJobTimeout = 10 * time.Minute

// ErrJobDeadline is the cause of a job cancelled at Config.JobTimeout.
var ErrJobDeadline = errors.New("job ran over its deadline")

// Runner receives and runs jobs.
type Runner struct {
	q        receiver
	handlers map[string]Handler
	cfg      Config
}

// New builds a Runner. It panics on a nil queue, no handlers or a nil
// Logger: programming errors found at startup.
func New(q receiver, handlers map[string]Handler, cfg Config) *Runner {
	if q == nil || len(handlers) == 0 || cfg.Logger == nil {
		panic("worker.New: queue, handlers and Logger are required")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.PollMin <= 0 {
		cfg.PollMin = 100 * time.Millisecond
	}
	if cfg.PollMax < cfg.PollMin {
		cfg.PollMax = max(10*time.Second, cfg.PollMin)
	}
	if cfg.SoftStop <= 0 {
		cfg.SoftStop = 20 * time.Second
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 5 * time.Second
	}
	if cfg.RetryMax < cfg.RetryBase {
		cfg.RetryMax = max(5*time.Minute, cfg.RetryBase)
	}
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = DefaultJobTimeout
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	return &Runner{q: q, handlers: handlers, cfg: cfg}
}

// Run receives and runs jobs until ctx is cancelled, then stops softly and
// returns nil once every in-flight job has finished or been released.
func (r *Runner) Run(ctx context.Context) error {
	// Jobs run under hard, which outlives ctx by SoftStop.
	hard, cancelHard := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHard()
	slots := make(chan struct{}, r.cfg.Concurrency)
	var wg sync.WaitGroup
	wait := r.cfg.PollMin

	for ctx.Err() == nil {
		// Wait for at least one free slot.
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			continue
		}
		free := 1
	fill:
		for free < min(cap(slots), 32) {
			select {
			case slots <- struct{}{}:
				free++
			default:
				break fill
			}
		}
		ds, err := r.q.Receive(ctx, free)
		if err != nil && ctx.Err() == nil {
			r.cfg.Logger.WarnContext(ctx, "receive failed", "error", err.Error())
		}
		for range free - len(ds) {
			<-slots
		}
		if len(ds) == 0 {
			r.sleep(ctx, wait)
			wait = min(wait*2, r.cfg.PollMax)
			continue
		}
		wait = r.cfg.PollMin
		for _, d := range ds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				r.process(hard, d)
			}()
		}
	}

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	timer := time.NewTimer(r.cfg.SoftStop)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		r.cfg.Logger.Warn("soft stop timed out; cancelling in-flight jobs", "soft_stop", r.cfg.SoftStop.String())
		cancelHard()
		<-done
	}
	return nil
}

// sleep waits d with ±50% jitter, or until ctx ends.
func (r *Runner) sleep(ctx context.Context, d time.Duration) {
	d = time.Duration(float64(d) * (0.5 + r.cfg.Rand()))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// process runs one delivery and settles it.
func (r *Runner) process(ctx context.Context, d *queue.Delivery) {
	job := d.Job
	log := r.cfg.Logger.With("hub", job.Hub, "job_id", job.ID, "msg_kind", job.Kind)
	if !r.hubExists(ctx, job) {
		// Entries about a job for a hub that does not exist go to the
		// system log: a partition named after it would never be purged.
		log = r.cfg.Logger.With("hub", tablelog.System, "job_hub", job.Hub, "job_id", job.ID, "msg_kind", job.Kind)
		d.LogHub(tablelog.System)
	}
	start := time.Now()
	log.InfoContext(ctx, "job started", "reason", job.Reason, "attempt", job.Attempt, "dequeue_count", d.DequeueCount)
	if r.cfg.Started != nil {
		r.cfg.Started(job.Kind)
	}

	stop := d.KeepAlive(ctx)
	jctx, cancelJob := context.WithTimeoutCause(ctx, r.cfg.JobTimeout, ErrJobDeadline)
	err := r.run(jctx, job)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(jctx), ErrJobDeadline) && !errors.Is(err, ErrJobDeadline) {
		err = fmt.Errorf("%w (%v): %w", ErrJobDeadline, r.cfg.JobTimeout, err)
	}
	cancelJob()
	stop()

	// Settle with a context of its own: a cancelled job still needs its
	// message made visible again.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	dur := time.Since(start)
	outcome := "ok"
	switch {
	case err == nil:
		if cerr := d.Complete(sctx); cerr != nil && !errors.Is(cerr, queue.ErrLost) {
			log.WarnContext(sctx, "job done but not deleted; it will run again", "error", cerr.Error())
		}
		log.InfoContext(sctx, "job finished", "duration_ms", dur.Milliseconds())
	case ctx.Err() != nil:
		outcome = "cancelled"
		log.WarnContext(sctx, "job cancelled by shutdown; released for another worker", "duration_ms", dur.Milliseconds(), "error", err.Error())
		if rerr := d.Release(sctx, 0, err); rerr != nil && !errors.Is(rerr, queue.ErrLost) {
			log.WarnContext(sctx, "release failed; the message reappears after its visibility timeout", "error", rerr.Error())
		}
	case isSnooze(err):
		// Not a failure: the job waits as a new message, and this
		// delivery does not count against its attempts.
		outcome = "snoozed"
		delay, _ := queue.SnoozeDelay(err)
		log.InfoContext(sctx, msgJobPutBack, "error", err.Error(), "retry_in", delay.String(), "duration_ms", dur.Milliseconds())
		if qerr := d.Requeue(sctx, delay); qerr != nil && !errors.Is(qerr, queue.ErrLost) {
			log.WarnContext(sctx, "requeue failed; the message reappears after its visibility timeout", "error", qerr.Error())
		}
	case queue.IsPermanent(err):
		outcome = "parked"
		log.ErrorContext(sctx, msgJobParked, "error", err.Error(), "detail", detail(err), "duration_ms", dur.Milliseconds())
		if perr := d.Park(sctx, err.Error()); perr != nil && !errors.Is(perr, queue.ErrLost) {
			log.WarnContext(sctx, "park failed", "error", perr.Error())
		}
	default:
		outcome = "retry"
		delay := queue.Backoff(int(d.DequeueCount), r.cfg.RetryBase, r.cfg.RetryMax, r.cfg.Rand)
		log.ErrorContext(sctx, msgJobFailed, "error", err.Error(), "detail", detail(err), "duration_ms", dur.Milliseconds(),
			"retry_in", delay.String(), "dequeue_count", d.DequeueCount)
		if rerr := d.Release(sctx, delay, err); rerr != nil && !errors.Is(rerr, queue.ErrLost) {
			log.WarnContext(sctx, "release failed; the message reappears after its visibility timeout", "error", rerr.Error())
		}
	}
	if r.cfg.Observe != nil {
		r.cfg.Observe(job.Kind, outcome, dur)
	}
}

// Messages of the runner's records whose table entries curators read as
// sentences (see Sentences).
const (
	msgJobPutBack = "job put back"
	msgJobParked  = "job failed permanently"
	msgJobFailed  = "job failed"
)

// Sentences renders the runner's records in the hub's table log, as
// curators read them: "job failed: publish keene: ...".
func Sentences() tablelog.Sentences {
	return tablelog.Sentences{
		msgJobPutBack: tablelog.Template("job put back: {error}"),
		msgJobParked:  tablelog.Template("job failed permanently: {error}"),
		msgJobFailed:  tablelog.Template("job failed: {error}"),
	}
}

// HubChecker is a Handler that can tell whether a job's hub exists; the
// runner asks before it logs the job's start, so that entries about a job
// for a hub that does not exist go to the system log.
type HubChecker interface {
	HubExists(ctx context.Context, hub string) (bool, error)
}

// hubExists reports whether job's hub exists, as its handler tells; true
// when the handler cannot tell or storage does not answer (the job then
// finds out).
func (r *Runner) hubExists(ctx context.Context, job queue.Job) bool {
	hc, ok := r.handlers[job.Kind].(HubChecker)
	if !ok {
		return true
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	exists, err := hc.HubExists(cctx, job.Hub)
	return err != nil || exists
}

// isSnooze reports a queue.Snooze outcome.
func isSnooze(err error) bool {
	_, ok := queue.SnoozeDelay(err)
	return ok
}

// run calls the job's handler, turning a panic into an error that carries
// the stack.
func (r *Runner) run(ctx context.Context, job queue.Job) (err error) {
	h, ok := r.handlers[job.Kind]
	if !ok {
		return queue.Permanent(fmt.Errorf("no handler for job kind %q", job.Kind))
	}
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{value: p, stack: debug.Stack()}
		}
	}()
	return h.Handle(ctx, job)
}

// panicError is a handler panic with its stack.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("handler panicked: %v", p.value) }

// detail is what lands in the exception entry's Detail, which curators
// read: the stack of a panic, otherwise the error's causes, outermost
// first, one a line, each line only what that error adds to its cause.
func detail(err error) string {
	var p *panicError
	if errors.As(err, &p) {
		return string(p.stack)
	}
	var lines []string
	prev := ""
	for e := err; e != nil; e = errors.Unwrap(e) {
		msg := e.Error()
		if len(lines) > 0 {
			if msg == prev {
				continue
			}
			// "publish keene: <cause>" shows as "publish keene".
			if head, ok := strings.CutSuffix(prev, msg); ok && strings.TrimSpace(head) != "" {
				lines[len(lines)-1] = strings.TrimSuffix(strings.TrimSpace(head), ":")
			}
		}
		lines = append(lines, msg)
		prev = msg
	}
	return strings.Join(lines, "\n") + "\n"
}
