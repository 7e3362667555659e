// Package queue carries elmcity's background jobs over Azure Queue Storage:
// a versioned JSON envelope (Job), and a Client that enqueues jobs and
// receives them as Deliveries with a visibility timeout that can be renewed,
// completed, released with a backoff delay, or parked in the poison queue.
//
// Messages are the base64 of the envelope's JSON, as Azure Functions writes
// them, which keeps them safe inside the service's XML; plain JSON put by
// hand (in the portal, say) is accepted too. Receive parks malformed
// messages, unknown kinds and messages dequeued more than
// Config.MaxDequeueCount times in "<name>-poison" before a worker sees them,
// so a message that crashes its worker cannot loop forever. Every park is
// logged with the "hub" attribute, which routes the record to the hub's
// table log.
package queue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/elmcity/elmcity/shared/azstorage"
)

// Sentinel errors; test for them with errors.Is.
var (
	// ErrLost means the message is no longer ours: its pop receipt was
	// superseded (400 PopReceiptMismatch) or the message is gone (404),
	// usually because the visibility timeout ran out and another worker
	// received it. It is an outcome, logged once at Info, not a failure.
	ErrLost = errors.New("queue: message lost to another receiver")
	// ErrTooLarge means the encoded message exceeds the 64 KiB limit.
	ErrTooLarge = errors.New("queue: message too large")
	// ErrInvalid means an argument or configuration value is not usable,
	// or a Delivery was used after it was completed, released or parked.
	ErrInvalid = errors.New("queue: invalid")
)

// Defaults applied by Open to zero Config fields.
const (
	DefaultName              = "elmcity-jobs"
	DefaultMaxDequeueCount   = 5
	DefaultVisibilityTimeout = 60 * time.Second
)

// PoisonSuffix is appended to the queue name to name its poison queue.
const PoisonSuffix = "-poison"

// maxVisibility is the service's limit on visibility timeouts and delays.
const maxVisibility = 7 * 24 * time.Hour

// maxBatch is the service's limit on messages per receive or peek.
const maxBatch = 32

// Config configures a Client. The zero value gives the defaults.
type Config struct {
	// Name is the queue name, default DefaultName. It must be a valid Azure
	// queue name (3-63 lowercase letters, digits and single hyphens,
	// starting and ending with a letter or digit) with room for
	// PoisonSuffix, so at most 56 characters.
	Name string
	// Kinds lists the job kinds workers handle, default {KindAggregate}.
	// Enqueue refuses other kinds and Receive parks them.
	Kinds []string
	// MaxDequeueCount is how often a message may be delivered; a message
	// received with a higher dequeue count is parked. Default 5, as in
	// Azure Functions.
	MaxDequeueCount int64
	// VisibilityTimeout is how long a received message stays hidden before
	// another receiver can get it, unless renewed. Default 60s; it must lie
	// between 1s and 7 days and is rounded up to whole seconds.
	VisibilityTimeout time.Duration
	// Logger receives parks (Warn or Error, with "hub") and lost messages
	// (Info). Nil discards.
	Logger *slog.Logger
	// Now is the clock, default time.Now.
	Now func() time.Time
}

// withDefaults fills zero fields.
func (cfg Config) withDefaults() Config {
	cfg.Name = cmp.Or(cfg.Name, DefaultName)
	if len(cfg.Kinds) == 0 {
		cfg.Kinds = []string{KindAggregate}
	}
	cfg.MaxDequeueCount = cmp.Or(cfg.MaxDequeueCount, DefaultMaxDequeueCount)
	cfg.VisibilityTimeout = cmp.Or(cfg.VisibilityTimeout, DefaultVisibilityTimeout)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg
}

