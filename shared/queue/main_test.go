package queue_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/elmcity/elmcity/shared/azstorage"
	"github.com/elmcity/elmcity/shared/azstorage/storagetest"
	"github.com/elmcity/elmcity/shared/logtest"
	"github.com/elmcity/elmcity/shared/queue"
	"go.uber.org/goleak"
)

// TestMain fails the run when a goroutine outlives the tests, such as a
// KeepAlive that was never stopped. The SDK's idle keep-alive HTTP
// connections are expected to stay.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	)
}

// testBundle is what setup gives a test: a client on fresh queues, the raw
// SDK client of the main queue, and the client's log records.
type testBundle struct {
	acct   *azstorage.Account
	client *queue.Client
	raw    *azqueue.QueueClient
	logs   *logtest.Recorder
	cfg    queue.Config
}

// setup opens a client on a uniquely named queue pair, deleted when the
// test ends (storagetest.Queue). Zero cfg fields get the package defaults, except Name and
// Logger, which setup sets.
func setup(t testing.TB, cfg queue.Config) *testBundle {
	t.Helper()
	acct := storagetest.Account(t)
	cfg.Name = storagetest.Queue(t, acct, "q") // deleted with its -poison sibling
	logs := &logtest.Recorder{}
	cfg.Logger = slog.New(logs)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := queue.Open(ctx, acct, cfg)
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	return &testBundle{acct: acct, client: c, raw: acct.Queues().NewQueueClient(cfg.Name), logs: logs, cfg: cfg}
}

// second opens another client on the bundle's queues, as a second worker
// would, with its own visibility timeout.
func (b *testBundle) second(t testing.TB, visibility time.Duration) *queue.Client {
	t.Helper()
	cfg := b.cfg
	cfg.VisibilityTimeout = visibility
	cfg.Logger = slog.New(slog.DiscardHandler)
	c, err := queue.Open(context.Background(), b.acct, cfg)
	if err != nil {
		t.Fatalf("Open() second client error = %v", err)
	}
	return c
}

// putRaw puts text on the main queue with the SDK, bypassing the envelope.
func (b *testBundle) putRaw(t testing.TB, text string) {
	t.Helper()
	if _, err := b.raw.EnqueueMessage(context.Background(), text, nil); err != nil {
		t.Fatalf("EnqueueMessage() error = %v", err)
	}
}

// pollUntil calls fn every interval until it reports true or timeout
// passes, and reports whether it did.
func pollUntil(t testing.TB, timeout, interval time.Duration, fn func() bool) bool {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if fn() {
			return true
		}
		select {
		case <-deadline.C:
			return false
		case <-tick.C:
		}
	}
}

// receiveOne polls c until it returns exactly one delivery.
func receiveOne(t testing.TB, c *queue.Client, timeout time.Duration) *queue.Delivery {
	t.Helper()
	var got *queue.Delivery
	ok := pollUntil(t, timeout, 100*time.Millisecond, func() bool {
		ds, err := c.Receive(context.Background(), 32)
		if err != nil {
			t.Fatalf("Receive() error = %v", err)
		}
		if len(ds) > 1 {
			t.Fatalf("Receive() returned %d deliveries, want 1", len(ds))
		}
		if len(ds) == 1 {
			got = ds[0]
		}
		return got != nil
	})
	if !ok {
		t.Fatalf("Receive() returned nothing for %v", timeout)
	}
	return got
}

// receiveNone checks that c has nothing to deliver right now.
func receiveNone(t testing.TB, c *queue.Client) {
	t.Helper()
	ds, err := c.Receive(context.Background(), 32)
	if err != nil {
		t.Fatalf("Receive() error = %v", err)
	}
	if len(ds) != 0 {
		t.Fatalf("Receive() returned %d deliveries (first %+v), want none", len(ds), ds[0].Job)
	}
}

// lengths returns the main and poison queue lengths.
func lengths(t testing.TB, c *queue.Client) (int, int) {
	t.Helper()
	n, err := c.Length(context.Background())
	if err != nil {
		t.Fatalf("Length() error = %v", err)
	}
	p, err := c.PoisonLength(context.Background())
	if err != nil {
		t.Fatalf("PoisonLength() error = %v", err)
	}
	return n, p
}

// enqueue enqueues a valid aggregate job for hub.
func enqueue(t testing.TB, c *queue.Client, hub string) queue.Job {
	t.Helper()
	job, err := c.Enqueue(context.Background(), queue.Job{Kind: queue.KindAggregate, Hub: hub}, 0)
	if err != nil {
		t.Fatalf("Enqueue() error = %v", err)
	}
	return job
}
