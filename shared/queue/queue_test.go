package queue_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/elmcity/elmcity/shared/azstorage"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/google/go-cmp/cmp"
)

func TestOpenInvalidConfig(t *testing.T) {
	t.Parallel()
	// Validation comes before any request, so no storage is needed.
	acct, err := azstorage.Open("", azstorage.Options{})
	if err != nil {
		t.Fatalf("azstorage.Open() error = %v", err)
	}
	tests := []struct {
		name string
		cfg  queue.Config
	}{
		{name: "NameTooShort", cfg: queue.Config{Name: "ab"}},
		{name: "NameNoRoomForPoison", cfg: queue.Config{Name: strings.Repeat("a", 57)}},
		{name: "NameUppercase", cfg: queue.Config{Name: "Jobs"}},
		{name: "NameLeadingHyphen", cfg: queue.Config{Name: "-jobs"}},
		{name: "NameTrailingHyphen", cfg: queue.Config{Name: "jobs-"}},
		{name: "NameDoubleHyphen", cfg: queue.Config{Name: "elm--jobs"}},
		{name: "NameUnderscore", cfg: queue.Config{Name: "elm_jobs"}},
		{name: "EmptyKind", cfg: queue.Config{Kinds: []string{""}}},
		{name: "DuplicateKind", cfg: queue.Config{Kinds: []string{"a", "a"}}},
		{name: "NegativeMaxDequeue", cfg: queue.Config{MaxDequeueCount: -1}},
		{name: "VisibilityTooShort", cfg: queue.Config{VisibilityTimeout: 500 * time.Millisecond}},
		{name: "VisibilityTooLong", cfg: queue.Config{VisibilityTimeout: 8 * 24 * time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := queue.Open(t.Context(), acct, tt.cfg)
			if !errors.Is(err, queue.ErrInvalid) {
				t.Fatalf("Open() = %v, %v, want ErrInvalid", c, err)
			}
		})
	}
}

func TestOpenExistingQueues(t *testing.T) {
	t.Parallel()
	b := setup(t, queue.Config{})
	// A second Open on the same names must accept the existing queues.
	c := b.second(t, time.Minute)
	if c.Name() != b.client.Name() {
		t.Errorf("Name() = %q, want %q", c.Name(), b.client.Name())
	}
	if n, p := lengths(t, c); n != 0 || p != 0 {
		t.Errorf("lengths = %d, %d, want 0, 0", n, p)
	}
}

func TestEnqueueReceiveRoundTrip(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 11, 24, 13, 56, 7, 0, time.UTC)
	b := setup(t, queue.Config{Now: func() time.Time { return now }})
	ctx := t.Context()

	in := queue.Job{
		Kind:        queue.KindAggregate,
		Hub:         "elmcity_Keene-NH",
		Reason:      "feed added",
		RequestedBy: "curator@example.org",
		Args:        json.RawMessage(`{"feeds":["https://example.org/a.ics"],"force":true}`),
	}
	sent, err := b.client.Enqueue(ctx, in, 0)
	if err != nil {
		t.Fatalf("Enqueue() error = %v", err)
	}
	want := in
	want.V = queue.Version
	want.ID = sent.ID
	want.EnqueuedAt = now
	if diff := cmp.Diff(want, sent); diff != "" {
		t.Errorf("Enqueue() mismatch (-want +got):\n%s", diff)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(sent.ID) {
		t.Errorf("Enqueue() ID = %q, want 32 hex digits", sent.ID)
	}

	// On the wire the message is base64 of the JSON envelope.
	peek, err := b.raw.PeekMessages(ctx, nil)
	if err != nil || len(peek.Messages) != 1 {
		t.Fatalf("PeekMessages() = %d messages, %v, want 1", len(peek.Messages), err)
	}
	raw, err := base64.StdEncoding.DecodeString(*peek.Messages[0].MessageText)
	if err != nil {
		t.Fatalf("message text is not base64: %v", err)
	}
	var wire map[string]any
	if err := json.Unmarshal(raw, &wire); err != nil {
		t.Fatalf("message is not JSON: %v", err)
	}
	if wire["v"] != float64(queue.Version) || wire["kind"] != queue.KindAggregate || wire["requested_by"] != in.RequestedBy {
		t.Errorf("wire envelope = %v, want v, kind and requested_by set", wire)
	}

	d := receiveOne(t, b.client, 10*time.Second)
	if diff := cmp.Diff(sent, d.Job); diff != "" {
		t.Errorf("Receive() Job mismatch (-want +got):\n%s", diff)
	}
	if d.DequeueCount != 1 {
		t.Errorf("Receive() DequeueCount = %d, want 1", d.DequeueCount)
	}
	if d.InsertedAt.IsZero() {
		t.Errorf("Receive() InsertedAt is zero")
	}
	if err := d.Complete(ctx); err != nil {
		t.Fatalf("Complete() error = %v", err)
	}
	receiveNone(t, b.client)
	if n, p := lengths(t, b.client); n != 0 || p != 0 {
		t.Errorf("lengths after Complete = %d, %d, want 0, 0", n, p)
	}
}