// validate returns every problem with cfg, each wrapping ErrInvalid.
func (cfg Config) validate() error {
	var errs []error
	if err := validQueueName(cfg.Name); err != nil {
		errs = append(errs, err)
	}
	seen := make(map[string]bool, len(cfg.Kinds))
	for _, k := range cfg.Kinds {
		switch {
		case k == "" || len(k) > 64:
			errs = append(errs, fmt.Errorf("%w: kind %q must be 1 to 64 bytes", ErrInvalid, k))
		case seen[k]:
			errs = append(errs, fmt.Errorf("%w: duplicate kind %q", ErrInvalid, k))
		}
		seen[k] = true
	}
	if cfg.MaxDequeueCount < 1 {
		errs = append(errs, fmt.Errorf("%w: MaxDequeueCount %d must be at least 1", ErrInvalid, cfg.MaxDequeueCount))
	}
	if cfg.VisibilityTimeout < time.Second || cfg.VisibilityTimeout > maxVisibility {
		errs = append(errs, fmt.Errorf("%w: VisibilityTimeout %v must be between 1s and 7 days", ErrInvalid, cfg.VisibilityTimeout))
	}
	return errors.Join(errs...)
}

// validQueueName checks the Azure queue naming rules, leaving room for
// PoisonSuffix.
func validQueueName(name string) error {
	maxLen := 63 - len(PoisonSuffix)
	if len(name) < 3 || len(name) > maxLen {
		return fmt.Errorf("%w: queue name %q must be 3 to %d characters", ErrInvalid, name, maxLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
		case c == '-':
			if i == 0 || i == len(name)-1 || name[i-1] == '-' {
				return fmt.Errorf("%w: queue name %q: hyphens must sit between letters or digits", ErrInvalid, name)
			}
		default:
			return fmt.Errorf("%w: queue name %q: only lowercase letters, digits and hyphens", ErrInvalid, name)
		}
	}
	return nil
}

// Client enqueues and receives jobs on one queue and its poison queue. It
// is safe for concurrent use.
type Client struct {
	name       string
	main       *azqueue.QueueClient
	poison     *azqueue.QueueClient
	kinds      map[string]bool
	maxDequeue int64
	visibility time.Duration
	log        *slog.Logger
	now        func() time.Time
}

// Open validates cfg, creates the queue and its poison queue if they are
// missing, and returns a Client. Configuration errors wrap ErrInvalid. A
// nil acct is a programmer error and panics.
func Open(ctx context.Context, acct *azstorage.Account, cfg Config) (*Client, error) {
	if acct == nil {
		panic("queue.Open: nil *azstorage.Account")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("open queue: %w", err)
	}
	svc := acct.Queues()
	c := &Client{
		name:       cfg.Name,
		main:       svc.NewQueueClient(cfg.Name),
		poison:     svc.NewQueueClient(cfg.Name + PoisonSuffix),
		kinds:      make(map[string]bool, len(cfg.Kinds)),
		maxDequeue: cfg.MaxDequeueCount,
		visibility: cfg.VisibilityTimeout,
		log:        cfg.Logger,
		now:        cfg.Now,
	}
	for _, k := range cfg.Kinds {
		c.kinds[k] = true
	}
	for _, q := range []struct {
		name string
		qc   *azqueue.QueueClient
	}{{c.name, c.main}, {c.name + PoisonSuffix, c.poison}} {
		if _, err := q.qc.Create(ctx, nil); err != nil {
			err = azstorage.Wrap(err)
			if azstorage.ErrorCode(err) != "QueueAlreadyExists" {
				return nil, fmt.Errorf("open queue: create %s: %w", q.name, err)
			}
		}
	}
	return c, nil
}

// Name is the main queue's name.
func (c *Client) Name() string { return c.name }

// PoisonName is the poison queue's name.
func (c *Client) PoisonName() string { return c.name + PoisonSuffix }

