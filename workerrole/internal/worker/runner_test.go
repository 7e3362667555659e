package worker_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/elmcity/elmcity/shared/azstorage/storagetest"
	"github.com/elmcity/elmcity/shared/logtest"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/workerrole/internal/worker"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}

// messages returns "level message hub" of every record, the message as
// curators read it in the table log (worker.Sentences).
func messages(r *logtest.Recorder) []string {
	sentences := worker.Sentences()
	var out []string
	for _, rec := range r.Records() {
		msg := rec.Msg
		if f, ok := sentences[msg]; ok {
			msg = f(rec.Attrs)
		}
		out = append(out, rec.Level.String()+" "+msg+" "+rec.Attrs["hub"])
	}
	return out
}

func has(r *logtest.Recorder, prefix string) bool {
	for _, m := range messages(r) {
		if strings.HasPrefix(m, prefix) {
			return true
		}
	}
	return false
}

type testBundle struct {
	q   *queue.Client
	log *logtest.Recorder
}

func setup(t *testing.T, maxDequeue int64) testBundle {
	t.Helper()
	acct := storagetest.Account(t)
	rec := &logtest.Recorder{}
	q, err := queue.Open(context.Background(), acct, queue.Config{
		Name: storagetest.Queue(t, acct, "jobs"), MaxDequeueCount: maxDequeue, VisibilityTimeout: 5 * time.Second,
		Logger: slog.New(rec),
	})
	if err != nil {
		t.Fatal(err)
	}
	return testBundle{q: q, log: rec}
}

func (b testBundle) enqueue(t *testing.T, hubs ...string) {
	t.Helper()
	for _, h := range hubs {
		if _, err := b.q.Enqueue(context.Background(), queue.Job{Kind: queue.KindAggregate, Hub: h}, 0); err != nil {
			t.Fatal(err)
		}
	}
}

// start runs a Runner until the returned stop is called; stop waits for
// Run to return.
func start(t *testing.T, b testBundle, h worker.HandlerFunc, cfg worker.Config) (stop func()) {
	t.Helper()
	cfg.Logger = slog.New(b.log)
	if cfg.PollMax == 0 {
		cfg.PollMax = 200 * time.Millisecond
	}
	r := worker.New(b.q, map[string]worker.Handler{queue.KindAggregate: h}, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run() = %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("Run() did not return within 30s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds or 20s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling an external system, not synchronising goroutines
	}
}

func TestRunsEveryJobOnceWithinConcurrency(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	hubs := []string{"a", "b", "c", "d", "e", "f"}
	b.enqueue(t, hubs...)
	var mu sync.Mutex
	seen := map[string]int{}
	var running, peak atomic.Int32
	start(t, b, func(ctx context.Context, job queue.Job) error {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(50 * time.Millisecond) // simulated work
		mu.Lock()
		seen[job.Hub]++
		mu.Unlock()
		return nil
	}, worker.Config{Concurrency: 2})
	waitFor(t, "all jobs", func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == len(hubs) })
	waitFor(t, "queue empty", func() bool { n, _ := b.q.Length(context.Background()); return n == 0 })
	for _, h := range hubs {
		if seen[h] != 1 {
			t.Errorf("hub %s ran %d times, want 1", h, seen[h])
		}
	}
	if peak.Load() > 2 {
		t.Errorf("peak concurrency %d, want <= 2", peak.Load())
	}
	if !has(b.log, "INFO job started a") || !has(b.log, "INFO job finished a") {
		t.Errorf("log = %v, want start and finish entries with the hub", messages(b.log))
	}
}

