package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/elmcity/elmcity/shared/azstorage/storagetest"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/shared/roletest"
)

// BenchmarkJobs measures aggregation jobs end to end (queue, lease,
// fetch, parse, merge, publish) for small hubs with 1, 2 and 4 worker
// instances against one Azurite, next to one raw SDK queue round trip
// (enqueue + dequeue + delete) measured the same way. Keep the count
// small (Azurite stalls after thousands of queue deletes):
//
//	go test -run '^$' -bench Jobs -benchtime 40x ./workerrole/
func BenchmarkJobs(b *testing.B) {
	feed := libraryFeed(b)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(feed) }))
	defer srv.Close()

	b.Run("impl=sdk-queue-roundtrip", func(b *testing.B) {
		acct := storagetest.Account(b)
		qc := acct.Queues().NewQueueClient(storagetest.Queue(b, acct, "raw"))
		ctx := context.Background()
		if _, err := qc.Create(ctx, nil); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for range b.N {
			if _, err := qc.EnqueueMessage(ctx, "eyJ2IjoxfQ==", nil); err != nil {
				b.Fatal(err)
			}
			resp, err := qc.DequeueMessage(ctx, &azqueue.DequeueMessageOptions{})
			if err != nil || len(resp.Messages) != 1 {
				b.Fatal(err)
			}
			if _, err := qc.DeleteMessage(ctx, *resp.Messages[0].MessageID, *resp.Messages[0].PopReceipt, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
	})
	for _, workers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("impl=elmcity/workers=%d", workers), func(b *testing.B) {
			if b.N > 400 {
				b.Skip("run with -benchtime 40x: Azurite stalls after thousands of queue deletes")
			}
			ctx := context.Background()
			env := benchEnv(b)
			ids := make([]string, b.N)
			for i := range ids {
				ids[i] = fmt.Sprintf("h%04d", i)
			}
			s := openStores(b, env)
			addHubs(b, s.hubs, srv.URL, ids...)
			jobs, pub := s.jobs, s.pub
			var roles []*roletest.Role
			for w := range workers {
				e := map[string]string{}
				for k, v := range env {
					e[k] = v
				}
				e["ELMCITY_INSTANCE"] = fmt.Sprintf("w%d", w)
				roles = append(roles, roletest.Start(b, run, e))
			}
			b.ResetTimer()
			for i := range b.N {
				if _, err := jobs.Enqueue(ctx, queue.Job{Kind: queue.KindAggregate, Hub: fmt.Sprintf("h%04d", i)}, 0); err != nil {
					b.Fatal(err)
				}
			}
			for i := range b.N {
				id := fmt.Sprintf("h%04d", i)
				for {
					if _, err := pub.Current(ctx, id); err == nil {
						break
					}
					time.Sleep(5 * time.Millisecond) // polling storage
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
			for _, r := range roles {
				_ = r.Stop(b)
			}
		})
	}
}

// benchEnv is testEnv for a benchmark: the scheduler stays quiet so every
// job is the benchmark's own.
func benchEnv(b *testing.B) map[string]string {
	b.Helper()
	acct := storagetest.Account(b)
	return map[string]string{
		"AZURE_STORAGE_CONNECTION_STRING": storagetest.ConnectionString(),
		"ELMCITY_WORKER_METRICS_ADDR":     "127.0.0.1:0",
		"ELMCITY_LOG_TABLE":               storagetest.Table(b, acct, "benchlog"),
		"ELMCITY_HUBS_TABLE":              storagetest.Table(b, acct, "hubs"),
		"ELMCITY_FEEDS_TABLE":             storagetest.Table(b, acct, "feeds"),
		"ELMCITY_CALENDARS_TABLE":         storagetest.Table(b, acct, "cals"),
		"ELMCITY_JOB_QUEUE":               storagetest.Queue(b, acct, "jobs"),
		"ELMCITY_FETCH_ALLOW_PRIVATE":     "true",
		"ELMCITY_SCRIPTS":                 "../scripts",
		"ELMCITY_SCHEDULER_TICK":          "1h",
		"ELMCITY_WORKER_CONCURRENCY":      "4",
	}
}