// Enqueue validates job, fills V, ID (16 random bytes in hex, unless the
// caller set one) and EnqueuedAt, and sends it to become visible after
// delay (0 to under 7 days). It returns the job as sent. It returns
// ErrInvalid for an unknown kind, a hub not matching [A-Za-z0-9_-]{1,64},
// a bad ID or delay, and ErrTooLarge when the encoded message exceeds
// 64 KiB.
func (c *Client) Enqueue(ctx context.Context, job Job, delay time.Duration) (Job, error) {
	job.V = Version
	if job.ID == "" {
		id, err := newID()
		if err != nil {
			return Job{}, fmt.Errorf("enqueue: %w", err)
		}
		job.ID = id
	}
	job.EnqueuedAt = c.now().UTC()
	if err := c.checkJob(job); err != nil {
		return Job{}, fmt.Errorf("enqueue job %s: %w", job.ID, err)
	}
	if delay < 0 || delay >= maxVisibility {
		return Job{}, fmt.Errorf("enqueue job %s: %w: delay %v must be between 0 and 7 days", job.ID, ErrInvalid, delay)
	}
	text, err := encodeBase64JSON(job)
	if err != nil {
		return Job{}, fmt.Errorf("enqueue job %s: %w", job.ID, err)
	}
	// Send the visibility timeout only for a delay: the service (Azurite
	// measurably) takes a slower path for an explicit zero.
	var opts *azqueue.EnqueueMessageOptions
	if vis := seconds(delay); vis > 0 {
		opts = &azqueue.EnqueueMessageOptions{VisibilityTimeout: &vis}
	}
	if _, err := c.main.EnqueueMessage(ctx, text, opts); err != nil {
		return Job{}, fmt.Errorf("enqueue job %s to %s: %w", job.ID, c.name, azstorage.Wrap(err))
	}
	return job, nil
}

// checkJob validates a job's contents, wrapping ErrInvalid.
func (c *Client) checkJob(j Job) error {
	switch {
	case j.V < 0 || j.V > Version:
		return fmt.Errorf("%w: unsupported envelope version %d", ErrInvalid, j.V)
	case !c.kinds[j.Kind]:
		return fmt.Errorf("%w: unknown kind %q", ErrInvalid, j.Kind)
	case !validHub(j.Hub):
		return fmt.Errorf("%w: hub %q must match [A-Za-z0-9_-]{1,64}", ErrInvalid, j.Hub)
	case !validID(j.ID):
		return fmt.Errorf("%w: id %q must be 1 to %d printable ASCII characters", ErrInvalid, j.ID, maxIDLen)
	case j.Attempt < 0:
		return fmt.Errorf("%w: negative attempt %d", ErrInvalid, j.Attempt)
	}
	return nil
}

// Receive takes up to count (1 to 32) visible messages, hiding them for
// Config.VisibilityTimeout. Before returning, it parks in the poison queue
// every message that is malformed, has an unknown kind or an invalid hub,
// or was dequeued more than Config.MaxDequeueCount times; it returns only
// the good deliveries, possibly none. A park that fails is logged at Error
// and the message reappears after its visibility timeout, to be parked at
// a later receive.
func (c *Client) Receive(ctx context.Context, count int) ([]*Delivery, error) {
	if count < 1 || count > maxBatch {
		return nil, fmt.Errorf("receive from %s: %w: count %d must be 1 to %d", c.name, ErrInvalid, count, maxBatch)
	}
	n, vis := int32(count), seconds(c.visibility)
	resp, err := c.main.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: &n, VisibilityTimeout: &vis})
	if err != nil {
		return nil, fmt.Errorf("receive from %s: %w", c.name, azstorage.Wrap(err))
	}
	out := make([]*Delivery, 0, len(resp.Messages))
	for _, m := range resp.Messages {
		d := c.newDelivery(m)
		reason, level := c.screen(d)
		if reason == "" {
			out = append(out, d)
			continue
		}
		if err := d.park(ctx, reason, level); err != nil && !errors.Is(err, ErrLost) {
			c.log.LogAttrs(ctx, slog.LevelError, "queue message not parked",
				slog.String("hub", d.Job.Hub), slog.String("job_id", d.Job.ID),
				slog.String("msg_kind", d.Job.Kind), slog.String("reason", reason),
				slog.Int64("dequeue_count", d.DequeueCount), slog.String("queue", c.name),
				slog.String("error", err.Error()))
		}
	}
	return out, nil
}