func TestEnqueueRefuses(t *testing.T) {
	t.Parallel()
	b := setup(t, queue.Config{})
	// Base64 makes 4 bytes of 3: the JSON may be up to 49152 bytes, about
	// 140 of which are the envelope around Args.
	bigArgs := func(n int) json.RawMessage { return json.RawMessage(`"` + strings.Repeat("x", n) + `"`) }
	tests := []struct {
		name    string
		job     queue.Job
		delay   time.Duration
		wantErr error
	}{
		{name: "JustUnderLimit", job: queue.Job{Kind: queue.KindAggregate, Hub: "h", Args: bigArgs(48800)}},
		{name: "TooLarge", job: queue.Job{Kind: queue.KindAggregate, Hub: "h", Args: bigArgs(49100)}, wantErr: queue.ErrTooLarge},
		{name: "WayTooLarge", job: queue.Job{Kind: queue.KindAggregate, Hub: "h", Args: bigArgs(70000)}, wantErr: queue.ErrTooLarge},
		{name: "UnknownKind", job: queue.Job{Kind: "frobnicate", Hub: "h"}, wantErr: queue.ErrInvalid},
		{name: "EmptyHub", job: queue.Job{Kind: queue.KindAggregate}, wantErr: queue.ErrInvalid},
		{name: "HubWithSpace", job: queue.Job{Kind: queue.KindAggregate, Hub: "keene nh"}, wantErr: queue.ErrInvalid},
		{name: "HubTooLong", job: queue.Job{Kind: queue.KindAggregate, Hub: strings.Repeat("h", 65)}, wantErr: queue.ErrInvalid},
		{name: "HubLongest", job: queue.Job{Kind: queue.KindAggregate, Hub: strings.Repeat("h", 64)}},
		{name: "CallerIDKept", job: queue.Job{Kind: queue.KindAggregate, Hub: "h", ID: "nightly-2025-11-24"}},
		{name: "BadID", job: queue.Job{Kind: queue.KindAggregate, Hub: "h", ID: "two words"}, wantErr: queue.ErrInvalid},
		{name: "NegativeAttempt", job: queue.Job{Kind: queue.KindAggregate, Hub: "h", Attempt: -1}, wantErr: queue.ErrInvalid},
		{name: "InvalidArgs", job: queue.Job{Kind: queue.KindAggregate, Hub: "h", Args: json.RawMessage(`{`)}, wantErr: queue.ErrInvalid},
		{name: "NegativeDelay", job: queue.Job{Kind: queue.KindAggregate, Hub: "h"}, delay: -time.Second, wantErr: queue.ErrInvalid},
		{name: "DelayTooLong", job: queue.Job{Kind: queue.KindAggregate, Hub: "h"}, delay: 7 * 24 * time.Hour, wantErr: queue.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := b.client.Enqueue(t.Context(), tt.job, tt.delay)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Enqueue() error = %v", err)
				}
				if tt.job.ID != "" && got.ID != tt.job.ID {
					t.Errorf("Enqueue() ID = %q, want the caller's %q", got.ID, tt.job.ID)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Enqueue() error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestReceiveParksBadMessages(t *testing.T) {
	t.Parallel()
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	huge := strings.Repeat("<x>", 20000) // 60000 bytes, escaped to far more in JSON
	tests := []struct {
		name          string
		text          string
		wantReason    string
		wantJob       bool
		wantHub       string
		wantTruncated bool
	}{
		{name: "NeitherJSONNorBase64", text: "hello, world!", wantReason: "malformed message: neither JSON nor base64"},
		{name: "Base64OfText", text: b64("not json"), wantReason: "malformed message: not a JSON object"},
		{name: "Base64OfArray", text: b64(`[1,2]`), wantReason: "malformed message: not a JSON object"},
		{name: "BrokenJSON", text: `{"kind":"aggregate",`, wantReason: "malformed message: bad JSON"},
		{name: "WrongFieldType", text: b64(`{"kind":"aggregate","hub":"h","attempt":"one"}`), wantReason: "malformed message: bad JSON"},
		{name: "UnknownKind", text: `{"v":1,"kind":"frobnicate","hub":"keene"}`, wantReason: `invalid job: unknown kind "frobnicate"`, wantJob: true, wantHub: "keene"},
		{name: "BadHub", text: b64(`{"v":1,"kind":"aggregate","hub":"no spaces"}`), wantReason: "invalid job: hub", wantJob: true, wantHub: "no spaces"},
		{name: "FutureVersion", text: b64(`{"v":2,"kind":"aggregate","hub":"keene"}`), wantReason: "unsupported envelope version 2", wantJob: true, wantHub: "keene"},
		{name: "HugeMalformed", text: huge, wantReason: "malformed message", wantTruncated: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, queue.Config{})
			b.putRaw(t, tt.text)
			// Poll so a slow Azurite cannot make an empty first receive pass.
			if !pollUntil(t, 10*time.Second, 100*time.Millisecond, func() bool {
				receiveNone(t, b.client)
				_, p := lengths(t, b.client)
				return p == 1
			}) {
				t.Fatalf("message was not parked")
			}
			if n, _ := lengths(t, b.client); n != 0 {
				t.Errorf("Length() = %d after parking, want 0", n)
			}
			parked, err := b.client.PeekPoison(t.Context(), 32)
			if err != nil || len(parked) != 1 {
				t.Fatalf("PeekPoison() = %d, %v, want 1 message", len(parked), err)
			}
			p := parked[0]
			if !strings.Contains(p.Reason, tt.wantReason) {
				t.Errorf("Parked.Reason = %q, want it to contain %q", p.Reason, tt.wantReason)
			}
			if p.Truncated != tt.wantTruncated {
				t.Errorf("Parked.Truncated = %v, want %v", p.Truncated, tt.wantTruncated)
			}
			if tt.wantTruncated {
				if len(p.Message) == 0 || !strings.HasPrefix(tt.text, p.Message) {
					t.Errorf("Parked.Message (%d bytes) is not a non-empty prefix of the original", len(p.Message))
				}
			} else if p.Message != tt.text {
				t.Errorf("Parked.Message = %q, want %q", p.Message, tt.text)
			}
			if (p.Job != nil) != tt.wantJob {
				t.Errorf("Parked.Job = %+v, want present %v", p.Job, tt.wantJob)
			}
			if p.Job != nil && p.Job.Hub != tt.wantHub {
				t.Errorf("Parked.Job.Hub = %q, want %q", p.Job.Hub, tt.wantHub)
			}
			if p.DequeueCount != 1 || p.Queue != b.client.Name() || p.MessageID == "" || p.ParkedAt.IsZero() {
				t.Errorf("Parked = {DequeueCount:%d Queue:%q MessageID:%q ParkedAt:%v}, want 1, %q, an ID and a time",
					p.DequeueCount, p.Queue, p.MessageID, p.ParkedAt, b.client.Name())
			}
			recs := b.logs.Find("parked")
			if len(recs) != 1 {
				t.Fatalf("got %d park log records, want 1", len(recs))
			}
			if r := recs[0]; r.Level < slog.LevelWarn || r.Attrs["hub"] != tt.wantHub || r.Attrs["reason"] != p.Reason {
				t.Errorf("park log = %+v, want Warn or above with hub %q and the reason", r, tt.wantHub)
			}
		})
	}
}

func TestReceivePlainJSON(t *testing.T) {
	t.Parallel()
	b := setup(t, queue.Config{})
	b.putRaw(t, `{"kind":"aggregate","hub":"keene","reason":"put by hand in the portal"}`)
	d := receiveOne(t, b.client, 10*time.Second)
	want := queue.Job{
		V:          queue.Version,
		ID:         d.Job.ID, // the message ID stands in for the missing id
		Kind:       queue.KindAggregate,
		Hub:        "keene",
		Reason:     "put by hand in the portal",
		EnqueuedAt: d.InsertedAt,
	}
	if d.Job.ID == "" {
		t.Errorf("Receive() Job.ID is empty, want the message ID")
	}
	if diff := cmp.Diff(want, d.Job); diff != "" {
		t.Errorf("Receive() Job mismatch (-want +got):\n%s", diff)
	}
	if err := d.Complete(t.Context()); err != nil {
		t.Fatalf("Complete() error = %v", err)
	}
	if n, p := lengths(t, b.client); n != 0 || p != 0 {
		t.Errorf("lengths = %d, %d, want 0, 0", n, p)
	}
}

func TestPoisonAfterMaxDequeueCount(t *testing.T) {
	t.Parallel()
	const maxDequeue = 3
	tests := []struct {
		name string
		// fail ends one delivery without completing it.
		fail func(t *testing.T, d *queue.Delivery, i int)
		// wantInReason is expected in the parked reason.
		wantInReason string
	}{
		{
			name: "Released",
			fail: func(t *testing.T, d *queue.Delivery, i int) {
				if err := d.Release(t.Context(), 0, fmt.Errorf("boom %d", i)); err != nil {
					t.Fatalf("Release() error = %v", err)
				}
			},
			wantInReason: "last error: boom 3",
		},
		{
			name: "TimedOut",
			fail: func(*testing.T, *queue.Delivery, int) {}, // the worker "crashed"
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, queue.Config{MaxDequeueCount: maxDequeue, VisibilityTimeout: time.Second})
			job := enqueue(t, b.client, "keene")
			for i := 1; i <= maxDequeue; i++ {
				d := receiveOne(t, b.client, 20*time.Second)
				if d.DequeueCount != int64(i) || d.Job.ID != job.ID {
					t.Fatalf("delivery %d: DequeueCount = %d, ID %q, want %d, %q", i, d.DequeueCount, d.Job.ID, i, job.ID)
				}
				tt.fail(t, d, i)
			}
			// The next receive parks it and never hands it out.
			if !pollUntil(t, 20*time.Second, 100*time.Millisecond, func() bool {
				receiveNone(t, b.client)
				_, p := lengths(t, b.client)
				return p == 1
			}) {
				t.Fatalf("message was not parked after %d deliveries", maxDequeue)
			}
			parked, err := b.client.PeekPoison(t.Context(), 32)
			if err != nil || len(parked) != 1 {
				t.Fatalf("PeekPoison() = %d, %v, want 1", len(parked), err)
			}
			p := parked[0]
			wantReason := fmt.Sprintf("dequeue count %d exceeds maximum %d", maxDequeue+1, maxDequeue)
			if !strings.Contains(p.Reason, wantReason) || !strings.Contains(p.Reason, tt.wantInReason) {
				t.Errorf("Parked.Reason = %q, want %q and %q", p.Reason, wantReason, tt.wantInReason)
			}
			if p.Job == nil || p.Job.ID != job.ID || p.DequeueCount != maxDequeue+1 {
				t.Errorf("Parked = %+v, want job %s with dequeue count %d", p, job.ID, maxDequeue+1)
			}
			recs := b.logs.Find("parked")
			if len(recs) != 1 {
				t.Fatalf("got %d park log records, want 1", len(recs))
			}
			r := recs[0]
			if r.Level != slog.LevelError || r.Attrs["hub"] != "keene" || r.Attrs["job_id"] != job.ID ||
				r.Attrs["msg_kind"] != queue.KindAggregate || r.Attrs["dequeue_count"] != strconv.Itoa(int(maxDequeue+1)) ||
				r.Attrs["reason"] != p.Reason {
				t.Errorf("park log = %+v, want Error with hub, job_id, msg_kind, dequeue_count and reason", r)
			}
			if n, _ := lengths(t, b.client); n != 0 {
				t.Errorf("Length() = %d after parking, want 0", n)
			}
		})
	}
}

