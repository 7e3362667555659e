package publish_test

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/elmcity/elmcity/shared/azstorage"
	"github.com/elmcity/elmcity/shared/azstorage/storagetest"
	"github.com/elmcity/elmcity/shared/publish"
)

// benchBundle is a Store on a fresh table, through a transport that counts
// batch transactions.
type benchBundle struct {
	acct  *azstorage.Account
	table string
	store *publish.Store
	txns  atomic.Int64
}

func setupBench(b *testing.B, cfg publish.Config) *benchBundle {
	b.Helper()
	storagetest.Account(b) // skips with -short, fails if Azurite is down
	bb := &benchBundle{}
	bb.acct = faultyAccount(b, &faultTransport{before: func(r *http.Request) error {
		if isBatch(r) {
			bb.txns.Add(1)
		}
		return nil
	}})
	bb.table = storagetest.Table(b, bb.acct, "bench")
	cfg.Table = bb.table
	bb.store = openStore(b, bb.acct, cfg)
	return bb
}

// reportOcc adds the occurrence rate to ns/op and MB/s.
func reportOcc(b *testing.B, occ int) {
	b.ReportMetric(float64(occ)*float64(b.N)/b.Elapsed().Seconds(), "occ/s")
}

// BenchmarkPublish publishes a hub of occ realistic occurrences (about
// 340 bytes of JSON each) per op: impl=chunks at two compression levels,
// against impl=row-per-occurrence, one entity per occurrence written in
// 100-entity transactions with the same parallelism, the design this
// package replaces. occ/s gives the ratio; entities/op and txn/op count
// what each op writes (txn/op includes deleting the generation that fell
// out of Keep, from the third op on).
func BenchmarkPublish(b *testing.B) {
	for _, occ := range []int{10_000, 100_000} {
		payload := jsonLines(occ, 1)
		for _, lv := range []struct {
			name  string
			level int
		}{{"speed", flate.BestSpeed}, {"default", flate.DefaultCompression}} {
			b.Run(fmt.Sprintf("occ=%d/impl=chunks/level=%s", occ, lv.name), func(b *testing.B) {
				bb := setupBench(b, publish.Config{Level: lv.level})
				ctx := context.Background()
				b.SetBytes(int64(len(payload)))
				b.ReportAllocs()
				bb.txns.Store(0)
				for b.Loop() {
					if _, err := bb.store.Publish(ctx, publish.Generation{Hub: "bench", Payload: payload}); err != nil {
						b.Fatal(err)
					}
				}
				p, err := bb.store.Current(ctx, "bench")
				if err != nil {
					b.Fatal(err)
				}
				reportOcc(b, occ)
				b.ReportMetric(float64(p.Stored), "stored-B")
				b.ReportMetric(float64(p.Chunks+1), "entities/op")
				b.ReportMetric(float64(bb.txns.Load())/float64(b.N), "txn/op") // with deleting the generation dropped
			})
		}
		if occ > 10_000 {
			continue // about 15 s per op; the 10,000 figure gives the rate
		}
		b.Run(fmt.Sprintf("occ=%d/impl=row-per-occurrence", occ), func(b *testing.B) {
			bb := setupBench(b, publish.Config{})
			client := bb.acct.Tables().NewClient(bb.table)
			batches := rowBatches(b, payload)
			ctx := context.Background()
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			bb.txns.Store(0)
			for b.Loop() {
				writeRows(ctx, b, client, batches, publish.DefaultParallel)
			}
			reportOcc(b, occ)
			b.ReportMetric(float64(occ), "entities/op")
			b.ReportMetric(float64(bb.txns.Load())/float64(b.N), "txn/op")
			b.ReportMetric(float64(occ)*float64(b.N)/b.Elapsed().Seconds(), "entities/s")
		})
	}
}

// BenchmarkLoad loads a published hub of occ occurrences per op, against
// reading back one row per occurrence.
func BenchmarkLoad(b *testing.B) {
	for _, occ := range []int{10_000, 100_000} {
		payload := jsonLines(occ, 1)
		for _, lv := range []struct {
			name  string
			level int
		}{{"speed", flate.BestSpeed}, {"default", flate.DefaultCompression}} {
			b.Run(fmt.Sprintf("occ=%d/impl=chunks/level=%s", occ, lv.name), func(b *testing.B) {
				bb := setupBench(b, publish.Config{Level: lv.level})
				ctx := context.Background()
				if _, err := bb.store.Publish(ctx, publish.Generation{Hub: "bench", Payload: payload}); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(payload)))
				b.ReportAllocs()
				for b.Loop() {
					g, err := bb.store.Load(ctx, "bench")
					if err != nil || len(g.Payload) != len(payload) {
						b.Fatalf("Load() = %d bytes, %v", len(g.Payload), err)
					}
				}
				reportOcc(b, occ)
			})
		}
		if occ > 10_000 {
			continue
		}
		b.Run(fmt.Sprintf("occ=%d/impl=row-per-occurrence", occ), func(b *testing.B) {
			bb := setupBench(b, publish.Config{})
			client := bb.acct.Tables().NewClient(bb.table)
			ctx := context.Background()
			writeRows(ctx, b, client, rowBatches(b, payload), publish.DefaultParallel)
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for b.Loop() {
				if got := readRows(ctx, b, client); got != len(payload) {
					b.Fatalf("read %d bytes, want %d", got, len(payload))
				}
			}
			reportOcc(b, occ)
		})
	}
}

// rowBatches turns each line of payload into an entity, 100 to a
// transaction.
func rowBatches(b *testing.B, payload []byte) [][]aztables.TransactionAction {
	b.Helper()
	var batches [][]aztables.TransactionAction
	var batch []aztables.TransactionAction
	for i, line := range bytes.SplitAfter(payload, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		body, err := json.Marshal(map[string]string{"PartitionKey": "rows", "RowKey": fmt.Sprintf("%06d", i), "Data": string(line)})
		if err != nil {
			b.Fatal(err)
		}
		batch = append(batch, aztables.TransactionAction{ActionType: aztables.TransactionTypeInsertReplace, Entity: body})
		if len(batch) == 100 {
			batches, batch = append(batches, batch), nil
		}
	}
	if len(batch) > 0 {
		batches = append(batches, batch)
	}
	return batches
}

// writeRows submits the batches with parallel goroutines.
func writeRows(ctx context.Context, b *testing.B, client *aztables.Client, batches [][]aztables.TransactionAction, parallel int) {
	b.Helper()
	jobs := make(chan []aztables.TransactionAction)
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for range parallel {
		wg.Go(func() {
			for batch := range jobs {
				if _, err := client.SubmitTransaction(ctx, batch, nil); err != nil {
					failed.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	for _, batch := range batches {
		jobs <- batch
	}
	close(jobs)
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
}

// readRows queries the rows partition and returns the bytes of Data read.
func readRows(ctx context.Context, b *testing.B, client *aztables.Client) int {
	b.Helper()
	filter := "PartitionKey eq 'rows'"
	pager := client.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter})
	n := 0
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for _, raw := range page.Entities {
			var e struct{ Data string }
			if err := json.Unmarshal(raw, &e); err != nil {
				b.Fatal(err)
			}
			n += len(e.Data)
		}
	}
	return n
}
