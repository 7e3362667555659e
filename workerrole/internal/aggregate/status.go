package aggregate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/shared/tablestore"
)

// JobRecorder updates the status of the jobs the API queued
// (*tablestore.Store), which curators follow. UpdateJob returns
// tablestore.ErrNotFound for a job the API did not record (the
// scheduler's); nothing is written then.
type JobRecorder interface {
	UpdateJob(ctx context.Context, j tablestore.JobStatus) error
}

var _ JobRecorder = (*tablestore.Store)(nil)

// progress records one job's status as it runs, when Config.Jobs is set.
type progress struct {
	jobs JobRecorder
	st   tablestore.JobStatus
	log  *slog.Logger
	now  func() time.Time
	// last reports the job's last attempt: a failure now is parked.
	last bool
}

func (j *Job) progress(job queue.Job, log *slog.Logger) *progress {
	return &progress{jobs: j.cfg.Jobs, log: log, now: j.cfg.Now, st: tablestore.JobStatus{Hub: job.Hub, JobID: job.ID,
		RequestedBy: job.RequestedBy, EnqueuedAt: job.EnqueuedAt, Attempt: job.Attempt},
		last: j.cfg.MaxAttempts > 0 && job.Attempt+1 >= j.cfg.MaxAttempts}
}

// set records state with message; a storage failure is logged only.
func (p *progress) set(ctx context.Context, state, message string) {
	if p.jobs == nil || p.st.JobID == "" {
		return
	}
	p.st.State, p.st.Message, p.st.UpdatedAt = state, message, p.now()
	switch state {
	case tablestore.JobRunning:
		p.st.StartedAt = p.st.UpdatedAt
	case tablestore.JobPublished, tablestore.JobSkipped, tablestore.JobFailed:
		p.st.FinishedAt = p.st.UpdatedAt
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := p.jobs.UpdateJob(ctx, p.st); err != nil && !errors.Is(err, tablestore.ErrNotFound) {
		p.log.WarnContext(ctx, "job status not recorded", "state", state, "error", err.Error())
	}
}

// published records a publish: N events from X of Y feeds.
func (p *progress) published(ctx context.Context, h Header) {
	p.st.Events, p.st.FeedsOK, p.st.FeedsTotal = h.Events, h.FeedsOK, h.FeedsOK+h.FeedsBad
	p.set(ctx, tablestore.JobPublished, fmt.Sprintf("published %d events from %d of %d feeds", h.Events, h.FeedsOK, h.FeedsOK+h.FeedsBad))
}

// done records how Handle ended, unless it recorded an outcome already:
// a job put back waits again, one cut short by a stopping worker will run
// again, and a failure says why (the worker tries again, or parks it).
func (p *progress) done(ctx context.Context, err error) {
	if err == nil {
		return
	}
	if d, ok := queue.SnoozeDelay(err); ok {
		p.set(ctx, tablestore.JobQueued, fmt.Sprintf("waiting: another run of this hub is in progress (trying again in %v)", d.Round(time.Second)))
		return
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		p.set(ctx, tablestore.JobQueued, "interrupted by a worker stopping; it will run again")
		return
	}
	msg := "failed: " + err.Error()
	switch {
	case queue.IsPermanent(err):
		msg += " (it will not be tried again)"
	case p.last:
		msg += " (that was its last try: it is set aside for the administrator)"
	default:
		msg += " (it will be tried again)"
	}
	p.set(ctx, tablestore.JobFailed, msg)
}