func TestKeepAliveHidesMessage(t *testing.T) {
	t.Parallel()
	b := setup(t, queue.Config{VisibilityTimeout: 2 * time.Second})
	other := b.second(t, 2*time.Second)
	enqueue(t, b.client, "keene")
	d := receiveOne(t, b.client, 10*time.Second)
	stop := d.KeepAlive(t.Context())
	t.Cleanup(stop)

	// A slow handler runs for 5s, well past the 2s visibility timeout.
	slow := time.NewTimer(5 * time.Second)
	defer slow.Stop()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-slow.C:
			done = true
		case <-tick.C:
			receiveNone(t, other)
		}
	}
	// Complete while the keep-alive may be renewing; it must use the newest
	// pop receipt and make the keep-alive stop.
	if err := d.Complete(t.Context()); err != nil {
		t.Fatalf("Complete() error = %v", err)
	}
	stop()
	receiveNone(t, other)
	if n, _ := lengths(t, b.client); n != 0 {
		t.Errorf("Length() = %d after Complete, want 0", n)
	}
	if recs := append(b.logs.Find("lost"), b.logs.Find("renewal failed")...); len(recs) != 0 {
		t.Errorf("unexpected log records %+v", recs)
	}
}

func TestReleaseBackoff(t *testing.T) {
	t.Parallel()
	b := setup(t, queue.Config{VisibilityTimeout: 30 * time.Second})
	job := enqueue(t, b.client, "keene")
	d := receiveOne(t, b.client, 10*time.Second)
	released := time.Now()
	if err := d.Release(t.Context(), 2*time.Second, errors.New("feed timed out")); err != nil {
		t.Fatalf("Release() error = %v", err)
	}
	receiveNone(t, b.client)
	again := receiveOne(t, b.client, 20*time.Second)
	// The service counts whole seconds; allow for its clock granularity.
	if waited := time.Since(released); waited < 1500*time.Millisecond {
		t.Errorf("message reappeared after %v, want about 2s", waited)
	}
	if again.DequeueCount != 2 || again.Job.Attempt != 1 || again.Job.LastError != "feed timed out" || again.Job.ID != job.ID {
		t.Errorf("redelivery = DequeueCount %d, Job %+v, want 2, attempt 1, last error, id %s", again.DequeueCount, again.Job, job.ID)
	}
	if err := again.Complete(t.Context()); err != nil {
		t.Fatalf("Complete() error = %v", err)
	}
}