func TestFailingJobRetriesThenIsParked(t *testing.T) {
	t.Parallel()
	b := setup(t, queue.DefaultMaxDequeueCount)
	b.enqueue(t, "keene")
	var calls atomic.Int32
	start(t, b, func(ctx context.Context, job queue.Job) error {
		calls.Add(1)
		return errors.New("feed server down")
	}, worker.Config{RetryBase: time.Second, RetryMax: time.Second})
	waitFor(t, "the job to be parked", func() bool { n, _ := b.q.PoisonLength(context.Background()); return n == 1 })
	if calls.Load() != queue.DefaultMaxDequeueCount {
		t.Errorf("handler ran %d times, want %d (MaxDequeueCount) before parking", calls.Load(), queue.DefaultMaxDequeueCount)
	}
	parked, err := b.q.PeekPoison(context.Background(), 1)
	if err != nil || len(parked) != 1 || !strings.Contains(parked[0].Reason, "feed server down") {
		t.Errorf("PeekPoison() = %+v, %v, want the last error in the reason", parked, err)
	}
	if !has(b.log, "ERROR job failed: feed server down keene") {
		t.Errorf("log = %v, want exception entries for the hub", messages(b.log))
	}
	// The stdout message is a constant key; the error is an attribute.
	for _, rec := range b.log.Records() {
		if strings.HasPrefix(rec.Msg, "job failed") && (rec.Msg != "job failed" || rec.Attrs["error"] != "feed server down") {
			t.Errorf("exception record %q with error %q, want %q with the error as an attribute", rec.Msg, rec.Attrs["error"], "job failed")
		}
	}
}

func TestPermanentErrorParksAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	b.enqueue(t, "gone")
	var calls atomic.Int32
	start(t, b, func(ctx context.Context, job queue.Job) error {
		calls.Add(1)
		return queue.Permanent(errors.New("unknown hub"))
	}, worker.Config{})
	waitFor(t, "the job to be parked", func() bool { n, _ := b.q.PoisonLength(context.Background()); return n == 1 })
	if calls.Load() != 1 {
		t.Errorf("handler ran %d times, want 1", calls.Load())
	}
}

func TestPanicIsAFailureWithStack(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	b.enqueue(t, "boom")
	start(t, b, func(ctx context.Context, job queue.Job) error {
		panic("nil map")
	}, worker.Config{RetryBase: time.Second, RetryMax: time.Second})
	waitFor(t, "the job to be parked", func() bool { n, _ := b.q.PoisonLength(context.Background()); return n == 1 })
	var stack string
	for _, rec := range b.log.Records() {
		if strings.Contains(rec.Attrs["detail"], "runtime/debug.Stack") {
			stack = rec.Attrs["detail"]
		}
	}
	if stack == "" {
		t.Errorf("no exception entry with the panic's stack in detail: %v", messages(b.log))
	}
}

func TestShutdownReleasesInFlightJobAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	b.enqueue(t, "slow")
	started := make(chan struct{})
	stop := start(t, b, func(ctx context.Context, job queue.Job) error {
		close(started)
		<-ctx.Done() // a job that only stops when cancelled
		return ctx.Err()
	}, worker.Config{SoftStop: 100 * time.Millisecond})
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("job did not start")
	}
	stop()
	// Released with no delay: visible again at once, long before the 5s
	// visibility timeout.
	begin := time.Now()
	var ds []*queue.Delivery
	waitFor(t, "the released job", func() bool {
		var err error
		ds, err = b.q.Receive(context.Background(), 1)
		return err == nil && len(ds) == 1
	})
	if waited := time.Since(begin); waited > 3*time.Second {
		t.Errorf("released job took %v to reappear, want at once", waited)
	}
	if ds[0].DequeueCount != 2 || ds[0].Job.Hub != "slow" {
		t.Errorf("redelivered job = %+v (dequeue %d)", ds[0].Job, ds[0].DequeueCount)
	}
	_ = ds[0].Complete(context.Background())
}

func TestSoftStopLetsInFlightJobFinish(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	b.enqueue(t, "finishing")
	started, release := make(chan struct{}), make(chan struct{})
	var cancelled atomic.Bool
	stop := start(t, b, func(ctx context.Context, job queue.Job) error {
		close(started)
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			cancelled.Store(true)
			return ctx.Err()
		}
	}, worker.Config{SoftStop: 20 * time.Second})
	<-started
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	close(release)
	select {
	case <-stopped:
	case <-time.After(25 * time.Second):
		t.Fatal("Run did not return")
	}
	if cancelled.Load() {
		t.Error("in-flight job was cancelled before its soft stop ran out")
	}
	if n, _ := b.q.Length(context.Background()); n != 0 {
		t.Errorf("queue length after a finished job = %d, want 0", n)
	}
}

