package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/elmcity/elmcity/shared/azstorage"
)

// state is where a Delivery is in its life.
type state int

const (
	stateActive state = iota
	stateCompleted
	stateReleased
	stateParked
	stateLost
)

func (s state) String() string {
	switch s {
	case stateActive:
		return "active"
	case stateCompleted:
		return "completed"
	case stateReleased:
		return "released"
	case stateParked:
		return "parked"
	default:
		return "lost"
	}
}

// Delivery is one received message, hidden from other receivers until its
// visibility timeout runs out. Finish it with exactly one of Complete,
// Release or Park; keep it hidden meanwhile with Renew or KeepAlive. Its
// methods are safe for concurrent use: operations on one Delivery run one
// at a time, so each uses the newest pop receipt, and once the delivery is
// finished no renewal is sent.
type Delivery struct {
	// Job is the decoded envelope. Treat it as read-only: Release sends
	// it back with Attempt and LastError updated.
	Job Job
	// DequeueCount is how many times the service has delivered the message,
	// this delivery included.
	DequeueCount int64
	// InsertedAt is when the message was put in the queue.
	InsertedAt time.Time

	c        *Client
	msgID    string
	text     string // message text as received, sent back on Renew
	parsed   bool   // Job was decoded from text
	parseErr error  // why text could not be decoded

	logHub string // the "hub" of the delivery's own log entries; "" means Job.Hub

	mu         sync.Mutex // guards receipt, visibility and st, and serialises calls to the service
	receipt    string
	visibility time.Duration
	st         state
	done       chan struct{} // closed when st leaves stateActive
}

// LogHub sets the "hub" the delivery names in its own log entries (lost,
// parked, renewal failed), which decides the table log partition they
// go to: the worker sets tablelog.System for a job whose hub does not
// exist. Call it before the delivery is used from other goroutines.
func (d *Delivery) LogHub(hub string) { d.logHub = hub }

// hub is the "hub" of the delivery's log entries.
func (d *Delivery) hub() string {
	if d.logHub != "" {
		return d.logHub
	}
	return d.Job.Hub
}

// finish moves d out of stateActive. The caller holds d.mu.
func (d *Delivery) finish(s state) {
	if d.st == stateActive {
		close(d.done)
	}
	d.st = s
}

// usable returns nil when d is active, ErrLost when it was lost, and
// ErrInvalid when it was already finished. The caller holds d.mu.
func (d *Delivery) usable(op string) error {
	switch d.st {
	case stateActive:
		return nil
	case stateLost:
		return fmt.Errorf("%s job %s: %w", op, d.Job.ID, ErrLost)
	default:
		return fmt.Errorf("%s job %s: %w: delivery already %v", op, d.Job.ID, ErrInvalid, d.st)
	}
}

// lost maps a lost-receipt error (404, or 400 PopReceiptMismatch) to
// ErrLost, finishing d and logging at Info the first time. Other errors
// come back wrapped. The caller holds d.mu.
func (d *Delivery) lost(ctx context.Context, op string, err error) error {
	err = azstorage.Wrap(err)
	code := azstorage.ErrorCode(err)
	if !errors.Is(err, azstorage.ErrNotFound) && code != "PopReceiptMismatch" && code != "MessageNotFound" {
		return fmt.Errorf("%s job %s in %s: %w", op, d.Job.ID, d.c.name, err)
	}
	if d.st != stateLost {
		d.finish(stateLost)
		d.c.log.LogAttrs(ctx, slog.LevelInfo, "queue message lost to another receiver",
			slog.String("hub", d.hub()), slog.String("job_id", d.Job.ID),
			slog.String("msg_kind", d.Job.Kind), slog.String("op", op),
			slog.Int64("dequeue_count", d.DequeueCount), slog.String("queue", d.c.name),
			slog.String("error_code", code))
	}
	return fmt.Errorf("%s job %s in %s: %w (%w)", op, d.Job.ID, d.c.name, ErrLost, err)
}