func TestReleasePermanentParks(t *testing.T) {
	t.Parallel()
	b := setup(t, queue.Config{})
	job := enqueue(t, b.client, "keene")
	d := receiveOne(t, b.client, 10*time.Second)
	cause := fmt.Errorf("fetch feed: %w", queue.Permanent(errors.New("feed URL is not http")))
	if err := d.Release(t.Context(), time.Minute, cause); err != nil {
		t.Fatalf("Release() error = %v", err)
	}
	if n, p := lengths(t, b.client); n != 0 || p != 1 {
		t.Fatalf("lengths = %d, %d, want 0, 1", n, p)
	}
	parked, err := b.client.PeekPoison(t.Context(), 1)
	if err != nil || len(parked) != 1 {
		t.Fatalf("PeekPoison() = %d, %v, want 1", len(parked), err)
	}
	if want := "permanent error: fetch feed: feed URL is not http"; parked[0].Reason != want || parked[0].Job == nil || parked[0].Job.ID != job.ID {
		t.Errorf("Parked = %+v, want reason %q and job %s", parked[0], want, job.ID)
	}
}

// TestRequeueStartsAFreshMessage checks that a requeued job comes back
// unchanged (id, enqueue time, attempt) with a fresh dequeue count, so
// waiting never brings it nearer the poison queue.
func TestRequeueStartsAFreshMessage(t *testing.T) {
	t.Parallel()
	b := setup(t, queue.Config{VisibilityTimeout: 30 * time.Second, MaxDequeueCount: 1})
	job := enqueue(t, b.client, "keene")
	for range 3 {
		d := receiveOne(t, b.client, 10*time.Second)
		if d.DequeueCount != 1 || d.Job.ID != job.ID || !d.Job.EnqueuedAt.Equal(job.EnqueuedAt) || d.Job.Attempt != 0 {
			t.Fatalf("delivery = DequeueCount %d, Job %+v, want 1 and job %+v", d.DequeueCount, d.Job, job)
		}
		if err := d.Requeue(t.Context(), 0); err != nil {
			t.Fatalf("Requeue() error = %v", err)
		}
		if err := d.Complete(t.Context()); !errors.Is(err, queue.ErrInvalid) {
			t.Errorf("Complete() after Requeue = %v, want ErrInvalid", err)
		}
	}
	if n, p := lengths(t, b.client); n != 1 || p != 0 {
		t.Errorf("lengths = %d, %d, want the one job and nothing parked", n, p)
	}
	if _, ok := queue.SnoozeDelay(fmt.Errorf("hub busy: %w", queue.Snooze(time.Second, "busy"))); !ok {
		t.Error("SnoozeDelay() does not see a wrapped Snooze")
	}
}