// newDelivery builds a Delivery from a dequeued message, parsing its text.
func (c *Client) newDelivery(m *azqueue.DequeuedMessage) *Delivery {
	d := &Delivery{
		c:          c,
		msgID:      deref(m.MessageID),
		text:       deref(m.MessageText),
		receipt:    deref(m.PopReceipt),
		visibility: c.visibility,
		done:       make(chan struct{}),
	}
	if m.DequeueCount != nil {
		d.DequeueCount = *m.DequeueCount
	}
	if m.InsertionTime != nil {
		d.InsertedAt = *m.InsertionTime
	}
	job, err := parseJob(d.text)
	if err != nil {
		d.parseErr = err
		return d
	}
	d.parsed = true
	if job.V == 0 {
		job.V = Version
	}
	if job.ID == "" {
		job.ID = d.msgID
	}
	if job.EnqueuedAt.IsZero() {
		job.EnqueuedAt = d.InsertedAt
	}
	d.Job = job
	return d
}

// screen decides whether a fresh delivery must be parked, returning the
// reason ("" to keep it) and the log level.
func (c *Client) screen(d *Delivery) (string, slog.Level) {
	if d.parseErr != nil {
		return "malformed message: " + d.parseErr.Error(), slog.LevelWarn
	}
	if d.DequeueCount > c.maxDequeue {
		reason := fmt.Sprintf("dequeue count %d exceeds maximum %d", d.DequeueCount, c.maxDequeue)
		if d.Job.LastError != "" {
			reason += "; last error: " + d.Job.LastError
		}
		return reason, slog.LevelError
	}
	if err := c.checkJob(d.Job); err != nil {
		return "invalid job: " + strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "), slog.LevelWarn
	}
	return "", 0
}

// Length returns the approximate number of messages in the queue,
// including hidden ones, for metrics and scaling.
func (c *Client) Length(ctx context.Context) (int, error) {
	return length(ctx, c.main, c.name)
}

// PoisonLength returns the approximate number of parked messages.
func (c *Client) PoisonLength(ctx context.Context) (int, error) {
	return length(ctx, c.poison, c.PoisonName())
}

func length(ctx context.Context, qc *azqueue.QueueClient, name string) (int, error) {
	resp, err := qc.GetProperties(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("length of %s: %w", name, azstorage.Wrap(err))
	}
	if resp.ApproximateMessagesCount == nil {
		return 0, nil
	}
	return int(*resp.ApproximateMessagesCount), nil
}

// PeekPoison returns up to count (1 to 32) parked messages, oldest first,
// without hiding them, for operators. A poison message that is not a
// Parked wrapper (put there by hand) comes back with its text in Message
// and a Reason saying so.
func (c *Client) PeekPoison(ctx context.Context, count int) ([]Parked, error) {
	if count < 1 || count > maxBatch {
		return nil, fmt.Errorf("peek %s: %w: count %d must be 1 to %d", c.PoisonName(), ErrInvalid, count, maxBatch)
	}
	n := int32(count)
	resp, err := c.poison.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: &n})
	if err != nil {
		return nil, fmt.Errorf("peek %s: %w", c.PoisonName(), azstorage.Wrap(err))
	}
	out := make([]Parked, 0, len(resp.Messages))
	for _, m := range resp.Messages {
		out = append(out, decodeParked(m))
	}
	return out, nil
}

// deref returns *p, or "" for nil.
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// seconds converts d to whole seconds, rounding up, as the service wants.
func seconds(d time.Duration) int32 {
	if d <= 0 {
		return 0
	}
	return int32(min((d+time.Second-1)/time.Second, math.MaxInt32)) // #nosec G115 -- clamped to int32
}
