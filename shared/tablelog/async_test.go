package tablelog_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/tablelog"
)

func TestCloseFlushes(t *testing.T) {
	t.Parallel()
	// An hour-long interval and fewer than 100 entries per hub: nothing is
	// written before Close.
	b := setup(t, tablelog.Config{BufferSize: 1000, FlushInterval: time.Hour})
	const n = 250
	want := map[string][]string{}
	for i := range n {
		hub := fmt.Sprintf("close%d", i%3)
		msg := fmt.Sprintf("entry %03d", i)
		if !b.log.Add(tablelog.Entry{Hub: hub, Message: msg}) {
			t.Fatalf("Add(%d) = false", i)
		}
		want[hub] = append([]string{msg}, want[hub]...) // newest first
	}
	ctx := context.Background()
	if err := b.log.Close(ctx); err != nil {
		t.Fatalf("Close() error = %v", err)
	}
	for hub, msgs := range want {
		if got := messages(read(t, b.log, tablelog.Query{Hub: hub, Limit: tablelog.MaxLimit}).Entries); !slices.Equal(got, msgs) {
			t.Errorf("hub %s after Close: %d entries, want %d", hub, len(got), len(msgs))
		}
	}
	if err := b.log.Close(ctx); err != nil {
		t.Errorf("second Close() error = %v", err)
	}
	if err := b.log.Flush(ctx); err != nil {
		t.Errorf("Flush() after Close error = %v", err)
	}
	if b.log.Add(tablelog.Entry{Hub: "close0", Message: "late"}) {
		t.Error("Add() after Close = true, want false")
	}
	if got := b.log.Dropped(); got != 1 {
		t.Errorf("Dropped() = %d, want 1 (the Add after Close)", got)
	}
	// Write does not need the background writer.
	write(t, b.log, tablelog.Entry{Hub: "close0", Message: "sync after close"})
}

func TestFlush(t *testing.T) {
	t.Parallel()
	b := setup(t, tablelog.Config{FlushInterval: time.Hour})
	tests := []struct {
		name string
		n    int
	}{
		{name: "Few", n: 5},
		{name: "FullBatchPlusRest", n: 150},
		{name: "SeveralBatches", n: 420},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hub := "flush" + tt.name
			for i := range tt.n {
				if !b.log.Add(tablelog.Entry{Hub: hub, Message: fmt.Sprint(i)}) {
					t.Fatalf("Add(%d) = false", i)
				}
			}
			flush(t, b.log)
			got := read(t, b.log, tablelog.Query{Hub: hub, Limit: tablelog.MaxLimit}).Entries
			if len(got) != tt.n {
				t.Fatalf("after Flush, Read() = %d entries, want %d", len(got), tt.n)
			}
			checkNewestFirst(t, got)
		})
	}
}

// The tests below run against fakeTables, so they can block or fail the
// service at will.

func TestAddBufferFull(t *testing.T) {
	t.Parallel()
	fake := newFakeTables(t)
	release := make(chan struct{})
	var releaseOnce sync.Once
	fake.onBatch = func(int) batchOutcome {
		<-release // every transaction hangs until the test releases them
		return batchOK
	}
	const size = 3
	l := openLog(t, fake.account(t), tablelog.Config{Table: "fakelog", BufferSize: size, FlushInterval: time.Hour})
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) }) // before Close
	if !l.Add(tablelog.Entry{Hub: "h", Message: "in flight"}) {
		t.Fatal("Add() on an empty buffer = false")
	}
	flushed := make(chan error, 1)
	go func() { flushed <- l.Flush(context.Background()) }()
	waitOrTimeout(t, fake.firstBatch) // the writer is now stuck in the service call

	for i := range size {
		if !l.Add(tablelog.Entry{Hub: "h", Message: fmt.Sprintf("buffered %d", i)}) {
			t.Fatalf("Add(buffered %d) = false, want true", i)
		}
	}
	if l.Add(tablelog.Entry{Hub: "h", Message: "overflow"}) {
		t.Fatal("Add() on a full buffer = true, want false")
	}
	if got := l.Dropped(); got != 1 {
		t.Errorf("Dropped() = %d, want 1", got)
	}

	releaseOnce.Do(func() { close(release) })
	if err := waitOrTimeout(t, flushed); err != nil {
		t.Errorf("Flush() error = %v", err)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatalf("Close() error = %v", err)
	}
	want := []string{"in flight", "buffered 0", "buffered 1", "buffered 2"}
	if got := fake.storedMessages(); !slices.Equal(got, want) {
		t.Errorf("stored %q, want %q", got, want)
	}
}

func TestCloseCancelled(t *testing.T) {
	t.Parallel()
	fake := newFakeTables(t)
	release := make(chan struct{})
	var releaseOnce sync.Once
	fake.onBatch = func(int) batchOutcome {
		<-release
		return batchOK
	}
	out := &syncBuffer{}
	// Not openLog: its cleanup would see this test's Close error again.
	l, err := tablelog.Open(context.Background(), fake.account(t), tablelog.Config{Table: "fakelog", FlushInterval: time.Hour, Logger: slog.New(slog.NewJSONHandler(out, nil))})
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	l.Add(tablelog.Entry{Hub: "h", Message: "stuck"})
	flushed := make(chan error, 1)
	go func() { flushed <- l.Flush(context.Background()) }()
	waitOrTimeout(t, fake.firstBatch)
	l.Add(tablelog.Entry{Hub: "h", Message: "buffered"})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// Close with an expired context aborts the stuck call and stops the
	// writer; the two entries are lost and reported.
	if err := l.Close(ctx); err == nil {
		t.Error("Close(cancelled) error = nil, want the lost entries reported")
	}
	if err := waitOrTimeout(t, flushed); err == nil {
		t.Error("Flush() error = nil, want the failed write")
	}
	if got := l.Dropped(); got != 2 {
		t.Errorf("Dropped() = %d, want 2", got)
	}
	if !strings.Contains(out.String(), "table log dropped entries") {
		t.Errorf("Logger output %q does not report the lost entries", out.String())
	}
}