func TestLostPopReceipt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		op   func(ctx context.Context, d *queue.Delivery) error
	}{
		{name: "Complete", op: func(ctx context.Context, d *queue.Delivery) error { return d.Complete(ctx) }},
		{name: "Renew", op: func(ctx context.Context, d *queue.Delivery) error { return d.Renew(ctx, time.Minute) }},
		{name: "Release", op: func(ctx context.Context, d *queue.Delivery) error { return d.Release(ctx, 0, errors.New("x")) }},
		{name: "Park", op: func(ctx context.Context, d *queue.Delivery) error { return d.Park(ctx, "operator") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, queue.Config{VisibilityTimeout: time.Second})
			other := b.second(t, time.Minute)
			job := enqueue(t, b.client, "keene")
			first := receiveOne(t, b.client, 10*time.Second)
			// The first receiver stalls past its 1s; the other one gets it.
			second := receiveOne(t, other, 20*time.Second)
			if second.Job.ID != job.ID || second.DequeueCount != 2 {
				t.Fatalf("second receive = %+v (count %d), want job %s, count 2", second.Job, second.DequeueCount, job.ID)
			}
			for range 2 {
				if err := tt.op(t.Context(), first); !errors.Is(err, queue.ErrLost) {
					t.Fatalf("%s() error = %v, want ErrLost", tt.name, err)
				}
			}
			if err := first.Complete(t.Context()); !errors.Is(err, queue.ErrLost) {
				t.Errorf("Complete() after loss = %v, want ErrLost", err)
			}
			recs := b.logs.Find("lost")
			if len(recs) != 1 {
				t.Fatalf("got %d lost log records, want exactly 1", len(recs))
			}
			if r := recs[0]; r.Level != slog.LevelInfo || r.Attrs["hub"] != "keene" || r.Attrs["job_id"] != job.ID {
				t.Errorf("lost log = %+v, want Info with hub and job_id", r)
			}
			if err := second.Complete(t.Context()); err != nil {
				t.Fatalf("Complete() by the owner error = %v", err)
			}
		})
	}
}

