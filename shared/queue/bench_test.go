package queue_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/elmcity/elmcity/shared/queue"
)

// maxBenchRoundTrips bounds b.N. Azurite stalls for seconds to minutes
// about a minute after thousands of queue messages are deleted, so these
// benchmarks must run with a count, not a duration:
//
//	go test -run '^$' -bench RoundTrip -benchtime=200x ./shared/queue/
const maxBenchRoundTrips = 1000

// BenchmarkRoundTrip measures Enqueue + Receive + Complete through Client
// against EnqueueMessage + DequeueMessage + DeleteMessage on the raw SDK
// with the same message text; the ratio of their roundtrips/s is the
// package's overhead (JSON, base64, validation, screening).
func BenchmarkRoundTrip(b *testing.B) {
	sizes := []struct {
		name string
		args json.RawMessage
	}{
		{name: "small"},
		{name: "16KiB", args: json.RawMessage(`"` + strings.Repeat("x", 16<<10) + `"`)},
	}
	for _, size := range sizes {
		job := queue.Job{Kind: queue.KindAggregate, Hub: "keene", Reason: "benchmark", Args: size.args}
		b.Run("size="+size.name+"/impl=elmcity", func(b *testing.B) {
			tb := setup(b, queue.Config{})
			ctx := context.Background()
			once := func() {
				if _, err := tb.client.Enqueue(ctx, job, 0); err != nil {
					b.Fatalf("Enqueue() error = %v", err)
				}
				ds, err := tb.client.Receive(ctx, 1)
				if err != nil || len(ds) != 1 {
					b.Fatalf("Receive() = %d deliveries, %v, want 1", len(ds), err)
				}
				if err := ds[0].Complete(ctx); err != nil {
					b.Fatalf("Complete() error = %v", err)
				}
			}
			warmUp(once)
			start(b)
			for range b.N {
				once()
			}
			reportRoundTrips(b)
		})
		b.Run("size="+size.name+"/impl=sdk", func(b *testing.B) {
			tb := setup(b, queue.Config{})
			ctx := context.Background()
			job := job
			job.V, job.ID, job.EnqueuedAt = queue.Version, "0123456789abcdef0123456789abcdef", time.Now().UTC()
			js, err := json.Marshal(job)
			if err != nil {
				b.Fatal(err)
			}
			text := base64.StdEncoding.EncodeToString(js)
			vis := int32(queue.DefaultVisibilityTimeout / time.Second)
			once := func() {
				if _, err := tb.raw.EnqueueMessage(ctx, text, nil); err != nil {
					b.Fatalf("EnqueueMessage() error = %v", err)
				}
				resp, err := tb.raw.DequeueMessage(ctx, &azqueue.DequeueMessageOptions{VisibilityTimeout: &vis})
				if err != nil || len(resp.Messages) != 1 {
					b.Fatalf("DequeueMessage() = %d messages, %v, want 1", len(resp.Messages), err)
				}
				m := resp.Messages[0]
				if _, err := tb.raw.DeleteMessage(ctx, *m.MessageID, *m.PopReceipt, nil); err != nil {
					b.Fatalf("DeleteMessage() error = %v", err)
				}
			}
			warmUp(once)
			start(b)
			for range b.N {
				once()
			}
			reportRoundTrips(b)
		})
	}
}

// warmUp runs a few untimed round trips on the fresh queue: Azurite
// answers the first requests on a new queue markedly slower, which would
// otherwise favour whichever variant runs second.
func warmUp(once func()) {
	for range 20 {
		once()
	}
}

// start refuses an unbounded b.N and starts measuring.
func start(b *testing.B) {
	b.Helper()
	if b.N > maxBenchRoundTrips {
		b.Skipf("b.N = %d round trips would stall Azurite; run with -benchtime=200x", b.N)
	}
	b.ReportAllocs()
	b.ResetTimer()
}

// reportRoundTrips reports the throughput as roundtrips/s.
func reportRoundTrips(b *testing.B) {
	b.Helper()
	b.StopTimer()
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "roundtrips/s")
	}
}