// Renew hides the message for visibility (1s to 7 days, rounded up to
// whole seconds) from now on and keeps the new pop receipt. It returns
// ErrLost when another receiver owns the message, and ErrInvalid for a bad
// visibility or a finished delivery.
func (d *Delivery) Renew(ctx context.Context, visibility time.Duration) error {
	if visibility < time.Second || visibility > maxVisibility {
		return fmt.Errorf("renew job %s: %w: visibility %v must be between 1s and 7 days", d.Job.ID, ErrInvalid, visibility)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.update(ctx, "renew", d.text, visibility)
}

// update sends UpdateMessage with the newest receipt and records the new
// one. The caller holds d.mu.
func (d *Delivery) update(ctx context.Context, op, text string, visibility time.Duration) error {
	if err := d.usable(op); err != nil {
		return err
	}
	vis := seconds(visibility)
	resp, err := d.c.main.UpdateMessage(ctx, d.msgID, d.receipt, text, &azqueue.UpdateMessageOptions{VisibilityTimeout: &vis})
	if err != nil {
		return d.lost(ctx, op, err)
	}
	if resp.PopReceipt != nil {
		d.receipt = *resp.PopReceipt
	}
	d.text = text
	d.visibility = visibility
	return nil
}

// KeepAlive renews the message in a goroutine every third of its
// visibility timeout, each time for the same timeout, until stop is
// called, ctx is done, or the delivery is finished or lost. A failed
// renewal other than ErrLost is logged at Warn and retried at the next
// tick. stop waits for the goroutine to end, including a renewal in
// flight (at most half the visibility timeout), and may be called more
// than once.
func (d *Delivery) KeepAlive(ctx context.Context) (stop func()) {
	stopCh, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		for {
			d.mu.Lock()
			vis := d.visibility
			d.mu.Unlock()
			timer := time.NewTimer(max(vis/3, 100*time.Millisecond))
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-stopCh:
				timer.Stop()
				return
			case <-d.done:
				timer.Stop()
				return
			case <-timer.C:
			}
			if !d.renewFromKeepAlive(ctx, stopCh, vis) {
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(stopCh) })
		<-exited
	}
}

// renewFromKeepAlive renews once and reports whether the keep-alive should
// go on. stop does not cancel a renewal in flight: a renewal cut short
// after the service applied it would leave d with a stale pop receipt, and
// the Complete that usually follows stop would then fail with ErrLost.
func (d *Delivery) renewFromKeepAlive(ctx context.Context, stopCh <-chan struct{}, vis time.Duration) bool {
	rctx, cancel := context.WithTimeout(ctx, max(vis/2, time.Second))
	defer cancel()
	err := d.Renew(rctx, vis)
	switch {
	case err == nil:
		return true
	case errors.Is(err, ErrLost), errors.Is(err, ErrInvalid), ctx.Err() != nil:
		return false
	}
	select {
	case <-stopCh:
		return false
	default:
	}
	d.c.log.LogAttrs(ctx, slog.LevelWarn, "queue message renewal failed",
		slog.String("hub", d.hub()), slog.String("job_id", d.Job.ID),
		slog.String("msg_kind", d.Job.Kind), slog.String("queue", d.c.name),
		slog.String("error", err.Error()))
	return true
}

// Complete deletes the message: the job is done. It returns ErrLost when
// another receiver owns the message (logged once at Info), and ErrInvalid
// when the delivery was already finished.
func (d *Delivery) Complete(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usable("complete"); err != nil {
		return err
	}
	if _, err := d.c.main.DeleteMessage(ctx, d.msgID, d.receipt, nil); err != nil {
		return d.lost(ctx, "complete", err)
	}
	d.finish(stateCompleted)
	return nil
}