func TestDeliveryMisuse(t *testing.T) {
	t.Parallel()
	b := setup(t, queue.Config{})
	ctx := t.Context()
	for _, n := range []int{0, 33} {
		if _, err := b.client.Receive(ctx, n); !errors.Is(err, queue.ErrInvalid) {
			t.Errorf("Receive(%d) error = %v, want ErrInvalid", n, err)
		}
		if _, err := b.client.PeekPoison(ctx, n); !errors.Is(err, queue.ErrInvalid) {
			t.Errorf("PeekPoison(%d) error = %v, want ErrInvalid", n, err)
		}
	}
	enqueue(t, b.client, "keene")
	d := receiveOne(t, b.client, 10*time.Second)
	if err := d.Renew(ctx, 0); !errors.Is(err, queue.ErrInvalid) {
		t.Errorf("Renew(0) error = %v, want ErrInvalid", err)
	}
	if err := d.Release(ctx, -time.Second, nil); !errors.Is(err, queue.ErrInvalid) {
		t.Errorf("Release(-1s) error = %v, want ErrInvalid", err)
	}
	if err := d.Renew(ctx, 5*time.Second); err != nil {
		t.Fatalf("Renew() error = %v", err)
	}
	if err := d.Complete(ctx); err != nil {
		t.Fatalf("Complete() after Renew error = %v", err)
	}
	for name, op := range map[string]func() error{
		"Complete": func() error { return d.Complete(ctx) },
		"Renew":    func() error { return d.Renew(ctx, time.Minute) },
		"Release":  func() error { return d.Release(ctx, 0, nil) },
		"Park":     func() error { return d.Park(ctx, "x") },
	} {
		if err := op(); !errors.Is(err, queue.ErrInvalid) {
			t.Errorf("%s() after Complete error = %v, want ErrInvalid", name, err)
		}
	}
	// A keep-alive on a finished delivery ends by itself.
	d.KeepAlive(ctx)()
}

func TestPeekPoisonForeignMessage(t *testing.T) {
	t.Parallel()
	b := setup(t, queue.Config{})
	poison := b.acct.Queues().NewQueueClient(b.client.PoisonName())
	if _, err := poison.EnqueueMessage(t.Context(), "put here by hand", &azqueue.EnqueueMessageOptions{}); err != nil {
		t.Fatalf("EnqueueMessage() error = %v", err)
	}
	parked, err := b.client.PeekPoison(t.Context(), 32)
	if err != nil || len(parked) != 1 {
		t.Fatalf("PeekPoison() = %d, %v, want 1", len(parked), err)
	}
	if p := parked[0]; p.Message != "put here by hand" || !strings.Contains(p.Reason, "not a parked wrapper") {
		t.Errorf("PeekPoison() = %+v, want the text and a reason", p)
	}
}
