package tablelog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/elmcity/elmcity/shared/azstorage"
	"github.com/elmcity/elmcity/shared/azstorage/storagetest"
	"github.com/elmcity/elmcity/shared/tablelog"
)

// newBenchTable returns a fresh table name on the test account, deleted when
// the benchmark ends.
func newBenchTable(b *testing.B) (*azstorage.Account, string) {
	b.Helper()
	acct := storagetest.Account(b)
	table := storagetest.Table(b, acct, "bench")
	if _, err := acct.Tables().CreateTable(context.Background(), table, nil); err != nil {
		b.Fatalf("create table: %v", err)
	}
	return acct, table
}

func reportEntities(b *testing.B, n int) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "entities/s")
}

// BenchmarkWrite compares the Log with the raw SDK on the same table, per
// entry size: Write in batches of 100, Add+Flush of 100, then the SDK's
// AddEntity per entity and a 100-entity SubmitTransaction. The entities/s
// metrics give the ratios.
func BenchmarkWrite(b *testing.B) {
	acct, table := newBenchTable(b)
	l := openLog(b, acct, tablelog.Config{Table: table, Role: "bench", Instance: "b0", FlushInterval: time.Hour})
	client := acct.Tables().NewClient(table)
	ctx := context.Background()
	var rows atomic.Int64 // unique raw row keys across every run

	for _, size := range []struct {
		name   string
		detail int
	}{{"small", 0}, {"detail4KiB", 4 << 10}} {
		detail := strings.Repeat("d", size.detail)
		entries := make([]tablelog.Entry, 100)
		for i := range entries {
			entries[i] = tablelog.Entry{Hub: "bench" + size.name, Type: tablelog.TypeInfo, Message: "feed merged",
				Detail: detail, Attrs: map[string]string{"feed_url": "http://example.org/cal.ics"}}
		}
		attrs := `{"feed_url":"http://example.org/cal.ics"}`
		raw := func(pk string) []byte {
			body, err := json.Marshal(aztables.EDMEntity{
				Entity: aztables.Entity{PartitionKey: pk, RowKey: fmt.Sprintf("%019d", rows.Add(1))},
				Properties: map[string]any{
					"Type": "info", "Message": "feed merged", "Detail": detail, "Role": "bench", "Instance": "b0",
					"Time": aztables.EDMDateTime(time.Now().UTC()), "Attrs": attrs,
				},
			})
			if err != nil {
				b.Fatal(err)
			}
			return body
		}

		b.Run("size="+size.name+"/impl=log-write100", func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if err := l.Write(ctx, entries...); err != nil {
					b.Fatal(err)
				}
				n += len(entries)
			}
			reportEntities(b, n)
		})
		b.Run("size="+size.name+"/impl=log-add100", func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				for _, e := range entries {
					if !l.Add(e) {
						b.Fatal("Add() = false")
					}
				}
				if err := l.Flush(ctx); err != nil {
					b.Fatal(err)
				}
				n += len(entries)
			}
			reportEntities(b, n)
		})
		b.Run("size="+size.name+"/impl=sdk-single", func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if _, err := client.AddEntity(ctx, raw("sdk1"+size.name), nil); err != nil {
					b.Fatal(err)
				}
				n++
			}
			reportEntities(b, n)
		})
		b.Run("size="+size.name+"/impl=sdk-batch100", func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			actions := make([]aztables.TransactionAction, 100)
			for b.Loop() {
				for i := range actions {
					actions[i] = aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: raw("sdk100" + size.name)}
				}
				if _, err := client.SubmitTransaction(ctx, actions, nil); err != nil {
					b.Fatal(err)
				}
				n += len(actions)
			}
			reportEntities(b, n)
		})
	}
}

// BenchmarkHandler measures what logging through the table handler costs a
// request path: building the entry and a non-blocking enqueue. The writer
// drains to Azurite in the background; what it cannot keep up with is
// dropped and reported.
func BenchmarkHandler(b *testing.B) {
	acct, table := newBenchTable(b)
	l := openLog(b, acct, tablelog.Config{Table: table, Role: "bench", Instance: "b0"})
	logger := slog.New(l.Handler(tablelog.HandlerOptions{}))
	b.ReportAllocs()
	start := l.Dropped()
	n := 0
	for b.Loop() {
		logger.Info("feed merged", "hub", "benchhub", "feed_url", "http://example.org/cal.ics", "events", 42, "duration_ms", 17)
		n++
	}
	b.ReportMetric(float64(l.Dropped()-start)/float64(n), "dropped/op")
}