// TestDetailNamesCausesNotTypes checks that an exception entry's detail
// lists a failed job's causes in words a curator reads, without Go type
// names or repeated text.
func TestDetailNamesCausesNotTypes(t *testing.T) {
	t.Parallel()
	root := errors.New("connection refused")
	err := queue.Permanent(fmt.Errorf("publish keene: %w", fmt.Errorf("write generation 42: %w", root)))
	got := worker.Detail(err)
	want := "publish keene\nwrite generation 42\nconnection refused\n"
	if got != want {
		t.Errorf("Detail() = %q, want %q", got, want)
	}
}

// TestJobDeadlineFailsTheJob checks that a job running past JobTimeout is
// cancelled and fails with ErrJobDeadline: retried, then parked, with the
// deadline named in the log.
func TestJobDeadlineFailsTheJob(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	b.enqueue(t, "stuck")
	var runs atomic.Int32
	start(t, b, func(ctx context.Context, job queue.Job) error {
		runs.Add(1)
		<-ctx.Done() // a job that would run for ever
		return ctx.Err()
	}, worker.Config{JobTimeout: 100 * time.Millisecond, RetryBase: 10 * time.Millisecond, RetryMax: 10 * time.Millisecond})
	waitFor(t, "the job to be parked", func() bool { n, _ := b.q.PoisonLength(context.Background()); return n == 1 })
	if !has(b.log, "ERROR job failed: job ran over its deadline (100ms)") {
		t.Errorf("no exception naming the deadline: %v", messages(b.log))
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1 (then parked at dequeue 2 > max 1)", n)
	}
}

// TestSnoozeNeverParks checks that a job that keeps snoozing (its hub
// busy) is put back each time without using up its attempts, and is
// logged at info, not as a failure.
func TestSnoozeNeverParks(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	b.enqueue(t, "busy")
	var runs atomic.Int32
	done := make(chan struct{})
	start(t, b, func(ctx context.Context, job queue.Job) error {
		if runs.Add(1) < 4 {
			return queue.Snooze(0, "hub busy")
		}
		close(done)
		return nil
	}, worker.Config{})
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("job ran %d times and never got through", runs.Load())
	}
	waitFor(t, "the job to complete", func() bool { n, _ := b.q.Length(context.Background()); return n == 0 })
	if n, _ := b.q.PoisonLength(context.Background()); n != 0 {
		t.Errorf("a snoozing job was parked (max dequeue 1)")
	}
	if !has(b.log, "INFO job put back: snoozed: hub busy") || has(b.log, "ERROR") {
		t.Errorf("log = %v, want info lines and no error", messages(b.log))
	}
}

// noHub is a handler whose hubs do not exist.
type noHub struct{}

func (noHub) Handle(ctx context.Context, job queue.Job) error {
	return queue.Permanent(fmt.Errorf("hub %q does not exist", job.Hub))
}

func (noHub) HubExists(context.Context, string) (bool, error) { return false, nil }

// TestJobForUnknownHubLogsToSystem checks that the entries about a job for
// a hub that does not exist (its start, its failure, its parking) go to
// the system log, not to a partition named after that hub.
func TestJobForUnknownHubLogsToSystem(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	b.enqueue(t, "ghost")
	r := worker.New(b.q, map[string]worker.Handler{queue.KindAggregate: noHub{}}, worker.Config{Logger: slog.New(b.log), PollMax: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	waitFor(t, "the job to be parked", func() bool { n, _ := b.q.PoisonLength(context.Background()); return n == 1 })
	waitFor(t, "the parking to be logged", func() bool { return has(b.log, "WARN queue message parked") })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, m := range messages(b.log) {
		if strings.HasSuffix(m, " ghost") {
			t.Errorf("entry %q names the unknown hub as its partition", m)
		}
	}
	for _, want := range []string{"INFO job started ~system", "WARN queue message parked ~system"} {
		if !has(b.log, want) {
			t.Errorf("no entry %q in %v", want, messages(b.log))
		}
	}
}