func TestFlushInterval(t *testing.T) {
	t.Parallel()
	fake := newFakeTables(t)
	l := openLog(t, fake.account(t), tablelog.Config{Table: "fakelog", FlushInterval: 10 * time.Millisecond})
	l.Add(tablelog.Entry{Hub: "h", Message: "by the ticker"})
	waitOrTimeout(t, fake.firstBatch) // no Flush, no Close: the interval wrote it
}

// TestWriteFallsBack checks that a transaction refused for one bad entity
// is retried entity by entity, through Write and through Add and Flush.
func TestWriteFallsBack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sync bool
	}{
		{name: "Write", sync: true},
		{name: "AddFlush", sync: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := newFakeTables(t)
			fake.onBatch = func(int) batchOutcome { return batchRefused }
			fake.onInsert = func(msg string) int {
				if msg == "bad" {
					return 400
				}
				return 204
			}
			out := &syncBuffer{}
			l := openLog(t, fake.account(t), tablelog.Config{Table: "fakelog", FlushInterval: time.Hour, Logger: slog.New(slog.NewJSONHandler(out, nil))})
			entries := []tablelog.Entry{{Hub: "h", Message: "a"}, {Hub: "h", Message: "bad"}, {Hub: "h", Message: "c"}, {Hub: "g", Message: "d"}}
			var err error
			if tt.sync {
				err = l.Write(context.Background(), entries...)
			} else {
				for _, e := range entries {
					l.Add(e)
				}
				err = l.Flush(context.Background())
				if !strings.Contains(out.String(), `"entries_failed":1`) {
					t.Errorf("Logger output %q does not report the failure", out.String())
				}
				if got := l.Dropped(); got != 1 {
					t.Errorf("Dropped() = %d, want 1", got)
				}
			}
			if err == nil || !strings.Contains(err.Error(), "1 ") {
				t.Errorf("error = %v, want one entry not written", err)
			}
			if got, want := fake.storedMessages(), []string{"a", "c", "d"}; !slices.Equal(got, want) {
				t.Errorf("stored %q, want %q", got, want)
			}
		})
	}
}

func TestWriteRetriesTransient(t *testing.T) {
	t.Parallel()
	fake := newFakeTables(t)
	fake.onBatch = func(n int) batchOutcome {
		if n <= 2 {
			return batchBusy
		}
		return batchOK
	}
	l := openLog(t, fake.account(t), tablelog.Config{Table: "fakelog"})
	if err := l.Write(context.Background(), tablelog.Entry{Hub: "h", Message: "eventually"}); err != nil {
		t.Fatalf("Write() error = %v", err)
	}
	if got := fake.batchCount(); got != 3 {
		t.Errorf("transactions sent = %d, want 3", got)
	}
	if got, want := fake.storedMessages(), []string{"eventually"}; !slices.Equal(got, want) {
		t.Errorf("stored %q, want %q", got, want)
	}
}

// TestOutageLosesNothing checks that entries written while storage is
// unreachable are kept and written once it answers again, by the writer
// on its own, and that only entries beyond Config.BufferBytes are
// dropped, counted and reported.
func TestOutageLosesNothing(t *testing.T) {
	t.Parallel()
	fake := newFakeTables(t)
	var down atomic.Bool
	down.Store(true)
	fake.onBatch = func(int) batchOutcome {
		if down.Load() {
			return batchBusy
		}
		return batchOK
	}
	out := &syncBuffer{}
	l := openLog(t, fake.account(t), tablelog.Config{Table: "fakelog", FlushInterval: 10 * time.Millisecond,
		BufferBytes: 60 * 400, Logger: slog.New(slog.NewJSONHandler(out, nil))})
	var want []string
	for i := range 50 {
		msg := fmt.Sprintf("during the outage %d", i)
		want = append(want, msg)
		l.Add(tablelog.Entry{Hub: "h", Message: msg})
	}
	if err := l.Flush(context.Background()); err == nil {
		t.Error("Flush() while storage is down = nil, want the entries reported as not written yet")
	}
	for i := range 100 { // past BufferBytes: some of these fit
		l.Add(tablelog.Entry{Hub: "h", Message: fmt.Sprintf("overflow %d", i)})
	}
	_ = l.Flush(context.Background()) // the writer has taken them all
	dropped := l.Dropped()
	if dropped == 0 || dropped == 100 {
		t.Errorf("Dropped() = %d after 150 entries in a buffer for about 60, want some but not all of the overflow", dropped)
	}
	down.Store(false)
	deadline := time.Now().Add(20 * time.Second)
	for len(fake.storedMessages()) < 150-int(dropped) {
		if time.Now().After(deadline) {
			t.Fatalf("stored %d entries after storage came back, want %d", len(fake.storedMessages()), 150-int(dropped))
		}
		time.Sleep(20 * time.Millisecond) // polling the fake service, not synchronising goroutines
	}
	stored := map[string]bool{}
	for _, m := range fake.storedMessages() {
		stored[m] = true
	}
	for _, m := range want {
		if !stored[m] {
			t.Errorf("entry %q written during the outage was lost", m)
		}
	}
	if !strings.Contains(out.String(), "table log cannot write; keeping entries") || !strings.Contains(out.String(), "table log dropped entries") {
		t.Errorf("Logger output %q does not report the outage and the drops", out.String())
	}
}