// Release gives the message back to the queue, visible again after delay
// (0 to 7 days, rounded up to whole seconds; see Backoff), with
// Job.Attempt incremented and Job.LastError set from cause. When cause is
// marked Permanent, Release parks the message instead. It returns ErrLost
// when another receiver owns the message, and ErrInvalid for a bad delay
// or a finished delivery.
func (d *Delivery) Release(ctx context.Context, delay time.Duration, cause error) error {
	if IsPermanent(cause) {
		return d.Park(ctx, "permanent error: "+cause.Error())
	}
	if delay < 0 || delay > maxVisibility {
		return fmt.Errorf("release job %s: %w: delay %v must be between 0 and 7 days", d.Job.ID, ErrInvalid, delay)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usable("release"); err != nil {
		return err
	}
	job := d.Job
	job.Attempt++
	job.LastError = ""
	if cause != nil {
		job.LastError = truncateUTF8(cause.Error(), maxLastError)
	}
	text, err := encodeBase64JSON(job)
	if errors.Is(err, ErrTooLarge) && job.LastError != "" {
		// The job is near the limit already; keep it deliverable.
		job.LastError = truncateUTF8(job.LastError, 64)
		text, err = encodeBase64JSON(job)
	}
	if err != nil {
		return fmt.Errorf("release job %s: %w", d.Job.ID, err)
	}
	if err := d.update(ctx, "release", text, delay); err != nil {
		return err
	}
	d.finish(stateReleased)
	return nil
}

// Requeue puts the job back as a new message, unchanged (its id and
// EnqueuedAt kept), visible after delay (0 to 7 days), and deletes this
// one: the new message starts with a fresh dequeue count, so a job that
// waits (Snooze) is never parked for waiting. If the delete fails after
// the new message was sent, the job is in the queue twice, which a
// covered-run check absorbs. It returns ErrLost when another receiver
// owns the original, and ErrInvalid for a bad delay or a finished
// delivery.
func (d *Delivery) Requeue(ctx context.Context, delay time.Duration) error {
	if delay < 0 || delay >= maxVisibility {
		return fmt.Errorf("requeue job %s: %w: delay %v must be between 0 and 7 days", d.Job.ID, ErrInvalid, delay)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usable("requeue"); err != nil {
		return err
	}
	if !d.parsed {
		return fmt.Errorf("requeue job %s: %w: the message was not a job", d.Job.ID, ErrInvalid)
	}
	text, err := encodeBase64JSON(d.Job)
	if err != nil {
		return fmt.Errorf("requeue job %s: %w", d.Job.ID, err)
	}
	var opts *azqueue.EnqueueMessageOptions
	if vis := seconds(delay); vis > 0 {
		opts = &azqueue.EnqueueMessageOptions{VisibilityTimeout: &vis}
	}
	if _, err := d.c.main.EnqueueMessage(ctx, text, opts); err != nil {
		return fmt.Errorf("requeue job %s to %s: %w", d.Job.ID, d.c.name, azstorage.Wrap(err))
	}
	if _, err := d.c.main.DeleteMessage(ctx, d.msgID, d.receipt, nil); err != nil {
		return d.lost(ctx, "requeue", err)
	}
	d.finish(stateCompleted)
	return nil
}

// Park moves the message to the poison queue with reason, logs the reason
// at Warn with the "hub" attribute, and deletes the original. It returns
// ErrLost when another receiver owns the original (the parked copy then
// stays), and ErrInvalid when the delivery was already finished.
func (d *Delivery) Park(ctx context.Context, reason string) error {
	return d.park(ctx, reason, slog.LevelWarn)
}

// park is Park with the log level chosen by the caller.
func (d *Delivery) park(ctx context.Context, reason string, level slog.Level) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usable("park"); err != nil {
		return err
	}
	p := Parked{
		Reason:       truncateUTF8(reason, maxReason),
		ParkedAt:     d.c.now().UTC(),
		DequeueCount: d.DequeueCount,
		Queue:        d.c.name,
		MessageID:    d.msgID,
		Message:      d.text,
	}
	if d.parsed {
		job := d.Job
		p.Job = &job
	}
	text, err := encodeParked(p)
	if err != nil {
		return fmt.Errorf("park job %s: %w", d.Job.ID, err)
	}
	forever := int32(-1)
	if _, err := d.c.poison.EnqueueMessage(ctx, text, &azqueue.EnqueueMessageOptions{TimeToLive: &forever}); err != nil {
		return fmt.Errorf("park job %s in %s: %w", d.Job.ID, d.c.PoisonName(), azstorage.Wrap(err))
	}
	d.c.log.LogAttrs(ctx, level, "queue message parked",
		slog.String("hub", d.hub()), slog.String("job_id", d.Job.ID),
		slog.String("msg_kind", d.Job.Kind), slog.String("reason", p.Reason),
		slog.Int64("dequeue_count", d.DequeueCount), slog.String("queue", d.c.name),
		slog.String("message_id", d.msgID))
	if _, err := d.c.main.DeleteMessage(ctx, d.msgID, d.receipt, nil); err != nil {
		return d.lost(ctx, "park", err)
	}
	d.finish(stateParked)
	return nil
}

// encodeParked encodes p, dropping the parsed job and then cutting the
// original text to the longest prefix that fits when the wrapper would
// exceed the size limit.
func encodeParked(p Parked) (string, error) {
	text, err := encodeBase64JSON(p)
	if !errors.Is(err, ErrTooLarge) {
		return text, err
	}
	p.Job = nil // it is in Message too
	if text, err = encodeBase64JSON(p); !errors.Is(err, ErrTooLarge) {
		return text, err
	}
	// JSON escaping makes the encoded size of a prefix hard to predict, so
	// search for the longest prefix that fits.
	orig := p.Message
	p.Truncated = true
	lo, hi := 0, len(orig) // the prefix of length lo fits (assumed), hi does not
	for lo+1 < hi {
		mid := (lo + hi) / 2
		p.Message = truncateUTF8(orig, mid)
		if _, err := encodeBase64JSON(p); err == nil {
			lo = mid
		} else {
			hi = mid
		}
	}
	p.Message = truncateUTF8(orig, lo)
	return encodeBase64JSON(p)
}

// decodeParked reads a poison message, which should be a Parked wrapper.
func decodeParked(m *azqueue.PeekedMessage) Parked {
	text := deref(m.MessageText)
	var p Parked
	b, err := decodeText(text)
	if err == nil {
		err = json.Unmarshal(b, &p)
	}
	if err != nil {
		p = Parked{Reason: "not a parked wrapper: " + err.Error(), Message: text}
		if m.DequeueCount != nil {
			p.DequeueCount = *m.DequeueCount
		}
		if m.InsertionTime != nil {
			p.ParkedAt = *m.InsertionTime
		}
	}
	return p
}
